"""Consensus and adjudication on the real servers: an item's judgments settle it, send it to
one more judge (dynamic overlap) or to an adjudicator who did not judge it; item.resolved
carries the outcome and who decided it."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.work import ITEM_RESOLVED, WORK, WORK_CREATED
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import next_unit, ok
from tests.kafka_helpers import TopicReader, eventually

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([ITEM_RESOLVED, WORK_CREATED])
DIMENSIONS = world.EDIT_DIMENSIONS
answers = world.edit_answers
judge = world.judge


def events(records: list[Any], item_id: str) -> list[Any]:
    decoded = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in decoded if e is not None and e.data.item_id == item_id]


def resolved(records: list[Any], item_id: str) -> list[Any]:
    return [e for e in events(records, item_id) if e.type == ITEM_RESOLVED.type]


async def reading(a: AssignmentUnderTest) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name)


async def test_a_single_judgment_resolves_its_item(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with await reading(assignment) as reader:
        await judge(assignment, expert_id, answers(point=3))
        records = await reader.until(lambda got: len(resolved(got, item_id)) == 1)
    [event] = resolved(records, item_id)
    data = event.data
    assert (data.method, data.verdict, data.judged_by, data.adjudicated_by) == (
        "single",
        "accept",
        [expert_id],
        None,
    )
    assert data.ratings == {d: 3.0 for d in DIMENSIONS} and data.agreement is None
    stored = (await world.known(assignment, item_id))["resolution"]
    assert stored["method"] == "single" and stored["judgment_ids"] == data.judgment_ids


async def test_judgments_that_agree_resolve_by_consensus(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with await reading(assignment) as reader:
        await judge(assignment, first, answers(point=4))
        assert (await world.known(assignment, item_id))["resolution"] is None
        await judge(assignment, second, answers(point=5))  # a spread of 1 agrees
        records = await reader.until(lambda got: len(resolved(got, item_id)) == 1)
    data = resolved(records, item_id)[0].data
    assert data.method == "consensus" and data.verdict == "accept"
    assert sorted(data.judged_by) == sorted([first, second]) and len(data.judgment_ids) == 2
    assert data.ratings == {d: 4.5 for d in DIMENSIONS}  # the judges split between 4 and 5
    assert data.rating_spread == {d: 1.0 for d in DIMENSIONS}
    assert data.rubric_ref is not None and data.figures["verdict"] == 1.0
    assert 0 < data.agreement < 1


async def test_judgments_that_disagree_go_to_an_adjudicator_who_did_not_judge(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    # no skill required: an adjudicator holds the modality's at the adjudicator's level
    adjudicator = await world.expert(
        assignment, projects=(project_id,), skills={"modality.image": 4}
    )
    [item_id] = await world.items(assignment, project_id, 1)
    async with await reading(assignment) as reader:
        await judge(assignment, first, answers("accept"))
        await judge(assignment, second, answers("reject"))
        records = await reader.until(
            lambda got: any(e.data.kind == "adjudication" for e in events(got, item_id))
        )
        assert resolved(records, item_id) == []
        assert await next_unit(assignment, first) is None  # an original judge never gets it
        handed = await next_unit(assignment, adjudicator)
        assert handed["kind"] == "adjudication" and handed["unit_id"] == f"{item_id}~2"
        assert sorted(j["verdict"] for j in handed["judgments"]) == ["accept", "reject"]
        await ok(
            await world.submit(assignment, adjudicator, handed, answers("reject", point=2)), 201
        )
        records = await reader.until(lambda got: len(resolved(got, item_id)) == 1)
    data = resolved(records, item_id)[0].data
    assert (data.method, data.verdict, data.adjudicated_by) == (
        "adjudication",
        "reject",
        adjudicator,
    )
    assert sorted(data.judged_by) == sorted([first, second]) and len(data.judgment_ids) == 3
    assert data.ratings == {d: 2.0 for d in DIMENSIONS}


async def test_a_flag_the_policy_escalates_sends_even_a_single_judgment_to_adjudication(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, adjudication={"escalate_flags": ["unsafe"]})
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    unsafe = {
        "verdict": "reject",
        "flags": ["unsafe"],
        "severity": "critical",
        "justification": "the edit adds a weapon to the child's hand",
    }
    async with await reading(assignment) as reader:
        await judge(assignment, expert_id, unsafe)
        records = await reader.until(
            lambda got: any(e.data.kind == "adjudication" for e in events(got, item_id))
        )
    assert resolved(records, item_id) == []
    units = (await world.known(assignment, item_id))["units"]
    assert [(u["kind"], u["state"]) for u in units] == [
        ("review", "done"),
        ("adjudication", "open"),
    ]


async def test_dynamic_overlap_adds_one_judge_at_a_time_and_stops_when_they_agree(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2, "dynamic": True, "k_max": 3})
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(3)]
    [item_id] = await world.items(assignment, project_id, 1)
    async with await reading(assignment) as reader:
        await judge(assignment, experts[0], answers("accept"))
        await judge(assignment, experts[1], answers("reject"))

        async def third_added() -> bool:
            units = (await world.known(assignment, item_id))["units"]
            return len(units) == 3

        await eventually(third_added)
        units = (await world.known(assignment, item_id))["units"]
        assert units[2]["kind"] == "review"
        await judge(assignment, experts[2], answers("accept"))
        records = await reader.until(lambda got: len(resolved(got, item_id)) == 1)
    data = resolved(records, item_id)[0].data
    assert data.method == "consensus" and data.verdict == "accept" and len(data.judgment_ids) == 3


async def test_dynamic_overlap_stops_at_k_max_and_then_adjudicates(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2, "dynamic": True, "k_max": 3})
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(3)]
    [item_id] = await world.items(assignment, project_id, 1)
    await judge(assignment, experts[0], answers("accept", point=1))
    await judge(assignment, experts[1], answers("reject", point=5))

    async def units_now(count: int) -> bool:
        return len((await world.known(assignment, item_id))["units"]) == count

    await eventually(lambda: units_now(3))
    await judge(assignment, experts[2], answers("correct", point=3, labels=[]))
    await eventually(lambda: units_now(4))
    kinds = [u["kind"] for u in (await world.known(assignment, item_id))["units"]]
    assert kinds == ["review", "review", "review", "adjudication"]


async def test_an_item_is_resolved_on_the_scales_of_the_rubric_version_its_units_were_made_with(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(4)]
    before, after = await world.items(assignment, project_id, 2)
    project = await ok(await assignment.client.get(f"/v1/projects/{project_id}", headers=world.OPS))
    rubric_id = project["rubric"]["rubric_id"]
    form = await ok(
        await assignment.client.get(f"/v1/rubrics/{rubric_id}/versions/1", headers=world.OPS)
    )
    async with await reading(assignment) as reader:
        await judge(assignment, experts[0], answers(point=4))
        await judge(assignment, experts[1], answers(point=5))
        records = await reader.until(lambda got: len(resolved(got, before)) == 1)
        wider = form["definition"]
        for dimension in wider["dimensions"]:
            dimension.update(scale_max=9, anchors={str(p): f"point {p}" for p in range(1, 10)})
        await ok(
            await assignment.client.post(
                f"/v1/rubrics/{rubric_id}/versions", json={"definition": wider}, headers=world.OPS
            ),
            201,
        )
        await ok(
            await assignment.client.patch(
                f"/v1/projects/{project_id}",
                json={"rubric": {"rubric_id": rubric_id, "version": 2}},
                headers=world.OPS,
            )
        )
        await judge(assignment, experts[2], answers(point=4))
        await judge(assignment, experts[3], answers(point=5))
        records = await reader.until(lambda got: len(resolved(got, after)) == 1)
    first, second = resolved(records, before)[0].data, resolved(records, after)[0].data
    # the second item's units were made under version 1 too: its 1-5 scales apply, not 1-9
    assert first.method == second.method == "consensus"
    assert second.agreement == first.agreement
