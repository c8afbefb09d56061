"""What the client gets back, end to end: a client registers images with model pre-labels,
experts accept or reject them in assignment, and ingest's item and its exports carry the
outcome: accepted pre-labels as the final labels, the verdict, flags and severity; a
rejected item with no labels. Real Kafka, the real MongoDB-compatible server, both
services' lifespans."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from services.assignment.app import create_app as create_assignment
from services.assignment.settings import AssignmentSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from shared.contracts.taxonomy import VERSION_PUBLISHED, ClassSnapshot, VersionPublishedV1
from shared.events.envelope import make_event
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, publish, running

pytestmark = pytest.mark.e2e

OPS = auth("ops", subject="ops-ana")
CLIENT = auth("client")
CAR = {"class_id": "car", "geometry": {"kind": "box", "x": 10, "y": 20, "width": 30, "height": 40}}
BUS = {"class_id": "bus", "geometry": {"kind": "box", "x": 100, "y": 50, "width": 80, "height": 60}}
RATINGS = {"class_correctness": 5, "temporal_alignment": 5, "guideline_fit": 5}


def registration(n: int) -> dict[str, Any]:
    return {
        "external_id": f"cam-1/{n}",
        "project_id": "detections",
        "modality": "image",
        "media": {
            "modality": "image",
            "uri": f"s3://acme/cam-1/{n}.jpg",
            "sha256": f"{n:02d}" * 32,
            "size_bytes": 1000,
            "width": 640,
            "height": 480,
            "format": "jpeg",
        },
        "prelabels": {"model_name": "detr", "model_version": "3", "labels": [CAR, BUS]},
    }


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def test_accepted_pre_labels_reach_the_client_item_and_its_exports(
    make_settings: Callable[..., Any],
) -> None:
    ingest_settings = make_settings(IngestSettings)
    assignment_settings = make_settings(AssignmentSettings)
    taxonomy = VersionPublishedV1(
        ontology_id="street",
        tenant="acme",
        name="Street",
        version=1,
        content_hash="sha256:e2e",
        classes=[ClassSnapshot(id=c, name=c.title()) for c in ("car", "bus")],
        published_at=datetime.now(UTC),
    )
    await publish(
        ingest_settings, make_event(VERSION_PUBLISHED, taxonomy, source="/t", tenant="acme")
    )
    async with (
        running(create_ingest(ingest_settings)) as ingest,
        running(create_assignment(assignment_settings)) as assignment,
    ):
        rubric = {"rubric_id": "qa", "template": "multimodal_label_qa"}
        await ok(await assignment.post("/v1/rubrics", json=rubric, headers=OPS), 201)
        project = {
            "project_id": "detections",
            "name": "Detections",
            "modality": "image",
            "rubric": {"rubric_id": "qa"},
            "taxonomy": {"ontology_id": "street", "version": 1},
        }
        await ok(await assignment.post("/v1/projects", json=project, headers=OPS), 201)
        await ok(
            await assignment.post(
                "/v1/projects/detections/status", json={"status": "active"}, headers=OPS
            )
        )
        await ok(
            await assignment.post(
                "/v1/experts", json={"expert_id": "mia", "display_name": "Mia"}, headers=OPS
            ),
            201,
        )
        for state in ("vetting", "vetted"):
            await ok(
                await assignment.post(
                    "/v1/experts/mia/state", json={"state": state, "reason": "e2e"}, headers=OPS
                )
            )
        await ok(
            await assignment.post(
                "/v1/projects/detections/invitations", json={"expert_id": "mia"}, headers=OPS
            ),
            201,
        )
        mia = auth("expert", subject="mia")
        await ok(await assignment.post("/v1/me/invitations/detections/accept", headers=mia))

        item_ids = []
        for n in (1, 2):

            async def registered(n: int = n) -> httpx.Response | None:
                response = await ingest.post("/v1/media", json=registration(n), headers=CLIENT)
                return response if response.status_code != 422 else None  # not seen yet

            item_ids.append((await ok(await eventually(registered, timeout=60), 201))["item_id"])

        answers = {
            item_ids[0]: {
                "verdict": "accept",
                "ratings": RATINGS,
                "severity": "none",
                "flags": ["occlusion"],
            },
            item_ids[1]: {
                "verdict": "reject",
                "ratings": RATINGS,
                "severity": "major",
                "justification": "the frame is a test pattern, not a street",
            },
        }
        for _ in item_ids:

            async def handed() -> Any:
                response = await assignment.post("/v1/work:next", headers=mia)
                return response.json() if response.status_code == 200 else None

            unit = await eventually(handed, timeout=60)

            async def judged(unit: Any = unit) -> httpx.Response | None:
                body = {
                    "submission_id": unit["unit_id"],
                    "lease_id": unit["lease_id"],
                    "answers": answers[unit["item_id"]],
                }
                response = await assignment.post(
                    f"/v1/units/{unit['unit_id']}/judgments", json=body, headers=mia
                )
                return response if response.status_code != 503 else None

            await ok(await eventually(judged), 201)

        async def resolved(item_id: str) -> Any:
            item = await ok(await ingest.get(f"/v1/media/{item_id}", headers=CLIENT))
            return item if item["status"] == "resolved" else None

        accepted = await eventually(lambda: resolved(item_ids[0]), timeout=60)
        rejected = await eventually(lambda: resolved(item_ids[1]), timeout=60)
        assert [label["class_id"] for label in accepted["final_labels"]] == ["car", "bus"]
        assert accepted["resolution"]["verdict"] == "accept"
        assert accepted["resolution"]["flags"] == ["occlusion"]
        assert accepted["resolution"]["method"] == "single"
        assert rejected["final_labels"] == [] and rejected["resolution"]["verdict"] == "reject"
        assert rejected["resolution"]["severity"] == "major"
        assert "judged_by" not in json.dumps(accepted)  # no expert's identity

        coco = await ok(
            await ingest.get(
                "/v1/media/export",
                params={"project_id": "detections", "format": "coco"},
                headers=CLIENT,
            )
        )
        by_image = {i["quorum_item_id"]: i["id"] for i in coco["images"]}
        boxes = [a["bbox"] for a in coco["annotations"] if a["image_id"] == by_image[item_ids[0]]]
        assert boxes == [[10, 20, 30, 40], [100, 50, 80, 60]]
        assert not [a for a in coco["annotations"] if a["image_id"] == by_image[item_ids[1]]]
        assert {i["quorum_verdict"] for i in coco["images"]} == {"accept", "reject"}

        lines = await ingest.get(
            "/v1/media/export", params={"project_id": "detections"}, headers=CLIENT
        )
        verdicts = {
            json.loads(line)["item_id"]: json.loads(line)["resolution"]["verdict"]
            for line in lines.text.splitlines()
        }
        assert verdicts == {item_ids[0]: "accept", item_ids[1]: "reject"}
