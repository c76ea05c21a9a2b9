"""Serving side of the model: load the current bundle, score, explain."""
