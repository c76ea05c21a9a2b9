"""The Prometheus scrape route."""
