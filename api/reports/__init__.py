"""Routes, schemas and service of the reports."""
