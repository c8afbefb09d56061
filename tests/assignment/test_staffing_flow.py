"""Staffing on the real servers: a project's proposals are the vetted experts who meet its
required skills, have a spare lease and are not invited yet, best calibrated first; its
demand sets the pending units against the roster's hours and, when they are outgrown, comes
with proposals."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok

pytestmark = pytest.mark.integration

KEY = world.edit_answers("accept", point=4)


def skill() -> str:
    """A skill no other test's experts hold (the tenant is shared)."""
    return f"domain.s{uuid.uuid4().hex[:8]}"


async def hours(a: AssignmentUnderTest, expert_id: str, per_week: float, leases: int = 3) -> None:
    body = {"capacity": {"max_leases": leases, "hours_per_week": per_week}}
    await ok(await a.client.patch(f"/v1/experts/{expert_id}", json=body, headers=OPS))


async def calibrated(a: AssignmentUnderTest, required: dict[str, int], answers: Any) -> str:
    """A vetted expert with ``required`` whose one gold score on it comes from ``answers``."""
    project_id = await world.project(a, required=required, gold_rate=1.0)
    expert_id = await world.expert(a, projects=(project_id,), skills=required)
    await world.gold(a, project_id, KEY)
    await world.items(a, project_id, 1)  # an ordinary unit for the gold to stand in for
    handed = await world.judge(a, expert_id, answers)
    assert (await world.item_of(a, handed))["gold_id"] is not None
    return expert_id


async def proposed(a: AssignmentUnderTest, project_id: str, **params: Any) -> list[Any]:
    return await ok(
        await a.client.get(f"/v1/projects/{project_id}/proposals", params=params, headers=OPS)
    )


async def test_proposals_are_the_eligible_experts_best_calibrated_first(
    assignment: AssignmentUnderTest,
) -> None:
    required = {skill(): 3}
    [(skill_id, _)] = required.items()
    good = await calibrated(assignment, required, KEY)
    weak = await calibrated(assignment, required, world.edit_answers("reject", point=1))
    new = await world.expert(assignment, skills={skill_id: 4})
    await world.expert(assignment, skills={skill_id: 2})  # below the level
    await world.expert(assignment, state="vetting", skills={skill_id: 5})  # not vetted
    busy = await world.expert(assignment, skills={skill_id: 3}, max_leases=1)
    busy_project = await world.project(assignment, required=required)
    await world.join(assignment, busy_project, busy)
    await world.items(assignment, busy_project, 1)
    assert await world.next_unit(assignment, busy) is not None  # no spare lease now
    project_id = await world.project(assignment, required=required)
    invited = await world.expert(assignment, skills={skill_id: 5})
    await ok(
        await assignment.client.post(
            f"/v1/projects/{project_id}/invitations", json={"expert_id": invited}, headers=OPS
        ),
        201,
    )
    found = await proposed(assignment, project_id)
    assert [p["expert_id"] for p in found] == [good, weak, new]
    assert found[0]["calibration"] == 1.0
    assert found[1]["calibration"] == 0.0  # the verdict wrong: it is decisive
    assert found[2]["calibration"] is None and found[2]["skills"] == {skill_id: 4}
    assert found[0]["display_name"] == "E" and found[0]["spare_leases"] == 3
    assert [p["expert_id"] for p in await proposed(assignment, project_id, limit=1)] == [good]


async def test_demand_outgrowing_the_roster_comes_with_proposals(
    assignment: AssignmentUnderTest,
) -> None:
    required = {skill(): 2}
    due = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    project_id = await world.project(assignment, required=required, due_at=due)
    member = await world.expert(assignment, projects=(project_id,), skills=required)
    await hours(assignment, member, 1)
    outsider = await world.expert(assignment, skills=required)
    await world.items(assignment, project_id, 10)
    demand = await ok(await assignment.client.get(f"/v1/projects/{project_id}/demand", headers=OPS))
    assert demand["pending_units"] == 10
    assert demand["seconds_per_unit"] == 120.0  # no judgment yet: the default
    assert demand["hours_needed"] == pytest.approx(10 * 120 / 3600)
    assert (demand["roster_experts"], demand["roster_hours_per_week"]) == (1, 1.0)
    assert demand["weeks_available"] == pytest.approx(1 / 168, rel=0.05)
    assert demand["outgrown"] is True
    assert [p["expert_id"] for p in demand["proposals"]] == [outsider]


async def test_demand_within_the_roster_hours_is_not_outgrown_and_uses_the_time_spent(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    member = await world.expert(assignment, projects=(project_id,))
    await hours(assignment, member, 40)
    await world.items(assignment, project_id, 3)
    await world.judge(assignment, member, world.edit_answers())
    demand = await ok(await assignment.client.get(f"/v1/projects/{project_id}/demand", headers=OPS))
    assert demand["pending_units"] == 2
    assert demand["seconds_per_unit"] < 60  # the judgment's own time, not the default
    assert demand["weeks_available"] == 1.0  # no due date: the horizon
    assert demand["hours_available"] == 40.0
    assert demand["outgrown"] is False and demand["proposals"] == []
    missing = await assignment.client.get("/v1/projects/nope/demand", headers=OPS)
    assert missing.status_code == 404
