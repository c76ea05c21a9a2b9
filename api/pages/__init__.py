"""The manager's web pages: the stall list, a ticket's story, the reports."""
