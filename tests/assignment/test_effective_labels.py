"""Model-assisted review: a judgment stands for its corrected labels, or for the item's
pre-labels when it accepts them, or for none when it rejects; consensus, adjudication, gold
scoring and item.resolved all read those effective labels."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contracts.taxonomy import VERSION_PUBLISHED, ClassSnapshot, VersionPublishedV1
from shared.contracts.work import GOLD_SCORED, ITEM_RESOLVED, JUDGMENT_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import make_event
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import next_unit, ok, submit
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import publish

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([ITEM_RESOLVED, JUDGMENT_SUBMITTED, GOLD_SCORED])
CAR = {"class_id": "car", "geometry": {"kind": "box", "x": 10, "y": 10, "width": 50, "height": 40}}
BUS = {"class_id": "bus", "geometry": {"kind": "box", "x": 200, "y": 50, "width": 90, "height": 60}}
PRELABELS = {"model_name": "detr", "model_version": "3", "labels": [CAR, BUS]}
RATINGS = {"class_correctness": 5, "temporal_alignment": 5, "guideline_fit": 5}
WHY = "the pre-label boxes are right as drawn"


def answers(verdict: str, labels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"verdict": verdict, "ratings": RATINGS, "severity": "none"}
    if labels is not None:
        body["labels"] = labels
    if verdict != "accept":
        body["justification"] = WHY
    return body


def events(records: list[Any], item_id: str, spec: Any) -> list[Any]:
    decoded = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e.data for e in decoded if e is not None and e.type == spec.type]


def reading(a: AssignmentUnderTest) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name)


async def labelled_project(a: AssignmentUnderTest, **settings: Any) -> tuple[str, dict[str, Any]]:
    taxonomy = await world.taxonomy(a, "car", "bus", "truck")
    project_id = await world.project(
        a, template="multimodal_label_qa", taxonomy=taxonomy, **settings
    )
    return project_id, taxonomy


async def prelabelled(a: AssignmentUnderTest, project_id: str, taxonomy: dict[str, Any]) -> str:
    event = world.registered(
        project_id, media=world.image(uuid.uuid4().hex), prelabels=PRELABELS, taxonomy=taxonomy
    )
    await publish(a.settings, event)
    await eventually(lambda: world.known(a, event.data.item_id))
    return event.data.item_id


async def judged(a: AssignmentUnderTest, expert_id: str, body: dict[str, Any]) -> Any:
    """The expert's next unit judged with ``body``; the response."""
    return (await handed_and_judged(a, expert_id, body))[1]


