"""A project's progress as its client reads it: counts of items, units and resolutions, and
nothing that names an expert."""

from __future__ import annotations

import pytest

from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import next_unit, ok
from tests.service_helpers import auth

pytestmark = pytest.mark.integration


async def test_a_client_reads_its_projects_progress_as_counts_without_names(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    [done_item, _, _] = await world.items(assignment, project_id, 3)
    for expert_id in (first, second):
        handed = await world.judge(assignment, expert_id, world.edit_answers())
        assert handed["item_id"] == done_item
    await next_unit(assignment, first)  # one more unit out, leased
    progress = await ok(
        await assignment.client.get(
            f"/v1/projects/{project_id}/progress", headers=auth("client", subject="acme-system")
        )
    )
    assert progress == {
        "project_id": project_id,
        "status": "active",
        "items": 3,
        "units": {"open": 3, "leased": 1, "done": 2},
        "adjudication_units": {"open": 0, "leased": 0, "done": 0},
        "resolved": {"consensus": 1},
        "unresolved": 2,
    }
    assert first not in str(progress) and second not in str(progress)
