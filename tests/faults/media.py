"""What the fault tests read of ingest's output topic."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import Event

_REGISTERED = EventRegistry([MEDIA_REGISTERED])


def registered(records: Iterable[Any]) -> list[Event[MediaRegisteredV1]]:
    """The ``media.registered`` events among ``records`` (raw Kafka records), in order."""
    events = (decode(r.value, key=r.key, headers=r.headers, registry=_REGISTERED) for r in records)
    return [event for event in events if event is not None]
