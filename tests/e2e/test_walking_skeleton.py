"""Walking skeleton: a registration accepted by ingest reaches assignment through Kafka.

HTTP -> ingest stores the item, stamped with its ``media.registered`` event, in one write ->
the outbox relay publishes it -> assignment consumes it and stores the item.
Real Kafka, real MongoDB-compatible server, both services' real lifespans.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.assignment.app import create_app as create_assignment
from services.assignment.settings import AssignmentSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from shared.http.service import service_of
from tests.conftest import Endpoints
from tests.kafka_helpers import eventually, read_topic
from tests.service_helpers import auth, running

pytestmark = pytest.mark.e2e

REGISTRATION = {
    "external_id": "cam-7/frame-0001",
    "project_id": "street-scenes",
    "modality": "image",
    "media": {
        "modality": "image",
        "uri": "s3://acme-raw/cam-7/frame-0001.jpg",
        "sha256": "9f" * 32,
        "size_bytes": 482133,
        "width": 1920,
        "height": 1080,
        "format": "jpeg",
    },
    "capture": {"device": "cam-7", "environment": "street", "tags": ["night"]},
}


async def test_registration_flows_from_ingest_to_assignment(
    make_settings: Callable[..., Any], endpoints: Endpoints
) -> None:
    ingest_settings = make_settings(IngestSettings)
    assignment_settings = make_settings(AssignmentSettings)
    async with (
        running(create_ingest(ingest_settings)) as ingest,
        running(create_assignment(assignment_settings)) as assignment,
    ):
        # the project is assignment's: ingest learns it from assignment's project.changed
        ops = auth("ops", subject="ops-ana")
        rubric = {"rubric_id": "street-qa", "template": "image_edit_evaluation"}
        assert (await assignment.post("/v1/rubrics", json=rubric, headers=ops)).status_code == 201
        project = {
            "project_id": "street-scenes",
            "name": "Street scenes",
            "modality": "image",
            "rubric": {"rubric_id": "street-qa"},
            "overlap": {"k": 2},
        }
        assert (await assignment.post("/v1/projects", json=project, headers=ops)).status_code == 201
        activated = await assignment.post(
            "/v1/projects/street-scenes/status", json={"status": "active"}, headers=ops
        )
        assert activated.status_code == 200, activated.text
        expert = {"expert_id": "kenji", "display_name": "Kenji"}
        assert (await assignment.post("/v1/experts", json=expert, headers=ops)).status_code == 201
        for state in ("vetting", "vetted"):
            moved = await assignment.post(
                "/v1/experts/kenji/state", json={"state": state, "reason": "e2e"}, headers=ops
            )
            assert moved.status_code == 200
        invite = {"expert_id": "kenji"}
        invited = await assignment.post(
            "/v1/projects/street-scenes/invitations", json=invite, headers=ops
        )
        assert invited.status_code == 201
        kenji = auth("expert", subject="kenji")
        accepted = await assignment.post("/v1/me/invitations/street-scenes/accept", headers=kenji)
        assert accepted.status_code == 200

        async def registered() -> httpx.Response | None:
            response = await ingest.post("/v1/media", json=REGISTRATION, headers=auth("client"))
            return response if response.status_code != 422 else None  # project not seen yet

        created = await eventually(registered)
        assert created.status_code == 201, created.text
        item = created.json()
        assert item["status"] == "queued"
        item_id = item["item_id"]

        async def arrived() -> dict[str, Any] | None:
            response = await assignment.get(f"/v1/items/{item_id}", headers=auth("ops"))
            return response.json() if response.status_code == 200 else None

        received = await eventually(arrived, timeout=60)
        assert received["project_id"] == "street-scenes"
        assert received["modality"] == "image"
        assert [u["state"] for u in received["units"]] == ["open", "open"]

        handed = await assignment.post("/v1/work:next", headers=kenji)
        assert handed.status_code == 200, handed.text
        assert handed.json()["item_id"] == item_id
        assert handed.json()["content"]["media"]["uri"] == REGISTRATION["media"]["uri"]

        again = await ingest.post("/v1/media", json=REGISTRATION, headers=auth("client"))
        assert again.status_code == 200 and again.json()["item_id"] == item_id

        conflicting = {**REGISTRATION, "media": {**REGISTRATION["media"], "sha256": "ab" * 32}}
        conflict = await ingest.post("/v1/media", json=conflicting, headers=auth("client"))
        assert conflict.status_code == 409
        assert conflict.json()["errors"][0]["field"] == "body.external_id"

        other_tenant = await assignment.get(f"/v1/items/{item_id}", headers=auth("ops", "globex"))
        assert other_tenant.status_code == 404
        as_expert = await assignment.get(f"/v1/items/{item_id}", headers=kenji)
        assert as_expert.status_code == 403

    topic = f"{ingest_settings.topic_prefix}quorum.media"
    records = await read_topic(endpoints.kafka_bootstrap, topic, count=1)
    assert len(records) == 1  # the re-send published nothing new
    envelope = json.loads(records[0].value)
    assert records[0].key == item_id.encode()
    assert envelope["type"] == "quorum.media.registered.v1"
    assert envelope["tenant"] == "acme"
    assert envelope["data"]["media"]["uri"] == "s3://acme-raw/cam-7/frame-0001.jpg"


async def test_readiness_reports_both_dependencies(make_settings: Callable[..., Any]) -> None:
    async with running(create_ingest(make_settings(IngestSettings))) as ingest:
        ready = await ingest.get("/readyz", headers=auth("ops"))
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"mongodb": "ok", "kafka": "ok", "loops": "ok"}


async def test_readiness_fails_when_mongodb_is_unreachable(
    make_settings: Callable[..., Any],
) -> None:
    app = create_ingest(make_settings(IngestSettings))
    async with running(app) as ingest:
        # point the running service at a port where nothing listens
        runtime = service_of(app).runtime
        from shared.mongo import connect

        healthy_client = runtime.client
        runtime.client = connect("mongodb://127.0.0.1:1/", app_name="t", timeout_ms=300)
        try:
            ready = await ingest.get("/readyz", headers=auth("ops"))
        finally:
            await runtime.client.close()
            runtime.client = healthy_client
    assert ready.status_code == 503
    assert ready.json()["checks"]["mongodb"].startswith("failed")
