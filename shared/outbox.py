"""Transactional outbox without multi-document transactions.

A state change and the events it causes are written in ONE MongoDB document
write: the encoded events are pushed into the changed document's ``_outbox``
array by the same ``insert_one`` / ``update_one`` / ``find_one_and_update``
that changes the state. Single-document writes are atomic on every MongoDB
deployment (and on the local MongoDB-compatible server), so there is no state
change without its event and no event without its state change.

The :class:`OutboxRelay` publishes pending events in the order they were
written, waits for the broker's acknowledgement, and only then removes them
from their documents. A crash after publishing and before removing publishes
the same event (same id, same bytes) again; consumers drop the duplicate by
event id. Several replicas of a service may run a relay: a lease in the
``locks`` collection lets one publish at a time.

Documents whose events are all caused by their creation can do without the clearing
write: see :mod:`shared.creations`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from prometheus_client import Gauge
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.bus import KafkaBus
from shared.events import STRUCTURED_HEADERS, Event, encode
from shared.logging import get_logger
from shared.mongo import find_in, write_many

log = get_logger(__name__)

OUTBOX_PENDING = Gauge(
    "quorum_outbox_pending_events",
    "Events waiting in the outbox at the relay's last pass (capped by its batch size)",
    ["relay"],
)

#: How long a best-effort write at shutdown may take (releasing a lease, closing a record):
#: with MongoDB unreachable, a stop must not wait for the driver's server selection.
SHUTDOWN_WRITE_S = 1.0

OUTBOX = "_outbox"
OUTBOX_SINCE = "_outbox_since"  # seq of the oldest pending event of the document
# the creation outbox's fields (see shared.creations)
OUTBOX_WRITER = "_outbox_writer"
OUTBOX_SEQ = "_outbox_seq"
OUTBOX_EVENTS = "_outbox_events"
#: Projection that hides outbox bookkeeping from documents returned to callers.
HIDE_OUTBOX: Mapping[str, int] = {
    OUTBOX: 0,
    OUTBOX_SINCE: 0,
    OUTBOX_WRITER: 0,
    OUTBOX_SEQ: 0,
    OUTBOX_EVENTS: 0,
}
_MARKER_FIELDS: Mapping[str, int] = {OUTBOX: 1, OUTBOX_SINCE: 1}

_last_seq = 0


def next_seq() -> int:
    """A per-process strictly increasing sequence, roughly wall-clock nanoseconds."""
    global _last_seq
    now = time.time_ns()
    _last_seq = max(_last_seq + 1, now)
    return _last_seq


def last_seq() -> int:
    """The last number :func:`next_seq` gave (0 before the first)."""
    return _last_seq


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Return once ``event`` is set or ``timeout`` seconds have passed.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives in
    the tick the event is set (python/cpython#86296), and a publisher's loop stopped at
    that moment would run on, its ``stop()`` waiting forever. ``asyncio.timeout`` does not.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()


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


def _headers(entry: Mapping[str, Any]) -> list[tuple[str, bytes]]:
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


class Lease:
    """A lease in the ``locks`` collection: one holder at a time among a service's replicas."""

    def __init__(self, db: AsyncDatabase[Any], lock_id: str, seconds: float) -> None:
        self.db = db
        self.lock_id = lock_id
        self.length = timedelta(seconds=seconds)
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{id(self):x}"
        self._until: datetime | None = None

    async def hold(self) -> bool:
        """Take or renew the lease; False while another holder has it."""
        now = datetime.now(UTC)
        if self._until is not None and now < self._until - self.length / 2:
            return True
        until = now + self.length
        try:
            await self.db["locks"].find_one_and_update(
                {"_id": self.lock_id, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:
            self._until = None
            return False
        self._until = until
        return True

    async def release(self) -> None:
        if self._until is None:
            return
        try:
            with pymongo.timeout(SHUTDOWN_WRITE_S):  # best effort: it expires by itself
                await self.db["locks"].update_one(
                    {"_id": self.lock_id, "owner": self.owner},
                    {"$set": {"until": datetime.now(UTC)}},
                )
        except PyMongoError:
            log.warning("could not release a lease; it expires by itself", lock=self.lock_id)
        self._until = None


@dataclass
class RelayStats:
    published: int = 0
    passes: int = 0


class OutboxRelay:
    """Publishes the pending events of the given collections and clears them."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        collections: Sequence[str],
        bus: KafkaBus,
        *,
        poll_interval: float = 0.2,
        batch_size: int = 500,
        lease_seconds: float = 10.0,
        sweep_interval: float = 60.0,
        name: str = "outbox-relay",
    ) -> None:
        self.db = db
        self.collections = list(collections)
        self.bus = bus
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.batch_size = batch_size
        self.lease = Lease(db, name, lease_seconds)
        self.stats = RelayStats()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask the relay to look for pending events now (call after an outbox write)."""
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.lease.lock_id)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.lease.release()

    async def _run(self) -> None:
        next_sweep = 0.0
        while True:
            self._wakeup.clear()  # before the pass: a write during it wakes the next one
            more = False
            try:
                if time.monotonic() >= next_sweep and await self.lease.hold():
                    await self.sweep()
                    next_sweep = time.monotonic() + self.sweep_interval
                more = await self.publish_pending() >= self.batch_size  # more may be waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; will retry")
            if more:
                continue
            await wait_event(self._wakeup, self.poll_interval)

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch_size`` pending events in write order."""
        if not await self.lease.hold():
            return 0
        self.stats.passes += 1
        pending: list[tuple[int, str, Any, dict[str, Any]]] = []
        # With a backlog, documents beyond the limit hold only events written after
        # the last fetched document's oldest one; publish nothing newer than that
        # cutoff in this pass, so events of one key never overtake each other.
        cutoff: int | None = None
        for name in self.collections:
            docs = (
                await self.db[name]
                .find({OUTBOX_SINCE: {"$exists": True}}, {OUTBOX: 1, OUTBOX_SINCE: 1})
                .sort(OUTBOX_SINCE, ASCENDING)
                .limit(self.batch_size)
                .to_list()
            )
            if len(docs) == self.batch_size:
                last = docs[-1][OUTBOX_SINCE]
                cutoff = last if cutoff is None else min(cutoff, last)
            for doc in docs:
                for entry in doc.get(OUTBOX) or ():
                    pending.append((entry["seq"], name, doc["_id"], entry))
        if cutoff is not None:
            pending = [item for item in pending if item[0] <= cutoff]
        OUTBOX_PENDING.labels(self.lease.lock_id).set(len(pending))
        if not pending:
            return 0
        pending.sort(key=lambda item: item[0])
        await self.bus.send_batch(
            [
                (
                    entry["topic"],
                    entry["key"].encode(),
                    bytes(entry["value"]),
                    _headers(entry),
                )
                for _, _, _, entry in pending
            ]
        )
        await self._clear(pending)
        self.stats.published += len(pending)
        return len(pending)

    async def _clear(self, published: Sequence[tuple[int, str, Any, dict[str, Any]]]) -> None:
        """Remove published events from their documents.

        One update per document, addressed by ``_id`` alone (servers without secondary
        indexes answer those fastest), in one bulk write: pull the published events
        and drop the pending marker. An event written to the same document meanwhile keeps
        its entry, and :meth:`_restore_markers` gives it its marker back at once; after a
        crash in between, the sweep at start-up (and every ``sweep_interval``) does.
        """
        by_doc: dict[str, dict[Any, list[str]]] = {}
        for _, name, doc_id, entry in published:
            by_doc.setdefault(name, {}).setdefault(doc_id, []).append(entry["id"])
        for name, docs in by_doc.items():
            coll = self.db[name]
            await write_many(
                coll,
                "update",
                [
                    {
                        "q": {"_id": doc_id},
                        "u": {
                            "$pull": {OUTBOX: {"id": {"$in": ids}}},
                            "$unset": {OUTBOX_SINCE: ""},
                        },
                    }
                    for doc_id, ids in docs.items()
                ],
            )
            await self._restore_markers(name, find_in(coll, list(docs), _MARKER_FIELDS))

    async def _restore_markers(self, name: str, docs: AsyncIterator[dict[str, Any]]) -> int:
        """Give documents that hold events but no pending marker their marker back."""
        coll = self.db[name]
        restored = 0
        # The marker test is done here, not in the query: a query on ``_id`` alone is
        # answered from the primary index by every server.
        async for doc in docs:
            if not doc.get(OUTBOX) or OUTBOX_SINCE in doc:
                continue
            oldest = min(entry["seq"] for entry in doc[OUTBOX])
            await coll.update_one({"_id": doc["_id"]}, {"$min": {OUTBOX_SINCE: oldest}})
            restored += 1
        return restored

    async def sweep(self) -> int:
        """Restore lost markers in every collection (after a crash inside :meth:`_clear`)."""
        restored = 0
        for name in self.collections:
            restored += await self._restore_markers(
                name,
                self.db[name].find(
                    {f"{OUTBOX}.0": {"$exists": True}, OUTBOX_SINCE: {"$exists": False}},
                    _MARKER_FIELDS,
                ),
            )
        if restored:
            log.warning("outbox markers restored", documents=restored)
        return restored


async def pending_count(db: AsyncDatabase[Any], collections: Iterable[str]) -> int:
    total = 0
    for name in collections:
        async for doc in db[name].find({OUTBOX_SINCE: {"$exists": True}}, {OUTBOX: 1}):
            total += len(doc.get(OUTBOX) or ())
    return total
