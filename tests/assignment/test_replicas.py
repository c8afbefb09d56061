"""Two assignment replicas on the same servers: 50 experts asking at once, half of them on
each replica, never share a unit and never see an item twice; overlap k is exactly k."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.service_helpers import running

pytestmark = pytest.mark.integration

EXPERTS = 50
ITEMS = 60
K = 3


@pytest_asyncio.fixture(scope="module")
async def replicas(
    assignment: AssignmentUnderTest, make_settings: Callable[..., Any]
) -> AsyncIterator[tuple[AssignmentUnderTest, AssignmentUnderTest]]:
    """A second replica beside the module's service: same database, topics and group."""
    settings: AssignmentSettings = make_settings(AssignmentSettings)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        yield assignment, AssignmentUnderTest(client, settings, app)


async def test_fifty_experts_on_two_replicas_never_share_a_unit_nor_see_an_item_twice(
    replicas: tuple[AssignmentUnderTest, AssignmentUnderTest],
) -> None:
    first, second = replicas
    project_id = await world.project(first, overlap={"k": K})
    experts = [
        await world.expert(first, projects=(project_id,), max_leases=10) for _ in range(EXPERTS)
    ]
    ids = await world.items(first, project_id, ITEMS)

    async def drain(index: int, expert_id: str) -> list[Any]:
        replica = (first, second)[index % 2]
        got = []
        while (handed := await world.next_unit(replica, expert_id)) is not None:
            got.append(handed)
        return got

    per_expert = await asyncio.gather(*(drain(i, e) for i, e in enumerate(experts)))
    units = [h["unit_id"] for got in per_expert for h in got]
    assert len(units) == len(set(units)), "a unit was leased twice"
    assert len(units) == K * ITEMS, "every unit was handed out"
    for got in per_expert:
        assert len({h["item_id"] for h in got}) == len(got), "an item reached an expert twice"
    assert set(Counter(h["item_id"] for got in per_expert for h in got).values()) == {K}
    for item_id in ids:
        item = await world.known(first, item_id)
        assert item["open"] == 0 and len(set(item["judges"])) == K


async def test_one_expert_racing_themselves_on_two_replicas_stays_within_capacity_and_never_gets_an_item_twice(
    replicas: tuple[AssignmentUnderTest, AssignmentUnderTest],
) -> None:
    """Twenty ``work:next`` calls of one expert at once, half on each replica, round after
    round (judging what they got in between): each round hands out exactly the free
    capacity (3), every lease live at once is within it, and no item reaches the expert
    twice, not even as two of its units (overlap 3: every item has three open units)."""
    first, second = replicas
    capacity, calls, items = 3, 20, 7
    project_id = await world.project(first, overlap={"k": K})
    expert_id = await world.expert(first, projects=(project_id,), max_leases=capacity)
    ids = await world.items(first, project_id, items)
    got: list[dict[str, Any]] = []
    while len(got) < items:
        handed = [
            h
            for h in await asyncio.gather(
                *(world.next_unit((first, second)[i % 2], expert_id) for i in range(calls))
            )
            if h is not None
        ]
        assert len(handed) == min(capacity, items - len(got)), "the free capacity is handed out"
        live = await world.ok(
            await first.client.get(
                "/v1/leases", params={"project_id": project_id}, headers=world.OPS
            )
        )
        assert sorted(lease["lease_id"] for lease in live["items"]) == sorted(
            h["lease_id"] for h in handed
        ), "every lease handed out is live, and no other"
        got.extend(handed)
        assert len({h["item_id"] for h in got}) == len(got), "an item reached the expert twice"
        for h in handed:
            await world.ok(await world.submit(first, expert_id, h, world.edit_answers()), 201)
    assert {h["item_id"] for h in got} == set(ids)
    assert await world.next_unit(second, expert_id) is None  # every item was theirs once
    for item_id in ids:
        item = await world.known(first, item_id)
        assert item["judges"] == [expert_id] and item["open"] == K - 1
