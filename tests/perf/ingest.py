"""Benchmark: sustained registrations per second through ingest against a raw pipeline.

    .venv/bin/python -m tests.perf.ingest [--kafka-items 100000] [--http-items 100000]
                                          [--raw-items 100000] [--rounds 4] [--batch 1000]

It needs the servers of ``make infra-up`` (or KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI).
The ingest service runs as its own process (``python -m services.ingest``) on a
fresh database and topic prefix; so does the raw pipeline. Measured, in one run:

* kafka: registration requests (CloudEvents, structured mode) produced to
  ``quorum.media.requests.acme`` until as many ``media.registered`` events have come out
  of ``quorum.media`` (consumed -> validated -> stored -> published by the outbox);
* http: ``POST /v1/media/batch`` of ``--batch`` items (bodies encoded before timing, as
  the Kafka requests are), two requests in flight, until as many ``media.registered``
  events have come out;
* raw: the same request bytes through a bare aiokafka consume -> ``insert_many``
  -> produce loop on the same broker and database (no validation, no outbox), each
  round in a fresh process, topics and collection.

The three take turns, ``--rounds`` times, each with its share of the items (the machines
are shared and noisy: each round's ratio compares measurements minutes apart at most).
It prints each round, the medians, the median of the rounds' ratios to raw, the CPU
each process spent per item, and the ingest process's resident memory across all the
items it registered (flat memory: the last sample against the first after the first
round, when both entry points have run).
At the end it drops its databases and deletes its topics.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from deploy.local.infra import local_infra
from shared.auth.tokens import mint_token
from shared.contracts.media import MEDIA, MEDIA_REQUESTS
from shared.contracts.taxonomy import VERSION_PUBLISHED, ClassSnapshot, VersionPublishedV1
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import PROJECT_CHANGED, ProjectChangedV1, ProjectStatus
from shared.events.envelope import make_event
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import create_topics, ensure_tenant_topics
from tests.kafka_helpers import delete_topics, list_topics
from tests.perf.bus import raw_producer

REPO = Path(__file__).resolve().parents[2]
PARTITIONS = 6


def registration(n: int, run: str) -> dict[str, Any]:
    return {
        "external_id": f"{run}-{n}",
        "project_id": "bench",
        "modality": "image",
        "media": {
            "modality": "image",
            "uri": f"s3://bench/{run}/{n}.jpg",
            "sha256": hashlib.sha256(f"{run}-{n}".encode()).hexdigest(),
            "size_bytes": 123_456,
            "width": 1920,
            "height": 1080,
            "format": "jpeg",
        },
        "capture": {"device": "cam-1", "tags": ["bench"]},
        "prelabels": {
            "model_name": "detector",
            "model_version": "1",
            "labels": [
                {
                    "class_id": "car",
                    "confidence": 0.9,
                    "geometry": {"kind": "box", "x": 10, "y": 10, "width": 100, "height": 50},
                },
                {"class_id": "person", "confidence": 0.6},
            ],
        },
    }


def request_message(body: dict[str, Any]) -> tuple[bytes, bytes]:
    envelope = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/bench/client",
        "type": "quorum.media.registration_requested.v1",
        "time": datetime.now(UTC).isoformat(),
        "datacontenttype": "application/json",
        "tenant": "acme",
        "data": body,
    }
    return body["external_id"].encode(), json.dumps(envelope, separators=(",", ":")).encode()


class Counter:
    """Counts records arriving on a topic (from its end at start-up)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=f"bench-count-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="latest",
            enable_auto_commit=False,
            max_poll_records=5000,
        )
        self.count = 0
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.consumer.start()
        while not self.consumer.assignment():
            await self.consumer.getmany(timeout_ms=100)
        for tp in self.consumer.assignment():
            await self.consumer.seek_to_end(tp)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            batches = await self.consumer.getmany(timeout_ms=200, max_records=5000)
            self.count += sum(len(records) for records in batches.values())

    async def until(self, target: int, timeout: float = 1800) -> None:
        deadline = time.monotonic() + timeout
        while self.count < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.count} of {target} records arrived")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.consumer.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU time each process spent during a phase: on a shared, noisy machine the CPU an
    item costs is steadier than the wall-clock rate (and shows where the time goes)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: cpu_seconds(pid) for name, pid in pids.items()}

    def per_item_us(self, items: int) -> dict[str, float]:
        return {
            name: 1e6 * (cpu_seconds(pid) - self.start[name]) / items
            for name, pid in self.pids.items()
        }