async def handed_and_judged(
    a: AssignmentUnderTest, expert_id: str, body: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """The expert's next unit and the response to judging it with ``body`` (retried while
    the taxonomy version is not consumed yet: 503)."""
    handed = await next_unit(a, expert_id)
    assert handed is not None

    async def tried() -> Any:
        response = await submit(a, expert_id, handed, body)
        return response if response.status_code != 503 else None

    return handed, await eventually(tried)


def labels_of(labels: list[Any]) -> list[dict[str, Any]]:
    return [
        label.model_dump(mode="json", include={"class_id", "geometry"}, exclude_none=True)
        for label in labels
    ]


def floats(label: dict[str, Any]) -> dict[str, Any]:
    geometry = {k: float(v) if isinstance(v, int) else v for k, v in label["geometry"].items()}
    return {**label, "geometry": geometry}


async def test_an_accepting_judgment_resolves_the_item_with_its_pre_labels(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    item_id = await prelabelled(assignment, project_id, taxonomy)
    async with reading(assignment) as reader:
        await ok(await judged(assignment, expert_id, answers("accept")), 201)
        records = await reader.until(lambda got: events(got, item_id, ITEM_RESOLVED) != [])
    [resolved] = events(records, item_id, ITEM_RESOLVED)
    [judgment] = events(records, item_id, JUDGMENT_SUBMITTED)
    assert resolved.verdict == "accept"
    assert labels_of(resolved.final_labels) == [floats(CAR), floats(BUS)]
    assert judgment.labels == [] and labels_of(judgment.effective_labels) == labels_of(
        resolved.final_labels
    )


async def test_a_rejecting_judgment_stands_for_no_labels_even_with_labels_sent(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    item_id = await prelabelled(assignment, project_id, taxonomy)
    async with reading(assignment) as reader:
        await ok(await judged(assignment, expert_id, answers("reject", [CAR])), 201)
        records = await reader.until(lambda got: events(got, item_id, ITEM_RESOLVED) != [])
    [resolved] = events(records, item_id, ITEM_RESOLVED)
    assert (resolved.verdict, resolved.final_labels) == ("reject", [])


async def test_a_correct_verdict_without_labels_is_refused_naming_the_labels(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await prelabelled(assignment, project_id, taxonomy)
    refused = await judged(assignment, expert_id, answers("correct"))
    assert refused.status_code == 422
    assert "body.answers.labels" in [e["field"] for e in refused.json()["errors"]]


async def test_one_judge_accepting_and_one_correcting_to_the_same_boxes_agree(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    item_id = await prelabelled(assignment, project_id, taxonomy)
    async with reading(assignment) as reader:
        await ok(await judged(assignment, first, answers("accept")), 201)
        await ok(await judged(assignment, second, answers("accept", [CAR, BUS])), 201)
        records = await reader.until(lambda got: events(got, item_id, ITEM_RESOLVED) != [])
    [resolved] = events(records, item_id, ITEM_RESOLVED)
    assert resolved.method == "consensus"
    assert labels_of(resolved.final_labels) == [floats(CAR), floats(BUS)]


async def test_an_adjudicator_who_accepts_resolves_the_item_with_the_pre_labels(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    adjudicator = await world.expert(
        assignment, projects=(project_id,), skills={"modality.image": 4}
    )
    item_id = await prelabelled(assignment, project_id, taxonomy)
    async with reading(assignment) as reader:
        await ok(await judged(assignment, first, answers("accept")), 201)
        await ok(await judged(assignment, second, answers("reject")), 201)
        handed = await next_unit(assignment, adjudicator)
        assert handed["kind"] == "adjudication"
        # the adjudicator sees what the accepting judgment stood for: the pre-labels
        shown = [j["labels"] for j in handed["judgments"]]
        assert [len(labels) for labels in shown] == [2, 0]
        await ok(await submit(assignment, adjudicator, handed, answers("accept")), 201)
        records = await reader.until(lambda got: events(got, item_id, ITEM_RESOLVED) != [])
    [resolved] = events(records, item_id, ITEM_RESOLVED)
    assert resolved.method == "adjudication" and resolved.verdict == "accept"
    assert labels_of(resolved.final_labels) == [floats(CAR), floats(BUS)]
    assert [e.field for e in resolved.escalation] == ["verdict", "labels.regions"]


async def test_gold_scores_an_accept_against_a_key_that_accepts_the_same_pre_labels(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment, gold_rate=1.0)
    accepting = await world.expert(assignment, projects=(project_id,))
    moving = await world.expert(assignment, projects=(project_id,))
    await prelabelled(assignment, project_id, taxonomy)  # for the gold to stand in for

    async def registered() -> Any:
        response = await assignment.client.post(
            f"/v1/projects/{project_id}/gold",
            json={
                "gold_id": world.short_id("gold"),
                "media": world.image("gold"),
                "prelabels": PRELABELS,
                "key": answers("accept"),
            },
            headers=world.OPS,
        )
        return response if response.status_code != 503 else None

    await ok(await eventually(registered), 201)
    moved = {**CAR, "geometry": {**CAR["geometry"], "x": 300}}
    async with reading(assignment) as reader:
        await ok(await judged(assignment, accepting, answers("accept")), 201)
        await ok(await judged(assignment, moving, answers("accept", [moved, BUS])), 201)
        records = await reader.until(lambda got: len(events(got, "", GOLD_SCORED)) == 2)
    scores = {s.expert_id: s.fields for s in events(records, "", GOLD_SCORED)}
    assert scores[accepting]["labels"] is True
    assert scores[moving]["labels"] is False


async def test_accepting_pre_labels_whose_class_was_split_since_is_refused(
    assignment: AssignmentUnderTest,
) -> None:
    taxonomy = await world.taxonomy(assignment, "car", "bus", "truck")
    split = VersionPublishedV1.model_validate(
        {
            "ontology_id": taxonomy["ontology_id"],
            "tenant": "acme",
            "name": "Street",
            "version": 2,
            "content_hash": "sha256:v2",
            "classes": [
                ClassSnapshot(id=c, name=c.title()).model_dump()
                for c in ("bus", "truck", "sedan", "hatchback")
            ],
            "mapping": {
                "from_version": 1,
                "to_version": 2,
                "changes": [
                    {
                        "kind": "split",
                        "from_class_ids": ["car"],
                        "to_class_ids": ["sedan", "hatchback"],
                    }
                ],
            },
            "published_at": datetime.now(UTC),
        }
    )
    await publish(
        assignment.settings, make_event(VERSION_PUBLISHED, split, source="/t", tenant="acme")
    )
    project_id = await world.project(
        assignment,
        template="multimodal_label_qa",
        taxonomy={"ontology_id": taxonomy["ontology_id"], "version": 2},
    )
    expert_id = await world.expert(assignment, projects=(project_id,))
    await prelabelled(assignment, project_id, taxonomy)  # registered under version 1
    handed, refused = await handed_and_judged(assignment, expert_id, answers("accept"))
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "body.answers.verdict" and "split into" in error["message"]
    corrected = answers("correct", [{**CAR, "class_id": "sedan"}, BUS])
    await ok(await submit(assignment, expert_id, handed, corrected), 201)
