"""Qualification on the real servers: ops create a set of items with known answers for a
skill and level and enrol an expert in vetting; the expert gets its items through
``work:next`` as ordinary units, in order, each once; when every item is judged or given back
the attempt is scored, a pass grants the skill at the set's level (proof: the qualification)
and ``expert.qualified`` says how it went; afterwards the expert sees each answer next to the
key."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.work import EXPERT_QUALIFIED, EXPERTS, JUDGMENT_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([EXPERT_QUALIFIED, JUDGMENT_SUBMITTED])
answers = world.edit_answers
KEYS = [answers("accept", point=4), answers("reject", point=2), answers("accept", point=5)]


def decoded(records: list[Any]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None]


def reader(a: AssignmentUnderTest, topic: Any) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + topic.name)


async def qualification_set(
    a: AssignmentUnderTest,
    *,
    threshold: float = 0.6,
    keys: list[dict[str, Any]] = KEYS,
    **body: Any,
) -> dict[str, Any]:
    """A set for ``task.image_edit_eval`` at level 3, one image per key."""
    set_id = world.short_id("qs")
    payload = {
        "set_id": set_id,
        "name": "Image edits, level 3",
        "skill": "task.image_edit_eval",
        "level": 3,
        "modality": "image",
        "rubric": {"rubric_id": await world.rubric(a), "version": 1},
        "threshold": threshold,
        "items": [{"media": world.image(f"{set_id}-{i}"), "key": k} for i, k in enumerate(keys)],
        **body,
    }
    return await ok(await a.client.post("/v1/qualifications", json=payload, headers=OPS), 201)


async def enrolled(a: AssignmentUnderTest, set_id: str, state: str = "vetting") -> str:
    expert_id = await world.expert(a, state=state)
    await ok(
        await a.client.post(
            f"/v1/experts/{expert_id}/qualifications", json={"set_id": set_id}, headers=OPS
        ),
        201,
    )
    return expert_id


async def review(a: AssignmentUnderTest, expert_id: str, set_id: str) -> dict[str, Any]:
    return await ok(
        await a.client.get(
            f"/v1/me/qualifications/{set_id}", headers=auth("expert", subject=expert_id)
        )
    )


async def skills_of(a: AssignmentUnderTest, expert_id: str) -> dict[str, Any]:
    found = await ok(await a.client.get(f"/v1/experts/{expert_id}", headers=OPS))
    return {s["skill"]: s for s in found["skills"]}


async def test_ops_create_a_set_and_list_it_without_its_keys(
    assignment: AssignmentUnderTest,
) -> None:
    created = await qualification_set(assignment)
    assert len(created["items"]) == 3 and created["items"][1]["key"]["verdict"] == "reject"
    assert created["items"][0]["content"]["media"]["uri"].endswith("-0.png")
    listed = await ok(
        await assignment.client.get("/v1/qualifications", params={"limit": 200}, headers=OPS)
    )
    mine = [s for s in listed["items"] if s["set_id"] == created["set_id"]]
    assert mine and mine[0]["items"] == 3 and "key" not in str(mine[0])
    again = await assignment.client.post(
        "/v1/qualifications",
        json={
            **{k: created[k] for k in ("set_id", "name", "skill", "level", "modality")},
            "rubric": created["rubric"],
            "threshold": 0.5,
            "items": [{"media": world.image("x"), "key": KEYS[0]}],
        },
        headers=OPS,
    )
    assert again.status_code == 409


async def test_a_set_whose_items_cannot_be_shown_or_scored_is_refused_naming_each(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = await world.rubric(assignment)
    body = {
        "set_id": world.short_id("qs"),
        "name": "Bad",
        "skill": "task.image_edit_eval",
        "level": 2,
        "modality": "image",
        "rubric": {"rubric_id": rubric_id, "version": 1},
        "threshold": 0.8,
        "items": [
            {"media": world.image("ok"), "key": KEYS[0]},
            {"key": KEYS[0]},  # no media
            {"media": world.image("b"), "key": {**KEYS[0], "ratings": {"visual_quality": 9}}},
        ],
    }
    response = await assignment.client.post("/v1/qualifications", json=body, headers=OPS)
    assert response.status_code == 422, response.text
    fields = {e["field"] for e in response.json()["errors"]}
    assert any(f.startswith("body.items[1].") for f in fields), fields
    assert any(f.startswith("body.items[2].key.ratings") for f in fields), fields
    assert not any(f.startswith("body.items[0].") for f in fields), fields
    missing = await assignment.client.post(
        "/v1/qualifications",
        json={**body, "rubric": {"rubric_id": rubric_id, "version": 7}, "items": body["items"][:1]},
        headers=OPS,
    )
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "body.rubric"


async def test_an_expert_in_vetting_gets_the_items_in_order_and_a_pass_grants_the_skill(
    assignment: AssignmentUnderTest,
) -> None:
    found = await qualification_set(assignment, threshold=0.6)
    set_id = found["set_id"]
    expert_id = await enrolled(assignment, set_id)
    handed = []
    async with reader(assignment, EXPERTS) as topic:
        for i, key in enumerate(KEYS):
            got = await next_unit(assignment, expert_id)
            assert got is not None and got["kind"] == "qualification"
            assert got["content"]["media"]["uri"].endswith(f"-{i}.png")
            assert got["rubric"] == found["rubric"] and got["form"]
            if i < 2:
                assert (await review(assignment, expert_id, set_id))["items"] == []
            # the last answer is wrong on the verdict and every rating
            answer = key if i < 2 else answers("reject", point=1)
            await ok(await world.submit(assignment, expert_id, got, answer), 201)
            handed.append(got)
        records = await topic.until(lambda got: len(decoded(got)) == 1)
    [event] = [e.data for e in decoded(records)]
    assert (event.expert_id, event.set_id, event.passed) == (expert_id, set_id, True)
    assert (event.answered, event.items, event.skill, event.level) == (
        3,
        3,
        "task.image_edit_eval",
        3,
    )
    assert event.score == pytest.approx((1 + 1 + 0) / 3)  # the last: the verdict wrong, decisive
    assert await next_unit(assignment, expert_id) is None  # each item once, nothing else
    skill = (await skills_of(assignment, expert_id))["task.image_edit_eval"]
    assert skill["level"] == 3
    assert skill["verified"]["method"] == "qualification"
    assert skill["verified"]["by"] == set_id
    assert skill["verified"]["score"] == pytest.approx(event.score)
    seen = await review(assignment, expert_id, set_id)
    assert seen["attempt"]["state"] == "passed"
    assert [i["key"]["verdict"] for i in seen["items"]] == ["accept", "reject", "accept"]
    assert [i["answers"]["verdict"] for i in seen["items"]] == ["accept", "reject", "reject"]
    assert [i["score"] for i in seen["items"]][:2] == [1.0, 1.0]
    assert seen["items"][2]["fields"]["verdict"] is False
    ops_view = await ok(
        await assignment.client.get(f"/v1/experts/{expert_id}/qualifications", headers=OPS)
    )
    assert [(a["set_id"], a["state"]) for a in ops_view["items"]] == [(set_id, "passed")]


async def test_an_item_given_back_scores_zero_and_a_failed_attempt_grants_nothing(
    assignment: AssignmentUnderTest,
) -> None:
    found = await qualification_set(assignment, threshold=0.9)
    set_id = found["set_id"]
    expert_id = await enrolled(assignment, set_id)
    first = await next_unit(assignment, expert_id)
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{first['lease_id']}/release",
            json={"reason": "cannot_judge"},
            headers=auth("expert", subject=expert_id),
        )
    )
    assert (await world.submit(assignment, expert_id, first, KEYS[0])).status_code == 409
    for key in KEYS[1:]:
        got = await next_unit(assignment, expert_id)
        assert got["item_id"] != first["item_id"]
        await ok(await world.submit(assignment, expert_id, got, key), 201)
    seen = await review(assignment, expert_id, set_id)
    assert seen["attempt"]["state"] == "failed"
    assert seen["attempt"]["score"] == pytest.approx(2 / 3)
    assert seen["attempt"]["answered"] == 2
    assert seen["items"][0]["answers"] is None and seen["items"][0]["score"] == 0.0
    assert "task.image_edit_eval" not in await skills_of(assignment, expert_id)


async def test_a_vetted_expert_gets_their_attempt_before_project_work_and_it_is_not_review_data(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    found = await qualification_set(assignment, keys=KEYS[:1], threshold=1.0)
    expert_id = await enrolled(assignment, found["set_id"], state="vetted")
    await world.join(assignment, project_id, expert_id)
    await world.items(assignment, project_id, 1)
    async with reader(assignment, WORK) as topic:
        first = await next_unit(assignment, expert_id)
        assert first["kind"] == "qualification"
        assert first["project_id"] == f"qualification:{found['set_id']}"
        await ok(await world.submit(assignment, expert_id, first, KEYS[0]), 201)
        second = await next_unit(assignment, expert_id)
        assert second["kind"] == "review" and second["project_id"] == project_id
        await ok(await world.submit(assignment, expert_id, second, answers()), 201)
        records = await topic.until(
            lambda got: any(
                e.type == JUDGMENT_SUBMITTED.type and e.data.unit_id == second["unit_id"]
                for e in decoded(got)
            )
        )
    assert not [e for e in decoded(records) if e.data.unit_id == first["unit_id"]]
    skills = await skills_of(assignment, expert_id)
    assert skills["task.image_edit_eval"]["verified"]["method"] == "qualification"


async def test_a_higher_attested_level_is_kept_when_a_lower_set_is_passed(
    assignment: AssignmentUnderTest,
) -> None:
    found = await qualification_set(assignment, keys=KEYS[:1], threshold=1.0)
    expert_id = await enrolled(assignment, found["set_id"])
    await ok(
        await assignment.client.put(
            f"/v1/experts/{expert_id}/skills/task.image_edit_eval",
            json={"level": 5, "note": "lead reviewer"},
            headers=OPS,
        )
    )
    await world.judge(assignment, expert_id, KEYS[0])
    assert (await review(assignment, expert_id, found["set_id"]))["attempt"]["state"] == "passed"
    skill = (await skills_of(assignment, expert_id))["task.image_edit_eval"]
    assert (skill["level"], skill["verified"]["method"]) == (5, "attestation")


async def test_enrolment_needs_an_active_set_and_an_expert_in_vetting_once_per_set(
    assignment: AssignmentUnderTest,
) -> None:
    found = await qualification_set(assignment)
    set_id = found["set_id"]
    invited = await world.expert(assignment, state="invited")

    async def enrol(expert_id: str, target: str = set_id) -> Any:
        return await assignment.client.post(
            f"/v1/experts/{expert_id}/qualifications", json={"set_id": target}, headers=OPS
        )

    refused = await enrol(invited)
    assert refused.status_code == 409 and "vetting" in refused.json()["detail"]
    assert (await enrol("nobody")).status_code == 404
    assert (await enrol(invited, "no-such-set")).status_code == 404
    vetting = await enrolled(assignment, set_id)
    assert (await enrol(vetting)).status_code == 409
    await ok(
        await assignment.client.patch(
            f"/v1/qualifications/{set_id}", json={"active": False}, headers=OPS
        )
    )
    other = await world.expert(assignment, state="vetting")
    retired = await enrol(other)
    assert retired.status_code == 409 and "retired" in retired.json()["detail"]
    none = await assignment.client.get(
        "/v1/me/qualifications/no-such-set", headers=auth("expert", subject=vetting)
    )
    assert none.status_code == 404


async def test_a_project_id_cannot_take_the_prefix_qualification_copies_are_filed_under(
    assignment: AssignmentUnderTest,
) -> None:
    response = await assignment.client.post(
        "/v1/projects",
        json={
            "project_id": "qualification:x",
            "name": "Sneaky",
            "modality": "image",
            "rubric": {"rubric_id": await world.rubric(assignment)},
        },
        headers=OPS,
    )
    assert response.status_code == 422
    assert "qualification:" in response.text


@pytest.mark.parametrize("case", world.MISPLACED, ids=[c.name for c in world.MISPLACED])
async def test_a_set_whose_key_labels_do_not_fit_an_items_media_is_refused_naming_it(
    assignment: AssignmentUnderTest, case: world.Misplaced
) -> None:
    taxonomy = await world.taxonomy(
        assignment, *world.PLACEMENT_CLASSES, modalities=world.PLACEMENT_MODALITIES
    )
    rubric_id = await world.rubric(assignment, "multimodal_label_qa")

    async def created(*keys: dict[str, Any]) -> Any:
        response = await assignment.client.post(
            "/v1/qualifications",
            json={
                "set_id": world.short_id("qs"),
                "name": "Labels",
                "skill": "task.label_qa",
                "level": 2,
                "modality": case.modality,
                "rubric": {"rubric_id": rubric_id, "version": 1},
                "taxonomy": taxonomy,
                "threshold": 0.8,
                "items": [{**case.content, "key": key} for key in keys],
            },
            headers=OPS,
        )
        return response if response.status_code != 409 else None  # version not consumed yet

    fits = world.label_answers(case.fits)
    refused = await eventually(lambda: created(fits, world.label_answers(case.label)))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": f"body.items[1].key.labels.0.{case.field}", "message": f"item 1: {case.message}"}
    ]
    accepted = await created(fits, fits)
    assert accepted.status_code == 201, accepted.text
