"""A heartbeat keeps a lease alive past its original deadline as the expiry sweep reads it:
with the shortest lease the API allows and a sweep ten times a second, a lease beaten once
outlives a lease taken after it and left alone, and its judgment is accepted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.contracts.work import JUDGMENT_SUBMITTED, WORK, WORK_EXPIRED, WORK_LEASED
from shared.events.codec import EventRegistry, decode
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, published_offsets
from tests.service_helpers import auth, running

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([WORK_LEASED, WORK_EXPIRED, JUDGMENT_SUBMITTED])
#: the shortest lease a project may have (``ProjectIn.lease_ttl_s``)
TTL_S = 5
#: how long before its deadline the lease is beaten
BEAT_BEFORE_S = 1.5


@pytest_asyncio.fixture(scope="module")
async def assignment(make_settings: Callable[..., Any]) -> AsyncIterator[AssignmentUnderTest]:
    """The module's service, sweeping expired leases every 0.1 s."""
    settings = make_settings(AssignmentSettings, lease_sweep_interval_s=0.1)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        yield AssignmentUnderTest(client, settings, app)


def events_of(records: list[Any], unit_ids: set[str]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.data.unit_id in unit_ids]


def at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_a_heartbeat_keeps_a_lease_alive_past_its_original_deadline_as_the_sweep_reads_it(
    assignment: AssignmentUnderTest,
) -> None:
    a = assignment
    project_id = await world.project(a, lease_ttl_s=TTL_S, overlap={"k": 1})
    beating = await world.expert(a, projects=(project_id,))
    idle = await world.expert(a, projects=(project_id,))
    await world.items(a, project_id, 2)
    async with TopicReader(
        a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name
    ) as reader:
        kept = await next_unit(a, beating)
        left = await next_unit(a, idle)  # taken after: its deadline is later
        assert kept is not None and left is not None
        deadline = at(kept["expires_at"])
        assert deadline <= at(left["expires_at"])
        await asyncio.sleep(
            (deadline - timedelta(seconds=BEAT_BEFORE_S) - datetime.now(UTC)).total_seconds()
        )
        beat = await ok(
            await a.client.post(
                f"/v1/me/leases/{kept['lease_id']}/heartbeat",
                headers=auth("expert", subject=beating),
            )
        )
        assert at(beat["expires_at"]) > deadline + timedelta(seconds=TTL_S - BEAT_BEFORE_S - 1)

        # the sweep has read past the original deadline: the lease left alone expired
        def expired(records: list[Any]) -> list[Any]:
            return [
                e
                for e in events_of(records, {kept["unit_id"], left["unit_id"]})
                if e.type == WORK_EXPIRED.type
            ]

        [gone] = expired(await reader.until(expired, timeout=30))
        assert gone.data.unit_id == left["unit_id"] and gone.time > deadline

        live = await ok(
            await a.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
        )
        assert [(lease["lease_id"], at(lease["expires_at"])) for lease in live["items"]] == [
            (kept["lease_id"], at(beat["expires_at"]))
        ]
        item = await world.known(a, kept["item_id"])
        assert (item["units"][0]["state"], item["units"][0]["lease_id"]) == (
            "leased",
            kept["lease_id"],
        )
        await ok(await world.submit(a, beating, kept, world.edit_answers()), 201)
        await published_offsets(a.settings)
        records = await reader.to_end()
    # read to the end of the topic: the beaten lease never expired, before or after its judgment
    assert [e.type for e in events_of(records, {kept["unit_id"]})] == [
        WORK_LEASED.type,
        JUDGMENT_SUBMITTED.type,
    ]
    assert [e.type for e in events_of(records, {left["unit_id"]})] == [
        WORK_LEASED.type,
        WORK_EXPIRED.type,
    ]
