"""Demo data for ``make run``, so that the README's walkthrough works on a fresh machine.

For tenant ``acme``: an ontology ``Street`` with the image classes ``car`` and ``person``,
published as version 1 through the taxonomy API, and the image project ``street-scenes``
on it, announced with a ``quorum.project.changed.v1`` event exactly as the assignment
service will publish it (projects are assignment's; it does not manage them yet).
Running it again changes nothing. ``QUORUM_DEMO_DATA=0`` skips it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.auth.tokens import mint_token
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import PROJECT_CHANGED, ProjectChangedV1, ProjectStatus
from shared.events.envelope import make_event
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.kafka.tenants import PER_TENANT_TOPICS
from shared.kafka.topics import ensure_tenant_topics

TENANT = "acme"
ONTOLOGY = "Street"
PROJECT = "street-scenes"
CLASSES = [
    {"id": "car", "name": "Car", "modalities": ["image"]},
    {"id": "person", "name": "Person", "modalities": ["image"]},
]


async def _wait_ready(client: httpx.AsyncClient, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{client.base_url} did not become ready in {timeout:.0f} s")
        await asyncio.sleep(0.5)


def _ok(response: httpx.Response) -> httpx.Response:
    if response.is_error:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response


async def _street_version(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, int]:
    """The ``Street`` ontology's id and latest version, created and published if missing."""
    listed = await client.get("/v1/ontologies", params={"limit": 200}, headers=headers)
    found: dict[str, Any] | None = next(
        (o for o in _ok(listed).json()["items"] if o["name"] == ONTOLOGY), None
    )
    if found is None:
        created = await client.post(
            "/v1/ontologies",
            json={"name": ONTOLOGY, "description": "Demo ontology of `make run`"},
            headers=headers,
        )
        found = _ok(created).json()
    assert found is not None
    ontology_id = found["ontology_id"]
    if found.get("latest_version"):
        return ontology_id, int(found["latest_version"])
    draft = await client.get(f"/v1/ontologies/{ontology_id}/draft", headers=headers)
    etag = _ok(draft).headers["ETag"]
    for cls in CLASSES:
        added = await client.post(
            f"/v1/ontologies/{ontology_id}/draft/classes",
            json=cls,
            headers={**headers, "If-Match": etag},
        )
        etag = _ok(added).headers["ETag"]
    published = await client.post(
        f"/v1/ontologies/{ontology_id}/draft/publish", headers={**headers, "If-Match": etag}
    )
    return ontology_id, int(_ok(published).json()["version"])


async def create(taxonomy: httpx.AsyncClient, kafka: KafkaSettings) -> str:
    """Create the demo data through a taxonomy service and Kafka; a line saying what there is."""
    token = mint_token(subject="make-run", tenant=TENANT, role="admin")
    ontology_id, version = await _street_version(taxonomy, {"Authorization": f"Bearer {token}"})
    bus = KafkaBus(kafka)
    await bus.start()
    try:
        await bus.publish(
            make_event(
                PROJECT_CHANGED,
                ProjectChangedV1(
                    project_id=PROJECT,
                    tenant=TENANT,
                    name="Street scenes",
                    modality=Modality.image,
                    taxonomy=TaxonomyRef(ontology_id=ontology_id, version=version),
                    status=ProjectStatus.active,
                    revision=1,  # again on every run: ingest keeps the newest revision it has
                    changed_at=datetime.now(UTC),
                ),
                source="/quorum/assignment",
                tenant=TENANT,
            )
        )
    finally:
        await bus.stop()
    return (
        f"demo data: tenant {TENANT}, project {PROJECT} (image) on ontology {ONTOLOGY} "
        f"v{version} (classes car, person)"
    )


async def add_tenant(bootstrap: str, topic_prefix: str = "") -> None:
    """The demo tenant's own topics (its registration request topic), as adding a tenant
    makes them (``quorum-tenant-topics``)."""
    settings = KafkaSettings(bootstrap, topic_prefix=topic_prefix)
    await ensure_tenant_topics(settings, PER_TENANT_TOPICS, [TENANT])


async def seed(taxonomy_url: str, ingest_url: str, bootstrap: str, topic_prefix: str = "") -> str:
    """Wait until taxonomy and ingest answer, then :func:`create` the demo data."""
    async with (
        httpx.AsyncClient(base_url=taxonomy_url, timeout=30) as taxonomy,
        httpx.AsyncClient(base_url=ingest_url, timeout=30) as ingest,
    ):
        await _wait_ready(taxonomy)
        await _wait_ready(ingest)
        return await create(taxonomy, KafkaSettings(bootstrap, topic_prefix=topic_prefix))
