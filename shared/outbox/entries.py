"""Writing events into the outbox: in the same single-document write as the state change.

A store holds the service's :class:`Outbox` and, for a write that causes events:

* :meth:`Outbox.new_document` adds the encoded events to a document about to be inserted;
* :meth:`Outbox.with_events` adds them to an update (``$push`` to ``_outbox``, ``$min`` of
  the oldest pending entry's sequence number);
* :meth:`Outbox.written`, once the write is done, wakes the relay.

Each entry holds the encoded message, the event id and type and a ``seq`` strictly
increasing within the process: the relay publishes in that order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.codec import STRUCTURED_HEADERS, encode
from shared.events.envelope import Event

OUTBOX = "_outbox"
#: The ``seq`` of the document's oldest pending entry; present while any entry is pending.
OUTBOX_OLDEST = "_outbox_oldest"
#: Projection that hides outbox bookkeeping from documents returned to callers.
HIDE_OUTBOX: Mapping[str, int] = {OUTBOX: 0, OUTBOX_OLDEST: 0}

#: Room kept under a topic's limit for what Kafka adds to a record (headers, framing).
RECORD_OVERHEAD = 4096

_last_seq = 0


class EventTooLarge(ValueError):
    """An event larger than its topic takes: refused when written, so the state change that
    causes it fails too, instead of the event stopping the relay later."""

    def __init__(self, event_type: str, size: int, limit: int) -> None:
        super().__init__(f"a {event_type} event of {size:,} bytes; its topic takes {limit:,}")
        self.event_type = event_type
        self.size = size
        self.limit = limit


def next_seq() -> int:
    """A per-process strictly increasing sequence, roughly wall-clock nanoseconds."""
    global _last_seq
    now = time.time_ns()
    _last_seq = max(_last_seq + 1, now)
    return _last_seq


def outbox_entries(events: Sequence[Event[Any]]) -> list[dict[str, Any]]:
    entries = []
    for event in events:
        key, value, headers = encode(event)
        limit = event.topic.max_message_bytes - RECORD_OVERHEAD
        if len(key) + len(value) > limit:
            raise EventTooLarge(event.type, len(key) + len(value), limit)
        entry = {
            "id": event.id,
            "seq": next_seq(),
            "topic": _topic_of(event),
            "key": key.decode(),
            "value": value,  # bytes are stored as BSON binary
            "type": event.type,
        }
        if tuple(headers) != STRUCTURED_HEADERS:  # the usual ones are not stored
            entry["headers"] = [[name, val] for name, val in headers]
        entries.append(entry)
    return entries


def _topic_of(event: Event[Any]) -> str:
    """The (unprefixed) topic an event goes to: of a per-tenant topic, its tenant's."""
    if not event.topic.per_tenant:
        return event.topic.name
    if not event.tenant:
        raise ValueError(f"a {event.type} event goes to its tenant's topic: it needs a tenant")
    return event.topic.of_tenant(event.tenant)


def outbox_headers(entry: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """The Kafka headers of a stored entry."""
    stored = entry.get("headers")
    if stored is None:
        return list(STRUCTURED_HEADERS)
    return [(name, bytes(value)) for name, value in stored]


def with_events(update: Mapping[str, Any], events: Sequence[Event[Any]]) -> dict[str, Any]:
    """Add ``events`` to an update document so they are stored by the same write."""
    merged = {op: dict(fields) for op, fields in update.items()}
    if not events:
        return merged
    entries = outbox_entries(events)
    merged.setdefault("$push", {})[OUTBOX] = {"$each": entries}
    merged.setdefault("$min", {})[OUTBOX_OLDEST] = entries[0]["seq"]
    return merged


def new_document(doc: Mapping[str, Any], events: Sequence[Event[Any]]) -> dict[str, Any]:
    """A document to insert together with the events its creation causes."""
    out = dict(doc)
    if events:
        out[OUTBOX] = outbox_entries(events)
        out[OUTBOX_OLDEST] = out[OUTBOX][0]["seq"]
    return out


async def create_outbox_indexes(db: AsyncDatabase[Any], collections: Iterable[str]) -> None:
    for name in collections:
        await db[name].create_index(
            [(OUTBOX_OLDEST, ASCENDING)], sparse=True, name="outbox_pending"
        )


class Outbox:
    """The write side of a service's outbox, held by its stores (see the module)."""

    def __init__(self) -> None:
        self._wake: Callable[[], None] | None = None

    def new_document(self, doc: Mapping[str, Any], events: Sequence[Event[Any]]) -> dict[str, Any]:
        return new_document(doc, events)

    def with_events(
        self, update: Mapping[str, Any], events: Sequence[Event[Any]]
    ) -> dict[str, Any]:
        return with_events(update, events)

    def written(self) -> None:
        """Events were stored: the relay should look for them now, not at its next poll."""
        if self._wake is not None:
            self._wake()

    def relay_to(self, wake: Callable[[], None]) -> None:
        """What :meth:`written` calls (the running relay's ``wake``)."""
        self._wake = wake
