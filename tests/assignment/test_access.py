"""Who may call what on assignment: the role-by-endpoint matrix of its OpenAPI document, on
the real servers (tests/access.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1
from shared.events.envelope import make_event
from shared.http.service import service_of
from tests.access import Operation, Seeds, check_operation, operations_of
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, publish, running

pytestmark = pytest.mark.integration

OPERATIONS = operations_of(create_app(AssignmentSettings(environment="test")))


@pytest_asyncio.fixture(scope="module")
async def service(
    make_settings: Callable[..., Any],
) -> AsyncIterator[tuple[httpx.AsyncClient, Seeds]]:
    """Assignment with one item of tenant acme, learnt from media.registered."""
    settings = make_settings(AssignmentSettings)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        item = MediaRegisteredV1(
            item_id="item-acme-1",
            tenant="acme",
            external_id="ext-1",
            project_id="p1",
            modality="image",
            registered_at=datetime.now(UTC),
        )
        await publish(settings, make_event(MEDIA_REGISTERED, item, source="/t", tenant="acme"))

        async def known() -> bool:
            response = await client.get(f"/v1/items/{item.item_id}", headers=auth("ops"))
            return response.status_code == 200

        await eventually(known)
        expert = {"expert_id": "exp-acme-1", "display_name": "Ana"}
        invited = await client.post("/v1/experts", json=expert, headers=auth("ops"))
        assert invited.status_code == 201, invited.text
        skill = "/v1/experts/exp-acme-1/skills/lang.ja"
        granted = await client.put(skill, json={"level": 3, "note": "n"}, headers=auth("ops"))
        assert granted.status_code == 200, granted.text
        yield (
            client,
            Seeds(
                values={"item_id": item.item_id, "expert_id": "exp-acme-1", "skill_id": "lang.ja"},
                reads=[f"/v1/items/{item.item_id}", "/v1/experts/exp-acme-1"],
                bodies={
                    "PATCH /v1/experts/{expert_id}": {"display_name": "Eve"},
                    "POST /v1/experts/{expert_id}/state": {"state": "vetting", "reason": "r"},
                    "PUT /v1/experts/{expert_id}/skills/{skill_id}": {"level": 5, "note": "n"},
                    "POST /v1/experts": {"expert_id": "exp-new", "display_name": "New"},
                    "POST /v1/rubrics/{rubric_id}/versions": {"definition": {"name": "n"}},
                    "PATCH /v1/projects/{project_id}": {"name": "Q"},
                    "POST /v1/projects/{project_id}/status": {"status": "active"},
                    "POST /v1/projects/{project_id}/invitations": {"expert_id": "exp-acme-1"},
                    "POST /v1/projects/{project_id}/invitations:batch": {
                        "batch_id": "b1",
                        "expert_ids": ["exp-acme-1"],
                    },
                    "POST /v1/experts/{expert_id}/leases/{lease_id}/release": {"reason": "skip"},
                    "POST /v1/me/leases/{lease_id}/release": {"reason": "skip"},
                    "POST /v1/projects/{project_id}/benches/{expert_id}/reinstate": {"reason": "r"},
                    "PATCH /v1/projects/{project_id}/gold/{gold_id}": {"active": False},
                    "PATCH /v1/qualifications/{set_id}": {"active": False},
                    "POST /v1/feedback/{feedback_id}/resolve": {"note": "n"},
                    "POST /v1/items/{item_id}/override": {
                        "answers": {"verdict": "reject"},
                        "reason": "r",
                    },
                    "POST /v1/items/{item_id}/send-back": {"reason": "r"},
                    "POST /v1/units/{unit_id}/feedback": {
                        "submission_id": "s",
                        "about": "rubric",
                        "kind": "other",
                        "text": "t",
                    },
                    "POST /v1/experts/{expert_id}/qualifications": {"set_id": "qs1"},
                    "POST /v1/qualifications": {
                        "set_id": "qs1",
                        "name": "Q",
                        "skill": "lang.ja",
                        "level": 2,
                        "modality": "text",
                        "rubric": {"rubric_id": "r1", "version": 1},
                        "threshold": 0.5,
                        "items": [{"key": {"verdict": "accept"}}],
                    },
                    "POST /v1/projects/{project_id}/gold": {
                        "gold_id": "g1",
                        "media": {
                            "modality": "image",
                            "uri": "s3://b/g1.png",
                            "sha256": "0" * 64,
                            "size_bytes": 1,
                            "width": 1,
                            "height": 1,
                            "format": "png",
                        },
                        "key": {"verdict": "accept"},
                    },
                    "POST /v1/units/{unit_id}/judgments": {
                        "submission_id": "s",
                        "lease_id": "0-x",
                        "answers": {"verdict": "accept"},
                    },
                },
                settings=settings,
            ),
        )


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_each_role_and_tenant_gets_what_the_operation_declares(
    service: tuple[httpx.AsyncClient, Seeds], operation: Operation
) -> None:
    client, seeds = service
    await check_operation(client, operation, seeds)
