"""Benchmark: taxonomy's large operations, and the event loop while they run.

    .venv/bin/python -m tests.perf.taxonomy [--sizes 5000 10000 20000]

Against the taxonomy app with its real lifespan on the local servers (``make infra-up``, or
KAFKA_BOOTSTRAP_SERVERS / MONGODB_URI), through HTTP in process. For each size n it times:

* importing a chain of n classes (each the parent of the next: the deepest hierarchy);
* publishing it as version 1, changing one class and publishing version 2;
* translating 10,000 labels from version 1 to version 2 (n distinct class ids cycled);

and once: importing 15,000 names that share one slug (ids ``car``, ``car-2``, ...). The
baseline is the growth between sizes in the same run: linear work doubles when n doubles,
quadratic work quadruples. While the largest import runs, a probe asks ``/healthz`` every
20 ms and the longest wait is printed: work kept on the event loop would stall it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

import httpx

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings
from shared.auth.tokens import mint_token
from shared.http.service import service_of
from tests.kafka_helpers import delete_topics, list_topics

OPS = {"Authorization": f"Bearer {mint_token(subject='bench', tenant='acme', role='ops')}"}


async def timed(call: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = await call
    return result, time.perf_counter() - started


async def import_rows(client: httpx.AsyncClient, rows: list[dict[str, Any]]) -> str:
    created = await client.post(
        "/v1/ontologies", json={"name": f"b{uuid.uuid4().hex[:6]}"}, headers=OPS
    )
    oid = created.json()["ontology_id"]
    draft = await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=json",
        content=json.dumps({"classes": rows}).encode(),
        headers={
            **OPS,
            "If-Match": draft.headers["etag"],
            "content-type": "application/octet-stream",
        },
    )
    response.raise_for_status()
    return oid


async def publish(client: httpx.AsyncClient, oid: str) -> None:
    draft = await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/publish", headers={**OPS, "If-Match": draft.headers["etag"]}
    )
    response.raise_for_status()


async def probe(client: httpx.AsyncClient, stop: asyncio.Event, waits: list[float]) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await client.get("/healthz")
        waits.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5_000, 10_000, 20_000])
    args = parser.parse_args()
    run = uuid.uuid4().hex[:8]
    settings = TaxonomySettings(
        environment="test",
        kafka_bootstrap_servers=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
        mongodb_uri=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/"),
        mongodb_database=f"bench_taxonomy_{run}",
        topic_prefix=f"bench.{run}.",
        log_level="WARNING",
        http_max_body_bytes=64 * 1024 * 1024,
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    rows_for = {}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=600) as client,
    ):
        try:
            for n in args.sizes:
                chain = [{"name": "c0", "id": "c0"}]
                chain += [
                    {"name": f"c{i}", "id": f"c{i}", "parent_id": f"c{i - 1}"} for i in range(1, n)
                ]
                rows_for[n] = chain
                waits: list[float] = []
                stop = asyncio.Event()
                prober = asyncio.create_task(probe(client, stop, waits))
                oid, imported = await timed(import_rows(client, chain))
                stop.set()
                await prober
                _, published = await timed(publish(client, oid))
                draft = await client.post(f"/v1/ontologies/{oid}/draft", headers=OPS)
                changed = await client.patch(
                    f"/v1/ontologies/{oid}/draft/classes/c1",
                    json={"name": "renamed"},
                    headers={**OPS, "If-Match": draft.headers["etag"]},
                )
                changed.raise_for_status()
                await publish(client, oid)
                labels = [{"class_id": f"c{i % n}"} for i in range(10_000)]
                response, translated = await timed(
                    client.post(
                        f"/v1/ontologies/{oid}/translate",
                        json={"from_version": 1, "to_version": 2, "labels": labels},
                        headers=OPS,
                    )
                )
                response.raise_for_status()
                print(
                    f"{n:>6,} classes: import {imported:6.2f} s (longest /healthz wait "
                    f"{1000 * max(waits):5.0f} ms over {len(waits)} probes)   publish "
                    f"{published:5.2f} s   translate 10,000 labels {translated:5.2f} s",
                    flush=True,
                )
            marks = str.maketrans("0123456789", "!@#$%^&*()")
            names = [
                {"name": "Car"},
                *({"name": f"Car {str(i).translate(marks)}"} for i in range(1, 15_000)),
            ]
            _, same_slug = await timed(import_rows(client, names))
            print(f"15,000 names with one slug: import {same_slug:.2f} s")
        finally:
            await service_of(app).runtime.client.drop_database(settings.database_name)
    await delete_topics(
        settings.kafka_bootstrap_servers,
        [
            t
            for t in await list_topics(settings.kafka_bootstrap_servers)
            if t.startswith(settings.topic_prefix)
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
