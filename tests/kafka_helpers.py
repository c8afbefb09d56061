"""Small helpers for tests that read and write real Kafka topics."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import DefaultPartitioner
from pymongo import AsyncMongoClient

from shared.outbox.entries import OUTBOX_OLDEST
from shared.settings import ServiceSettings


async def assigned(bootstrap: str, tps: list[TopicPartition], **options: Any) -> AIOKafkaConsumer:
    """A started consumer, no group, assigned ``tps``. Its reset policy is ``earliest``: the
    default (``latest``) races a ``seek_to_beginning`` just after the assignment, and can
    leave the consumer at the end of the log."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **options,
    )
    await consumer.start()
    consumer.assign(tps)
    return consumer


async def read_topic(
    bootstrap: str, topic: str, *, count: int, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read ``topic`` from the beginning until ``count`` records arrived or ``timeout`` passed."""
    deadline = time.monotonic() + timeout
    partitions: list[int] = []
    while not partitions and time.monotonic() < deadline:
        partitions = await partitions_of(bootstrap, topic)
        if not partitions:
            await asyncio.sleep(0.1)
    records: list[ConsumerRecord[bytes, bytes]] = []
    if not partitions:
        return records
    tps = [TopicPartition(topic, p) for p in sorted(partitions)]
    consumer = await assigned(bootstrap, tps)
    try:
        await consumer.seek_to_beginning(*tps)
        while len(records) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200)
            for recs in batch.values():
                records.extend(recs)
    finally:
        await consumer.stop()
    return records


async def produce(
    bootstrap: str,
    topic: str,
    messages: list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]],
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for key, value, headers in messages:
            await producer.send_and_wait(topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 30.0, interval: float = 0.1
) -> Any:
    """Await ``check`` until it returns something truthy; fail with its last value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s; last value: {last!r}")


async def list_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-admin")
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-admin")
    await admin.start()
    try:
        for start in range(0, len(names), 100):
            await admin.delete_topics(names[start : start + 100])
    finally:
        await admin.close()


async def read_all(
    bootstrap: str, topic: str, **options: Any
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on ``topic`` now: read from the beginning up to the end offsets it had
    when called (``options``: the client's security settings, if any)."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic, **options)]
    records: list[ConsumerRecord[bytes, bytes]] = []
    if not tps:
        return records
    consumer = await assigned(bootstrap, tps, **options)
    try:
        ends = {tp: end for tp, end in (await consumer.end_offsets(tps)).items() if end}
        await consumer.seek_to_beginning(*tps)

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        while await behind():
            for batch in (await consumer.getmany(*ends, timeout_ms=500)).values():
                records.extend(
                    r for r in batch if r.offset < ends[TopicPartition(topic, r.partition)]
                )
    finally:
        await consumer.stop()
    return records


async def partitions_of(bootstrap: str, topic: str, **options: Any) -> list[int]:
    """The partitions of ``topic`` (none if it does not exist yet)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, **options)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"]
        for d in described
        if d["topic"] == topic and not d["error_code"]
        for p in d["partitions"]
    )


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    """The next offset of each partition of ``topic``: where a caught-up consumer commits."""
    tps = [TopicPartition(topic, p) for p in await partitions_of(bootstrap, topic)]
    consumer = await assigned(bootstrap, tps)
    try:
        ends = await consumer.end_offsets(tps)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def published_offsets(settings: ServiceSettings) -> dict[tuple[str, int], int]:
    """Where every topic of the deployment (``settings.topic_prefix``) ends, once the service's
    outbox holds nothing pending: so every event its writes so far stored is counted. Equal
    figures before and after some calls show that the calls published nothing."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_uri)
    try:
        db = client[settings.database_name]

        async def nothing_pending() -> bool:
            for name in await db.list_collection_names():
                if await db[name].find_one({OUTBOX_OLDEST: {"$exists": True}}, {"_id": 1}):
                    return False
            return True

        await eventually(nothing_pending)
    finally:
        await client.close()
    bootstrap = settings.kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="tests-admin")
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(settings.topic_prefix)]
        described = await admin.describe_topics(topics) if topics else []
    finally:
        await admin.close()
    tps = [
        TopicPartition(d["topic"], p["partition"])
        for d in described
        if not d["error_code"]
        for p in d["partitions"]
    ]
    if not tps:
        return {}
    consumer = await assigned(bootstrap, tps)
    try:
        ends = await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def committed_offsets(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """The offsets consumer group ``group`` has committed on ``topic``'s partitions (a
    partition it never committed on is 0: it would start there, from the beginning)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Whether ``group`` has committed every record of ``topic``: all of them were applied."""
    ends = await end_offsets(bootstrap, topic)
    committed = await committed_offsets(bootstrap, group, topic)
    return all(committed.get(p, 0) >= end for p, end in ends.items())


class TopicReader:
    """Reads a topic from where it ended when the reader started (or from its beginning):
    ``until`` waits for an outcome (a count, a marker), not for time.

        async with TopicReader(bootstrap, topic) as reader:
            ...  # cause something
            records = await reader.until(lambda got: len(got) >= 3)
    """

    def __init__(self, bootstrap: str, topic: str, *, from_beginning: bool = False) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.from_beginning = from_beginning
        self.records: list[ConsumerRecord[bytes, bytes]] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> TopicReader:
        partitions = await eventually(lambda: partitions_of(self.bootstrap, self.topic))
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self._consumer = await assigned(self.bootstrap, tps)
        if self.from_beginning:
            await self._consumer.seek_to_beginning(*tps)
        else:
            for tp, end in (await self._consumer.end_offsets(tps)).items():
                self._consumer.seek(tp, end)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def until(
        self,
        done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
        *,
        timeout: float = 60.0,
    ) -> list[ConsumerRecord[bytes, bytes]]:
        """Read until ``done(records so far)``; every record read since the reader started."""
        assert self._consumer is not None, "use the reader in `async with`"
        deadline = time.monotonic() + timeout
        while not done(self.records):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.topic}: condition not met within {timeout}s "
                    f"({len(self.records)} records read)"
                )
            batch = await self._consumer.getmany(timeout_ms=100)
            for records in batch.values():
                self.records.extend(records)
        return self.records

    async def to_end(self, *, timeout: float = 60.0) -> list[ConsumerRecord[bytes, bytes]]:
        """Read up to where the topic ends now; every record read since the reader started.
        Called once the events of interest are all on the topic (after ``published_offsets``,
        which waits for the service's outbox to hold nothing pending), the records hold every
        publication of them, a duplicate included: a test that reads to the first match
        would miss a second one."""
        assert self._consumer is not None, "use the reader in `async with`"
        consumer = self._consumer
        ends = await consumer.end_offsets(list(consumer.assignment()))

        async def behind() -> bool:
            return any([await consumer.position(tp) < end for tp, end in ends.items()])

        deadline = time.monotonic() + timeout
        while await behind():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.topic}: not read to its end within {timeout}s")
            for records in (await consumer.getmany(timeout_ms=100)).values():
                self.records.extend(records)
        return self.records


def key_beside(key: str, partitions: int, prefix: str = "marker") -> str:
    """A new key whose records go to the partition of ``key``'s (Kafka's default partitioner,
    murmur2): a marker published after records of ``key`` is consumed after them."""
    partition, every = DefaultPartitioner(), list(range(partitions))
    target = partition(key.encode(), every, every)
    while True:
        candidate = f"{prefix}-{uuid.uuid4().hex[:12]}"
        if partition(candidate.encode(), every, every) == target:
            return candidate
