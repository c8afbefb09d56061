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
event id. A service that has just inserted documents may hand them to the relay
(:meth:`OutboxRelay.hand_over`): their events are published from memory, without
reading them back; the stored outbox stays the guarantee. Several replicas of a service may run a relay: a lease in the
``locks`` collection lets one publish at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

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

OUTBOX = "_outbox"
OUTBOX_SINCE = "_outbox_since"  # seq of the oldest pending event of the document
#: Projection that hides outbox bookkeeping from documents returned to callers.
HIDE_OUTBOX: Mapping[str, int] = {OUTBOX: 0, OUTBOX_SINCE: 0}
_MARKER_FIELDS: Mapping[str, int] = {OUTBOX: 1, OUTBOX_SINCE: 1}

_last_seq = 0


def _next_seq() -> int:
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
            "seq": _next_seq(),
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


@dataclass
class RelayStats:
    published: int = 0
    passes: int = 0
    #: of ``published``, events of documents handed over (published from memory)
    handed_over: int = 0


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
        key_per_document: Iterable[str] = (),
        handover_limit: int = 20_000,
        safety_poll_interval: float = 5.0,
        name: str = "outbox-relay",
    ) -> None:
        self.db = db
        self.collections = list(collections)
        self.bus = bus
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        #: Collections where all events of one key live in one document (e.g. one item
        #: per document): their pending documents need no sort across documents, which
        #: is the costly part of a pass when a backlog builds up.
        self.key_per_document = frozenset(key_per_document)
        self.batch_size = batch_size
        self.lease = timedelta(seconds=lease_seconds)
        self.lock_id = name
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{id(self):x}"
        self.stats = RelayStats()
        self.handover_limit = handover_limit
        #: documents handed over, not yet published: (collection, _id, outbox entries)
        self._handed: deque[tuple[str, Any, list[dict[str, Any]]]] = deque()
        self._handed_ids: set[tuple[str, Any]] = set()
        self._handed_events = 0
        self._last_hand_over = self._failed_at = -1e9
        self.safety_poll_interval = max(poll_interval, safety_poll_interval)
        self._poll_now = True
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._lease_until: datetime | None = None

    def wake(self) -> None:
        """Ask the relay to look for pending events now (call after an outbox write)."""
        self._poll_now = True
        self._wakeup.set()

    def hand_over(self, collection: str, docs: Sequence[Mapping[str, Any]]) -> None:
        """Publish the events of documents just inserted into ``collection``, from memory.

        Only for documents this process has just inserted (all their outbox entries are
        new) into a ``key_per_document`` collection, where no other document holds
        events of their keys, so publishing them at once keeps every key's order.
        This saves reading them back; should it fail, or more than ``handover_limit``
        events wait, the stored outbox is published by the regular passes instead.
        """
        if collection not in self.key_per_document:
            raise ValueError(f"{collection} is not a key-per-document outbox collection")
        for doc in docs:
            entries = doc.get(OUTBOX)
            if not entries:
                continue
            if self._handed_events + len(entries) > self.handover_limit:
                self.wake()  # too much in memory: the regular pass reads the rest
                return
            self._handed.append((collection, doc["_id"], entries))
            self._handed_ids.add((collection, doc["_id"]))
            self._handed_events += len(entries)
        self._last_hand_over = time.monotonic()
        self._wakeup.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.lock_id)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._release_lease()

    async def _run(self) -> None:
        next_sweep = 0.0
        next_poll = 0.0
        while True:
            more = False
            try:
                if self._handed:
                    await self.publish_handed()
                    more = bool(self._handed)
                now = time.monotonic()
                if self._poll_now or now >= next_poll:
                    self._poll_now = False
                    # While documents are handed over, the write path publishes: the
                    # stored outbox is read only as a safety net, not every poll interval
                    # (where a server scans a collection for pending documents, it counts).
                    handing_over = (
                        now - self._last_hand_over < self.safety_poll_interval
                        and now - self._failed_at >= self.safety_poll_interval
                    )
                    next_poll = now + (
                        self.safety_poll_interval if handing_over else self.poll_interval
                    )
                    if now >= next_sweep and await self._hold_lease():
                        await self.sweep()
                        next_sweep = time.monotonic() + self.sweep_interval
                    if await self.publish_pending() >= self.batch_size:
                        self._poll_now = more = True  # more may be waiting
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay pass failed; will retry")
                # What was handed over is stored: the regular passes publish it now.
                self._drop_handed()
                self._failed_at = time.monotonic()
                next_poll = self._failed_at + self.poll_interval
                self._poll_now = False
                more = False
            if more:
                continue
            self._wakeup.clear()
            if self._handed or self._poll_now:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), max(0.0, next_poll - time.monotonic()))

    def _drop_handed(self) -> None:
        self._handed.clear()
        self._handed_ids.clear()
        self._handed_events = 0

    async def publish_handed(self) -> int:
        """Publish up to ``batch_size`` events of documents handed over, then clear them."""
        batch: list[tuple[str, Any, list[dict[str, Any]]]] = []
        count = 0
        while self._handed and count < self.batch_size:
            item = self._handed.popleft()
            batch.append(item)
            count += len(item[2])
        try:
            await self.bus.send_batch(
                [
                    (
                        entry["topic"],
                        entry["key"].encode(),
                        entry["value"],
                        _headers(entry),
                    )
                    for _, _, entries in batch
                    for entry in entries
                ]
            )
            await self._clear(
                [
                    (entry["seq"], name, doc_id, entry)
                    for name, doc_id, entries in batch
                    for entry in entries
                ],
                read_back=False,
            )
        finally:
            for name, doc_id, entries in batch:
                self._handed_ids.discard((name, doc_id))
                self._handed_events -= len(entries)
        self.stats.published += count
        self.stats.handed_over += count
        return count

    async def publish_pending(self) -> int:
        """One pass: publish up to ``batch_size`` pending events in write order."""
        if not await self._hold_lease():
            return 0
        self.stats.passes += 1
        pending: list[tuple[int, str, Any, dict[str, Any]]] = []
        # With a backlog, documents beyond the limit hold only events written after
        # the last fetched document's oldest one; publish nothing newer than that
        # cutoff in this pass, so events of one key never overtake each other.
        cutoff: int | None = None
        for name in self.collections:
            query = self.db[name].find(
                {OUTBOX_SINCE: {"$exists": True}}, {OUTBOX: 1, OUTBOX_SINCE: 1}
            )
            if name in self.key_per_document:
                # every key's events are in one document: any pending documents will do
                docs = await query.limit(self.batch_size).to_list()
                handed = self._handed_ids
                for doc in docs:
                    if (name, doc["_id"]) in handed:
                        continue  # published from memory in a moment
                    for entry in doc.get(OUTBOX) or ():
                        pending.append((entry["seq"], name, doc["_id"], entry))
                continue
            docs = await query.sort(OUTBOX_SINCE, ASCENDING).limit(self.batch_size).to_list()
            if len(docs) == self.batch_size:
                last = docs[-1][OUTBOX_SINCE]
                cutoff = last if cutoff is None else min(cutoff, last)
            for doc in docs:
                for entry in doc.get(OUTBOX) or ():
                    pending.append((entry["seq"], name, doc["_id"], entry))
        if cutoff is not None:
            pending = [item for item in pending if item[0] <= cutoff]
        OUTBOX_PENDING.labels(self.lock_id).set(len(pending))
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

    async def _clear(
        self,
        published: Sequence[tuple[int, str, Any, dict[str, Any]]],
        *,
        read_back: bool = True,
    ) -> None:
        """Remove published events from their documents.

        One update per document, addressed by ``_id`` alone (servers without secondary
        indexes answer those fastest), in one bulk write: pull the published events
        and drop the pending marker. An event written to the same document meanwhile keeps its
        entry, and :meth:`_restore_markers` gives it its marker back at once; after a
        crash in between, the sweep at start-up (and every ``sweep_interval``) does.
        ``read_back=False`` leaves even the first case to the sweep (documents handed
        over were inserted a moment ago: another event written to one since is rare,
        and it is published within ``sweep_interval`` instead of at once).
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
            if read_back:
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

    async def _hold_lease(self) -> bool:
        now = datetime.now(UTC)
        if self._lease_until is not None and now < self._lease_until - self.lease / 2:
            return True
        until = now + self.lease
        try:
            await self.db["locks"].find_one_and_update(
                {"_id": self.lock_id, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:
            self._lease_until = None
            return False
        self._lease_until = until
        return True

    async def _release_lease(self) -> None:
        if self._lease_until is None:
            return
        try:
            await self.db["locks"].update_one(
                {"_id": self.lock_id, "owner": self.owner}, {"$set": {"until": datetime.now(UTC)}}
            )
        except PyMongoError:
            log.warning("could not release the outbox lease; it expires by itself")
        self._lease_until = None


async def pending_count(db: AsyncDatabase[Any], collections: Iterable[str]) -> int:
    total = 0
    for name in collections:
        async for doc in db[name].find({OUTBOX_SINCE: {"$exists": True}}, {OUTBOX: 1}):
            total += len(doc.get(OUTBOX) or ())
    return total