def server_pids() -> dict[str, int]:
    """The local servers' processes (none when the servers are elsewhere)."""
    infra = local_infra()
    pids = {"mongo": infra.mongo.pid(), "kafka": infra.kafka.pid()}
    return {name: pid for name, pid in pids.items() if pid is not None}


def cpu_line(label: str, cpu: dict[str, float]) -> str:
    parts = ", ".join(f"{name} {us:.0f}" for name, us in cpu.items())
    return f"{label:<13} {sum(cpu.values()):4.0f} µs of CPU per item ({parts})"


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


#: (items registered, ingest RSS MiB)
Sample = tuple[int, float]


def sample(pid: int, counter: Counter) -> Sample:
    return counter.count, rss_mib(pid)


async def sample_rss(pid: int, samples: list[Sample], counter: Counter) -> None:
    while True:
        samples.append(sample(pid, counter))
        await asyncio.sleep(1.0)


async def produce_all(bootstrap: str, topic: str, messages: list[tuple[bytes, bytes]]) -> None:
    producer = raw_producer(bootstrap)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=v, key=k) for k, v in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


# -- the raw pipeline: consume, insert, produce; nothing else -------------------------------


async def raw_worker(bootstrap: str, mongo_uri: str, source: str, sink: str, db_name: str) -> None:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id=f"raw-{source}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=1000,
    )
    producer = raw_producer(bootstrap)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    collection = mongo[db_name]["media"]
    await consumer.start()
    await producer.start()
    while not consumer.assignment():  # joined its group: timing starts with partitions held
        await consumer.getmany(timeout_ms=100)
    print("ready", flush=True)
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=200, max_records=1000)
            records = [r for rs in batches.values() for r in rs]
            if not records:
                continue
            docs = []
            for record in records:
                data = json.loads(record.value)["data"]
                docs.append({"_id": str(uuid.uuid4()), **data})
            await collection.insert_many(docs, ordered=False)
            futures = [
                await producer.send(
                    sink, key=r.key, value=json.dumps({"item_id": d["_id"]}).encode()
                )
                for r, d in zip(records, docs, strict=True)
            ]
            await asyncio.gather(*futures)
            await consumer.commit({tp: rs[-1].offset + 1 for tp, rs in batches.items()})
    finally:
        await consumer.stop()
        await producer.stop()
        await mongo.close()


async def timed(
    pid: int, counter: Counter, count: int, send: Awaitable[None]
) -> tuple[float, dict[str, float]]:
    """Send (``send``, not started yet) until ``count`` more records have reached the
    counter: the rate, and the CPU per item of the pipeline ``pid`` and of the servers."""
    before = counter.count
    meter = CpuMeter({"pipeline": pid, **server_pids()})
    started = time.perf_counter()
    await send
    await counter.until(before + count)
    return count / (time.perf_counter() - started), meter.per_item_us(count)


async def raw_round(
    bootstrap: str, mongo_uri: str, n: int, run: str
) -> tuple[float, dict[str, float]]:
    source, sink = f"bench.raw.{run}.in", f"bench.raw.{run}.out"
    db_name = f"bench_raw_{run}"
    await create_topics(KafkaSettings(bootstrap, partitions=PARTITIONS), [source, sink])
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.perf.ingest",
        "--raw-worker",
        source,
        sink,
        db_name,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    counter = Counter(bootstrap, sink)
    try:
        assert worker.stdout is not None
        await worker.stdout.readline()  # "ready"
        await counter.start()
        messages = [request_message(registration(i, f"raw{run}")) for i in range(n)]
        return await timed(worker.pid, counter, n, produce_all(bootstrap, source, messages))
    finally:
        await counter.stop()
        worker.terminate()
        await worker.wait()
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
        await mongo.drop_database(db_name)
        await mongo.close()


# -- the ingest service ---------------------------------------------------------------------


def requests_topic(prefix: str) -> str:
    """The benchmark tenant's registration request topic."""
    return f"{prefix}{MEDIA_REQUESTS.of_tenant('acme')}"


async def create_request_topic(bootstrap: str, prefix: str) -> None:
    """The benchmark tenant's request topic, made before ingest starts (as adding a tenant
    does): a topic made later is found with ingest's next metadata read."""
    settings = KafkaSettings(bootstrap, topic_prefix=prefix, partitions=PARTITIONS)
    await ensure_tenant_topics(settings, [MEDIA_REQUESTS], ["acme"])


