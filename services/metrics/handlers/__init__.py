"""Metrics' use cases: events in, figures out; they raise ``services.metrics.errors``."""
