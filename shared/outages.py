"""Errors that say a dependency (MongoDB, Kafka) is unreachable, not that the input is bad.

Consumers retry them without a bound (an outage must not empty a topic into its dead-letter
topic); HTTP answers them with 503 and ``Retry-After``.
"""

from __future__ import annotations

from aiokafka.errors import KafkaConnectionError
from pymongo.errors import ConnectionFailure

OUTAGES: tuple[type[Exception], ...] = (
    ConnectionFailure,
    KafkaConnectionError,
    ConnectionError,
)