def start_ingest(
    bootstrap: str, mongo_uri: str, prefix: str, db_name: str, port: int
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "QUORUM_ENVIRONMENT": "development",  # the benchmark's tokens are development ones
        "QUORUM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "QUORUM_MONGODB_URI": mongo_uri,
        "QUORUM_TOPIC_PREFIX": prefix,
        "QUORUM_LOG_LEVEL": "WARNING",
        "QUORUM_INGEST_PORT": str(port),
        "QUORUM_INGEST_MONGODB_DATABASE": db_name,
    }
    return subprocess.Popen([sys.executable, "-m", "services.ingest"], cwd=REPO, env=env, text=True)


async def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
    raise TimeoutError("ingest did not become ready")


async def seed(bootstrap: str, prefix: str) -> None:
    now = datetime.now(UTC)
    bus = KafkaBus(KafkaSettings(bootstrap, topic_prefix=prefix, partitions=PARTITIONS))
    await bus.start()
    try:
        await bus.publish(
            make_event(
                VERSION_PUBLISHED,
                VersionPublishedV1(
                    ontology_id="street",
                    tenant="acme",
                    name="Street",
                    version=1,
                    content_hash="sha256:bench",
                    classes=[
                        ClassSnapshot(id="car", name="Car"),
                        ClassSnapshot(id="person", name="Person"),
                    ],
                    published_at=now,
                ),
                source="/bench",
                tenant="acme",
            )
        )
        await bus.publish(
            make_event(
                PROJECT_CHANGED,
                ProjectChangedV1(
                    project_id="bench",
                    tenant="acme",
                    name="bench",
                    modality=Modality.image,
                    taxonomy=TaxonomyRef(ontology_id="street", version=1),
                    status=ProjectStatus.active,
                    revision=1,
                    changed_at=now,
                ),
                source="/bench",
                tenant="acme",
            )
        )
    finally:
        await bus.stop()


async def wait_seeded(base: str, token: str, run: str) -> None:
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        for _ in range(300):
            response = await client.post("/v1/media", json=registration(-1, run))
            if response.status_code in (200, 201):
                return
            await asyncio.sleep(0.2)
    raise TimeoutError("ingest never learned the bench project")


def http_bodies(n: int, batch: int, run: str, offset: int) -> list[tuple[int, bytes]]:
    """The batch request bodies, encoded before timing starts (as the Kafka phase's messages)."""
    bodies = [registration(offset + i, run) for i in range(n)]
    return [
        (len(chunk), json.dumps({"items": chunk}, separators=(",", ":")).encode())
        for chunk in (bodies[i : i + batch] for i in range(0, n, batch))
    ]


async def http_phase(base: str, token: str, bodies: list[tuple[int, bytes]]) -> None:
    queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def sender() -> None:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as client:
            while not queue.empty():
                count, body = queue.get_nowait()
                response = await client.post("/v1/media/batch", content=body)
                response.raise_for_status()
                if response.json()["created"] != count:
                    raise RuntimeError(f"batch not fully created: {response.text[:300]}")

    await asyncio.gather(sender(), sender())


@dataclass
class Phase:
    """One path's rounds: registrations/s and CPU per item of each."""

    rates: list[float] = field(default_factory=list)
    cpus: list[dict[str, float]] = field(default_factory=list)

    def add(self, rate: float, cpu: dict[str, float]) -> None:
        self.rates.append(rate)
        self.cpus.append(cpu)

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)

    @property
    def cpu(self) -> dict[str, float]:
        return {name: statistics.median(c[name] for c in self.cpus) for name in self.cpus[0]}


