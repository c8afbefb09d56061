"""Dead letters: a message that cannot be applied, with its original bytes and the reason.

A dead letter keeps the original key, value and headers and adds ``quorum-dlq-*`` headers:
reason, topic, partition, offset, consumer group, attempts and time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import ConsumerRecord

DLQ_HEADER_PREFIX = "quorum-dlq-"
REASON_BYTES = 4000


def dead_letter_headers(
    record: ConsumerRecord[Any, Any], reason: str, *, consumer: str, attempts: int
) -> list[tuple[str, bytes]]:
    """The original headers of ``record`` and the ``quorum-dlq-*`` ones."""
    return [
        *(record.headers or ()),
        (f"{DLQ_HEADER_PREFIX}reason", reason.encode()[:REASON_BYTES]),
        (f"{DLQ_HEADER_PREFIX}topic", record.topic.encode()),
        (f"{DLQ_HEADER_PREFIX}partition", str(record.partition).encode()),
        (f"{DLQ_HEADER_PREFIX}offset", str(record.offset).encode()),
        (f"{DLQ_HEADER_PREFIX}consumer", consumer.encode()),
        (f"{DLQ_HEADER_PREFIX}attempts", str(attempts).encode()),
        (f"{DLQ_HEADER_PREFIX}time", datetime.now(UTC).isoformat().encode()),
    ]


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def dead_letter_reason(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The reason a dead letter carries (for tools and tests)."""
    for name, value in headers or ():
        if name == f"{DLQ_HEADER_PREFIX}reason":
            return value.decode()
    return None
