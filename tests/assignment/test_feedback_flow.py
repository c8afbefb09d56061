"""Guideline feedback on the real servers: an expert attaches feedback to a unit they hold
(about its rubric or its taxonomy version), idempotent by submission id; it reaches ops'
queue until resolved and is published as feedback.submitted (taxonomy makes a candidate of
it, tests/taxonomy); feedback that does not fit the unit is refused naming each field."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.contracts.work import FEEDBACK_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually, published_offsets
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([FEEDBACK_SUBMITTED])


def decoded(records: list[Any]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.type == FEEDBACK_SUBMITTED.type]


def body(**fields: Any) -> dict[str, Any]:
    return {
        "submission_id": uuid.uuid4().hex,
        "about": "rubric",
        "kind": "unclear_guideline",
        "text": "does 'preservation' include the background blur?",
        **fields,
    }


async def give(a: AssignmentUnderTest, expert_id: str, unit_id: str, payload: Any) -> Any:
    return await a.client.post(
        f"/v1/units/{unit_id}/feedback", json=payload, headers=auth("expert", subject=expert_id)
    )


async def test_feedback_reaches_ops_queue_and_the_topic_once_and_ops_resolve_it(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    payload = body()
    topic_name = assignment.settings.topic_prefix + WORK.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic_name) as topic:
        made = await ok(await give(assignment, expert_id, handed["unit_id"], payload), 201)
        again = await ok(await give(assignment, expert_id, handed["unit_id"], payload), 200)
        # to the end of the topic once everything stored is published: a second
        # publication (the retry's) would be read too
        await published_offsets(assignment.settings)
        records = await topic.to_end()
    assert again == made
    assert (made["project_id"], made["item_id"], made["status"]) == (
        project_id,
        handed["item_id"],
        "open",
    )
    assert made["rubric"] == handed["rubric"]
    [event] = [e.data for e in decoded(records) if e.data.unit_id == handed["unit_id"]]
    assert (event.feedback_id, event.kind.value, event.unit_id) == (
        made["feedback_id"],
        "unclear_guideline",
        handed["unit_id"],
    )
    queue = await ok(
        await assignment.client.get("/v1/feedback", params={"project_id": project_id}, headers=OPS)
    )
    assert [f["feedback_id"] for f in queue["items"]] == [made["feedback_id"]]
    url = f"/v1/feedback/{made['feedback_id']}/resolve"
    resolved = await ok(
        await assignment.client.post(url, json={"note": "clarified in v2"}, headers=OPS)
    )
    assert (resolved["status"], resolved["resolved_by"]) == ("resolved", "ops-ana")
    assert (await assignment.client.post(url, json={"note": "x"}, headers=OPS)).status_code == 409
    missing = "/v1/feedback/fbk_nope/resolve"
    assert (
        await assignment.client.post(missing, json={"note": "x"}, headers=OPS)
    ).status_code == 404
    still_open = await ok(
        await assignment.client.get("/v1/feedback", params={"project_id": project_id}, headers=OPS)
    )
    assert still_open == {"items": [], "next_cursor": None}
    mine = await ok(
        await assignment.client.get("/v1/me/feedback", headers=auth("expert", subject=expert_id))
    )
    assert [(f["feedback_id"], f["note"]) for f in mine["items"]] == [
        (made["feedback_id"], "clarified in v2")
    ]


async def test_feedback_needs_a_unit_of_yours_and_a_submission_id_for_one_unit(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    holder = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 2)
    first = await next_unit(assignment, holder)
    second = await next_unit(assignment, holder)
    for unit_id in (first["unit_id"], "nope~0"):  # another's, and none: the same answer
        refused = await give(assignment, other, unit_id, body())
        assert refused.status_code == 409
        assert [e["field"] for e in refused.json()["errors"]] == ["path.unit_id"]
    payload = body()
    await ok(await give(assignment, holder, first["unit_id"], payload), 201)
    reused = await give(assignment, holder, second["unit_id"], payload)
    assert reused.status_code == 409


async def test_feedback_that_does_not_fit_the_unit_is_refused_naming_each_field(
    assignment: AssignmentUnderTest,
) -> None:
    taxonomy = await world.taxonomy(assignment, "car")
    plain = await world.project(assignment)
    labelled = await world.project(assignment, template="multimodal_label_qa", taxonomy=taxonomy)
    expert_id = await world.expert(assignment, projects=(plain, labelled))
    await world.items(assignment, plain, 1)
    on_plain = await next_unit(assignment, expert_id)
    refused = await give(
        assignment, expert_id, on_plain["unit_id"], body(kind="missing_class", class_ids=["car"])
    )
    assert refused.status_code == 422
    assert sorted(e["field"] for e in refused.json()["errors"]) == [
        "body.about",
        "body.class_ids",
        "body.proposed_class",
    ]
    no_taxonomy = await give(assignment, expert_id, on_plain["unit_id"], body(about="taxonomy"))
    assert [e["field"] for e in no_taxonomy.json()["errors"]] == ["body.about"]
    await world.items(assignment, labelled, 1)
    on_labelled = await next_unit(assignment, expert_id)
    assert on_labelled["project_id"] == labelled
    missing = body(about="taxonomy", kind="missing_class", class_ids=["bus"], proposed_class="Bus")

    async def tried() -> Any:
        response = await give(assignment, expert_id, on_labelled["unit_id"], missing)
        return response if response.status_code != 503 else None  # version not consumed yet

    unknown_class = await eventually(tried)
    assert [e["field"] for e in unknown_class.json()["errors"]] == ["body.class_ids[0]"]
    fits = {**missing, "class_ids": ["car"], "submission_id": uuid.uuid4().hex}
    made = await ok(await give(assignment, expert_id, on_labelled["unit_id"], fits), 201)
    assert made["taxonomy"] == taxonomy
    assert made["proposed_class"] == "Bus"


async def test_two_experts_whose_ids_and_submission_ids_join_alike_give_two_feedbacks(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    ann = world.short_id("exp")
    experts = (ann, f"{ann}/x")  # "<ann>" + "x/s" and "<ann>/x" + "s" read alike, joined by /
    for expert_id in experts:
        onboarded = {
            "expert_id": expert_id,
            "display_name": "E",
            "state": "vetted",
            "reason": "test",
        }
        await ok(await assignment.client.post("/v1/experts", json=onboarded, headers=OPS), 201)
        await world.join(assignment, project_id, expert_id)
    await world.items(assignment, project_id, 2)
    made = []
    for expert_id, submission_id in zip(experts, ("x/s", "s"), strict=True):
        handed = await next_unit(assignment, expert_id)
        payload = body(submission_id=submission_id, text=f"a question from {expert_id}")
        made.append(await ok(await give(assignment, expert_id, handed["unit_id"], payload), 201))
    assert [(f["expert_id"], f["submission_id"]) for f in made] == [(ann, "x/s"), (f"{ann}/x", "s")]
    queue = await ok(
        await assignment.client.get("/v1/feedback", params={"project_id": project_id}, headers=OPS)
    )
    assert sorted(f["feedback_id"] for f in queue["items"]) == sorted(
        f["feedback_id"] for f in made
    )
