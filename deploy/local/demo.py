"""Demo data for ``make run``, so that the README's walkthrough works on a fresh machine.

For tenant ``acme``: an ontology ``Street`` with the image classes ``car`` and ``person``,
published as version 1 through the taxonomy API; through the assignment API, a rubric from
the ``multimodal_label_qa`` template and the active image project ``street-scenes`` on that
ontology version (assignment publishes it as ``project.changed``, which ingest reads), and a
vetted expert ``expert-1`` on its roster. Running it again changes nothing.
``QUORUM_DEMO_DATA=0`` skips it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from shared.auth.tokens import mint_token
from shared.kafka.settings import KafkaSettings
from shared.kafka.tenants import PER_TENANT_TOPICS
from shared.kafka.topics import ensure_tenant_topics

TENANT = "acme"
ONTOLOGY = "Street"
PROJECT = "street-scenes"
RUBRIC = "street-qa"
EXPERT = "expert-1"
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


async def _street_project(
    client: httpx.AsyncClient, headers: dict[str, str], ontology_id: str, version: int
) -> None:
    """The rubric, the active project, and a vetted expert on its roster, made if missing."""
    if (await client.get(f"/v1/projects/{PROJECT}", headers=headers)).status_code == 200:
        return
    rubric = await client.get(f"/v1/rubrics/{RUBRIC}", headers=headers)
    if rubric.status_code == 404:
        body = {"rubric_id": RUBRIC, "template": "multimodal_label_qa"}
        _ok(await client.post("/v1/rubrics", json=body, headers=headers))
    project = {
        "project_id": PROJECT,
        "name": "Street scenes",
        "modality": "image",
        "taxonomy": {"ontology_id": ontology_id, "version": version},
        "rubric": {"rubric_id": RUBRIC},
        "overlap": {"k": 2},
    }
    _ok(await client.post("/v1/projects", json=project, headers=headers))
    status = {"status": "active"}
    _ok(await client.post(f"/v1/projects/{PROJECT}/status", json=status, headers=headers))
    if (await client.get(f"/v1/experts/{EXPERT}", headers=headers)).status_code == 404:
        expert = {"expert_id": EXPERT, "display_name": "Demo expert", "languages": ["en"]}
        _ok(await client.post("/v1/experts", json=expert, headers=headers))
        for state in ("vetting", "vetted"):
            move = {"state": state, "reason": "demo data of make run"}
            _ok(await client.post(f"/v1/experts/{EXPERT}/state", json=move, headers=headers))
    invite = {"expert_id": EXPERT}
    _ok(await client.post(f"/v1/projects/{PROJECT}/invitations", json=invite, headers=headers))
    token = mint_token(subject=EXPERT, tenant=TENANT, role="expert")
    accepted = await client.post(
        f"/v1/me/invitations/{PROJECT}/accept", headers={"Authorization": f"Bearer {token}"}
    )
    _ok(accepted)


async def create(taxonomy: httpx.AsyncClient, assignment: httpx.AsyncClient) -> str:
    """Create the demo data through the taxonomy and assignment services; a line saying what
    there is."""
    token = mint_token(subject="make-run", tenant=TENANT, role="admin")
    headers = {"Authorization": f"Bearer {token}"}
    ontology_id, version = await _street_version(taxonomy, headers)
    await _street_project(assignment, headers, ontology_id, version)
    return (
        f"demo data: tenant {TENANT}, project {PROJECT} (image) on ontology {ONTOLOGY} "
        f"v{version} (classes car, person), expert {EXPERT} on its roster"
    )


async def add_tenant(bootstrap: str, topic_prefix: str = "") -> None:
    """The demo tenant's own topics (its registration request topic), as adding a tenant
    makes them (``quorum-tenant-topics``)."""
    settings = KafkaSettings(bootstrap, topic_prefix=topic_prefix)
    await ensure_tenant_topics(settings, PER_TENANT_TOPICS, [TENANT])


async def seed(taxonomy_url: str, ingest_url: str, assignment_url: str) -> str:
    """Wait until taxonomy, ingest and assignment answer, then :func:`create` the demo data."""
    async with (
        httpx.AsyncClient(base_url=taxonomy_url, timeout=30) as taxonomy,
        httpx.AsyncClient(base_url=ingest_url, timeout=30) as ingest,
        httpx.AsyncClient(base_url=assignment_url, timeout=30) as assignment,
    ):
        await _wait_ready(taxonomy)
        await _wait_ready(ingest)
        await _wait_ready(assignment)
        return await create(taxonomy, assignment)
