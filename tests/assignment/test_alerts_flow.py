"""Metrics alerts on the real servers: an item recommendation raises the item's priority (so
it is handed out first) and never lowers it; an agreement alert adds one review unit to the
item, once per alert and never beyond the project's largest overlap; a class recommendation
raises the pending items pre-labelled with the class."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.metrics import METRICS_ALERT, MetricsAlertV1
from shared.events.envelope import make_event
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.kafka_helpers import eventually
from tests.service_helpers import publish

pytestmark = pytest.mark.integration


def alert(
    project_id: str,
    *recommendations: tuple[str, str, float],
    kind: str = "prelabel_error",
    alert_id: str | None = None,
) -> Any:
    payload = MetricsAlertV1(
        alert_id=alert_id or uuid.uuid4().hex,
        project_id=project_id,
        tenant="acme",
        kind=kind,
        severity="major",
        summary="test",
        recommendations=[
            {"target": t, "target_kind": k, "score": s, "reason": "test"}
            for t, k, s in recommendations
        ],
        raised_at=datetime.now(UTC),
    )
    return make_event(METRICS_ALERT, payload, source="/metrics", tenant="acme")


async def item(a: AssignmentUnderTest, item_id: str) -> dict[str, Any]:
    found = await world.known(a, item_id)
    assert found is not None
    return found


async def test_an_item_recommendation_raises_its_priority_and_it_is_handed_out_first(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    ids = await world.items(assignment, project_id, 3)
    await publish(assignment.settings, alert(project_id, (ids[2], "item", 5.0)))

    async def raised() -> bool:
        return (await item(assignment, ids[2]))["priority"] == 5.0

    await eventually(raised)
    expert_id = await world.expert(assignment, projects=(project_id,))
    handed = await world.next_unit(assignment, expert_id)
    assert handed["item_id"] == ids[2]
    # a lower score later, and an expert recommendation, change nothing
    marker = alert(project_id, (ids[1], "item", 1.0))
    await publish(
        assignment.settings,
        alert(project_id, (ids[2], "item", 2.0), (expert_id, "expert", 9.0)),
        marker,
    )

    async def marker_applied() -> bool:
        return (await item(assignment, ids[1]))["priority"] == 1.0

    await eventually(marker_applied)
    assert (await item(assignment, ids[2]))["priority"] == 5.0


async def test_an_agreement_alert_adds_one_review_unit_once_and_within_the_overlap_cap(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 1, "dynamic": True, "k_max": 2})
    [item_id] = await world.items(assignment, project_id, 1)
    first = alert(project_id, (item_id, "item", 1.0), kind="agreement", alert_id="agree-1")
    replay = dataclasses.replace(first, id=uuid.uuid4().hex)  # the same alert again
    await publish(assignment.settings, first, replay)

    async def added() -> bool:
        return len((await item(assignment, item_id))["units"]) == 2

    await eventually(added)
    marker_item = (await world.items(assignment, project_id, 1))[0]
    await publish(
        assignment.settings,
        alert(project_id, (item_id, "item", 2.0), kind="agreement"),  # beyond k_max = 2
        alert(project_id, (marker_item, "item", 3.0)),
    )

    async def marker_applied() -> bool:
        return (await item(assignment, marker_item))["priority"] == 3.0

    await eventually(marker_applied)
    found = await item(assignment, item_id)
    assert len(found["units"]) == 2 and found["open"] == 2
    assert [u["kind"] for u in found["units"]] == ["review", "review"]


async def test_a_class_recommendation_raises_the_pending_items_prelabelled_with_it(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)

    def prelabelled(class_id: str) -> Any:
        prelabels = {"model_name": "m", "model_version": "1", "labels": [{"class_id": class_id}]}
        return world.registered(
            project_id, media=world.image(uuid.uuid4().hex), prelabels=prelabels
        )

    cats, dog = [prelabelled("cat"), prelabelled("cat")], prelabelled("dog")
    await publish(assignment.settings, *cats, dog)
    for event in [*cats, dog]:
        await eventually(lambda e=event: world.known(assignment, e.data.item_id))
    marker = (await world.items(assignment, project_id, 1))[0]
    await publish(
        assignment.settings,
        alert(project_id, ("cat", "class", 4.0), kind="drift"),
        alert(project_id, (marker, "item", 1.0)),
    )

    async def marker_applied() -> bool:
        return (await item(assignment, marker))["priority"] == 1.0

    await eventually(marker_applied)
    assert [(await item(assignment, c.data.item_id))["priority"] for c in cats] == [4.0, 4.0]
    assert (await item(assignment, dog.data.item_id))["priority"] == 0.0
