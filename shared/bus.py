"""The Kafka bus: an idempotent producer, topic creation, and a consumer runner.

Consumer guarantees (see DESIGN.md, "Guarantees"):

* offsets are committed only after every message before them has had its
  effect stored (or has been dead-lettered);
* one partition is processed strictly in order, so everything about one key
  (an item id) is seen in order; different partitions run concurrently;
* a handler error is retried with exponential backoff; after
  ``max_retries`` the message goes to ``<topic>.dlq`` with its original key,
  value and headers plus the reason, and the partition keeps flowing;
* a message that cannot be decoded (not a CloudEvent, data not matching the
  contract) is dead-lettered at once: retrying cannot fix it;
* infrastructure outages (MongoDB or Kafka unreachable) are retried without a
  bound: they are not the message's fault and must not empty a topic into its DLQ;
* an event id already applied is skipped (:class:`Inbox`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError
from prometheus_client import Counter, Histogram
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, ConnectionFailure

from shared.events import (
    BadEvent,
    Event,
    EventRegistry,
    EventSpec,
    Topic,
    decode,
    encode,
    topic_name,
)
from shared.logging import event_log_context, get_logger

log = get_logger(__name__)

TOPIC_ALREADY_EXISTS = 36
RECENT_IDS = 50_000
DLQ_HEADER_PREFIX = "quorum-dlq-"

EVENTS_CONSUMED = Counter(
    "quorum_events_consumed_total",
    "Kafka messages handled by a consumer runner, by outcome",
    ["consumer", "topic", "outcome"],
)
EVENTS_PUBLISHED = Counter("quorum_events_published_total", "Events published", ["topic"])
HANDLER_SECONDS = Histogram(
    "quorum_event_handler_seconds", "Time to apply one event", ["consumer", "type"]
)

Handler = Callable[[Event[Any]], Awaitable[None]]

# Errors that say the infrastructure is unavailable, not that the message is bad.
INFRASTRUCTURE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionFailure,
    KafkaConnectionError,
    ConnectionError,
)


class PermanentError(Exception):
    """A handler's verdict that retrying cannot help: dead-letter the message now."""


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: str
    topic_prefix: str = ""
    partitions: int = 6
    replication_factor: int = 1
    client_id: str = "quorum"


class KafkaBus:
    """Producer side of the bus, shared by a service's outbox relay and tests."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("KafkaBus.start() was not called")
        return self._producer

    def topic(self, topic: Topic | str) -> str:
        return topic_name(self.settings.topic_prefix, topic)

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self.settings.bootstrap_servers,
            client_id=self.settings.client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Iterable[Topic]) -> None:
        """Create each topic and its dead-letter topic if missing."""
        names: list[str] = []
        for topic in topics:
            names.append(self.topic(topic))
            if topic.dead_letter:
                names.append(self.topic(topic.dlq))
        await create_topics(self.settings, sorted(set(names)))

    async def publish(self, event: Event[Any]) -> None:
        """Publish one event and wait for the broker's acknowledgement."""
        key, value, headers = encode(event)
        await self.send(event.topic, key, value, headers)

    async def send(
        self,
        topic: Topic | str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        name = self.topic(topic)
        await self.producer.send_and_wait(name, value=value, key=key, headers=list(headers))
        EVENTS_PUBLISHED.labels(name).inc()

    async def send_batch(
        self,
        messages: Sequence[tuple[Topic | str, bytes | None, bytes, Sequence[tuple[str, bytes]]]],
    ) -> None:
        """Send messages in order and wait until every one is acknowledged."""
        futures = []
        for topic, key, value, headers in messages:
            name = self.topic(topic)
            futures.append(
                await self.producer.send(name, value=value, key=key, headers=list(headers))
            )
            EVENTS_PUBLISHED.labels(name).inc()
        if futures:
            await asyncio.gather(*futures)

    async def ping(self, timeout: float = 3.0) -> None:
        """Raise unless the broker answers a metadata request."""
        await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout)


async def create_topics(settings: KafkaSettings, names: Sequence[str]) -> None:
    if not names:
        return
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id=f"{settings.client_id}-admin"
    )
    await admin.start()
    try:
        response = await admin.create_topics(
            [NewTopic(name, settings.partitions, settings.replication_factor) for name in names]
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TOPIC_ALREADY_EXISTS):
                message = topic_error[2] if len(topic_error) > 2 else ""
                raise KafkaError(f"could not create topic {name}: error {code} {message}")
    finally:
        await admin.close()


