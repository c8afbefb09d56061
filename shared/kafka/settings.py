"""How a service reaches the Kafka cluster."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = ""
    partitions: int = 6
    replication_factor: int = 1
    client_id: str = "quorum"
