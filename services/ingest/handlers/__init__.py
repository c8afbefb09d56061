"""Ingest's use cases, one module per aggregate, called by HTTP routes and Kafka consumers."""
