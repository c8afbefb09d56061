"""Benchmark: the metrics service's agreement path (docs/benchmarks.md, "Metrics").

    .venv/bin/python -m tests.perf.metrics [--only update|store|throughput|lag] [--big 1000000]

Against the local servers (``make infra-up``, or KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI).

* ``update``: the in-memory update of a project's tallies (``ProjectAgreement.replace_item``)
  per judgment, median over 5,000 new judgments, once the project holds 10,000 judgments
  and once it holds ``--big`` (1,000,000); the ratio is the figure (an update never
  recomputes). Also the memory the state holds at the big size (tracemalloc).
* ``store``: the owner's store write per judgment (``JudgedItemStore.apply``: a read and a
  compare-and-set), median over 1,000 judgments, with 3,300 and with 333,000 item
  documents in the collection; the ratio is the figure.
* ``throughput``: 30,000 judgments of 6 projects published first; then one replica starts
  and the time until every project's snapshot holds them all gives judgments per second and
  the process CPU per judgment. Baseline in the same run: a bare aiokafka consumer reading
  and decoding the same messages (the ratio says what the two stages cost above reading).
* ``lag``: one replica served by uvicorn, an SSE client on a project, judgments published at a
  steady 200 per second for 30 s; for each SSE event, the time from the publication of the
  last judgment it includes to its arrival: p50 / p99. ``--coalesce`` sets the stream's
  coalescing interval (the service's default 0.25 s; 0 measures the pipeline alone).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import resource
import statistics
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer
from pymongo import AsyncMongoClient

from services.metrics.app import create_app
from services.metrics.project_agreement import Entry, ProjectAgreement, entry_document, merged
from services.metrics.settings import MetricsSettings
from services.metrics.stores.judged_items import JUDGED_ITEMS, JudgedItemStore
from shared.auth.tokens import mint_token
from shared.contracts.vocabulary import Label
from shared.contracts.work import JUDGMENT_SUBMITTED, JudgmentSubmittedV1, RubricRef, WorkKind
from shared.events.codec import EventRegistry, decode, encode
from shared.events.envelope import make_event
from shared.kafka.producer import KafkaBus
from shared.mongo import compound_id
from shared.runtime import kafka_settings
from tests.fuzzing import served
from tests.kafka_helpers import delete_topics, eventually, list_topics

OPS = {"Authorization": f"Bearer {mint_token(subject='bench', tenant='acme', role='ops')}"}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
CLASSES = ["car", "bus", "truck", "bike", "person"]
VERDICTS = ["accept", "correct", "reject", "infeasible"]
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
MONGO = os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")


def judgment(project: str, n: int, *, now: bool = False) -> JudgmentSubmittedV1:
    """A realistic review: three experts an item (of 20), a verdict, a severity, two rating
    dimensions, a flag now and then, one class (a weak pseudo-random agreement)."""
    item, seat = divmod(n, 3)
    expert = (item + seat * 7) % 20
    h = (item * 2654435761 + seat * 97) % 1000
    return JudgmentSubmittedV1(
        judgment_id=f"{project}-j{n}",
        unit_id=f"{project}-u{n}",
        item_id=f"{project}-i{item}",
        project_id=project,
        tenant="acme",
        expert_id=f"e{expert}",
        kind=WorkKind.review,
        verdict=VERDICTS[(item + (h < 300) * seat) % 4],
        severity=["none", "minor", "major", "critical"][(item + (h < 200)) % 4],
        ratings={"clarity": float(1 + (item + (h < 400)) % 5), "quality": float(1 + h % 5)},
        flags=["edge_case"] if h < 50 else [],
        labels=[Label(class_id=CLASSES[(item + (h < 250)) % 5])],
        time_spent_s=10.0,
        submitted_at=datetime.now(UTC) if now else T0 + timedelta(seconds=n),
        rubric_ref=RubricRef(rubric_id="r", version=1),
    )


def settings_for(run: str, **overrides: Any) -> MetricsSettings:
    values: dict[str, Any] = {
        "environment": "test",
        "kafka_bootstrap_servers": KAFKA,
        "mongodb_uri": MONGO,
        "mongodb_database": f"bench_metrics_{run}",
        "topic_prefix": f"bench.{run}.",
        "topic_partitions": 6,
        "log_level": "WARNING",
    }
    values.update(overrides)
    return MetricsSettings(**values)


# -- update --------------------------------------------------------------------------------


def grow(state: ProjectAgreement, start: int, stop: int) -> None:
    """Judgments ``start`` to ``stop`` (an item's three are consecutive: only the current
    item's entries are held, as the service holds none)."""
    item, entries = "", list[Entry]()
    for n in range(start, stop):
        j = judgment("p", n)
        if j.item_id != item:
            item, entries = j.item_id, []
        after = merged(entries, Entry.of(j))
        state.replace_item(entries, after)
        entries = after


def update_cost(state: ProjectAgreement, start: int, count: int = 5_000) -> float:
    """Median seconds of one update over ``count`` judgments of new items (entries prepared
    beforehand: only the update is timed)."""
    changes = []
    for n in range(start, start + count):
        j = judgment("p", n)
        changes.append(Entry.of(j))
    times = []
    held: dict[int, list[Entry]] = {}
    for k, entry in enumerate(changes):
        before = held.get(k // 3, [])
        after = [*before, entry]
        t = time.perf_counter()
        state.replace_item(before, after)
        times.append(time.perf_counter() - t)
        held[k // 3] = after
    return statistics.median(times)


def bench_update(big: int) -> dict[str, Any]:
    state = ProjectAgreement()
    grow(state, 0, 10_000)
    small = update_cost(state, 10_000_000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    big_state = ProjectAgreement()
    grow(big_state, 0, big)
    built = time.perf_counter() - t
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    large = update_cost(big_state, 20_000_000)
    tracemalloc.start()
    kept = copy.deepcopy(big_state)  # what the state holds, measured on a copy
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return {
        "update_us_at_10k": round(small * 1e6, 1),
        f"update_us_at_{big}": round(large * 1e6, 1),
        "ratio": round(large / small, 3),
        f"state_bytes_at_{big}": held,
        f"peak_rss_growth_kib_building_{big}": rss_after - rss_before,
        f"build_seconds_{big}": round(built, 1),
    }


# -- store ---------------------------------------------------------------------------------


async def bench_store(run: str) -> dict[str, Any]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO, tz_aware=True)
    db = client[f"bench_metrics_store_{run}"]
    store = JudgedItemStore(db)
    out: dict[str, Any] = {}
    try:
        filled = 0
        for docs in (3_300, 333_000):
            batch = []
            for item in range(filled, docs):
                entries = [Entry.of(judgment("p", item * 3 + s)) for s in range(3)]
                batch.append(
                    {
                        "_id": compound_id("acme", "p", f"p-i{item}"),
                        "tenant": "acme",
                        "project_id": "p",
                        "item_id": f"p-i{item}",
                        "entries": [entry_document(e) for e in entries],
                        "applied": [e.judgment_id for e in entries],
                        "revision": 3,
                        "last_at": entries[-1].submitted_at,
                    }
                )
                if len(batch) == 5_000:
                    await db[JUDGED_ITEMS].insert_many(batch, ordered=False)
                    batch = []
            if batch:
                await db[JUDGED_ITEMS].insert_many(batch, ordered=False)
            filled = docs
            times = []
            for k in range(1_000):
                # a fourth judgment of an existing item (read, compare-and-set)
                j = judgment("p", (k * 997 % docs) * 3).model_copy(
                    update={"judgment_id": f"x{docs}-{k}", "expert_id": f"x{k}"}
                )
                t = time.perf_counter()
                await store.apply("acme", "p", j.item_id, Entry.of(j))
                times.append(time.perf_counter() - t)
            out[f"apply_ms_at_{docs}_items"] = round(statistics.median(times) * 1e3, 3)
        out["ratio"] = round(out["apply_ms_at_333000_items"] / out["apply_ms_at_3300_items"], 3)
    finally:
        await client.drop_database(db.name)
        await client.close()
    return out


# -- throughput ----------------------------------------------------------------------------


async def agreement_judgments(client: httpx.AsyncClient, project: str) -> int:
    response = await client.get(
        f"/v1/projects/{project}/agreement", params={"field": "verdict"}, headers=OPS
    )
    if response.status_code != 200:
        return 0
    fields = response.json()["fields"]
    return int(fields["verdict"]["judgments"]) if "verdict" in fields else 0


async def bench_throughput(run: str, total: int = 30_000, projects: int = 6) -> dict[str, Any]:
    settings = settings_for(run)
    per = total // projects
    names = [f"tp{k}" for k in range(projects)]
    bus = KafkaBus(kafka_settings(settings))
    await bus.start()
    await bus.ensure_topics([JUDGMENT_SUBMITTED.topic])
    messages = []
    for n in range(per):
        for p in names:
            event = make_event(JUDGMENT_SUBMITTED, judgment(p, n), source="/bench", tenant="acme")
            messages.append((JUDGMENT_SUBMITTED.topic, *encode(event)))
    for k in range(0, len(messages), 2_000):
        await bus.send_batch(messages[k : k + 2_000])
    await bus.stop()
    topic = bus.topic(JUDGMENT_SUBMITTED.topic)

    # baseline: read and decode the same messages
    registry = EventRegistry([JUDGMENT_SUBMITTED])
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=KAFKA, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    t, cpu = time.perf_counter(), time.process_time()
    read = 0
    while read < total:
        batches = await consumer.getmany(timeout_ms=1000, max_records=5_000)
        for records in batches.values():
            for r in records:
                decode(r.value, key=r.key, headers=r.headers, registry=registry)
                read += 1
    raw_s, raw_cpu = time.perf_counter() - t, time.process_time() - cpu
    await consumer.stop()

    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    t, cpu = time.perf_counter(), time.process_time()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=120) as client,
    ):
        while True:
            counts = [await agreement_judgments(client, p) for p in names]
            if all(c == per for c in counts):
                break
            await asyncio.sleep(0.1)
        service_s, service_cpu = time.perf_counter() - t, time.process_time() - cpu
    return {
        "judgments": total,
        "service_per_second": round(total / service_s),
        "service_cpu_us_per_judgment": round(service_cpu / total * 1e6),
        "raw_read_per_second": round(total / raw_s),
        "raw_cpu_us_per_message": round(raw_cpu / total * 1e6),
        "service_over_raw_rate": round((total / service_s) / (total / raw_s), 3),
        "note": "service time includes the start (topics, group join) and both stages",
    }


# -- lag -----------------------------------------------------------------------------------


async def bench_lag(
    run: str, rate: int = 200, seconds: int = 30, coalesce: float = 0.25
) -> dict[str, Any]:
    settings = settings_for(run, stream_coalesce_seconds=coalesce)
    app = create_app(settings)
    project = "lag"
    published: list[float] = []  # publication time of judgment k (1-based count)
    lags: list[float] = []
    with served(app) as base:
        bus = KafkaBus(kafka_settings(settings))
        await bus.start()
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            first = make_event(
                JUDGMENT_SUBMITTED, judgment(project, 0, now=True), source="/b", tenant="acme"
            )
            await bus.publish(first)
            published.append(time.monotonic())

            async def started() -> bool:
                return await agreement_judgments(client, project) >= 1

            await eventually(started, timeout=60)

            async def listen() -> None:
                async with client.stream(
                    "GET",
                    f"/v1/projects/{project}/agreement/stream",
                    params={"field": "verdict"},
                    headers=OPS,
                ) as response:
                    async for line in response.aiter_lines():
                        if line.startswith("data:"):
                            arrived = time.monotonic()
                            body = json.loads(line[5:])
                            count = body["fields"]["verdict"]["judgments"]
                            if 1 < count <= len(published):
                                lags.append(arrived - published[count - 1])

            listener = asyncio.create_task(listen())
            await asyncio.sleep(1.0)
            start = time.monotonic()
            for n in range(1, rate * seconds + 1):
                due = start + n / rate
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                event = make_event(
                    JUDGMENT_SUBMITTED, judgment(project, n, now=True), source="/b", tenant="acme"
                )
                published.append(time.monotonic())
                await bus.publish(event)
            await asyncio.sleep(3.0)
            listener.cancel()
        await bus.stop()
    lags.sort()
    return {
        "rate_per_second": rate,
        "seconds": seconds,
        "stream_coalesce_seconds": coalesce,
        "sse_events": len(lags),
        "lag_p50_ms": round(statistics.median(lags) * 1e3),
        "lag_p99_ms": round(lags[int(len(lags) * 0.99)] * 1e3),
        "lag_max_ms": round(lags[-1] * 1e3),
    }


async def cleanup(run: str) -> None:
    topics = [t for t in await list_topics(KAFKA) if t.startswith(f"bench.{run}.")]
    if topics:
        await delete_topics(KAFKA, topics)
    client: AsyncMongoClient[Any] = AsyncMongoClient(MONGO)
    await client.drop_database(f"bench_metrics_{run}")
    await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["update", "store", "throughput", "lag"])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument(
        "--coalesce",
        type=float,
        default=0.25,
        help="the stream's coalescing interval for --only lag (the service's default: 0.25)",
    )
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.only in (None, "update"):
        results["update"] = bench_update(args.big)
        print(json.dumps(results["update"]), flush=True)
    benches: dict[str, Any] = {
        "store": bench_store,
        "throughput": bench_throughput,
        "lag": lambda run: bench_lag(run, coalesce=args.coalesce),
    }
    for name, bench in benches.items():
        if args.only not in (None, name):
            continue
        run = uuid.uuid4().hex[:8]
        try:
            results[name] = await bench(run)
        finally:
            await cleanup(run)
        print(json.dumps({name: results[name]}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
