"""An expert's standing holds on work already handed out, on the real servers: suspending or
offboarding an expert, taking them off a roster, benching them, pausing or closing a project
releases the leases that no longer stand (``work.released``, saying why), and a heartbeat,
release or judgment on one is refused saying why, alike for gold and ordinary units; no
heartbeat keeps a lease past its maximum life."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.assignment.handlers.experts import Experts
from services.assignment.handlers.handout import Handout
from services.assignment.handlers.withdrawals import Withdrawals
from shared.contracts.work import WORK, WORK_RELEASED
from shared.events.codec import EventRegistry, decode
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([WORK_RELEASED])


def me(expert_id: str) -> dict[str, str]:
    return auth("expert", subject=expert_id)


async def heartbeat(a: AssignmentUnderTest, expert_id: str, handed: dict[str, Any]) -> Any:
    return await a.client.post(
        f"/v1/me/leases/{handed['lease_id']}/heartbeat", headers=me(expert_id)
    )


async def release(a: AssignmentUnderTest, expert_id: str, handed: dict[str, Any]) -> Any:
    return await a.client.post(
        f"/v1/me/leases/{handed['lease_id']}/release",
        json={"reason": "skip"},
        headers=me(expert_id),
    )


async def live_leases(a: AssignmentUnderTest, project_id: str) -> set[str]:
    listed = await ok(
        await a.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    return {lease["lease_id"] for lease in listed["items"]}


async def move_expert(a: AssignmentUnderTest, expert_id: str, state: str) -> None:
    body = {"state": state, "reason": "test"}
    await ok(await a.client.post(f"/v1/experts/{expert_id}/state", json=body, headers=OPS))


async def move_project(a: AssignmentUnderTest, project_id: str, status: str) -> None:
    body = {"status": status}
    await ok(await a.client.post(f"/v1/projects/{project_id}/status", json=body, headers=OPS))


def assert_refused_saying(response: httpx.Response, field: str, why: str, says: str) -> None:
    assert response.status_code == 409, response.text
    problem = response.json()
    assert problem["errors"] == [{"field": field, "message": f"withdrawn: {why}"}]
    assert says in problem["detail"], problem["detail"]


async def assert_every_call_refused(
    a: AssignmentUnderTest, expert_id: str, handed: dict[str, Any], why: str, says: str
) -> None:
    """Heartbeat, release and judgment on the unit ``handed`` are each refused saying why."""
    assert_refused_saying(await heartbeat(a, expert_id, handed), "path.lease_id", why, says)
    assert_refused_saying(await release(a, expert_id, handed), "path.lease_id", why, says)
    judged = await world.submit(a, expert_id, handed, world.edit_answers())
    assert_refused_saying(judged, "body.lease_id", why, says)


def released_events(records: list[Any], item_ids: set[str]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [
        e
        for e in events
        if e is not None and e.type == WORK_RELEASED.type and e.data.item_id in item_ids
    ]


async def test_a_suspended_experts_leases_are_released_and_their_heartbeat_and_judgment_are_refused(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    item_ids = set(await world.items(assignment, project_id, 2))
    topic = assignment.settings.topic_prefix + WORK.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic) as reader:
        handed = [await next_unit(assignment, expert_id) for _ in range(2)]
        await move_expert(assignment, expert_id, "suspended")
        records = await reader.until(lambda got: len(released_events(got, item_ids)) == 2)
    released = released_events(records, item_ids)
    assert {e.data.unit_id for e in released} == {h["unit_id"] for h in handed}
    assert {(e.data.expert_id, e.data.reason) for e in released} == {
        (expert_id, "withdrawn: suspended")
    }
    # released as the suspension answered: the units are back in the pool
    assert await live_leases(assignment, project_id) == set()
    for item_id in item_ids:
        item = await world.known(assignment, item_id)
        assert item["open"] == 1 and item["units"][0]["state"] == "open"
    for unit in handed:
        await assert_every_call_refused(
            assignment, expert_id, unit, "suspended", "was released because you are suspended"
        )


async def test_an_offboarded_experts_lease_is_released_and_their_heartbeat_and_judgment_are_refused(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    await move_expert(assignment, expert_id, "offboarded")
    assert await live_leases(assignment, project_id) == set()
    await assert_every_call_refused(
        assignment, expert_id, handed, "offboarded", "because you are offboarded"
    )


async def test_an_expert_taken_off_a_roster_loses_that_projects_leases_and_keeps_the_others(
    assignment: AssignmentUnderTest,
) -> None:
    left = await world.project(assignment, lease_ttl_s=600)
    kept = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(left, kept), max_leases=2)
    await world.items(assignment, left, 1)
    await world.items(assignment, kept, 1)
    handed = {h["project_id"]: h for h in [await next_unit(assignment, expert_id) for _ in "ab"]}
    assert set(handed) == {left, kept}
    removed = await assignment.client.delete(
        f"/v1/projects/{left}/invitations/{expert_id}", headers=OPS
    )
    await ok(removed)
    assert await live_leases(assignment, left) == set()
    assert await live_leases(assignment, kept) == {handed[kept]["lease_id"]}
    await assert_every_call_refused(
        assignment,
        expert_id,
        handed[left],
        "removed_from_roster",
        f"because you were taken off the roster of project {left}",
    )
    await ok(await heartbeat(assignment, expert_id, handed[kept]))
    await ok(await world.submit(assignment, expert_id, handed[kept], world.edit_answers()), 201)


async def test_revoking_a_skill_a_project_requires_releases_its_leases_and_keeps_the_others(
    assignment: AssignmentUnderTest,
) -> None:
    needs = await world.project(assignment, lease_ttl_s=600, required={"domain.cars": 2})
    other = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(
        assignment, projects=(needs, other), max_leases=2, skills={"domain.cars": 3}
    )
    await world.items(assignment, needs, 1)
    await world.items(assignment, other, 1)
    handed = {h["project_id"]: h for h in [await next_unit(assignment, expert_id) for _ in "ab"]}
    assert set(handed) == {needs, other}
    await ok(
        await assignment.client.delete(f"/v1/experts/{expert_id}/skills/domain.cars", headers=OPS)
    )
    assert await live_leases(assignment, needs) == set()
    assert await live_leases(assignment, other) == {handed[other]["lease_id"]}
    await assert_every_call_refused(
        assignment,
        expert_id,
        handed[needs],
        "missing_skill",
        f"you no longer hold every skill project {needs} requires",
    )
    await ok(await heartbeat(assignment, expert_id, handed[other]))


async def test_an_expert_benched_by_their_gold_score_loses_the_projects_leases_and_is_told_why(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(
        assignment, lease_ttl_s=600, gold_rate=1.0, calibration={"floor": 0.9, "min_count": 1}
    )
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    await world.gold(assignment, project_id, world.edit_answers("accept", point=4))
    await world.items(assignment, project_id, 1)
    handed = [await next_unit(assignment, expert_id) for _ in range(2)]
    gold = [(await world.item_of(assignment, h))["gold_id"] is not None for h in handed]
    assert sorted(gold) == [False, True]  # the gold item reaches them once
    scored, other = (handed[0], handed[1]) if gold[0] else (handed[1], handed[0])
    await ok(await world.submit(assignment, expert_id, scored, world.edit_answers("reject")), 201)
    assert await live_leases(assignment, project_id) == set()
    await assert_every_call_refused(
        assignment,
        expert_id,
        other,
        "benched",
        f"because you are benched from project {project_id}",
    )


async def test_pausing_a_project_releases_its_leases_and_refuses_alike_for_gold_and_ordinary_units(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    other_id = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, world.edit_answers("accept", point=4))
    await world.items(assignment, project_id, 2)
    handed = [await next_unit(assignment, expert_id) for _ in range(2)]
    theirs = await next_unit(assignment, other_id)
    gold = [(await world.item_of(assignment, h))["gold_id"] is not None for h in handed]
    assert sorted(gold) == [False, True]
    await move_project(assignment, project_id, "paused")
    assert await live_leases(assignment, project_id) == set()
    await assert_every_call_refused(
        assignment, other_id, theirs, "project_paused", f"project {project_id} was paused"
    )

    def without_ids(response: httpx.Response, unit: dict[str, Any]) -> tuple[int, str]:
        text = response.text.replace(unit["lease_id"], "<lease>").replace(unit["unit_id"], "<u>")
        return response.status_code, re.sub(r'"request_id":"[^"]*"', "", text)

    # nothing in the answers tells the gold unit from the ordinary one
    beats = [without_ids(await heartbeat(assignment, expert_id, h), h) for h in handed]
    judged = [
        without_ids(await world.submit(assignment, expert_id, h, world.edit_answers()), h)
        for h in handed
    ]
    assert beats[0] == beats[1] and judged[0] == judged[1]
    assert beats[0][0] == 409 and "was paused" in beats[0][1]
    # the ordinary unit is back in the pool, for when the project resumes
    ordinary = handed[gold.index(False)]
    assert (await world.item_of(assignment, ordinary))["units"][0]["state"] == "open"


async def test_closing_a_project_releases_its_leases_and_refuses_their_heartbeats(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    await move_project(assignment, project_id, "closed")
    assert await live_leases(assignment, project_id) == set()
    await assert_every_call_refused(
        assignment, expert_id, handed, "project_closed", f"project {project_id} was closed"
    )


class StoppedBeforeReleasing:
    """What a replica that stopped right after writing a change of standing did: it recorded
    the intent and wrote the change, and released nothing."""

    def __init__(self, withdrawals: Withdrawals) -> None:
        self.withdrawals = withdrawals

    @asynccontextmanager
    async def changing(self, tenant: str, change: str, **scope: Any) -> AsyncIterator[None]:
        await self.withdrawals.intend(tenant, change, **scope)
        yield


async def test_a_suspension_releases_the_leases_though_the_replica_stopped_before_releasing(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    experts = service_of(assignment.app).get(Experts)
    kept = experts.withdrawals
    experts.withdrawals = StoppedBeforeReleasing(kept)  # type: ignore[assignment]
    try:
        await move_expert(assignment, expert_id, "suspended")
    finally:
        experts.withdrawals = kept
    assert await live_leases(assignment, project_id) == {handed["lease_id"]}

    async def released() -> bool:  # by the sweep, once the intent is a few seconds old
        return await live_leases(assignment, project_id) == set()

    await eventually(released, timeout=20)
    await assert_every_call_refused(
        assignment, expert_id, handed, "suspended", "because you are suspended"
    )


async def test_a_unit_handed_out_from_a_profile_read_before_a_suspension_is_released_too(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    await world.items(assignment, project_id, 2)
    profiles = service_of(assignment.app).get(Handout).profiles
    kept_ttl = profiles.ttl_s
    profiles.ttl_s = 30.0  # a replica that keeps profiles long enough to see it surely
    try:
        first = await next_unit(assignment, expert_id)  # reads (and keeps) the profile
        await move_expert(assignment, expert_id, "suspended")
        late = await next_unit(assignment, expert_id)  # from the profile read before
    finally:
        profiles.ttl_s = kept_ttl
    assert first is not None and late is not None
    assert await live_leases(assignment, project_id) == {late["lease_id"]}

    async def released() -> bool:  # by the sweep, once the intent is a few seconds old
        return await live_leases(assignment, project_id) == set()

    await eventually(released, timeout=20)
    await assert_every_call_refused(
        assignment, expert_id, late, "suspended", "because you are suspended"
    )


async def test_a_heartbeat_cannot_extend_a_lease_past_its_maximum_life(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=5, lease_max_life_s=6)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    listed = await ok(
        await assignment.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    leased_at = datetime.fromisoformat(listed["items"][0]["leased_at"])
    first = await ok(await heartbeat(assignment, expert_id, handed))  # a TTL from now
    assert first["expires_at"] > handed["expires_at"]
    await asyncio.sleep(1.5)
    capped = await ok(await heartbeat(assignment, expert_id, handed))  # to the cap
    assert (datetime.fromisoformat(capped["expires_at"]) - leased_at).total_seconds() == 6
    at_cap = await heartbeat(assignment, expert_id, handed)
    assert at_cap.status_code == 409, at_cap.text
    problem = at_cap.json()
    assert "reached its maximum life (6 s from its handout" in problem["detail"]
    assert problem["errors"] == [{"field": "path.lease_id", "message": "at its maximum life"}]
    # the lease holds until its capped deadline: its unit can still be judged
    await ok(await world.submit(assignment, expert_id, handed, world.edit_answers()), 201)


async def test_a_maximum_lease_life_shorter_than_the_ttl_is_refused_naming_the_field(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = await world.rubric(assignment)
    body = {
        "project_id": world.short_id("p"),
        "name": "Edits",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        "lease_ttl_s": 600,
        "lease_max_life_s": 300,
    }
    refused = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert refused.status_code == 422
    [error] = refused.json()["errors"]
    assert error["field"] == "body.lease_max_life_s"
    assert "shorter than the lease TTL (600 s)" in error["message"]

    project_id = await world.project(assignment, lease_ttl_s=600, lease_max_life_s=1_200)
    url = f"/v1/projects/{project_id}"
    longer_ttl = await assignment.client.patch(url, json={"lease_ttl_s": 1_800}, headers=OPS)
    assert longer_ttl.status_code == 422
    assert [e["field"] for e in longer_ttl.json()["errors"]] == ["body.lease_max_life_s"]
    cleared = await ok(
        await assignment.client.patch(
            url, json={"lease_ttl_s": 1_800, "lease_max_life_s": None}, headers=OPS
        )
    )
    assert (cleared["lease_ttl_s"], cleared["lease_max_life_s"]) == (1_800, None)
