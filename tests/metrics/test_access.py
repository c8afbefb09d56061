"""Who may call what on metrics: the role-by-endpoint matrix of its OpenAPI document, on the
real servers (tests/access.py), with a project of tenant acme that has judgments."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.work import JUDGMENT_SUBMITTED
from tests.access import Operation, Seeds, check_operation, operations_of
from tests.kafka_helpers import caught_up, eventually
from tests.metrics.conftest import serving
from tests.metrics.judgments import project_judgments, submitted
from tests.metrics.prelabel_events import seeded as seeded_prelabels
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

OPERATIONS = operations_of(create_app(MetricsSettings(environment="test")))
PROJECT = "p-seeded"


@pytest_asyncio.fixture(scope="module")
async def served(
    make_settings: Callable[..., Any],
) -> AsyncIterator[tuple[httpx.AsyncClient, Seeds]]:
    settings = make_settings(MetricsSettings)
    async with serving(settings) as service:
        client = service.client
        await publish(settings, *(submitted(j) for j in project_judgments(PROJECT, items=4)))
        registrations, resolutions, _ = seeded_prelabels(PROJECT, per_class=5)
        await publish(settings, *registrations, *resolutions)
        url = f"/v1/projects/{PROJECT}/agreement"
        topics = [
            settings.topic_prefix + spec.topic.name
            for spec in (JUDGMENT_SUBMITTED, MEDIA_REGISTERED)
        ]

        async def seeded() -> bool:
            # every event applied: the reads the matrix compares are settled
            return all(
                [
                    await caught_up(settings.kafka_bootstrap_servers, settings.group_id, topic)
                    for topic in topics
                ]
            )

        await eventually(seeded, timeout=60)
        assert (await client.get(url, headers=auth("ops"))).status_code == 200
        prelabels = f"/v1/projects/{PROJECT}/prelabels"
        assert (await client.get(prelabels, headers=auth("ops"))).json()["models"]
        yield (
            client,
            Seeds(
                values={"project_id": PROJECT},
                reads=[url, f"{url}/pairs", prelabels],
                settings=settings,
            ),
        )


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_each_role_and_tenant_gets_what_the_operation_declares(
    served: tuple[httpx.AsyncClient, Seeds], operation: Operation
) -> None:
    client, seeds = served
    await check_operation(client, operation, seeds)
