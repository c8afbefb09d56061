"""Metrics' MongoDB documents: each store owns its collections and declares their indexes."""
