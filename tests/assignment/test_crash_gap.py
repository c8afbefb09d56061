"""The step after a stored judgment is taken even when the replica that stored it stopped
before taking it: assignment consumes its own judgment.submitted and gold.scored (written in
the judgment's write, so they are published whatever happens next) and takes the step again,
which is done once whichever path gets there first."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.assignment.handlers.judgments import Judgments
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok
from tests.kafka_helpers import eventually

pytestmark = pytest.mark.integration


class Stopped:
    """What a replica that stopped right after the judgment's write does next: nothing."""

    async def after_judgment(self, item: Any) -> None:
        pass

    async def on_score(self, scored: Any) -> None:
        pass


@contextmanager
def stopping_after_the_write(a: AssignmentUnderTest, part: str) -> Iterator[None]:
    judgments = service_of(a.app).get(Judgments)
    kept = getattr(judgments, part)
    setattr(judgments, part, Stopped())
    try:
        yield
    finally:
        setattr(judgments, part, kept)


async def test_an_item_is_resolved_though_the_replica_stopped_after_storing_its_judgment(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    with stopping_after_the_write(assignment, "resolutions"):
        await world.judge(assignment, expert_id, world.edit_answers())

        async def resolved() -> Any:
            return (await world.known(assignment, item_id))["resolution"]

        resolution = await eventually(resolved)
    assert resolution["method"] == "single"  # overlap 1
    assert resolution["judged_by"] == [expert_id]


async def test_a_gold_score_feeds_calibration_though_the_replica_stopped_after_storing_it(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    key = world.edit_answers("accept", point=4)
    await world.gold(assignment, project_id, key)
    await world.items(assignment, project_id, 1)  # an ordinary unit for the gold to stand in for
    with stopping_after_the_write(assignment, "calibrations"):
        handed = await world.judge(assignment, expert_id, key)
        assert (await world.item_of(assignment, handed))["gold_id"] is not None

        async def fed() -> Any:
            found = await ok(
                await assignment.client.get(f"/v1/experts/{expert_id}/calibration", headers=OPS)
            )
            return found["items"] or None

        [calibration] = await eventually(fed)
    assert (calibration["skill"], calibration["count"], calibration["mean"]) == (
        "modality.image",
        1,
        1.0,
    )
