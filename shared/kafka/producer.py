"""The producer side of the bus: an idempotent producer that publishes events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import MessageSizeTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from prometheus_client import Counter

from shared.contracts.spec import Topic
from shared.events.codec import encode
from shared.events.envelope import Event
from shared.kafka.partitioner import KeyPartitioner
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import ensure_topics, topic_name

MAX_MESSAGE_BYTES = 1_048_576  # the producer's max_request_size (aiokafka's default)

EVENTS_PUBLISHED = Counter("quorum_events_published_total", "Events published", ["topic"])


class KafkaBus:
    """Producer side of the bus, shared by a service's outbox relay and tests."""

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._partitioner = KeyPartitioner()

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
            max_request_size=MAX_MESSAGE_BYTES,
            partitioner=self._partitioner,
            request_timeout_ms=30_000,
        )
        await self._producer.start()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ensure_topics(self, topics: Iterable[Topic]) -> None:
        """Create each topic and its dead-letter topic if missing."""
        await ensure_topics(self.settings, topics)

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
        """Send messages in order and wait until every one is acknowledged.

        The messages are packed into record batches, one open batch per partition
        (aiokafka's batch API, partitioned by key as ``send`` does): this costs a
        fraction of ``send`` per message, and keeps the order within each partition.
        """
        producer = self.producer
        partitions: dict[str, list[int]] = {}
        placed: dict[tuple[str, bytes | None], int] = {}  # keys repeat: hash each once
        open_batches: dict[tuple[str, int], Any] = {}
        deliveries: list[asyncio.Future[Any]] = []
        sent: dict[str, int] = {}
        for topic, key, value, headers in messages:
            name = self.topic(topic)
            if not isinstance(headers, list):
                headers = list(headers)  # aiokafka's record builder takes a list only
            if len(value) > MAX_MESSAGE_BYTES // 2:  # as ``send`` checks it, for big ones only
                _check_size(name, key, value, headers)
            partition = placed.get((name, key)) if key is not None else None
            if partition is None:
                choices = partitions.get(name)
                if choices is None:
                    choices = partitions[name] = sorted(await producer.partitions_for(name))
                partition = self._partitioner(key, choices, choices)
                if key is not None:
                    placed[name, key] = partition
            where = (name, partition)
            batch = open_batches.get(where)
            if batch is None:
                batch = open_batches[where] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                deliveries.append(await producer.send_batch(batch, name, partition=where[1]))
                batch = open_batches[where] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None, headers=headers)
            sent[name] = sent.get(name, 0) + 1
        for (name, partition), batch in open_batches.items():
            deliveries.append(await producer.send_batch(batch, name, partition=partition))
        for delivery in deliveries:
            await delivery
        for name, count in sent.items():
            EVENTS_PUBLISHED.labels(name).inc(count)

    async def ping(self, timeout: float = 3.0) -> None:
        """Raise unless the broker answers a metadata request."""
        await asyncio.wait_for(self.producer.client.fetch_all_metadata(), timeout)


def _check_size(
    topic: str, key: bytes | None, value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    if size > MAX_MESSAGE_BYTES:
        raise MessageSizeTooLargeError(
            f"a message for {topic} is {size} bytes, more than {MAX_MESSAGE_BYTES}"
        )
