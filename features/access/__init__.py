"""Who may call the service: API keys, manager logins and their sessions."""
