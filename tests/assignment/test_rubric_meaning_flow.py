"""Rubrics and adjudication say what they mean, on the real servers: a ratings-only rubric
(no verdict) with anchors for some points is stored and its judgments flow to a resolution
without a verdict; an adjudication unit goes only to an expert holding the adjudicator's
skill at the adjudicator's level, never to one without skills."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.work import ITEM_RESOLVED, JUDGMENT_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([JUDGMENT_SUBMITTED, ITEM_RESOLVED])
answers = world.edit_answers

#: rates an image's aesthetics from 1 to 7, anchoring only the ends and the middle
RATINGS_ONLY: dict[str, Any] = {
    "name": "Aesthetics",
    "verdicts": [],
    "dimensions": [
        {
            "name": "aesthetics",
            "title": "Aesthetics",
            "scale_min": 1,
            "scale_max": 7,
            "anchors": {"1": "ugly", "4": "plain", "7": "striking"},
        }
    ],
}


def events(records: list[Any], item_id: str) -> list[Any]:
    decoded = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in decoded if e is not None and e.data.item_id == item_id]


def of_type(records: list[Any], item_id: str, spec: Any) -> list[Any]:
    return [e.data for e in events(records, item_id) if e.type == spec.type]


def reading(a: AssignmentUnderTest) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name)


async def ratings_only_project(a: AssignmentUnderTest, **settings: Any) -> str:
    """An active image project on a rubric of :data:`RATINGS_ONLY`."""
    rubric_id = world.short_id("rub")
    body = {"rubric_id": rubric_id, "definition": RATINGS_ONLY}
    stored = await ok(await a.client.post("/v1/rubrics", json=body, headers=OPS), 201)
    assert stored["definition"]["verdicts"] == []
    project_id = world.short_id("p")
    project = {
        "project_id": project_id,
        "name": "Aesthetics",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        **settings,
    }
    await ok(await a.client.post("/v1/projects", json=project, headers=OPS), 201)
    await ok(
        await a.client.post(
            f"/v1/projects/{project_id}/status", json={"status": "active"}, headers=OPS
        )
    )
    return project_id


async def test_a_ratings_only_judgment_is_published_and_resolves_its_item_without_a_verdict(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await ratings_only_project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with reading(assignment) as reader:
        handed = await next_unit(assignment, expert_id)
        with_verdict = await world.submit(
            assignment, expert_id, handed, {"verdict": "accept", "ratings": {"aesthetics": 5}}
        )
        assert with_verdict.status_code == 422
        assert [e["field"] for e in with_verdict.json()["errors"]] == ["body.answers.verdict"]
        await ok(
            await world.submit(assignment, expert_id, handed, {"ratings": {"aesthetics": 5}}), 201
        )
        records = await reader.until(lambda got: of_type(got, item_id, ITEM_RESOLVED) != [])
    [judgment] = of_type(records, item_id, JUDGMENT_SUBMITTED)
    assert judgment.verdict is None and judgment.ratings == {"aesthetics": 5.0}
    [resolved] = of_type(records, item_id, ITEM_RESOLVED)
    assert (resolved.method, resolved.verdict, resolved.ratings) == (
        "single",
        None,
        {"aesthetics": 5.0},
    )


async def test_ratings_only_judgments_that_agree_resolve_by_consensus_on_the_ratings(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await ratings_only_project(assignment, overlap={"k": 2})
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(2)]
    [item_id] = await world.items(assignment, project_id, 1)
    async with reading(assignment) as reader:
        for expert_id, point in zip(experts, (6, 6), strict=True):
            await world.judge(assignment, expert_id, {"ratings": {"aesthetics": point}})
        records = await reader.until(lambda got: of_type(got, item_id, ITEM_RESOLVED) != [])
    [resolved] = of_type(records, item_id, ITEM_RESOLVED)
    assert (resolved.method, resolved.verdict) == ("consensus", None)
    assert resolved.ratings["aesthetics"] == 6.0 and "verdict" not in resolved.figures


# --- who adjudicates -------------------------------------------------------------------------


async def disputed(a: AssignmentUnderTest, project_id: str) -> str:
    """An item of the project two of its experts judged apart: it awaits its adjudicator."""
    first, second = [await world.expert(a, projects=(project_id,)) for _ in range(2)]
    [item_id] = await world.items(a, project_id, 1)
    await world.judge(a, first, answers("accept"))
    await world.judge(a, second, answers("reject"))

    async def adjudication_open() -> bool:
        units = (await world.known(a, item_id))["units"]
        return [u["kind"] for u in units] == ["review", "review", "adjudication"]

    await eventually(adjudication_open)
    return item_id


async def test_an_adjudication_unit_goes_only_to_an_expert_with_the_adjudicator_skill_at_its_level(
    assignment: AssignmentUnderTest,
) -> None:
    policy = {"adjudicator_skill": "role.adjudicator", "adjudicator_min_level": 3}
    project_id = await world.project(assignment, overlap={"k": 2}, adjudication=policy)
    item_id = await disputed(assignment, project_id)
    for skills in ({"modality.image": 5}, {"role.adjudicator": 2}):
        short = await world.expert(assignment, projects=(project_id,), skills=skills)
        assert await next_unit(assignment, short) is None
    adjudicator = await world.expert(
        assignment, projects=(project_id,), skills={"role.adjudicator": 3}
    )
    handed = await next_unit(assignment, adjudicator)
    assert (handed["kind"], handed["item_id"]) == ("adjudication", item_id)


async def test_a_project_requiring_no_skill_is_adjudicated_by_its_modality_skill_not_by_anyone(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    item_id = await disputed(assignment, project_id)
    for skills in ({}, {"modality.image": 3}):
        short = await world.expert(assignment, projects=(project_id,), skills=skills)
        assert await next_unit(assignment, short) is None
    adjudicator = await world.expert(
        assignment, projects=(project_id,), skills={"modality.image": 4}
    )
    handed = await next_unit(assignment, adjudicator)
    assert (handed["kind"], handed["item_id"]) == ("adjudication", item_id)


@pytest.mark.parametrize("skill", ["lead", "Role.Adjudicator", "role..adjudicator"])
async def test_an_adjudicator_skill_that_is_no_skill_id_is_refused_naming_the_field(
    assignment: AssignmentUnderTest, skill: str
) -> None:
    rubric_id = await world.rubric(assignment)
    project_id = world.short_id("p")
    body = {
        "project_id": project_id,
        "name": "Edits",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        "adjudication": {"adjudicator_skill": skill},
    }
    response = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == {
        "body.adjudication.adjudicator_skill"
    }
    missing = await assignment.client.get(f"/v1/projects/{project_id}", headers=OPS)
    assert missing.status_code == 404