class Inbox:
    """Event ids already applied by one consumer, in the consumer's own database.

    Handlers should also be idempotent by construction (upserts on natural keys,
    conditional updates): the inbox turns a redelivery into a cheap no-op, and
    handler idempotence covers a crash between the effect and the inbox write.
    """

    def __init__(self, db: AsyncDatabase[Any], consumer: str, retention_days: float = 14.0) -> None:
        self.collection = db[f"inbox_{consumer}"]
        self.retention_seconds = int(retention_days * 86_400)

    async def create_indexes(self) -> None:
        """Ids older than the retention are dropped (a replay from older offsets relies on
        the handlers' own idempotence, which every handler keeps)."""
        await self.collection.create_index(
            "at", expireAfterSeconds=self.retention_seconds, name="inbox_retention"
        )

    async def seen(self, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        cursor = self.collection.find({"_id": {"$in": list(event_ids)}}, {"_id": 1})
        return {doc["_id"] async for doc in cursor}

    async def mark(self, events: Sequence[Event[Any]]) -> None:
        if not events:
            return
        now = datetime.now(UTC)
        docs = [{"_id": ev.id, "at": now} for ev in events]
        try:
            await self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise


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
        max_batch: int = 1000,
        pipeline_depth: int = 4,
    ) -> None:
        if not handlers:
            raise ValueError("a consumer needs at least one handler")
        self.settings = settings
        self.name = name
        self.group_id = group_id
        self.bus = bus
        self.inbox = inbox
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff_ms / 1000
        self.max_batch = max_batch
        self._handlers = {spec.type: handler for spec, handler in handlers.items()}
        self.registry = EventRegistry(handlers)
        self.topics: list[Topic] = sorted({spec.topic for spec in handlers}, key=lambda t: t.name)
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.assigned = asyncio.Event()
        self._counters: dict[tuple[str, str], Any] = {}
        self._timers: dict[str, Any] = {}
        self.pipeline_depth = pipeline_depth
        self._pending: deque[asyncio.Task[None]] = deque()
        # Ids applied recently by this instance: covers duplicates arriving while the
        # previous batch's inbox marks are still being written.
        self._recent: deque[str] = deque(maxlen=RECENT_IDS)
        self._recent_set: set[str] = set()

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.bootstrap_servers,
            client_id=f"{self.settings.client_id}-{self.name}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.max_batch,
            session_timeout_ms=30_000,
            heartbeat_interval_ms=3_000,
            max_poll_interval_ms=600_000,
        )
        self._consumer.subscribe(
            [self.bus.topic(t) for t in self.topics], listener=_FinishBeforeRevoke(self)
        )
        await self._consumer.start()
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

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
        """
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            try:
                batches = await consumer.getmany(timeout_ms=200, max_records=self.max_batch)
                if consumer.assignment():
                    self.assigned.set()
                self._reap_finished()
                if not batches:
                    continue
                applied = await self._process_batch(batches)
                while len(self._pending) >= self.pipeline_depth:
                    await self._finish_oldest()
                offsets = {tp: records[-1].offset + 1 for tp, records in batches.items()}
                previous = self._pending[-1] if self._pending else None
                self._pending.append(
                    asyncio.create_task(self._finalize(consumer, applied, offsets, previous))
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                # Uncommitted work is redelivered: seek back to the committed offsets.
                log.exception(
                    "consumer loop error; resuming from committed offsets", consumer=self.name
                )
                await self._abandon_pending()
                await self._rewind(consumer)
                await asyncio.sleep(1.0)
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

    async def _abandon_pending(self) -> None:
        pending, self._pending = list(self._pending), deque()
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def _finalize(
        self,
        consumer: AIOKafkaConsumer,
        applied: list[Event[Any]],
        offsets: dict[TopicPartition, int],
        previous: asyncio.Task[None] | None,
    ) -> None:
        inbox = self.inbox
        if inbox is not None and applied:
            await self._with_infra_retry(lambda: inbox.mark(applied))
        if previous is not None:
            await asyncio.shield(previous)  # commits stay in batch order; a failure propagates
        await consumer.commit(offsets)

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

    async def _process_batch(
        self, batches: Mapping[TopicPartition, list[ConsumerRecord[Any, Any]]]
    ) -> list[Event[Any]]:
        """Decode everything, check the inbox once, apply partitions concurrently.

        Returns the events applied (to be marked in the inbox before the commit).
        """
        decoded: dict[TopicPartition, list[tuple[ConsumerRecord[Any, Any], Event[Any]]]] = {}
        for tp, records in batches.items():
            events = decoded[tp] = []
            for record in records:
                try:
                    event = decode(
                        record.value, key=record.key, headers=record.headers, registry=self.registry
                    )
                except BadEvent as exc:
                    await self._dead_letter(record, str(exc), attempts=0)
                    continue
                if event is None:
                    self._count(tp.topic, "ignored")
                    continue
                events.append((record, event))
        ids = [event.id for events in decoded.values() for _, event in events]
        inbox = self.inbox
        seen: set[str] = (
            await self._with_infra_retry(lambda: inbox.seen(ids)) if inbox and ids else set()
        )
        seen.update(i for i in ids if i in self._recent_set)
        applied = await asyncio.gather(
            *(self._apply_partition(tp.topic, events, seen) for tp, events in decoded.items())
        )
        done = [event for events in applied for event in events]
        for event in done:
            if len(self._recent) == RECENT_IDS:
                self._recent_set.discard(self._recent[0])
            self._recent.append(event.id)
            self._recent_set.add(event.id)
        return done

    async def _apply_partition(
        self,
        topic: str,
        events: list[tuple[ConsumerRecord[Any, Any], Event[Any]]],
        seen: set[str],
    ) -> list[Event[Any]]:
        """Apply one partition's events in order; return those applied (not dead-lettered)."""
        applied: list[Event[Any]] = []
        for record, event in events:
            if event.id in seen:
                self._count(topic, "duplicate")
                continue
            seen.add(event.id)  # a duplicate later in this batch is skipped too
            if await self._apply(record, event):
                applied.append(event)
        return applied

    def _timer(self, event_type: str) -> Any:
        timer = self._timers.get(event_type)
        if timer is None:
            timer = self._timers[event_type] = HANDLER_SECONDS.labels(self.name, event_type)
        return timer

    def _count(self, topic: str, outcome: str) -> None:
        key = (topic, outcome)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = EVENTS_CONSUMED.labels(self.name, topic, outcome)
        counter.inc()

    async def _apply(self, record: ConsumerRecord[Any, Any], event: Event[Any]) -> bool:
        """Apply one event; True when applied, False when dead-lettered."""
        handler = self._handlers[event.type]
        attempt = 0  # failures of the handler itself: bounded
        outage = 0  # infrastructure outages: retried without bound
        context = {
            "event_id": event.id,
            "event_type": event.type,
            "tenant": event.tenant,
            "item_id": getattr(event.data, "item_id", None),
            "key": event.key,
            "traceparent": event.traceparent,
        }
        with event_log_context(context):
            while True:
                started = time.perf_counter()
                try:
                    await handler(event)
                except INFRASTRUCTURE_ERRORS as exc:
                    outage += 1
                    log.warning(
                        "infrastructure unavailable; retrying", error=str(exc), tries=outage
                    )
                    await asyncio.sleep(min(5.0, self.retry_backoff * 2 ** min(outage, 6)))
                    continue
                except PermanentError as exc:
                    await self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempt + 1)
                    return False
                except Exception as exc:
                    attempt += 1
                    if attempt > self.max_retries:
                        await self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempt)
                        return False
                    log.warning("handler failed; retrying", attempt=attempt, error=str(exc))
                    await asyncio.sleep(self.retry_backoff * 2 ** (attempt - 1))
                    continue
                self._timer(event.type).observe(time.perf_counter() - started)
                self._count(record.topic, "applied")
                return True

    async def _dead_letter(
        self, record: ConsumerRecord[Any, Any], reason: str, attempts: int
    ) -> None:
        headers = list(record.headers or ())
        headers += [
            (f"{DLQ_HEADER_PREFIX}reason", reason.encode()[:4000]),
            (f"{DLQ_HEADER_PREFIX}topic", record.topic.encode()),
            (f"{DLQ_HEADER_PREFIX}partition", str(record.partition).encode()),
            (f"{DLQ_HEADER_PREFIX}offset", str(record.offset).encode()),
            (f"{DLQ_HEADER_PREFIX}consumer", self.group_id.encode()),
            (f"{DLQ_HEADER_PREFIX}attempts", str(attempts).encode()),
            (f"{DLQ_HEADER_PREFIX}time", datetime.now(UTC).isoformat().encode()),
        ]
        dlq = f"{record.topic}.dlq"
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
            except INFRASTRUCTURE_ERRORS as exc:
                attempt += 1
                log.warning("infrastructure unavailable; retrying", error=str(exc), attempt=attempt)
                await asyncio.sleep(min(5.0, self.retry_backoff * 2 ** min(attempt, 5)))


class _FinishBeforeRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """On a rebalance, store and commit the batch in flight before partitions move."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner

    async def on_partitions_revoked(self, revoked: Any) -> None:
        try:
            await self.runner.finish_pending()
        except Exception:
            log.exception("could not commit before the rebalance; the batch will be redelivered")

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


def dead_letter_reason(headers: Sequence[tuple[str, bytes]] | None) -> str | None:
    """The reason a dead letter carries (for tools and tests)."""
    for name, value in headers or ():
        if name == f"{DLQ_HEADER_PREFIX}reason":
            return value.decode()
    return None
