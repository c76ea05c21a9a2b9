"""The alert store: decisions, their outbox, the audit trail and manager feedback."""
