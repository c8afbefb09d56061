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

from services.assignment.events import PROJECT_CHANGED, ProjectChangedV1, ProjectStatus
from shared.auth import mint_token
from shared.bus import KafkaBus, KafkaSettings
from shared.events import make_event
from shared.vocabulary import Modality, TaxonomyRef

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


async def _street_version(client: httpx.AsyncClient) -> tuple[str, int]:
    """The ``Street`` ontology's id and latest version, created and published if missing."""
    listed = _ok(await client.get("/v1/ontologies", params={"limit": 200})).json()["items"]
    found: dict[str, Any] | None = next((o for o in listed if o["name"] == ONTOLOGY), None)
    if found is None:
        found = _ok(
            await client.post(
                "/v1/ontologies",
                json={"name": ONTOLOGY, "description": "Demo ontology of `make run`"},
            )
        ).json()
    assert found is not None
    ontology_id = found["ontology_id"]
    if found.get("latest_version"):
        return ontology_id, int(found["latest_version"])
    etag = _ok(await client.get(f"/v1/ontologies/{ontology_id}/draft")).headers["ETag"]
    for cls in CLASSES:
        added = await client.post(
            f"/v1/ontologies/{ontology_id}/draft/classes", json=cls, headers={"If-Match": etag}
        )
        etag = _ok(added).headers["ETag"]
    published = await client.post(
        f"/v1/ontologies/{ontology_id}/draft/publish", headers={"If-Match": etag}
    )
    return ontology_id, int(_ok(published).json()["version"])


async def seed(taxonomy_url: str, ingest_url: str, bootstrap: str, topic_prefix: str = "") -> str:
    """Create the demo data; a line saying what there is."""
    token = mint_token(subject="make-run", tenant=TENANT, role="admin")
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        httpx.AsyncClient(base_url=taxonomy_url, headers=headers, timeout=30) as taxonomy,
        httpx.AsyncClient(base_url=ingest_url, timeout=30) as ingest,
    ):
        await _wait_ready(taxonomy)
        await _wait_ready(ingest)
        ontology_id, version = await _street_version(taxonomy)
    bus = KafkaBus(KafkaSettings(bootstrap, topic_prefix=topic_prefix))
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
