"""The outbox relay: publishes pending events in write order, then clears them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from prometheus_client import Counter, Gauge
from pymongo import ASCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from shared.kafka.producer import MESSAGE_REFUSED, KafkaBus
from shared.logging import get_logger
from shared.outbox.entries import OUTBOX, OUTBOX_OLDEST, outbox_headers
from shared.outbox.lease import Lease
from shared.supervision import Loops

log = get_logger(__name__)

OUTBOX_PENDING = Gauge(
    "quorum_outbox_pending_events",
    "Events waiting in the outbox at the relay's last pass (capped by its batch size)",
    ["relay"],
)

OUTBOX_SET_ASIDE_TOTAL = Counter(
    "quorum_outbox_set_aside_total",
    "Outbox events set aside because they cannot be published (malformed, refused by Kafka)",
    ["relay"],
)

_MARKER_FIELDS: Mapping[str, int] = {OUTBOX: 1, OUTBOX_OLDEST: 1}
#: Where a document keeps the events set aside from its outbox, each with its reason.
OUTBOX_SET_ASIDE = "_outbox_set_aside"

#: (seq, collection, document id, entry): an event waiting in a document's outbox.
_Pending = tuple[int, str, Any, dict[str, Any]]
#: What a stored entry holds, and of which type.
_ENTRY_FIELDS: Mapping[str, type | tuple[type, ...]] = {
    "id": str,
    "seq": int,
    "topic": str,
    "key": str,
    "value": (bytes, bytearray),
}


def _malformed(entry: Any) -> str | None:
    """Why a stored outbox entry cannot be published as it is (None: it can)."""
    if not isinstance(entry, dict):
        return f"an outbox entry is a document, not {type(entry).__name__}"
    wrong = [
        field
        for field, kind in _ENTRY_FIELDS.items()
        if not isinstance(entry.get(field), kind) or isinstance(entry.get(field), bool)
    ]
    if wrong:
        return f"malformed outbox entry: {', '.join(wrong)} missing or of another type"
    try:
        outbox_headers(entry)
    except (TypeError, ValueError) as exc:
        return f"malformed outbox entry: headers: {exc}"
    return None


def _seq(entry: Any) -> int:
    seq = entry.get("seq") if isinstance(entry, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else 0


def _message(entry: Mapping[str, Any]) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    return entry["topic"], entry["key"].encode(), bytes(entry["value"]), outbox_headers(entry)


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
        loops: Loops | None = None,
    ) -> None:
        """``loops``: where the relay's loop runs (the runtime's, so ``/readyz`` says when it
        is down); by default loops of its own."""
        self.db = db
        self.collections = list(collections)
        self.bus = bus
        self.poll_interval = poll_interval
        self.sweep_interval = sweep_interval
        self.batch_size = batch_size
        self.lease = Lease(db, name, lease_seconds)
        self._wakeup = asyncio.Event()
        self.loops = loops or Loops()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Ask the relay to look for pending events now (call after an outbox write)."""
        self._wakeup.set()

    async def start(self) -> None:
        self._task = self.loops.start(self.lease.lock_id, self._run)

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
        """One pass: publish up to ``batch_size`` pending events in write order.

        An entry that cannot be published for what it is (malformed, or refused by Kafka:
        :data:`shared.kafka.producer.MESSAGE_REFUSED`) is set aside (:meth:`_set_aside`) and
        the others go on; any other error ends the pass, to be tried again."""
        if not await self.lease.hold():
            return 0
        pending: list[_Pending] = []
        malformed: list[tuple[_Pending, str]] = []
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
                    problem = _malformed(entry)
                    if problem is None:
                        pending.append((entry["seq"], name, doc["_id"], entry))
                    else:
                        malformed.append(((0, name, doc["_id"], entry), problem))
        for item, problem in malformed:
            await self._set_aside(item, problem)
        if cutoff is not None:
            pending = [item for item in pending if item[0] <= cutoff]
        OUTBOX_PENDING.labels(self.lease.lock_id).set(len(pending))
        if not pending:
            return len(malformed)
        pending.sort(key=lambda item: item[0])
        try:
            await self.bus.send_batch([_message(entry) for _, _, _, entry in pending])
        except MESSAGE_REFUSED:
            # one of them (which, the batch does not say): each alone, in order
            return len(malformed) + await self._publish_one_by_one(pending)
        await self._clear(pending)
        return len(malformed) + len(pending)

    async def _publish_one_by_one(self, pending: Sequence[_Pending]) -> int:
        """Publish each event alone, in order, setting aside those Kafka refuses."""
        published: list[_Pending] = []
        try:
            for item in pending:
                try:
                    await self.bus.send_batch([_message(item[3])])
                except MESSAGE_REFUSED as refused:
                    await self._set_aside(item, f"{type(refused).__name__}: {refused}")
                else:
                    published.append(item)
        finally:  # an outage midway: what went out is not sent again
            if published:
                await self._clear(published)
        return len(pending)

    async def _set_aside(self, item: _Pending, reason: str) -> None:
        """Move an entry that cannot be published from the document's outbox to its
        ``_outbox_set_aside`` list, with the reason, and log it for ops: it no longer holds
        back the events behind it (publish it again by moving it back)."""
        _, name, doc_id, entry = item
        coll = self.db[name]
        aside = {"entry": entry, "reason": reason[:1_000], "set_aside_at": time.time()}
        event_id = entry.get("id") if isinstance(entry, dict) else None
        await coll.update_one(
            {"_id": doc_id},
            {
                "$pull": {OUTBOX: {"id": event_id} if isinstance(event_id, str) else entry},
                "$push": {OUTBOX_SET_ASIDE: aside},
                "$unset": {OUTBOX_OLDEST: ""},
            },
        )
        await self._restore_markers(name, coll.find({"_id": doc_id}, _MARKER_FIELDS))
        OUTBOX_SET_ASIDE_TOTAL.labels(self.lease.lock_id).inc()
        log.error(
            "outbox event set aside: it cannot be published",
            collection=name,
            document=str(doc_id),
            event_id=entry.get("id") if isinstance(entry, dict) else None,
            event_type=entry.get("type") if isinstance(entry, dict) else None,
            reason=reason,
        )

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
            # a malformed entry (no sequence number) is found first, and set aside
            oldest = min(_seq(entry) for entry in doc[OUTBOX])
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
