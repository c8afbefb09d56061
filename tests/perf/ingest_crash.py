"""Fault test: kill -9 the ingest service while it registers a stream of Kafka requests.

    .venv/bin/python -m tests.perf.ingest_crash [--items 30000] [--kill-after 2.5]

It needs the servers of ``make infra-up``. An ingest process registers requests produced to
``quorum.media.requests.acme``; it is killed (SIGKILL) mid-stream and a new one is started. The
new one picks up the uncommitted requests (once the dead member's Kafka session expires,
30 s), and its outbox relay publishes what the dead one stored and had not published yet
(once the dead relay's lease expires, 10 s).
It passes when every registered item is stored once and has its ``media.registered``
event on the topic; repeats (the same event id again) are counted, and fine. Not part of
``make test``: it takes about a minute, most of it waiting for those timeouts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from shared.auth.tokens import mint_token
from shared.contracts.media import MEDIA
from tests.kafka_helpers import delete_topics, list_topics
from tests.perf.ingest import (
    create_request_topic,
    produce_all,
    registration,
    request_message,
    requests_topic,
    seed,
    start_ingest,
    wait_ready,
    wait_seeded,
)

PORT = 18_611


async def registered_events(bootstrap: str, topic: str) -> tuple[int, set[bytes], set[str]]:
    """``media.registered`` records on the topic: their count, item ids and event ids."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    total, items, ids, idle = 0, set(), set(), 0
    try:
        while idle < 3:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            records = [r for rs in batches.values() for r in rs]
            idle = idle + 1 if not records else 0
            for record in records:
                event = json.loads(record.value)
                if event["type"] == "quorum.media.registered.v1":
                    total += 1
                    items.add(record.key)
                    ids.add(event["id"])
    finally:
        await consumer.stop()
    return total, items, ids


async def main(args: argparse.Namespace) -> int:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")
    run = uuid.uuid4().hex[:8]
    prefix, db_name, base = f"bench.{run}.", f"crash_{run}", f"http://127.0.0.1:{PORT}"
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    await create_request_topic(bootstrap, prefix)
    service = start_ingest(bootstrap, mongo_uri, prefix, db_name, PORT)
    try:
        await wait_ready(base)
        token = mint_token(subject="crash-test", tenant="acme", role="client")
        await seed(bootstrap, prefix)
        await wait_seeded(base, token, run)
        messages = [request_message(registration(i, run)) for i in range(args.items)]
        producing = asyncio.create_task(produce_all(bootstrap, requests_topic(prefix), messages))
        await asyncio.sleep(args.kill_after)
        os.kill(service.pid, signal.SIGKILL)
        service.wait()
        killed = time.monotonic()
        stored = await mongo[db_name]["media"].count_documents({})
        print(f"killed ingest with {stored:,} items stored; starting a new one", flush=True)
        await producing
        service = start_ingest(bootstrap, mongo_uri, prefix, db_name, PORT)
        await wait_ready(base)
        expected = args.items + 1  # and the item that told the service was seeded
        while True:
            total, items, ids = await registered_events(bootstrap, f"{prefix}{MEDIA.name}")
            stored = await mongo[db_name]["media"].count_documents({})
            print(
                f"{time.monotonic() - killed:4.0f} s after the kill: {stored:,} items stored, "
                f"{total:,} media.registered records ({len(items):,} items, "
                f"{len(ids):,} distinct events)",
                flush=True,
            )
            if stored == expected and len(items) == expected:
                break
            if time.monotonic() - killed > args.timeout:
                print(f"FAILED: not every item was published within {args.timeout:.0f} s")
                return 1
            await asyncio.sleep(5)
        pending = await mongo[db_name]["media"].count_documents({"_outbox.0": {"$exists": True}})
        print(
            f"PASSED: {expected:,} items stored and published once or more "
            f"({total - len(ids):,} repeats of an event id); {pending} items with events pending"
        )
        return 0
    finally:
        service.terminate()
        service.wait(20)
        await mongo.drop_database(db_name)
        await mongo.close()
        await delete_topics(
            bootstrap, [t for t in await list_topics(bootstrap) if t.startswith(prefix)]
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=30_000)
    parser.add_argument("--kill-after", type=float, default=2.5, help="seconds into the stream")
    parser.add_argument("--timeout", type=float, default=240)
    sys.exit(asyncio.run(main(parser.parse_args())))
