"""Schemathesis against the ingest service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py). Cases draw on an estate of
tenant acme: the projects and taxonomy version registrations name (so a registration can be
taken), a registered item, and a Kafka request of its external id that was refused (so
``/v1/media/rejections`` answers with one)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA_REQUESTS
from shared.contracts.taxonomy import VERSION_PUBLISHED
from shared.events.envelope import make_event
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.fuzzing import FRESH, FuzzEstate, fuzz_tests, reach_test
from tests.ingest.bodies import image_file, registration
from tests.ingest.conftest import PROJECTS, IngestUnderTest, taxonomy_v1
from tests.ingest.test_kafka import sdk_message, send
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration


async def _seed(base_url: str, settings: IngestSettings, app: FastAPI) -> dict[str, Any]:
    # the tenant's request topic: ingest consumes it within its metadata age (below)
    await ensure_tenant_topics(kafka_settings(settings), [MEDIA_REQUESTS], ["acme"])
    events: list[Any] = [
        project_changed(pid, modality=modality, taxonomy=taxonomy)
        for pid, (modality, taxonomy) in PROJECTS.items()
    ]
    events.append(project_changed("p-closed", status="closed"))
    events.append(make_event(VERSION_PUBLISHED, taxonomy_v1(), source="/t", tenant="acme"))
    await publish(settings, *events)
    body = registration("image")
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def registered() -> Any:
            answer = await client.post("/v1/media", json=body, headers=auth("client"))
            return answer.json() if answer.status_code in (200, 201) else None

        item = await eventually(registered)  # once ingest knows the project and taxonomy
        ingest = IngestUnderTest(client, settings, app)
        await send(ingest, sdk_message({**body, "media": image_file()}))  # another checksum
        params = {"external_id": body["external_id"]}

        async def refused() -> bool:
            answer = await client.get("/v1/media/rejections", params=params, headers=auth("client"))
            return answer.status_code == 200

        await eventually(refused)
    return {"item_id": item["item_id"], "external_id": body["external_id"], "body": body}


def estate(base_url: str, settings: IngestSettings, app: FastAPI) -> FuzzEstate:
    with ThreadPoolExecutor(1) as pool:  # its own event loop, beside pytest's
        seeded = pool.submit(asyncio.run, _seed(base_url, settings, app)).result()
    another = {**registration("image"), "external_id": FRESH}
    return FuzzEstate(
        values={
            "item_id": [seeded["item_id"]],
            "external_id": [seeded["external_id"]],
            "project_id": ["p-image", "p-edit", "p-closed"],
        },
        bodies={
            "POST /v1/media": [seeded["body"], another, registration("multimodal")],
            "POST /v1/media/batch": [{"items": [another, registration("video")]}],
        },
    )


base_url, test_every_operation_answers_as_documented = fuzz_tests(
    create_app, IngestSettings, estate, kafka_metadata_max_age_ms=2_000
)
test_each_role_an_operation_admits_got_past_its_role_check = reach_test(create_app, IngestSettings)
