"""One ingest service per test module, against the real servers, with the projects and the
taxonomy version its tests register against (published as assignment and taxonomy do)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest_asyncio

from services.ingest.app import create_app
from services.ingest.handlers.projects import Projects
from services.ingest.handlers.registration import Registrations
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA_REQUESTS
from shared.contracts.taxonomy import (
    VERSION_PUBLISHED,
    AttributeSpec,
    ClassSnapshot,
    VersionPublishedV1,
)
from shared.events.envelope import make_event
from shared.http.service import service_of
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.kafka_helpers import eventually
from tests.service_helpers import project_changed, publish, running

ONTOLOGY = "street"
TENANTS = ("acme", "beta")
PROJECTS = {
    "p-image": ("image", (ONTOLOGY, 1)),
    "p-image-2": ("image", (ONTOLOGY, 1)),
    "p-video": ("video", (ONTOLOGY, 1)),
    "p-audio": ("audio", (ONTOLOGY, 1)),
    "p-text": ("text", None),
    "p-edit": ("multimodal", (ONTOLOGY, 1)),
    "p-unpublished": ("image", (ONTOLOGY, 7)),
}


def taxonomy_v1() -> VersionPublishedV1:
    return VersionPublishedV1(
        ontology_id=ONTOLOGY,
        tenant="acme",
        name="Street",
        version=1,
        content_hash="sha256:test",
        classes=[
            ClassSnapshot(
                id="car",
                name="Car",
                attributes=[
                    AttributeSpec(name="occluded", type="bool"),
                    AttributeSpec(name="truncation", type="enum", values=["none", "partial"]),
                ],
            ),
            ClassSnapshot(id="person", name="Person"),
            ClassSnapshot(id="siren", name="Siren", modalities=["audio"]),
            ClassSnapshot(id="explosion", name="Explosion", modalities=["video"]),
            ClassSnapshot(id="edit_ok", name="Edit OK"),
        ],
        published_at=datetime.now(UTC),
    )


@dataclass
class IngestUnderTest:
    client: httpx.AsyncClient
    settings: IngestSettings
    app: Any


@pytest_asyncio.fixture(scope="module")
async def ingest(make_settings: Callable[..., Any]) -> AsyncIterator[IngestUnderTest]:
    # a tenant added while ingest runs is consumed within this (tests/ingest/test_kafka.py)
    settings = make_settings(IngestSettings, kafka_metadata_max_age_ms=2_000)
    # the request topics of the tenants the tests use, made when a tenant is added
    await ensure_tenant_topics(kafka_settings(settings), [MEDIA_REQUESTS], TENANTS)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        events = [
            project_changed(pid, modality=modality, taxonomy=taxonomy)
            for pid, (modality, taxonomy) in PROJECTS.items()
        ]
        events.append(project_changed("p-closed", status="closed"))
        events.append(make_event(VERSION_PUBLISHED, taxonomy_v1(), source="/t", tenant="acme"))
        await publish(settings, *events)
        projects = service_of(app).get(Projects)
        taxonomy = service_of(app).get(Registrations).taxonomy

        async def ready() -> bool:
            known = [await projects.get("acme", pid) for pid in [*PROJECTS, "p-closed"]]
            version = await taxonomy.fetch("acme", ONTOLOGY, 1)
            return all(known) and version is not None

        await eventually(ready)
        yield IngestUnderTest(client, settings, app)
