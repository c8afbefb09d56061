"""Kafka: settings, the producer and its partitioner, topics, the consumer runner, dead letters."""
