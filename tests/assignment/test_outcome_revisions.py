"""Ops revise a resolved item's outcome: an override with their answers and a reason, or a
send-back for another review; each publishes item.resolved with the next revision and keeps
the earlier outcome."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.work import ITEM_RESOLVED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok, submit
from tests.kafka_helpers import TopicReader
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([ITEM_RESOLVED])
answers = world.edit_answers


def outcomes(records: list[Any], item_id: str) -> list[Any]:
    decoded = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e.data for e in decoded if e is not None and e.data.item_id == item_id]


def reading(a: AssignmentUnderTest) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name)


async def resolved_item(a: AssignmentUnderTest) -> tuple[str, str]:
    project_id = await world.project(a)
    expert_id = await world.expert(a, projects=(project_id,))
    [item_id] = await world.items(a, project_id, 1)
    await world.judge(a, expert_id, answers(point=4))
    return project_id, item_id


async def test_an_override_publishes_the_next_revision_with_who_and_why(
    assignment: AssignmentUnderTest,
) -> None:
    body = {"answers": answers("reject", point=2), "reason": "the client's brief excludes seams"}
    async with reading(assignment) as reader:  # from before the first outcome
        _, item_id = await resolved_item(assignment)
        item = await ok(
            await assignment.client.post(f"/v1/items/{item_id}/override", json=body, headers=OPS)
        )
        records = await reader.until(lambda got: len(outcomes(got, item_id)) == 2)
    first, second = outcomes(records, item_id)
    assert (first.revision, first.method, first.verdict) == (1, "single", "accept")
    assert (second.revision, second.method, second.verdict) == (2, "override", "reject")
    assert (second.revised_by, second.revision_reason) == ("ops-ana", body["reason"])
    assert second.ratings == {d: 2.0 for d in world.EDIT_DIMENSIONS}
    assert [r["revision"] for r in item["earlier_resolutions"]] == [1]
    assert item["resolution"]["revision"] == 2


async def test_an_override_whose_answers_break_the_rubric_names_each_field(
    assignment: AssignmentUnderTest,
) -> None:
    _, item_id = await resolved_item(assignment)
    body = {"answers": {"verdict": "reject", "ratings": {"nonsense": 3}}, "reason": "x"}
    refused = await assignment.client.post(f"/v1/items/{item_id}/override", json=body, headers=OPS)
    assert refused.status_code == 422
    assert "body.answers.ratings.nonsense" in [e["field"] for e in refused.json()["errors"]]
    assert (await world.known(assignment, item_id))["resolution"]["revision"] == 1


async def test_an_item_sent_back_is_judged_again_by_another_expert_and_resolved_anew(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, item_id = await resolved_item(assignment)
    reviewer = await world.expert(assignment, projects=(project_id,), skills={"modality.image": 5})
    body = {"reason": "a customer complaint about this frame"}
    sent = await ok(
        await assignment.client.post(f"/v1/items/{item_id}/send-back", json=body, headers=OPS)
    )
    assert sent["resolution"] is None and sent["units"][-1]["kind"] == "adjudication"
    assert sent["units"][-1]["escalation"][0]["code"] == "reopened"
    assert [r["revision"] for r in sent["earlier_resolutions"]] == [1]
    handed = await next_unit(assignment, reviewer)
    assert handed["item_id"] == item_id
    await ok(await submit(assignment, reviewer, handed, answers("reject", point=1)), 201)
    again = (await world.known(assignment, item_id))["resolution"]
    assert (again["revision"], again["method"], again["verdict"]) == (2, "adjudication", "reject")
    assert again["escalation"][0]["code"] == "reopened"


async def test_only_a_resolved_item_of_the_tenant_can_be_revised_and_only_by_ops(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    [pending] = await world.items(assignment, project_id, 1)
    _, item_id = await resolved_item(assignment)
    body = {"reason": "check"}
    unresolved = await assignment.client.post(
        f"/v1/items/{pending}/send-back", json=body, headers=OPS
    )
    assert unresolved.status_code == 409
    other = await assignment.client.post(
        f"/v1/items/{item_id}/send-back", json=body, headers=auth("ops", tenant="globex")
    )
    assert other.status_code == 404
    for role in ("expert", "client"):
        denied = await assignment.client.post(
            f"/v1/items/{item_id}/override",
            json={"answers": answers(), "reason": "x"},
            headers=auth(role),
        )
        assert denied.status_code == 403
