"""Who may call what on ingest: the role-by-endpoint matrix of its OpenAPI document, on the
real servers (tests/access.py)."""

from __future__ import annotations

import pytest
import pytest_asyncio

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.access import Operation, Seeds, check_operation, operations_of
from tests.ingest.bodies import image_file, registration
from tests.ingest.conftest import IngestUnderTest
from tests.ingest.test_kafka import sdk_message, send
from tests.kafka_helpers import eventually
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OPERATIONS = operations_of(create_app(IngestSettings(environment="test")))


@pytest_asyncio.fixture(scope="module")
async def seeds(ingest: IngestUnderTest) -> Seeds:
    """An item of tenant acme in project p-image, and a refused Kafka request of its external
    id (other content: a conflict)."""
    body = registration("image")
    created = await ingest.client.post("/v1/media", json=body, headers=auth("client"))
    assert created.status_code == 201, created.text
    item_id = created.json()["item_id"]
    await send(ingest, sdk_message({**body, "media": image_file()}))
    rejections = f"/v1/media/rejections?external_id={body['external_id']}"

    async def refused() -> bool:
        answer = await ingest.client.get(rejections, headers=auth("client"))
        return answer.status_code == 200

    await eventually(refused)
    return Seeds(
        values={"item_id": item_id, "external_id": body["external_id"], "project_id": "p-image"},
        reads=[
            f"/v1/media/{item_id}",
            f"/v1/media/by-external-id?external_id={body['external_id']}",
            rejections,
        ],
        bodies={
            "POST /v1/media": registration("image"),
            "POST /v1/media/batch": {"items": [registration("image")]},
        },
        settings=ingest.settings,
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_each_role_and_tenant_gets_what_the_operation_declares(
    ingest: IngestUnderTest, seeds: Seeds, operation: Operation
) -> None:
    await check_operation(ingest.client, operation, seeds)
