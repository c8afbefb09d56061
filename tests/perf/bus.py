"""Benchmark: events per second through the shared bus against raw aiokafka, same run.

    .venv/bin/python -m tests.perf.bus [--events 20000] [--rounds 5] [--raw-producer send]
                                       [--gc service|python]

Each round sends N events on a fresh 6-partition topic and waits until a consumer
has seen all of them, two ways, alternating so both see the same machine load:

* raw — aiokafka producer (acks=all, idempotent, same linger and batch size as the
  bus) sends pre-encoded bytes with ``send`` per message, an aiokafka consumer
  reads them with ``getmany`` and commits; nothing else. ``--raw-producer batch``
  packs them with aiokafka's batch API instead (``create_batch``/``send_batch``,
  as ``KafkaBus.send_batch`` does), to see how much of the gap is producing;
* bus — ``make_event`` + CloudEvents encoding, ``KafkaBus.send_batch``, the
  ``ConsumerRunner`` decoding and validating each envelope against its pydantic
  contract, the inbox idempotence check and write in MongoDB (with its retention
  index, as services create it), per-partition order, and commits after the
  effects.

Both run in this one process, with the garbage collector as the services set it
(``shared.serve.tune_gc`` with the default ``QUORUM_GC_GEN0_THRESHOLD``), or with Python's
own settings (``--gc python``, how this benchmark ran before it had the option).

Prints the median events/s of each and their ratio, and the CPU this process spent per
event inside the timed section (both sides run here; on a shared machine the CPU an event
costs is steadier than the rate). It needs the servers of
``make infra-up`` (or KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI). The topics and
databases it creates are deleted at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any, NamedTuple

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pymongo import AsyncMongoClient

from shared.contracts.work import WORK_CREATED, WorkKind, WorkUnitEventV1
from shared.events.codec import encode
from shared.events.envelope import Event, make_event
from shared.inbox import Inbox
from shared.kafka.consumer import ConsumerRunner
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import create_topics
from shared.serve import tune_gc
from shared.settings import ServiceSettings
from tests.kafka_helpers import delete_topics

PARTITIONS = 6


class Round(NamedTuple):
    rate: float  # events per second, first send to last event consumed
    cpu_us: float  # this process's CPU per event over the same span


def _round(n: int, started: float, cpu_started: float) -> Round:
    return Round(n / (time.perf_counter() - started), 1e6 * (time.process_time() - cpu_started) / n)


def _events(n: int) -> list[Event[WorkUnitEventV1]]:
    now = datetime.now(UTC)
    return [
        make_event(
            WORK_CREATED,
            WorkUnitEventV1(
                unit_id=f"u{i}",
                item_id=f"item-{i % 1000}",
                project_id="p1",
                tenant="acme",
                kind=WorkKind.review,
                at=now,
            ),
            source="/bench",
            tenant="acme",
        )
        for i in range(n)
    ]


async def _send_each(
    producer: AIOKafkaProducer, topic: str, payload: list[tuple[bytes, bytes]]
) -> None:
    futures = [await producer.send(topic, value=v, key=k) for k, v in payload]
    await asyncio.gather(*futures)


async def _send_batched(
    producer: AIOKafkaProducer, topic: str, payload: list[tuple[bytes, bytes]]
) -> None:
    partitioner = DefaultPartitioner()
    partitions = sorted(await producer.partitions_for(topic))
    batches: dict[int, Any] = {}
    deliveries = []
    for key, value in payload:
        partition = partitioner(key, partitions, partitions)
        batch = batches.get(partition)
        if batch is None:
            batch = batches[partition] = producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None) is None:
            deliveries.append(await producer.send_batch(batch, topic, partition=partition))
            batch = batches[partition] = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None)
    for partition, batch in batches.items():
        deliveries.append(await producer.send_batch(batch, topic, partition=partition))
    for delivery in deliveries:
        await delivery


def raw_producer(bootstrap: str) -> AIOKafkaProducer:
    """The raw baselines' producer: the same settings as ``KafkaBus``."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )


