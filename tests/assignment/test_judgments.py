"""Judgments on the real servers: answers on the unit an expert holds, checked against its
rubric version and taxonomy version, idempotent by submission id, published once; blind."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from shared.contracts.work import JUDGMENT_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually, published_offsets
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

DIMENSIONS = world.EDIT_DIMENSIONS
REGISTRY = EventRegistry([JUDGMENT_SUBMITTED])


edit_answers = world.edit_answers


def submission(handed: dict[str, Any], answers: dict[str, Any], sid: str | None = None) -> Any:
    return {
        "submission_id": sid or uuid.uuid4().hex,
        "lease_id": handed["lease_id"],
        "answers": answers,
    }


async def submit(a: AssignmentUnderTest, expert_id: str, handed: dict[str, Any], body: Any) -> Any:
    return await a.client.post(
        f"/v1/units/{handed['unit_id']}/judgments",
        json=body,
        headers=auth("expert", subject=expert_id),
    )


def judgments(records: list[Any], item_id: str) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.data.item_id == item_id]


async def test_a_judgment_is_stored_on_the_unit_and_published_once_with_its_rubric_version(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    topic = assignment.settings.topic_prefix + WORK.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic) as reader:
        handed = await next_unit(assignment, expert_id)
        body = submission(handed, edit_answers(), sid="sub-1")
        first = await submit(assignment, expert_id, handed, body)
        assert first.status_code == 201, first.text
        again = await submit(assignment, expert_id, handed, body)
        assert again.status_code == 200 and again.json() == first.json()
        # to the end of the topic once everything stored is published: a second
        # publication of the judgment (the retry's) would be read too
        await published_offsets(assignment.settings)
        records = await reader.to_end()
    judgment = first.json()
    assert (judgment["submission_id"], judgment["expert_id"], judgment["rubric"]["version"]) == (
        "sub-1",
        expert_id,
        1,
    )
    assert judgment["time_spent_s"] >= 0
    unit = (await world.known(assignment, item_id))["units"][0]
    assert unit["state"] == "done" and unit["judgment"]["judgment_id"] == judgment["judgment_id"]
    [event] = judgments(records, item_id)
    assert event.data.judgment_id == judgment["judgment_id"]
    assert event.data.rubric_ref.version == 1 and event.data.ratings["preservation"] == 4.0
    leases = await ok(
        await assignment.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    assert leases["items"] == []  # the slot is free again


async def test_answers_that_break_the_rubric_name_each_field_and_keep_the_lease(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    ratings = {d: 4 for d in DIMENSIONS if d != "preservation"} | {"visual_quality": 9}
    bad = edit_answers(verdict="reject", ratings=ratings, justification="meh")
    refused = await submit(assignment, expert_id, handed, submission(handed, bad))
    assert refused.status_code == 422, refused.text
    fields = [e["field"] for e in refused.json()["errors"]]
    assert "body.answers.ratings.preservation" in fields
    assert "body.answers.ratings.visual_quality" in fields
    assert "body.answers.justification" in fields
    unit = (await world.known(assignment, item_id))["units"][0]
    assert unit["state"] == "leased" and unit["judgment"] is None
    fixed = await submit(assignment, expert_id, handed, submission(handed, edit_answers()))
    assert fixed.status_code == 201


async def test_the_gate_ends_the_form_and_ratings_after_it_are_refused(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    infeasible = {
        "verdict": "infeasible",
        "justification": "the instruction asks for a second moon",
    }
    with_ratings = await submit(
        assignment,
        expert_id,
        handed,
        submission(handed, {**infeasible, "ratings": {"preservation": 3}}),
    )
    assert with_ratings.status_code == 422
    assert [e["field"] for e in with_ratings.json()["errors"]] == [
        "body.answers.ratings.preservation"
    ]
    gated = await submit(assignment, expert_id, handed, submission(handed, infeasible))
    assert gated.status_code == 201, gated.text


async def test_a_gate_flag_with_a_verdict_that_vouches_for_the_skipped_form_is_refused(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    # the template's old duplicate of the infeasible verdict ended the form under accept
    twice = {"verdict": "accept", "flags": ["infeasible_instruction"]}
    refused = await submit(assignment, expert_id, handed, submission(handed, twice))
    assert refused.status_code == 422
    assert "body.answers.flags.0" in [e["field"] for e in refused.json()["errors"]]
    unsafe = {
        "verdict": "accept",
        "flags": ["unsafe"],
        "severity": "critical",
        "justification": "the edit adds a weapon to the child's hand",
    }
    accepted = await submit(assignment, expert_id, handed, submission(handed, unsafe))
    assert accepted.status_code == 422
    assert [e["field"] for e in accepted.json()["errors"]] == ["body.answers.verdict"]
    rejected = await submit(
        assignment, expert_id, handed, submission(handed, {**unsafe, "verdict": "reject"})
    )
    assert rejected.status_code == 201, rejected.text


async def test_corrected_labels_must_use_classes_of_the_units_taxonomy_version(
    assignment: AssignmentUnderTest,
) -> None:
    taxonomy = await world.taxonomy(assignment, "car")
    project_id = await world.project(
        assignment,
        template="multimodal_label_qa",
        taxonomy=taxonomy,
    )
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    answers = {
        "verdict": "correct",
        "ratings": {"class_correctness": 2, "temporal_alignment": 5, "guideline_fit": 3},
        "severity": "minor",
        "labels": [{"class_id": "bus"}],
        "justification": "the pre-label called a car a truck",
    }

    async def tried() -> Any:
        response = await submit(assignment, expert_id, handed, submission(handed, answers))
        return response if response.status_code != 503 else None  # version not consumed yet

    refused = await eventually(tried)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["body.answers.labels.0.class_id"]
    answers["labels"] = [{"class_id": "car"}]
    accepted = await submit(assignment, expert_id, handed, submission(handed, answers))
    assert accepted.status_code == 201, accepted.text


async def test_an_expert_cannot_judge_a_unit_that_is_not_theirs_and_is_told_they_hold_none(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    holder = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, holder)
    stolen = await submit(assignment, other, handed, submission(handed, edit_answers()))
    assert stolen.status_code == 409
    assert [e["field"] for e in stolen.json()["errors"]] == ["body.lease_id"]
    elsewhere = await assignment.client.post(
        f"/v1/units/{handed['unit_id']}/judgments",
        json=submission(handed, edit_answers()),
        headers=auth("expert", tenant="globex", subject=holder),
    )
    assert elsewhere.status_code == 409  # nothing of another tenant's either
    assert (await world.known(assignment, item_id))["units"][0]["state"] == "leased"


async def test_review_is_blind_the_second_expert_sees_nothing_of_the_first_judgment(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, first)
    secret = "the seam on the left sleeve is visible"
    answers = edit_answers(verdict="reject", justification=secret)
    await ok(await submit(assignment, first, handed, submission(handed, answers)), 201)
    theirs = await next_unit(assignment, second)
    assert theirs is not None and theirs["item_id"] == handed["item_id"]
    assert secret not in str(theirs) and first not in str(theirs)


@pytest.mark.parametrize("case", world.MISPLACED, ids=[c.name for c in world.MISPLACED])
async def test_corrected_labels_that_do_not_fit_the_items_media_are_refused_naming_the_field(
    assignment: AssignmentUnderTest, case: world.Misplaced
) -> None:
    taxonomy = await world.taxonomy(
        assignment, *world.PLACEMENT_CLASSES, modalities=world.PLACEMENT_MODALITIES
    )
    project_id = await world.project(
        assignment, template="multimodal_label_qa", taxonomy=taxonomy, modality=case.modality
    )
    expert_id = await world.expert(assignment, projects=(project_id,))
    event = world.registered(project_id, modality=case.modality, **case.content)
    await publish(assignment.settings, event)
    await eventually(lambda: world.known(assignment, event.data.item_id))
    handed = await next_unit(assignment, expert_id)
    assert handed["item_id"] == event.data.item_id

    async def tried() -> Any:
        answers = world.label_answers(case.fits, case.label)
        response = await submit(assignment, expert_id, handed, submission(handed, answers))
        return response if response.status_code != 503 else None  # version not consumed yet

    refused = await eventually(tried)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": f"body.answers.labels.1.{case.field}", "message": case.message}
    ]
    unit = (await world.known(assignment, event.data.item_id))["units"][0]
    assert unit["state"] == "leased" and unit["judgment"] is None
    answers = world.label_answers(case.fits)
    fixed = await submit(assignment, expert_id, handed, submission(handed, answers))
    assert fixed.status_code == 201, fixed.text


async def test_a_class_the_version_lacks_is_named_once_though_two_rules_check_it(
    assignment: AssignmentUnderTest,
) -> None:
    taxonomy = await world.taxonomy(assignment, "car")
    project_id = await world.project(assignment, template="multimodal_label_qa", taxonomy=taxonomy)
    expert_id = await world.expert(assignment, projects=(project_id,))
    event = world.registered(project_id, media=world.image("one", 640, 480))
    await publish(assignment.settings, event)
    await eventually(lambda: world.known(assignment, event.data.item_id))
    handed = await next_unit(assignment, expert_id)
    box = {"kind": "box", "x": 600, "y": 0, "width": 50, "height": 10}

    async def tried() -> Any:
        answers = world.label_answers({"class_id": "bus", "geometry": box})
        response = await submit(assignment, expert_id, handed, submission(handed, answers))
        return response if response.status_code != 503 else None

    refused = await eventually(tried)
    assert refused.status_code == 422, refused.text
    assert [(e["field"], e["message"]) for e in refused.json()["errors"]] == [
        ("body.answers.labels.0.class_id", "no class 'bus' in the taxonomy version"),
        (
            "body.answers.labels.0.geometry.width",
            "x + width = 650.0: not inside the 640x480 media",
        ),
    ]


async def test_a_submission_id_sent_again_with_another_body_is_a_409_naming_what_differs(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    body = submission(handed, edit_answers(point=4), sid="sub-1")
    first = await ok(await submit(assignment, expert_id, handed, body), 201)
    other = submission(handed, edit_answers(point=4, severity="minor"), sid="sub-1")
    other["answers"]["ratings"]["preservation"] = 2
    other["lease_id"] = "0-another"
    refused = await submit(assignment, expert_id, handed, other)
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert [(e["field"], e["message"]) for e in problem["errors"]] == [
        ("body.answers.ratings.preservation", "differs from the first request with this id: 4"),
        ("body.answers.severity", 'differs from the first request with this id: "none"'),
        (
            "body.lease_id",
            f'differs from the first request with this id: "{handed["lease_id"]}"',
        ),
    ]
    assert "sub-1" in problem["detail"]
    # the first answers stand, and the same body again is still the same judgment
    unit = (await world.known(assignment, item_id))["units"][0]
    assert unit["judgment"]["judgment_id"] == first["judgment_id"]
    assert unit["judgment"]["answers"]["ratings"]["preservation"] == 4
    again = await submit(assignment, expert_id, handed, body)
    assert again.status_code == 200 and again.json() == first
