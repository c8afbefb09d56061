"""Taxonomy's use cases, one module per sub-domain, called by HTTP routes and Kafka consumers."""
