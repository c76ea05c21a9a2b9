"""Importers: each turns one kind of source file into canonical events."""
