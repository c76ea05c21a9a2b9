"""Access control: who is calling, and may they call this route."""
