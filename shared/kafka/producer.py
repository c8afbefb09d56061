"""The producer side of the bus: an idempotent producer that publishes events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
)
from aiokafka.partitioner import DefaultPartitioner
from prometheus_client import Counter

from shared.contracts.spec import Topic
from shared.events.codec import encode
from shared.events.envelope import Event
from shared.kafka.packing import Message, send_packed
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import ensure_tenant_topics, ensure_topics, tenant_of, topic_name

#: The producer's ``max_request_size``: the largest message any contract topic takes. Each
#: topic's own limit is checked where events are written (:mod:`shared.outbox.entries`).
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

EVENTS_PUBLISHED = Counter("quorum_events_published_total", "Events published", ["topic"])

#: Errors that refuse one message for what it is (too large, a topic name Kafka refuses):
#: sending it again cannot help, so a publisher sets it aside and goes on with the others.
#: Any other error (an outage, a timeout, a leader moving, an ACL) is the cluster's: wait.
#: What a record batch adds to a message, at most (the batch header, the record's framing).
RECORD_FRAMING = 512

MESSAGE_REFUSED: tuple[type[Exception], ...] = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    CorruptRecordException,
)


class KafkaBus:
    """Producer side of the bus, shared by a service's outbox relay and tests."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = DefaultPartitioner()  # the producer's, and send_batch's
        #: per-tenant topics whose tenants' topics this bus creates when it first sends to one
        self._per_tenant: tuple[Topic, ...] = ()
        #: topic names sent to before, or created: nothing to create for them
        self._known: set[str] = set()
        #: the largest message each topic this bus made (or knows) takes, by real name
        self._limits: dict[str, int] = {}

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("KafkaBus.start() was not called")
        return self._producer

    def topic(self, topic: Topic | str, tenant: str | None = None) -> str:
        """The real name of ``topic``; of ``tenant``'s topic for a per-tenant one."""
        if isinstance(topic, Topic) and topic.per_tenant:
            if tenant is None:
                raise ValueError(f"{topic.name} is per tenant: name the tenant")
            return topic_name(self.settings.topic_prefix, topic.of_tenant(tenant))
        return topic_name(self.settings.topic_prefix, topic)

    async def start(self) -> None:
        self._producer = AIOKafkaProducer(
            **self.settings.client_options(),
            client_id=self.settings.client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=MAX_MESSAGE_BYTES,
            partitioner=self._partitioner,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Iterable[Topic], tenants: Iterable[str] = ()) -> None:
        """Create each topic and its dead-letter topic if missing; of a per-tenant topic,
        those of ``tenants``."""
        topics = list(topics)
        await ensure_topics(self.settings, topics)
        self._limits.update(
            (self.topic(t), t.max_message_bytes) for t in topics if not t.per_tenant
        )
        per_tenant = [t for t in topics if t.per_tenant]
        if per_tenant and tenants:
            await ensure_tenant_topics(self.settings, per_tenant, list(tenants))

    def create_tenant_topics_on_send(self, topics: Iterable[Topic]) -> None:
        """Before this bus first sends to a tenant's topic of one of these per-tenant topics,
        create it if missing, with the topic's limits: a service that publishes to tenants'
        topics (ingest's ``quorum.outcomes.<tenant>``) neither waits on one that the tenant's
        setup did not make nor leaves the broker to auto-create it with its defaults."""
        self._per_tenant = tuple(t for t in topics if t.per_tenant)

    async def _create_tenant_topics(self, names: Iterable[str]) -> None:
        new = set(names) - self._known
        if not new:
            return
        missing: dict[Topic, list[str]] = {}
        for name in new:
            for topic in self._per_tenant:
                tenant = tenant_of(self.settings.topic_prefix, topic, name)
                if tenant is not None:
                    missing.setdefault(topic, []).append(tenant)
        for topic, tenants in missing.items():
            await ensure_tenant_topics(self.settings, [topic], sorted(tenants))
        self._known |= new

    async def publish(self, event: Event[Any]) -> None:
        """Publish one event and wait for the broker's acknowledgement."""
        key, value, headers = encode(event)
        await self.send(event.topic, key, value, headers, tenant=event.tenant)

    async def send(
        self,
        topic: Topic | str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
        tenant: str | None = None,
    ) -> None:
        name = self.topic(topic, tenant)
        self._refuse_too_large([(name, key, value, headers)])
        if self._per_tenant:
            await self._create_tenant_topics([name])
        await self.producer.send_and_wait(name, value=value, key=key, headers=list(headers))
        EVENTS_PUBLISHED.labels(name).inc()

    async def send_batch(
        self,
        messages: Sequence[tuple[Topic | str, bytes | None, bytes, Sequence[tuple[str, bytes]]]],
    ) -> None:
        """Send messages in order and wait until every one is acknowledged: packed into
        record batches (:mod:`shared.kafka.packing`), each on the partition of its key."""
        named = [
            (self.topic(topic), key, value, headers) for topic, key, value, headers in messages
        ]
        self._refuse_too_large(named)
        if self._per_tenant:
            await self._create_tenant_topics({name for name, _, _, _ in named})
        await send_packed(self.producer, self._partitioner, named)
        sent: dict[str, int] = {}
        for name, _, _, _ in named:
            sent[name] = sent.get(name, 0) + 1
        for name, count in sent.items():
            EVENTS_PUBLISHED.labels(name).inc(count)

    def limit_of(self, name: str) -> int | None:
        """The largest message topic ``name`` takes, when this bus knows it."""
        if name not in self._limits:
            for topic in self._per_tenant:
                if tenant_of(self.settings.topic_prefix, topic, name) is not None:
                    self._limits[name] = topic.max_message_bytes
        return self._limits.get(name)

    def _refuse_too_large(self, messages: Sequence[Message]) -> None:
        """Refuse, before anything is sent, a batch holding a message over its topic's limit:
        the broker would refuse it, and a refused batch leaves the idempotent producer out of
        step on its partition (``OutOfOrderSequenceNumber``) for every message after it."""
        for name, key, value, headers in messages:
            limit = self.limit_of(name)
            size = len(key or b"") + len(value) + sum(len(h) + len(v) for h, v in headers)
            if limit is not None and size + RECORD_FRAMING > limit:
                raise MessageSizeTooLargeError(
                    f"a message of {size:,} bytes; topic {name} takes {limit:,}"
                )

    async def ping(self, timeout: float = 3.0) -> None:
        """Raise unless the broker answers a metadata request."""
        await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout)
