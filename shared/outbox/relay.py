"""The outbox relay: publishes pending events in write order, then clears them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from prometheus_client import Gauge
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.kafka.producer import KafkaBus
from shared.logging import get_logger
from shared.outbox.entries import OUTBOX, OUTBOX_OLDEST, outbox_headers
from shared.outbox.lease import Lease

log = get_logger(__name__)

OUTBOX_PENDING = Gauge(
    "quorum_outbox_pending_events",
    "Events waiting in the outbox at the relay's last pass (capped by its batch size)",
    ["relay"],
)

_MARKER_FIELDS: Mapping[str, int] = {OUTBOX: 1, OUTBOX_OLDEST: 1}


async def wait_event(event: asyncio.Event, timeout: float) -> None:
    """Return once ``event`` is set or ``timeout`` seconds have passed.

    Not ``asyncio.wait_for``: on Python 3.11 it swallows a cancellation that arrives in
    the tick the event is set (python/cpython#86296), and a publisher's loop stopped at
    that moment would run on, its ``stop()`` waiting forever. ``asyncio.timeout`` does not.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(0.0, timeout)):
            await event.wait()


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
        pending: list[tuple[int, str, Any, dict[str, Any]]] = []
        # With a backlog, documents beyond the limit hold only events written after
        # the last fetched document's oldest one; publish nothing newer than that
        # cutoff in this pass, so events of one key never overtake each other.
        cutoff: int | None = None
        for name in self.collections:
            docs = (
                await self.db[name]
                .find({OUTBOX_OLDEST: {"$exists": True}}, {OUTBOX: 1, OUTBOX_OLDEST: 1})
                .sort(OUTBOX_OLDEST, ASCENDING)
                .limit(self.batch_size)
                .to_list()
            )
            if len(docs) == self.batch_size:
                last = docs[-1][OUTBOX_OLDEST]
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
                    outbox_headers(entry),
                )
                for _, _, _, entry in pending
            ]
        )
        await self._clear(pending)
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
            await coll.bulk_write(
                [
                    UpdateOne(
                        {"_id": doc_id},
                        {"$pull": {OUTBOX: {"id": {"$in": ids}}}, "$unset": {OUTBOX_OLDEST: ""}},
                    )
                    for doc_id, ids in docs.items()
                ],
                ordered=False,
            )
            await self._restore_markers(
                name, coll.find({"_id": {"$in": list(docs)}}, _MARKER_FIELDS)
            )

    async def _restore_markers(self, name: str, docs: AsyncIterator[dict[str, Any]]) -> int:
        """Give documents that hold events but no pending marker their marker back."""
        coll = self.db[name]
        restored = 0
        # The marker test is done here, not in the query: a query on ``_id`` alone is
        # answered from the primary index by every server.
        async for doc in docs:
            if not doc.get(OUTBOX) or OUTBOX_OLDEST in doc:
                continue
            oldest = min(entry["seq"] for entry in doc[OUTBOX])
            await coll.update_one({"_id": doc["_id"]}, {"$min": {OUTBOX_OLDEST: oldest}})
            restored += 1
        return restored

    async def sweep(self) -> int:
        """Restore lost markers in every collection (after a crash inside :meth:`_clear`)."""
        restored = 0
        for name in self.collections:
            restored += await self._restore_markers(
                name,
                self.db[name].find(
                    {f"{OUTBOX}.0": {"$exists": True}, OUTBOX_OLDEST: {"$exists": False}},
                    _MARKER_FIELDS,
                ),
            )
        if restored:
            log.warning("outbox markers restored", documents=restored)
        return restored
