"""The consumer runner: applies the events of contract topics to a service's handlers.

Its guarantees (Quorum's design notes, "Guarantees"):

* offsets are committed only after every message before them has had its
  effect stored (or has been dead-lettered): after every batch, or at most every
  ``commit_interval_ms``, and always before partitions move or the consumer stops;
* one partition is processed strictly in order, so everything about one key
  (an item id) is seen in order; different partitions run concurrently;
* a handler error is retried with exponential backoff; after
  ``max_retries`` the message goes to ``<topic>.dlq`` with its original key,
  value and headers plus the reason, and the partition keeps flowing;
* a message that cannot be decoded (not a CloudEvent, data not matching the
  contract) is dead-lettered at once: retrying cannot fix it;
* infrastructure outages (MongoDB or Kafka unreachable) are retried without a
  bound: they are not the message's fault and must not empty a topic into its DLQ;
* an event id already applied is skipped (:class:`Inbox`);
* the events of a per-tenant topic (``quorum.media.requests.<tenant>``, consumed by pattern)
  belong to the topic's tenant: one whose ``tenant`` extension names another is
  dead-lettered, to the tenant's own ``.dlq``;
* a type may also have a batch handler, given the consecutive events of that
  type in one partition at once; if it fails, those events are applied one by
  one by the per-event handler, with its retries and dead letters;
* before partitions move to another consumer, the batch being applied is
  finished and everything applied is stored and committed; batches fetched but
  not yet applied are dropped and read again from the committed offsets.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from prometheus_client import Counter, Histogram

from shared.contracts.spec import EventSpec, Topic
from shared.events.codec import BadEvent, EventRegistry, decode
from shared.events.envelope import Event
from shared.inbox import Inbox
from shared.kafka.dead_letters import dead_letter_headers, dead_letter_topic
from shared.kafka.producer import EVENTS_PUBLISHED, KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import create_topics, tenant_of, tenant_topics
from shared.logging import bind_event, get_logger, unbind_event
from shared.outages import OUTAGES
from shared.supervision import Loops

log = get_logger(__name__)

RECENT_IDS = 50_000

EVENTS_CONSUMED = Counter(
    "quorum_events_consumed_total",
    "Kafka messages handled by a consumer runner, by outcome",
    ["consumer", "topic", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "quorum_event_handler_seconds", "Time to apply one event", ["consumer", "type"]
)

Handler = Callable[[Event[Any]], Awaitable[None]]
#: Applies consecutive events of one type from one partition together, in order, and
#: returns those it leaves to the per-event handler (applied one by one after it).
#: It must be idempotent: if it raises, the whole run is applied again one by one.
BatchHandler = Callable[[Sequence[Event[Any]]], Awaitable[Sequence[Event[Any]]]]


def in_turn(*handlers: Handler) -> Handler:
    """One handler that applies ``handlers`` in order: for an event type several use cases
    react to. Each must be idempotent: a retry applies them all again."""

    async def apply(event: Event[Any]) -> None:
        for handler in handlers:
            await handler(event)

    return apply


#: Applies a run of events another batch handler took (it leaves none to anyone).
RunHandler = Callable[[Sequence[Event[Any]]], Awaitable[None]]


def and_then(batch: BatchHandler, *after: RunHandler) -> BatchHandler:
    """``batch``, then each of ``after`` on the events it took (those it leaves go to the
    per-event handler, which must apply the others' effects too, as ``in_turn`` does). All
    must be idempotent: if one raises, the runner applies the whole run again one by one."""

    async def apply(events: Sequence[Event[Any]]) -> Sequence[Event[Any]]:
        left = await batch(events)
        left_ids = {e.id for e in left}
        taken = [e for e in events if e.id not in left_ids]
        for run in after:
            await run(taken)
        return left

    return apply


class PermanentError(Exception):
    """A handler's verdict that retrying cannot help: dead-letter the message now."""


#: A consumed record and its event, or the reason it could not be decoded.
_Entry = tuple[ConsumerRecord[Any, Any], Event[Any] | str]


@dataclass
class _Batch:
    """Records fetched in one poll, decoded, with their inbox lookup under way."""

    partitions: list[tuple[str, list[_Entry]]]
    ids: list[str]
    seen: asyncio.Task[set[str]] | None
    offsets: dict[TopicPartition, int]
    epoch: int

    def drop(self) -> None:
        """Forget the batch (it is fetched again from the committed offsets)."""
        if self.seen is None:
            return
        if self.seen.done():
            if not self.seen.cancelled():
                self.seen.exception()  # retrieved: a failed lookup no longer matters
        else:
            self.seen.cancel()


def _drop(*batches: _Batch | None) -> None:
    for batch in batches:
        if batch is not None:
            batch.drop()


async def _discard_prefetched(task: asyncio.Task[_Batch | None] | None) -> None:
    """Stop fetching the next batch, or forget it if it has arrived already (it is fetched
    again from the committed offsets)."""
    if task is None:
        return
    task.cancel()
    try:
        batch = await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # this task is being cancelled itself, not only the fetch
        return
    except Exception:
        return  # the position is rewound or the partitions leave: fetched again
    _drop(batch)


class ConsumerRunner:
    """Consumes contract topics and applies events with the guarantees above."""

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        name: str,
        group_id: str,
        handlers: Mapping[EventSpec[Any], Handler],
        bus: KafkaBus,
        inbox: Inbox | None = None,
        max_retries: int = 5,
        retry_backoff_ms: int = 200,
        max_batch: int = 500,
        pipeline_depth: int = 4,
        batch_handlers: Mapping[EventSpec[Any], BatchHandler] | None = None,
        without_inbox: Iterable[EventSpec[Any]] = (),
        session_timeout_ms: int = 30_000,
        commit_interval_ms: int = 0,
        loops: Loops | None = None,
        on_revoked: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        """``without_inbox``: types whose handlers are idempotent by construction all the
        way (a redelivery stores and publishes nothing new), so the inbox is skipped.
        ``commit_interval_ms``: 0 commits after every batch; more commits the offsets of the
        batches stored meanwhile at most this often (and always before a rebalance or a stop).
        ``loops``: where the consuming loop runs, started again should it raise (the
        runtime's, so ``/readyz`` says when it is down); by default loops of its own.
        ``on_revoked``: called when partitions are about to move, after everything applied
        is committed (a use case drops the state it keeps for the partitions it consumed)."""
        if not handlers:
            raise ValueError("a consumer needs at least one handler")
        if batch_handlers and not set(batch_handlers) <= set(handlers):
            raise ValueError("a type with a batch handler needs a per-event handler too")
        self.settings = settings
        self.name = name
        self.group_id = group_id
        self.bus = bus
        self.inbox = inbox
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff_ms / 1000
        self.max_batch = max_batch
        self.session_timeout_ms = session_timeout_ms
        self.commit_interval = commit_interval_ms / 1000
        self._handlers = {spec.type: handler for spec, handler in handlers.items()}
        self._batch_handlers = {spec.type: h for spec, h in (batch_handlers or {}).items()}
        self._no_inbox = frozenset(spec.type for spec in without_inbox)
        self.registry = EventRegistry(handlers)
        self.topics: list[Topic] = sorted({spec.topic for spec in handlers}, key=lambda t: t.name)
        self._tenant_of: dict[str, str | None] = {}  # topic name -> tenant, if per-tenant
        # dead-letter topics that exist: those of the fixed topics, created at start
        self._dlqs = {dead_letter_topic(bus.topic(t)) for t in self.topics if not t.per_tenant}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.assigned = asyncio.Event()
        self._counters: dict[tuple[str, str], Any] = {}
        self._timers: dict[str, Any] = {}
        self.pipeline_depth = pipeline_depth
        self._pending: deque[asyncio.Task[None]] = deque()
        # offsets of batches whose effects and inbox marks are stored, not committed yet
        self._uncommitted: dict[TopicPartition, int] = {}
        self._committed_at = time.monotonic()
        self._commit_lock = asyncio.Lock()
        # Ids applied recently by this instance: covers duplicates arriving while earlier
        # batches' inbox marks are still being written, or looked up before they were.
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()
        self._epoch = 0  # advanced when partitions are revoked
        self._idle = asyncio.Event()  # clear while a batch is being applied
        self._idle.set()
        self.loops = loops or Loops()
        self.on_revoked = tuple(on_revoked)
        self._runs = 0  # times the loop was started: after the first, it resumes

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.settings.client_options(),
            client_id=f"{self.settings.client_id}-{self.name}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_batch,
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=min(3_000, self.session_timeout_ms // 3),
            max_poll_interval_ms=600_000,
            # one message of the consumed topics always fits a partition's fetch
            max_partition_fetch_bytes=max(t.max_message_bytes for t in self.topics),
            # a new tenant's topic is found with the cluster's metadata, read this often
            metadata_max_age_ms=self.settings.metadata_max_age_ms,
        )
        listener = _FinishBeforeRevoke(self)
        by_pattern = any(t.per_tenant for t in self.topics)
        if by_pattern:
            self._consumer.subscribe(pattern=self.subscription_pattern(), listener=listener)
        else:
            self._consumer.subscribe([self.bus.topic(t) for t in self.topics], listener=listener)
        await self._consumer.start()
        if by_pattern:
            await self._find_fixed_topics(self._consumer)
        self._stopping.clear()
        self._task = self.loops.start(f"consumer-{self.name}", self._run)

    def subscription_pattern(self) -> str:
        """The consumed topics as one regular expression: the fixed topics by name, and every
        tenant's topic of the per-tenant ones (``quorum.media.requests.<tenant>``)."""
        prefix = self.settings.topic_prefix
        names = [
            tenant_topics(prefix, t) if t.per_tenant else re.escape(self.bus.topic(t))
            for t in self.topics
        ]
        return "^(?:" + "|".join(names) + ")$"

    async def _find_fixed_topics(self, consumer: AIOKafkaConsumer, timeout: float = 30.0) -> None:
        """A pattern is matched against the cluster's metadata as the consumer last read it, and
        topics created just before (at a first start) may be missing from it: read the metadata
        again until every fixed topic is subscribed, rather than wait for the next periodic read.
        aiokafka has no public call that refreshes the metadata the subscription follows."""
        fixed = {self.bus.topic(t) for t in self.topics if not t.per_tenant}
        deadline = time.monotonic() + timeout
        while not fixed <= consumer.subscription():
            if time.monotonic() > deadline:
                log.warning(
                    "topics not in the cluster's metadata yet; consumed once they are",
                    topics=sorted(fixed - consumer.subscription()),
                )
                return
            await consumer._client.force_metadata_update()
            await asyncio.sleep(0.05)

    def topic_tenant(self, name: str) -> str | None:
        """The tenant of a consumed per-tenant topic, ``None`` for a fixed topic."""
        if name not in self._tenant_of:
            prefix = self.settings.topic_prefix
            tenants = [tenant_of(prefix, t, name) for t in self.topics if t.per_tenant]
            self._tenant_of[name] = next((t for t in tenants if t), None)
        return self._tenant_of[name]

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand, store its effects and commit, then leave the group."""
        self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            except Exception:
                log.exception("consumer stopped with an error", consumer=self.name)
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def wait_assigned(self, timeout: float = 30.0) -> None:
        """Wait until the group has given this consumer its partitions (tests, readiness)."""
        await asyncio.wait_for(self.assigned.wait(), timeout)

    async def _run(self) -> None:
        """Poll and apply; mark and commit in the background while later batches are applied.

        Offsets of a batch are committed only after its effects and inbox marks are
        stored, and commits happen in batch order; at most ``pipeline_depth``
        batches wait for their commit, and a rebalance waits for all of them.
        While a batch is applied, the next one is fetched and decoded and its inbox
        lookup started (not applied: it is dropped if a rebalance comes first).
        """
        consumer = self._consumer
        assert consumer is not None
        self._runs += 1
        if self._runs > 1:
            # started again after it raised: what was applied and not committed is
            # redelivered from the committed offsets (and skipped by the inbox)
            await self._abandon_pending()
            await self._rewind(consumer)
        batch: _Batch | None = None
        ahead: asyncio.Task[_Batch | None] | None = None
        while not self._stopping.is_set():
            try:
                batch = None
                if ahead is not None:
                    batch = await ahead
                    ahead = None
                if batch is None:
                    batch = await self._fetch(consumer, timeout_ms=200)
                    if batch is None:
                        if self._commit_due():
                            await self._commit(consumer)
                        continue
                # The next batch is fetched and decoded while this one waits on its writes.
                ahead = asyncio.create_task(self._fetch(consumer, timeout_ms=0))
                if batch.epoch != self._epoch:
                    # Partitions were revoked since it was fetched: whatever was fetched
                    # and not applied is fetched again from the committed offsets.
                    _drop(batch)
                    batch = None
                    await _discard_prefetched(ahead)
                    ahead = None
                    await self._rewind(consumer)
                    continue
                self._idle.clear()
                try:
                    applied = await self._apply_batch(batch)
                    while len(self._pending) >= self.pipeline_depth:
                        await self._finish_oldest()
                    previous = self._pending[-1] if self._pending else None
                    self._pending.append(
                        asyncio.create_task(
                            self._finalize(consumer, applied, batch.offsets, previous)
                        )
                    )
                finally:
                    self._idle.set()
            except asyncio.CancelledError:
                _drop(batch)
                await _discard_prefetched(ahead)
                raise
            except Exception:
                # Uncommitted work is redelivered: seek back to the committed offsets.
                log.exception(
                    "consumer loop error; resuming from committed offsets", consumer=self.name
                )
                _drop(batch)
                batch = None
                await _discard_prefetched(ahead)
                ahead = None
                await self._abandon_pending()
                await self._rewind(consumer)
                await asyncio.sleep(1.0)
        await _discard_prefetched(
            ahead
        )  # fetched, not applied: fetched again from the committed offsets
        await self.finish_pending()

    async def _before_revoke(self) -> None:
        """Partitions are about to move: drop fetched batches not yet applied, let the
        batch being applied finish, and store and commit everything applied."""
        self._epoch += 1
        await self._idle.wait()
        await self.finish_pending()

    def _reap_finished(self) -> None:
        """Drop finished finalizers from the front; a failed one raises here."""
        while self._pending and self._pending[0].done():
            self._pending.popleft().result()

    async def _finish_oldest(self) -> None:
        task = self._pending[0]
        try:
            await asyncio.shield(task)  # the loop and a rebalance may both wait on it
        finally:
            if self._pending and self._pending[0] is task:
                self._pending.popleft()

    async def finish_pending(self) -> None:
        """Wait until every applied batch's inbox marks and offsets are stored."""
        while self._pending:
            await self._finish_oldest()
        if self._uncommitted and self._consumer is not None:
            await self._commit(self._consumer)

    async def _abandon_pending(self) -> None:
        pending, self._pending = list(self._pending), deque()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _finalize(
        self,
        consumer: AIOKafkaConsumer,
        applied: list[str],
        offsets: dict[TopicPartition, int],
        previous: asyncio.Task[None] | None,
    ) -> None:
        inbox = self.inbox
        if inbox is not None and applied:
            await self._with_infra_retry(lambda: inbox.mark(applied))
        if previous is not None:
            await asyncio.shield(previous)  # commits stay in batch order; a failure propagates
        self._uncommitted.update(offsets)
        if self._commit_due():
            await self._commit(consumer)

    def _commit_due(self) -> bool:
        return bool(self._uncommitted) and (
            time.monotonic() - self._committed_at >= self.commit_interval
        )

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit the offsets of every batch stored so far, one commit at a time."""
        async with self._commit_lock:
            offsets, self._uncommitted = self._uncommitted, {}
            if offsets:
                await consumer.commit(offsets)
                self._committed_at = time.monotonic()

    async def _rewind(self, consumer: AIOKafkaConsumer) -> None:
        try:
            for tp in consumer.assignment():
                committed = await consumer.committed(tp)
                if committed is None:
                    await consumer.seek_to_beginning(tp)
                else:
                    consumer.seek(tp, committed)
        except Exception:
            log.exception("could not rewind consumer", consumer=self.name)

    async def _fetch(self, consumer: AIOKafkaConsumer, timeout_ms: int) -> _Batch | None:
        """Fetch and decode a batch, and start looking its event ids up in the inbox."""
        epoch = self._epoch  # a batch fetched across a revocation is never applied
        records = await consumer.getmany(timeout_ms=timeout_ms, max_records=self.max_batch)
        if consumer.assignment():
            self.assigned.set()
        self._reap_finished()
        if not records:
            return None
        partitions: list[tuple[str, list[_Entry]]] = []
        ids: list[str] = []
        registry, no_inbox = self.registry, self._no_inbox
        for tp, tp_records in records.items():
            entries: list[_Entry] = []
            tenant = self.topic_tenant(tp.topic)
            for record in tp_records:
                try:
                    event = decode(
                        record.value,
                        key=record.key,
                        headers=record.headers,
                        registry=registry,
                        tenant=tenant,
                    )
                except BadEvent as exc:
                    entries.append((record, str(exc)))  # dead-lettered in its turn
                    continue
                if event is None:
                    self._count(tp.topic, "ignored")
                    continue
                entries.append((record, event))
                if event.type not in no_inbox:
                    ids.append(event.id)
            partitions.append((tp.topic, entries))
        inbox = self.inbox
        seen = (
            asyncio.create_task(self._with_infra_retry(lambda: inbox.seen(ids)))
            if inbox is not None and ids
            else None
        )
        offsets = {tp: tp_records[-1].offset + 1 for tp, tp_records in records.items()}
        return _Batch(partitions, ids, seen, offsets, epoch)

    async def _apply_batch(self, batch: _Batch) -> list[str]:
        """Apply the batch's partitions concurrently, each in order, skipping ids seen.

        Returns the ids of the events applied (to be marked in the inbox before the
        commit): only ids outlive the batch, so its events are freed early.
        """
        seen: set[str] = await batch.seen if batch.seen is not None else set()
        # Applied since the lookup started, or marked in the inbox only after it read:
        seen.update(self._recent_set.intersection(batch.ids))
        applied = await asyncio.gather(
            *(self._apply_partition(topic, entries, seen) for topic, entries in batch.partitions)
        )
        done = [event_id for ids in applied for event_id in ids]
        if self._no_inbox:
            marked = set(batch.ids)
            done = [event_id for event_id in done if event_id in marked]
        self._remember(done)
        return done

    def _remember(self, ids: Iterable[str]) -> None:
        """Keep the last ``RECENT_IDS`` applied ids in memory."""
        recent, recent_set = self._recent, self._recent_set
        for event_id in ids:
            if len(recent) == RECENT_IDS:
                recent_set.discard(recent.popleft())
            recent.append(event_id)
            recent_set.add(event_id)

    async def _apply_partition(
        self,
        topic: str,
        entries: list[_Entry],
        seen: set[str],
    ) -> list[str]:
        """Apply one partition's events in order; return the ids of those applied."""
        applied: list[str] = []
        duplicates = 0
        run: list[tuple[ConsumerRecord[Any, Any], Event[Any]]] = []
        for record, event in entries:
            if run and (isinstance(event, str) or event.type != run[0][1].type):
                applied += await self._apply_run(run)
                run = []
            if isinstance(event, str):  # could not be decoded: the reason
                await self._dead_letter(record, event, attempts=0)
                continue
            if event.id in seen:
                duplicates += 1
                continue
            seen.add(event.id)  # a duplicate later in this batch is skipped too
            if event.type in self._batch_handlers:
                run.append((record, event))
            elif await self._apply(record, event):
                applied.append(event.id)
        if run:
            applied += await self._apply_run(run)
        if applied:
            self._count(topic, "applied", len(applied))
        if duplicates:
            self._count(topic, "duplicate", duplicates)
        return applied

    async def _apply_run(self, run: list[tuple[ConsumerRecord[Any, Any], Event[Any]]]) -> list[str]:
        """Consecutive events of one type with a batch handler: together, else one by one."""
        events = [event for _, event in run]
        handler = self._batch_handlers[events[0].type]
        started = time.perf_counter()
        try:
            left = await self._with_infra_retry(lambda: handler(events))
        except Exception as exc:
            log.warning(
                "batch handler failed; applying its events one by one",
                error=f"{type(exc).__name__}: {exc}",
                events=len(events),
            )
            left = events
        else:
            self._timer(events[0].type).observe((time.perf_counter() - started) / len(events))
        left_ids = {event.id for event in left}
        applied = [event.id for event in events if event.id not in left_ids]
        for record, event in run:
            if event.id in left_ids and await self._apply(record, event):
                applied.append(event.id)
        return applied

    def _timer(self, event_type: str) -> Any:
        timer = self._timers.get(event_type)
        if timer is None:
            timer = self._timers[event_type] = HANDLER_SECONDS.labels(self.name, event_type)
        return timer

    def _count(self, topic: str, outcome: str, amount: int = 1) -> None:
        key = (topic, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = EVENTS_CONSUMED.labels(self.name, topic, outcome)
        counter.inc(amount)

    async def _apply(self, record: ConsumerRecord[Any, Any], event: Event[Any]) -> bool:
        """Apply one event; True when applied, False when dead-lettered.

        Log lines of the handler carry the event's context (:func:`bind_event`).
        """
        token = bind_event(event)
        try:
            started = time.perf_counter()
            try:
                await self._handlers[event.type](event)
            except Exception as exc:
                return await self._retry(record, event, exc)
            self._timer(event.type).observe(time.perf_counter() - started)
            return True
        finally:
            unbind_event(token)

    async def _retry(
        self, record: ConsumerRecord[Any, Any], event: Event[Any], error: Exception
    ) -> bool:
        """After a failed first try: retry, or dead-letter; True once applied."""
        handler = self._handlers[event.type]
        attempt = 0  # failures of the handler itself: bounded
        outage = 0  # infrastructure outages: retried without bound
        while True:
            if isinstance(error, OUTAGES):
                outage += 1
                log.warning("infrastructure unavailable; retrying", error=str(error), tries=outage)
                await asyncio.sleep(min(5.0, self.retry_backoff * 2 ** min(outage, 6)))
            elif isinstance(error, PermanentError):
                await self._dead_letter(record, f"{type(error).__name__}: {error}", attempt + 1)
                return False
            else:
                attempt += 1
                if attempt > self.max_retries:
                    await self._dead_letter(record, f"{type(error).__name__}: {error}", attempt)
                    return False
                log.warning("handler failed; retrying", attempt=attempt, error=str(error))
                await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
            started = time.perf_counter()
            try:
                await handler(event)
            except Exception as exc:
                error = exc
                continue
            self._timer(event.type).observe(time.perf_counter() - started)
            return True

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], reason: str, attempts: int
    ) -> None:
        headers = dead_letter_headers(record, reason, consumer=self.group_id, attempts=attempts)
        dlq = dead_letter_topic(record.topic)
        if dlq not in self._dlqs:  # a tenant's topic: its dead-letter topic made on first use
            limit = max(t.max_message_bytes for t in self.topics)
            await self._with_infra_retry(lambda: create_topics(self.settings, [dlq], {dlq: limit}))
            self._dlqs.add(dlq)
        await self._with_infra_retry(
            lambda: self.bus.producer.send_and_wait(
                dlq, value=record.value or b"", key=record.key, headers=headers
            )
        )
        EVENTS_PUBLISHED.labels(dlq).inc()
        self._count(record.topic, "dead_lettered")
        log.error(
            "message dead-lettered",
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            dlq=dlq,
        )

    async def _with_infra_retry(self, call: Callable[[], Awaitable[Any]]) -> Any:
        attempt = 0
        while True:
            try:
                return await call()
            except OUTAGES as exc:
                attempt += 1
                log.warning("infrastructure unavailable; retrying", error=str(exc), attempt=attempt)
                await asyncio.sleep(min(5.0, self.retry_backoff * 2 ** min(attempt, 5)))


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """On a rebalance, store and commit the batch in flight before partitions move."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        try:
            await self.runner._before_revoke()
        except Exception:
            log.exception("could not commit before the rebalance; the batch will be redelivered")
        for callback in self.runner.on_revoked:
            try:
                await callback()
            except Exception:
                log.exception("a use case could not let its partitions go")

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None
