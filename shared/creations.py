"""The outbox of document creations: no write after publishing.

Where a document causes events only when it is inserted (an ingested item and its
``media.registered``), the stored outbox (:mod:`shared.outbox`) costs a second write per
document: clearing the outbox entry once it is published. On the local MongoDB-compatible
server that update costs more than the insert. A :class:`CreationOutbox` keeps the same
guarantee (no state change without its event, and no event without its state change)
with the insert alone:

* Each running service instance is a *writer*, with an id. The insert stores, in the
  document itself, the writer id, a sequence number strictly increasing within the writer
  (``_outbox_writer``, ``_outbox_seq``) and the id, time and trace of each event it causes
  (``_outbox_events``): the stored document is its own outbox entry. ``HIDE_OUTBOX``
  hides these fields from documents returned to callers.
* The events, already in memory, are published from there once the insert returns.
* Each writer keeps a *watermark* in ``outbox_writers``: every document it stamped with a
  sequence number at or below it is published or was never stored. It is the floor of
  the oldest batch still in flight, written with a heartbeat (about once a second).
* A writer whose heartbeat stops (a crash) is recovered by another instance (the holder of a
  lease): the documents it stamped above its watermark are read back, their events built
  again from them by the collection's *renderer*, with their first ids, and published.
  An event published twice this way is dropped by consumers (they deduplicate by event id).
* What cannot go from memory (a failed send, an insert that raised and may or may not have
  stored its documents, more events waiting than ``memory_limit``) is published the same
  way by the writer itself: read back from the collection, from the oldest batch concerned.

It suits collections whose documents cause events only at their creation: a later event of
the same key written through the stored outbox (:mod:`shared.outbox`) could overtake the
creation event, so a collection that needs both uses the stored outbox throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pymongo
from prometheus_client import Gauge
from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from shared.events.codec import encode
from shared.events.envelope import Event
from shared.kafka.producer import KafkaBus
from shared.logging import get_logger
from shared.outbox.entries import OUTBOX_EVENTS, OUTBOX_SEQ, OUTBOX_WRITER, last_seq, next_seq
from shared.outbox.lease import SHUTDOWN_WRITE_S, Lease
from shared.outbox.relay import wait_event

log = get_logger(__name__)

WRITERS = "outbox_writers"

#: Builds again the events a stored document's creation caused (see :func:`stored_envelope`).
Renderer = Callable[[Mapping[str, Any]], Sequence[Event[Any]]]

CREATIONS_WAITING = Gauge(
    "quorum_creation_outbox_waiting_events",
    "Creation events held in memory, waiting to be published",
    ["outbox"],
)


class OutboxUnavailable(ConnectionError):
    """This writer cannot vouch for its watermark (its heartbeat has not been stored for a
    while): it takes no new documents until it can. Retry shortly."""


def stored_envelope(doc: Mapping[str, Any], index: int = 0) -> dict[str, Any]:
    """The id, time and trace of the ``index``-th event of a stored document, as
    :func:`shared.events.make_event` keywords: a renderer builds the same event again."""
    meta = doc[OUTBOX_EVENTS][index]
    return {
        "event_id": meta["id"],
        "time": datetime.fromisoformat(meta["time"]),
        "traceparent": meta["traceparent"],
    }


class CreationBatch:
    """Documents inserted together (in one or more inserts) with the events they cause.

    :meth:`stamp` each document before inserting it, then say which were
    :meth:`inserted` and which were :meth:`refused` (not stored, e.g. a duplicate key).
    A document stamped and neither (the insert raised) is looked for in the collection.
    """

    def __init__(self, outbox: CreationOutbox, collection: str, ticket: int, floor: int) -> None:
        self.outbox = outbox
        self.collection = collection
        self.ticket = ticket
        self.floor = floor
        #: _id -> the document's events, while it is not known to be stored or not
        self.stamped: dict[Any, Sequence[Event[Any]]] = {}
        self.events: list[Event[Any]] = []  # of the documents stored

    def stamp(self, doc: Mapping[str, Any], events: Sequence[Event[Any]]) -> dict[str, Any]:
        """The document to insert: ``doc`` and the bookkeeping of its events."""
        self.stamped[doc["_id"]] = events
        return {
            **doc,
            OUTBOX_WRITER: self.outbox.writer_id,
            OUTBOX_SEQ: next_seq(),
            OUTBOX_EVENTS: [
                # the time as text: a stored date keeps only milliseconds
                {"id": e.id, "time": e.time.isoformat(), "traceparent": e.traceparent}
                for e in events
            ],
        }

    def inserted(self, doc_id: Any) -> None:
        self.events.extend(self.stamped.pop(doc_id))

    def refused(self, doc_id: Any) -> None:
        self.stamped.pop(doc_id, None)


@dataclass
class CreationStats:
    #: events published from memory
    from_memory: int = 0
    #: events read back and published by this writer (after a failed send or insert)
    read_back: int = 0
    #: events of other writers that stopped, read back and published
    recovered: int = 0


@dataclass
class _ReadBack:
    """Stored documents of this writer to publish from the collection: seq in (cursor, ceiling]."""

    cursor: int
    ceiling: int
    generation: int = 0


class CreationOutbox:
    """Publishes the creation events of the ``renderers``' collections (see the module)."""

    def __init__(
        self,
        db: AsyncDatabase[Any],
        bus: KafkaBus,
        renderers: Mapping[str, Renderer],
        *,
        name: str = "creations",
        batch_size: int = 500,
        memory_limit: int = 20_000,
        heartbeat_interval: float = 1.0,
        writer_timeout: float = 30.0,
        retry_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.renderers = dict(renderers)
        self.name = name
        self.batch_size = batch_size
        self.memory_limit = memory_limit
        self.heartbeat_interval = heartbeat_interval
        self.writer_timeout = writer_timeout
        self.retry_interval = retry_interval
        self.writer_id = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.stats = CreationStats()
        self._lease = Lease(db, f"{name}-recovery", writer_timeout / 3)
        self._tickets = itertools.count()
        self._open: dict[int, int] = {}  # batches in flight: ticket -> floor
        self._queue: deque[CreationBatch] = deque()
        self._queued_events = 0
        self._read_back: dict[str, _ReadBack] = {}
        self._beaten_at: float | None = None  # monotonic time of the last stored heartbeat
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # -- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def batch(self, collection: str) -> Iterator[CreationBatch]:
        """A batch of documents to insert into ``collection`` (see :class:`CreationBatch`)."""
        if collection not in self.renderers:
            raise ValueError(f"{collection} is not a creation outbox collection")
        beaten = self._beaten_at
        if beaten is None or time.monotonic() - beaten > self.writer_timeout / 2:
            # another instance may already count this writer as stopped and recover it
            raise OutboxUnavailable(
                "the outbox heartbeat has not been stored recently; retry shortly"
            )
        batch = CreationBatch(self, collection, next(self._tickets), next_seq())
        self._open[batch.ticket] = batch.floor
        try:
            yield batch
        finally:
            self._finish(batch)

    def _finish(self, batch: CreationBatch) -> None:
        if batch.stamped:  # stored or not, we cannot tell (the insert raised)
            self._leave_to_read_back(batch)
        elif not batch.events:
            del self._open[batch.ticket]
            return
        elif self._queued_events + len(batch.events) > self.memory_limit:
            log.warning(
                "creation events wait beyond the memory limit; reading them back later",
                outbox=self.name,
                waiting=self._queued_events,
            )
            self._leave_to_read_back(batch)
        else:
            self._queue.append(batch)
            self._queued_events += len(batch.events)
            CREATIONS_WAITING.labels(self.name).set(self._queued_events)
        self._wakeup.set()

    def _leave_to_read_back(self, batch: CreationBatch) -> None:
        span = self._read_back.get(batch.collection)
        ceiling = next_seq()  # above every seq the batch stamped
        if span is None:
            self._read_back[batch.collection] = _ReadBack(batch.floor, ceiling)
        else:
            span.cursor = min(span.cursor, batch.floor)
            span.ceiling = max(span.ceiling, ceiling)
            span.generation += 1
        self._open.pop(batch.ticket, None)

    def watermark(self) -> int:
        """Every document this writer stamped at or below it is published or not stored."""
        floors = [*self._open.values(), *(span.cursor for span in self._read_back.values())]
        return min(floors) if floors else last_seq()

    @property
    def waiting(self) -> int:
        """Events held in memory, not yet published."""
        return self._queued_events

    # -- running ----------------------------------------------------------------------------

    async def start(self) -> None:
        for collection in self.renderers:
            await self.db[collection].create_index(
                [(OUTBOX_WRITER, ASCENDING), (OUTBOX_SEQ, ASCENDING)], name="outbox_writer_seq"
            )
        await self.db[WRITERS].create_index([("outbox", ASCENDING)], name="outbox")
        await self._heartbeat()  # the record exists before any document names this writer
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop, publishing what waits first (for up to ``drain_timeout`` seconds)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await asyncio.wait_for(self._drain(), drain_timeout)
        except Exception:
            log.warning(
                "creation events left unpublished at stop; another instance will publish them",
                outbox=self.name,
                waiting=self._queued_events,
            )
        try:
            with pymongo.timeout(SHUTDOWN_WRITE_S):
                await self._close_record()
        except Exception:
            log.warning("could not close the outbox writer record; it expires by itself")
        await self._lease.release()
        self._beaten_at = None

    async def _close_record(self) -> None:
        if not self._open and not self._queue and not self._read_back:
            await self.db[WRITERS].delete_one({"_id": self.writer_id})
        else:  # stopped with work left: let the next instance recover it at once
            await self.db[WRITERS].update_one(
                {"_id": self.writer_id},
                {
                    "$set": {
                        "through": self.watermark(),
                        "heartbeat": datetime.fromtimestamp(0, UTC),
                    }
                },
            )

    async def _drain(self) -> None:
        while self._queue:
            await self.publish_from_memory()
        while self._read_back:
            for collection in list(self._read_back):
                await self.read_back(collection)

    async def _run(self) -> None:
        next_beat = next_recovery = 0.0
        while True:
            self._wakeup.clear()  # before the pass: what arrives during it wakes the next
            busy = failed = False
            try:
                if self._queue:
                    await self.publish_from_memory()
                    busy = bool(self._queue)
                for collection in list(self._read_back):
                    await self.read_back(collection)
                    busy = busy or collection in self._read_back
            except asyncio.CancelledError:
                raise
            except Exception:
                # e.g. the broker is unreachable: what was in memory is read back later
                log.exception("creation outbox could not publish; will retry", outbox=self.name)
                failed = True
            # the heartbeat goes on whatever publishing does: it is what keeps other
            # instances from recovering this writer, and this one taking new documents
            now = time.monotonic()
            try:
                if now >= next_beat:
                    await self._heartbeat()
                    next_beat = now + self.heartbeat_interval
                if now >= next_recovery:
                    next_recovery = now + self.writer_timeout / 3
                    if await self._lease.hold():
                        await self.recover_writers()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("creation outbox bookkeeping failed; will retry", outbox=self.name)
                failed = True
            if failed:
                await asyncio.sleep(self.retry_interval)
                continue
            if busy:
                continue
            await wait_event(self._wakeup, min(next_beat, next_recovery) - time.monotonic())

    async def _heartbeat(self) -> None:
        await self.db[WRITERS].update_one(
            {"_id": self.writer_id},
            {
                "$set": {
                    "outbox": self.name,
                    "through": self.watermark(),
                    "heartbeat": datetime.now(UTC),
                }
            },
            upsert=True,
        )
        self._beaten_at = time.monotonic()

    # -- publishing -------------------------------------------------------------------------

    async def publish_from_memory(self) -> int:
        """Publish the events of up to ``batch_size`` waiting batches' worth; the count sent."""
        batches: list[CreationBatch] = []
        events: list[Event[Any]] = []
        while self._queue and len(events) < self.batch_size:
            batch = self._queue.popleft()
            batches.append(batch)
            events.extend(batch.events)
        self._queued_events -= len(events)
        CREATIONS_WAITING.labels(self.name).set(self._queued_events)
        try:
            await self._send(events)
        except BaseException:
            for batch in batches:  # they are stored: published from the collection instead
                self._leave_to_read_back(batch)
            raise
        for batch in batches:
            del self._open[batch.ticket]
        self.stats.from_memory += len(events)
        return len(events)

    async def read_back(self, collection: str) -> int:
        """One pass publishing this writer's stored documents left to be read back."""
        span = self._read_back[collection]
        generation = span.generation
        docs = await self._stored(collection, self.writer_id, span.cursor, span.ceiling)
        sent = await self._send_rendered(collection, docs)
        self.stats.read_back += sent
        if span.generation != generation:
            return sent  # more was left to read back meanwhile, from a lower floor maybe
        if len(docs) < self.batch_size:
            del self._read_back[collection]
        else:
            span.cursor = docs[-1][OUTBOX_SEQ]
        return sent

    async def recover_writers(self) -> int:
        """Publish what writers that stopped heartbeating stored above their watermarks."""
        stale_before = datetime.now(UTC).timestamp() - self.writer_timeout
        stopped = (
            await self.db[WRITERS]
            .find(
                {
                    "outbox": self.name,
                    "heartbeat": {"$lt": datetime.fromtimestamp(stale_before, UTC)},
                    "_id": {"$ne": self.writer_id},
                }
            )
            .to_list()
        )
        recovered = 0
        for writer in stopped:
            for collection in self.renderers:
                cursor = writer["through"]
                while True:
                    docs = await self._stored(collection, writer["_id"], cursor, None)
                    recovered += await self._send_rendered(collection, docs)
                    if len(docs) < self.batch_size:
                        break
                    cursor = docs[-1][OUTBOX_SEQ]
            # unless it came back meanwhile (then it is alive, and it keeps its record)
            await self.db[WRITERS].delete_one(
                {"_id": writer["_id"], "heartbeat": writer["heartbeat"]}
            )
            log.warning(
                "recovered the creation events of a stopped writer",
                outbox=self.name,
                writer=writer["_id"],
            )
        self.stats.recovered += recovered
        return recovered

    async def _stored(
        self, collection: str, writer: str, after: int, ceiling: int | None
    ) -> list[dict[str, Any]]:
        seq: dict[str, int] = {"$gt": after}
        if ceiling is not None:
            seq["$lte"] = ceiling
        return (
            await self.db[collection]
            .find({OUTBOX_WRITER: writer, OUTBOX_SEQ: seq})
            .sort(OUTBOX_SEQ, ASCENDING)
            .limit(self.batch_size)
            .to_list()
        )

    async def _send_rendered(self, collection: str, docs: Sequence[Mapping[str, Any]]) -> int:
        render = self.renderers[collection]
        events = [event for doc in docs for event in render(doc)]
        await self._send(events)
        return len(events)

    async def _send(self, events: Sequence[Event[Any]]) -> None:
        if not events:
            return
        messages = []
        for event in events:
            key, value, headers = encode(event)
            messages.append((event.topic, key, value, headers))
        await self.bus.send_batch(messages)