async def main(args: argparse.Namespace) -> None:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    mongo_uri = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")
    run = uuid.uuid4().hex[:8]
    raw, kafka, http = Phase(), Phase(), Phase()
    kafka_n, http_n, raw_n = (
        n // args.rounds for n in (args.kafka_items, args.http_items, args.raw_items)
    )

    prefix, db_name, port = f"bench.{run}.", f"bench_ingest_{run}", 18_601
    base = f"http://127.0.0.1:{port}"
    await create_request_topic(bootstrap, prefix)
    service = start_ingest(bootstrap, mongo_uri, prefix, db_name, port)
    samples: list[Sample] = []
    counter = Counter(bootstrap, f"{prefix}{MEDIA.name}")
    try:
        await wait_ready(base)
        token = mint_token(subject="bench", tenant="acme", role="client")
        await seed(bootstrap, prefix)
        await wait_seeded(base, token, run)
        await counter.start()
        sampler = asyncio.create_task(sample_rss(service.pid, samples, counter))
        registered = 0
        for number in range(1, args.rounds + 1):
            # the three paths take turns, so that the machine's moods fall on each alike
            raw.add(*await raw_round(bootstrap, mongo_uri, raw_n, f"{run}r{number}"))
            messages = [
                request_message(registration(i, run))
                for i in range(registered, registered + kafka_n)
            ]
            requests = requests_topic(prefix)
            kafka.add(
                *await timed(
                    service.pid, counter, kafka_n, produce_all(bootstrap, requests, messages)
                )
            )
            registered += kafka_n
            bodies = http_bodies(http_n, args.batch, run, offset=registered)
            http.add(*await timed(service.pid, counter, http_n, http_phase(base, token, bodies)))
            registered += http_n
            print(
                f"round {number}: raw {raw.rates[-1]:,.0f}/s   "
                f"Kafka {kafka.rates[-1]:,.0f}/s ({kafka.rates[-1] / raw.rates[-1]:.2f})   "
                f"HTTP {http.rates[-1]:,.0f}/s ({http.rates[-1] / raw.rates[-1]:.2f})",
                flush=True,
            )
        samples.append(sample(service.pid, counter))
        sampler.cancel()
    finally:
        await counter.stop()
        service.terminate()
        service.wait(20)
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
        await mongo.drop_database(db_name)
        await mongo.close()
        await delete_topics(
            bootstrap,
            [
                name
                for name in await list_topics(bootstrap)
                if name.startswith((f"bench.{run}.", f"bench.raw.{run}"))
            ],
        )

    total = registered
    # warmed up once the first round is through: both entry points have run
    warm = [rss for count, rss in samples if count >= kafka_n + http_n] or [s[1] for s in samples]
    print()
    print(
        f"items registered: {total:,} in {args.rounds} rounds "
        f"(each: raw {raw_n:,}, Kafka {kafka_n:,}, HTTP {http_n:,})"
    )
    for name, phase in (("Kafka entry", kafka), ("HTTP batches", http)):
        ratios = [rate / base_rate for rate, base_rate in zip(phase.rates, raw.rates, strict=True)]
        print(
            f"{name + ':':<14}{phase.rate:,.0f}/s median, ratio to raw {statistics.median(ratios):.2f} "
            f"(median of the rounds' ratios: {', '.join(f'{r:.2f}' for r in ratios)}; "
            f"ratio of the medians {phase.rate / raw.rate:.2f})  (target >= 0.40)"
        )
    print(f"{'raw pipeline:':<14}{raw.rate:,.0f}/s median")
    print(
        "CPU per item, medians (the pipeline's process and the servers'; the load generator's left out):"
    )
    print(cpu_line("  raw", raw.cpu))
    print(cpu_line("  Kafka entry", kafka.cpu))
    print(cpu_line("  HTTP batches", http.cpu))
    print(
        f"ingest RSS MiB: after the first round {warm[0]:.0f}, peak {max(warm):.0f}, "
        f"at the end {warm[-1]:.0f} (growth {100 * (warm[-1] - warm[0]) / warm[0]:+.1f}%)"
    )
    # one line per count: the service idles while the raw rounds run
    distinct = [
        current
        for current, after in zip(samples, [*samples[1:], None], strict=True)
        if after is None or after[0] != current[0]
    ]
    shown = distinct[:: max(1, len(distinct) // 12)]
    for count, rss in shown if shown[-1] is distinct[-1] else [*shown, distinct[-1]]:
        print(f"  {count:>8,} items  {rss:6.0f} MiB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kafka-items", type=int, default=100_000)
    parser.add_argument("--http-items", type=int, default=100_000)
    parser.add_argument("--raw-items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=4, help="raw, Kafka and HTTP take turns")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--raw-worker", nargs=3, metavar=("SOURCE", "SINK", "DB"))
    arguments = parser.parse_args()
    if arguments.raw_worker:
        asyncio.run(
            raw_worker(
                os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
                os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/"),
                *arguments.raw_worker,
            )
        )
    else:
        asyncio.run(main(arguments))
