"""Benchmark: handouts per second and handout latency of assignment, against the raw operation.

    .venv/bin/python -m tests.perf.assignment [--pending 10000 100000] [--experts 20 50]
                                              [--replicas 1 2] [--seconds 15]

It needs the servers of ``make infra-up`` (or KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI). For each
pool size it seeds a fresh database with that many pending items of one active project (k=1),
written straight into the items collection (what work creation stores, without the events),
then, for each replica count (service processes, ``python -m services.assignment``, sharing
the database) and each number of concurrent experts (each a distinct vetted expert on the
roster, with its own token): every expert asks ``POST /v1/work:next`` and submits a judgment
on the unit (which resolves its item, k=1) as fast as it can for ``--seconds``; after each
case the pool is topped up with as many new items as were judged, so every case starts at
its size. Experts are spread over the replicas round robin.

Measured in the same run, on the same server and collection, with the same concurrency: the
raw operation a handout is built on, one ``find_one_and_update`` by ``_id``.

It prints, per case: handouts per second, handout latency p50 and p99, judgments per second
and submission latency p50 and p99, the raw operation's
p50 and p99, the service's overhead over the raw operation at p50, and at the end the ratio of
p50 at the largest pool to p50 at the smallest. Latencies are those the clients see (the HTTP
round trip included; the clients share the machine with the servers). At the end it drops its
databases and deletes its topics.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from deploy.local.infra import local_infra
from services.assignment.settings import AssignmentSettings
from shared.auth.tokens import mint_token
from tests.kafka_helpers import delete_topics, list_topics
from tests.processes import ServiceProcess

TENANT = "acme"
BATCH = 5_000


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def auth(role: str, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, tenant=TENANT, role=role)}"}


async def ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
    return response.json() if response.content else None


async def set_up(base: str, experts: int) -> tuple[int, list[str]]:
    """A rubric, an active project (k=1) and ``experts`` vetted experts on its roster."""
    ops = auth("ops", "bench-ops")
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        rubric = {"rubric_id": "bench", "template": "image_edit_evaluation"}
        await ok(await client.post("/v1/rubrics", json=rubric, headers=ops), 201)
        project = {
            "project_id": "bench",
            "name": "Bench",
            "modality": "image",
            "rubric": {"rubric_id": "bench"},
            "lease_ttl_s": 3_600,
        }
        created = await ok(await client.post("/v1/projects", json=project, headers=ops), 201)
        await ok(
            await client.post("/v1/projects/bench/status", json={"status": "active"}, headers=ops)
        )
        ids = []
        for n in range(experts):
            expert_id = f"bench-expert-{n}"
            body = {"expert_id": expert_id, "display_name": expert_id}
            await ok(await client.post("/v1/experts", json=body, headers=ops), 201)
            for state in ("vetting", "vetted"):
                move = {"state": state, "reason": "bench"}
                await ok(
                    await client.post(f"/v1/experts/{expert_id}/state", json=move, headers=ops)
                )
            invite = {"expert_id": expert_id}
            await ok(
                await client.post("/v1/projects/bench/invitations", json=invite, headers=ops), 201
            )
            me = auth("expert", expert_id)
            await ok(await client.post("/v1/me/invitations/bench/accept", headers=me))
            ids.append(expert_id)
    return created["rubric"]["version"], ids


def item_doc(n: int, run: str, rubric_version: int, at: datetime) -> dict[str, Any]:
    item_id = f"{run}-{n:07d}"
    return {
        "_id": item_id,
        "tenant": TENANT,
        "project_id": "bench",
        "modality": "image",
        "registered_at": at + timedelta(microseconds=n),
        "units": [
            {
                "n": 0,
                "unit_id": f"{item_id}~0",
                "kind": "review",
                "state": "open",
                "rubric": {"rubric_id": "bench", "version": rubric_version},
                "created_at": at,
                "expert_id": None,
                "lease_id": None,
                "leased_at": None,
                "expires_at": None,
            }
        ],
        "judges": [],
        "open": 1,
        "priority": 0.0,
        "due_at": None,
        "content": {"media": {"uri": f"s3://bench/{item_id}.jpg", "modality": "image"}},
    }


async def seed(mongo_uri: str, db_name: str, pending: int, rubric_version: int) -> list[str]:
    """``pending`` new items, each with one open unit; their ids."""
    run = uuid.uuid4().hex[:6]
    at = datetime.now(UTC)
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
    try:
        items = client[db_name]["items"]
        for start in range(0, pending, BATCH):
            docs = [
                item_doc(n, run, rubric_version, at)
                for n in range(start, min(pending, start + BATCH))
            ]
            await items.insert_many(docs, ordered=False)
    finally:
        await client.close()
    return [f"{run}-{n:07d}" for n in range(pending)]


#: Complete answers on the image-edit template.
ANSWERS = {
    "verdict": "accept",
    "ratings": {
        d: 4
        for d in (
            "instruction_adherence",
            "structural_integrity",
            "preservation",
            "visual_quality",
            "style_alignment",
            "character_consistency",
        )
    },
    "severity": "none",
}


async def handouts(
    bases: list[str], experts: list[str], seconds: float
) -> tuple[int, list[float], list[float], Counter[str]]:
    """Each expert: next, submit, as fast as it can; the handouts, their latencies and the
    submissions' (s), and the answers that were neither a unit, a 204 nor a judgment (a 503
    when the database times out, or a connection the client lost), by kind."""
    latencies: list[float] = []
    submits: list[float] = []
    count = 0
    errors: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    # each expert its own client and connection, as each expert's workbench has (one client
    # shared by 50 experts cost the benchmark process most of a core in its connection pool)
    clients = [
        httpx.AsyncClient(base_url=bases[i % len(bases)], timeout=30) for i in range(len(experts))
    ]

    async def expert_loop(index: int, expert_id: str) -> None:
        nonlocal count
        client = clients[index]
        me = auth("expert", expert_id)
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                response = await client.post("/v1/work:next", headers=me)
            except httpx.TransportError as exc:
                errors[f"next: {type(exc).__name__}"] += 1
                continue
            if response.status_code == 204:
                await asyncio.sleep(0.05)
                continue
            if response.status_code != 200:
                errors[f"next: {response.status_code}"] += 1
                continue
            handed = response.json()
            latencies.append(time.perf_counter() - started)
            count += 1
            body = {
                "submission_id": uuid.uuid4().hex,
                "lease_id": handed["lease_id"],
                "answers": ANSWERS,
            }
            started = time.perf_counter()
            try:
                submitted = await client.post(
                    f"/v1/units/{handed['unit_id']}/judgments", json=body, headers=me
                )
            except httpx.TransportError as exc:
                errors[f"submit: {type(exc).__name__}"] += 1
                continue
            if submitted.status_code == 201:
                submits.append(time.perf_counter() - started)
            else:
                errors[f"submit: {submitted.status_code}"] += 1

    try:
        await asyncio.gather(*(expert_loop(i, e) for i, e in enumerate(experts)))
    finally:
        for client in clients:
            await client.aclose()
    return count, latencies, submits, errors


async def raw(
    mongo_uri: str, db_name: str, ids: list[str], concurrency: int, seconds: float
) -> tuple[int, list[float]]:
    """The raw operation: ``find_one_and_update`` by ``_id``, ``concurrency`` at a time."""
    client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri, maxPoolSize=concurrency + 10)
    items = client[db_name]["items"]
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def loop() -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            await items.find_one_and_update(
                {"_id": random.choice(ids), "open": {"$gte": 0}}, {"$inc": {"bench": 1}}
            )
            latencies.append(time.perf_counter() - started)

    try:
        await asyncio.gather(*(loop() for _ in range(concurrency)))
    finally:
        await client.close()
    return len(latencies), latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


async def main(args: argparse.Namespace) -> None:
    infra = local_infra()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", infra.kafka.bootstrap)
    mongo_uri = os.environ.get("MONGODB_URI", infra.mongo.uri)
    most = max(args.experts)
    logs = Path(os.environ.get("QUORUM_LOCAL_ROOT", ".local")) / "bench-logs"
    logs.mkdir(parents=True, exist_ok=True)
    p50s: dict[int, list[float]] = {}
    print(
        "pending  replicas  experts  handouts/s  p50 ms  p99 ms  judgments/s  submit p50  "
        "submit p99  raw ops/s  raw p50  raw p99  overhead p50 ms  errors"
    )
    for pending in args.pending:
        run = uuid.uuid4().hex[:8]
        settings = AssignmentSettings(
            environment="development",
            kafka_bootstrap_servers=bootstrap,
            mongodb_uri=mongo_uri,
            mongodb_database=f"bench_assignment_{run}",
            topic_prefix=f"bench{run}.",
            log_level="WARNING",
        )
        replicas = [
            ServiceProcess("services.assignment", settings, logs / f"assignment-{run}-{n}.log")
            for n in range(max(args.replicas))
        ]
        try:
            await replicas[0].start()
            version, experts = await set_up(replicas[0].base_url, most)
            ids = await seed(mongo_uri, settings.database_name, pending, version)
            for replica in replicas[1:]:
                await replica.start()
            for count in sorted(args.replicas):
                bases = [r.base_url for r in replicas[:count]]
                for concurrency in args.experts:
                    done, lat, sub, errors = await handouts(
                        bases, experts[:concurrency], args.seconds
                    )
                    raw_done, raw_lat = await raw(
                        mongo_uri, settings.database_name, ids, concurrency, args.seconds
                    )
                    p50, raw_p50 = quantile(lat, 0.5), quantile(raw_lat, 0.5)
                    p50s.setdefault(pending, []).append(p50)
                    print(
                        f"{pending:7d}  {count:8d}  {concurrency:7d}  "
                        f"{done / args.seconds:10.1f}  {ms(p50)} {ms(quantile(lat, 0.99))}  "
                        f"{len(sub) / args.seconds:11.1f}  {ms(quantile(sub, 0.5))}    "
                        f"{ms(quantile(sub, 0.99))}   "
                        f"{raw_done / args.seconds:9.1f}  {ms(raw_p50)} "
                        f"{ms(quantile(raw_lat, 0.99))}  {ms(p50 - raw_p50)}  "
                        f"{sum(errors.values())}",
                        flush=True,
                    )
                    if errors:
                        print(f"         errors: {dict(errors)}", flush=True)
                    # the judged items are resolved: as many new ones keep the pool's size
                    ids += await seed(mongo_uri, settings.database_name, len(sub), version)
        finally:
            for replica in replicas:
                replica.terminate()
            client: AsyncMongoClient[Any] = AsyncMongoClient(mongo_uri)
            await client.drop_database(settings.database_name)
            await client.close()
            topics = [
                t for t in await list_topics(bootstrap) if t.startswith(settings.topic_prefix)
            ]
            if topics:
                await delete_topics(bootstrap, topics)
    if len(p50s) > 1:
        small, large = min(p50s), max(p50s)
        ratio = statistics.median(p50s[large]) / statistics.median(p50s[small])
        print(f"median handout p50 at {large:,} pending / at {small:,} pending: {ratio:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.perf.assignment", description=__doc__)
    parser.add_argument("--pending", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--experts", type=int, nargs="+", default=[20, 50])
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=15.0)
    asyncio.run(main(parser.parse_args()))
