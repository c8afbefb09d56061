"""Kafka: settings, the producer and its batch packing, topics, the consumer runner, dead letters."""
