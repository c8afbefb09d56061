"""Benchmark: events per second through the shared bus against raw aiokafka, same run.

    .venv/bin/python -m tests.perf.bus [--events 20000] [--rounds 5]

Each round sends N events on a fresh 6-partition topic and waits until a consumer
has seen all of them, two ways, alternating so both see the same machine load:

* raw — aiokafka producer (acks=all, idempotent) sends pre-encoded bytes, an
  aiokafka consumer reads them with ``getmany`` and commits; nothing else;
* bus — ``make_event`` + CloudEvents encoding, ``KafkaBus.send_batch``, the
  ``ConsumerRunner`` decoding and validating each envelope against its pydantic
  contract, the inbox idempotence check and write in MongoDB, per-partition
  order, and commits after the effects.

Prints the median events/s of each and their ratio. It needs the servers of
``make infra-up`` (or KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient

from services.assignment.events import WORK_CREATED, WorkKind, WorkUnitEventV1
from shared.bus import ConsumerRunner, Inbox, KafkaBus, KafkaSettings, create_topics
from shared.events import Event, encode, make_event

PARTITIONS = 6


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


async def raw_round(bootstrap: str, n: int, payload: list[tuple[bytes, bytes]]) -> float:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    await create_topics(KafkaSettings(bootstrap, partitions=PARTITIONS), [topic])
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await consumer.start()
    await producer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)
        started = time.perf_counter()

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
        futures = [await producer.send(topic, value=v, key=k) for k, v in payload]
        await asyncio.gather(*futures)
        await consuming
        return n / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def bus_round(bootstrap: str, mongo: AsyncMongoClient[Any], n: int) -> float:
    prefix = f"bench.bus.{uuid.uuid4().hex[:8]}."
    settings = KafkaSettings(bootstrap, topic_prefix=prefix, partitions=PARTITIONS)
    db = mongo[f"bench_{uuid.uuid4().hex[:8]}"]
    bus = KafkaBus(settings)
    await bus.start()
    await bus.ensure_topics([WORK_CREATED.topic])
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
        inbox=Inbox(db, "bench"),
    )
    await runner.start()
    try:
        await runner.wait_assigned()
        started = time.perf_counter()
        events = _events(n)
        await bus.send_batch([(e.topic, *encode(e)) for e in events])
        await asyncio.wait_for(done.wait(), 300)
        return n / (time.perf_counter() - started)
    finally:
        await runner.stop()
        await bus.stop()
        await mongo.drop_database(db.name)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    payload = [(e.key.encode(), encode(e)[1]) for e in _events(args.events)]
    raw, bus = [], []
    await raw_round(bootstrap, 2000, payload[:2000])  # warm up both paths
    await bus_round(bootstrap, mongo, 2000)
    for i in range(args.rounds):
        raw.append(await raw_round(bootstrap, args.events, payload))
        bus.append(await bus_round(bootstrap, mongo, args.events))
        print(
            f"round {i + 1}: raw {raw[-1]:,.0f} ev/s   bus {bus[-1]:,.0f} ev/s   "
            f"ratio {bus[-1] / raw[-1]:.2f}",
            flush=True,
        )
    await mongo.close()
    raw_median, bus_median = statistics.median(raw), statistics.median(bus)
    print(f"\n{args.events:,} events x {args.rounds} rounds, {PARTITIONS} partitions")
    print(f"raw aiokafka median: {raw_median:,.0f} events/s")
    print(f"shared bus median:   {bus_median:,.0f} events/s")
    print(f"ratio (bus/raw):     {bus_median / raw_median:.2f}  (target >= 0.60)")


if __name__ == "__main__":
    asyncio.run(main())
