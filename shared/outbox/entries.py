"""Writing events into the outbox: in the same single-document write as the state change.

* :func:`new_document` adds the encoded events to a document about to be inserted;
* :func:`with_events` adds them to an update (``$push`` to ``_outbox``, ``$min`` of the
  oldest pending entry's sequence number).

Each entry holds the encoded message, the event id and type and a ``seq`` strictly
increasing within the process: the relay publishes in that order.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.codec import STRUCTURED_HEADERS, encode
from shared.events.envelope import Event

OUTBOX = "_outbox"
OUTBOX_SINCE = "_outbox_since"  # seq of the oldest pending event of the document
#: Projection that hides outbox bookkeeping from documents returned to callers.
HIDE_OUTBOX: Mapping[str, int] = {OUTBOX: 0, OUTBOX_SINCE: 0}

_last_seq = 0


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
        entry = {
            "id": event.id,
            "seq": next_seq(),
            "topic": event.topic.name,
            "key": key.decode(),
            "value": value,  # bytes are stored as BSON binary
            "type": event.type,
        }
        if tuple(headers) != STRUCTURED_HEADERS:  # the usual ones are not stored: smaller
            entry["headers"] = [[name, val] for name, val in headers]  # documents to rewrite
        entries.append(entry)
    return entries


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
    merged.setdefault("$min", {})[OUTBOX_SINCE] = entries[0]["seq"]
    return merged


def new_document(doc: Mapping[str, Any], events: Sequence[Event[Any]]) -> dict[str, Any]:
    """A document to insert together with the events its creation causes."""
    out = dict(doc)
    if events:
        out[OUTBOX] = outbox_entries(events)
        out[OUTBOX_SINCE] = out[OUTBOX][0]["seq"]
    return out


async def create_outbox_indexes(db: AsyncDatabase[Any], collections: Iterable[str]) -> None:
    for name in collections:
        await db[name].create_index([(OUTBOX_SINCE, ASCENDING)], sparse=True, name="outbox_pending")