async def raw_round(
    bootstrap: str,
    n: int,
    payload: list[tuple[bytes, bytes]],
    created: list[str],
    producing: str = "send",
) -> Round:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(KafkaSettings(bootstrap, partitions=PARTITIONS), [topic])
    created.append(topic)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = raw_producer(bootstrap)
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        started, cpu_started = time.perf_counter(), time.process_time()

        async def consume() -> None:
            seen = 0
            while seen < n:
                batches = await consumer.getmany(timeout_ms=200, max_records=500)
                for records in batches.values():
                    seen += len(records)
                if batches:
                    await consumer.commit(
                        {tp: records[-1].offset + 1 for tp, records in batches.items()}
                    )

        consuming = asyncio.create_task(consume())
        send = _send_batched if producing == "batch" else _send_each
        await send(producer, topic, payload[:n])
        await consuming
        return _round(n, started, cpu_started)
    finally:
        await producer.stop()
        await consumer.stop()


async def bus_round(
    bootstrap: str, mongo: AsyncMongoClient[Any], n: int, created: list[str]
) -> Round:
    prefix = f"bench.bus.{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap, topic_prefix=prefix, partitions=PARTITIONS)
    db = mongo[f"bench_{uuid.uuid4().hex[:8]}"]
    bus = KafkaBus(settings)
    await bus.start()
    await bus.ensure_topics([WORK_CREATED.topic])
    created += [bus.topic(WORK_CREATED.topic), bus.topic(WORK_CREATED.topic.dlq)]
    inbox = Inbox(db, "bench")
    await inbox.create_indexes()
    done = asyncio.Event()
    count = 0

    async def handle(_: Event[Any]) -> None:
        nonlocal count
        count += 1
        if count >= n:
            done.set()

    runner = ConsumerRunner(
        settings,
        name="bench",
        group_id=f"bench-{prefix}",
        handlers={WORK_CREATED: handle},
        bus=bus,
        inbox=inbox,
    )
    await runner.start()
    try:
        await runner.wait_assigned()
        started, cpu_started = time.perf_counter(), time.process_time()
        await bus.send_batch([(e.topic, *encode(e)) for e in _events(n)])
        await asyncio.wait_for(done.wait(), 300)
        return _round(n, started, cpu_started)
    finally:
        await runner.stop()
        await bus.stop()
        await mongo.drop_database(db.name)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--raw-producer",
        choices=["send", "batch"],
        default="send",
        help="how the raw pipeline produces: send per message (default) or the batch API",
    )
    parser.add_argument(
        "--gc",
        choices=["service", "python"],
        default="service",
        help="the garbage collector as the services set it (default), or Python's own",
    )
    args = parser.parse_args()
    if args.gc == "service":
        tune_gc(ServiceSettings.model_fields["gc_gen0_threshold"].default)
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    payload = [(e.key.encode(), encode(e)[1]) for e in _events(args.events)]
    created: list[str] = []
    raw: list[Round] = []
    bus: list[Round] = []
    try:
        # warm up both paths
        await raw_round(bootstrap, 2000, payload, created, args.raw_producer)
        await bus_round(bootstrap, mongo, 2000, created)
        for i in range(args.rounds):
            raw.append(await raw_round(bootstrap, args.events, payload, created, args.raw_producer))
            bus.append(await bus_round(bootstrap, mongo, args.events, created))
            print(
                f"round {i + 1}: raw {raw[-1].rate:,.0f} ev/s {raw[-1].cpu_us:.0f} µs   "
                f"bus {bus[-1].rate:,.0f} ev/s {bus[-1].cpu_us:.0f} µs   "
                f"ratio {bus[-1].rate / raw[-1].rate:.2f}",
                flush=True,
            )
    finally:
        await mongo.close()
        await delete_topics(bootstrap, created)
    raw_median = statistics.median(r.rate for r in raw)
    bus_median = statistics.median(r.rate for r in bus)
    print(
        f"\n{args.events:,} events x {args.rounds} rounds, {PARTITIONS} partitions, "
        f"raw producer: {args.raw_producer}, GC: {args.gc}"
    )
    print(f"raw aiokafka median: {raw_median:,.0f} events/s")
    print(f"shared bus median:   {bus_median:,.0f} events/s")
    print(f"ratio (bus/raw):     {bus_median / raw_median:.2f}")
    ratios = statistics.median(b.rate / r.rate for b, r in zip(bus, raw, strict=True))
    print(f"median of the rounds' ratios: {ratios:.2f}")
    print(
        f"CPU per event, medians: raw {statistics.median(r.cpu_us for r in raw):.0f} µs, "
        f"bus {statistics.median(b.cpu_us for b in bus):.0f} µs"
    )


if __name__ == "__main__":
    asyncio.run(main())
