"""Gold on the real servers: ops register items with their key; they reach each expert at the
project's gold rate, at most once, looking like any other unit; a judgment on one is scored at
once (gold.scored) and feeds the expert's calibration; below the floor the expert is benched
(expert.benched) until ops reinstate them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.assignment import calibration
from shared.contracts.work import (
    EXPERT_BENCHED,
    EXPERT_REINSTATED,
    EXPERTS,
    GOLD_SCORED,
    WORK,
    WORK_EXPIRED,
    WORK_RELEASED,
    GoldScoredV1,
    WorkKind,
)
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import make_event
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, caught_up, eventually
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([GOLD_SCORED, WORK_EXPIRED, EXPERT_BENCHED, EXPERT_REINSTATED])
answers = world.edit_answers
#: a key on the image-edit template: accepted, every dimension at 4
KEY = answers("accept", point=4)


def decoded(records: list[Any]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None]


def reader(a: AssignmentUnderTest, topic: Any) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + topic.name)


async def is_gold(a: AssignmentUnderTest, handed: dict[str, Any]) -> bool:
    return (await world.item_of(a, handed))["gold_id"] is not None


async def test_a_gold_item_is_registered_with_its_key_and_listed_for_ops(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    created = await world.gold(assignment, project_id, KEY, gold_id="g-1")
    assert created["gold_id"] == "g-1" and created["active"] is True
    assert created["content"]["media"]["uri"] == "s3://bucket/g-1.png"
    again = await assignment.client.post(
        f"/v1/projects/{project_id}/gold",
        json={"gold_id": "g-1", "media": world.image("g-1"), "key": KEY},
        headers=OPS,
    )
    assert again.status_code == 409
    listed = await ok(await assignment.client.get(f"/v1/projects/{project_id}/gold", headers=OPS))
    assert [g["gold_id"] for g in listed["items"]] == ["g-1"]
    retired = await ok(
        await assignment.client.patch(
            f"/v1/projects/{project_id}/gold/g-1", json={"active": False}, headers=OPS
        )
    )
    assert retired["active"] is False
    active = await assignment.client.get(
        f"/v1/projects/{project_id}/gold", params={"active": "true"}, headers=OPS
    )
    assert active.json() == {"items": [], "next_cursor": None}


async def test_a_gold_item_that_cannot_be_scored_or_shown_is_refused_naming_each_field(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    response = await assignment.client.post(
        f"/v1/projects/{project_id}/gold",
        json={
            "gold_id": "g-bad",
            "parts": [{"name": "a", "role": "source", "media": world.image()}],
            "key": {"verdict": "reject", "ratings": {"visual_quality": 9}},
            "tolerances": {"ratings": {"preservation": 0}},
        },
        headers=OPS,
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {
        "body.media",
        "body.parts",
        "body.key.justification",
        "body.key.ratings.visual_quality",
        "body.tolerances.ratings.preservation",
    } <= fields


async def test_a_negative_tolerance_of_a_rating_dimension_is_a_422_naming_it(
    assignment: AssignmentUnderTest,
) -> None:
    """Found by fuzzing: a negative per-dimension tolerance passed the request's schema and
    the scoring rule refused it with a 500."""
    project_id = await world.project(assignment)
    response = await assignment.client.post(
        f"/v1/projects/{project_id}/gold",
        json={
            "gold_id": "g-negative",
            "media": world.image(),
            "key": world.edit_answers(),
            "tolerances": {"ratings": {"visual_quality": -1}},
        },
        headers=OPS,
    )
    assert response.status_code == 422, response.text
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["body.tolerances.ratings.visual_quality"]


async def test_gold_reaches_an_expert_at_the_rate_and_each_gold_item_at_most_once(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    gold_ids = {(await world.gold(assignment, project_id, KEY))["gold_id"] for _ in range(2)}
    items = set(await world.items(assignment, project_id, 2))
    seen_gold, seen_items = [], []
    for _ in range(4):
        handed = await world.judge(assignment, expert_id, KEY)
        item = await world.item_of(assignment, handed)
        (seen_gold if item["gold_id"] else seen_items).append(item["gold_id"] or item["item_id"])
    # at a rate of 1 every unit is gold while a gold item is left for the expert
    assert sorted(seen_gold) == sorted(gold_ids) and set(seen_items) == items
    assert await next_unit(assignment, expert_id) is None
    # the other expert gets each gold item too, as a copy of their own (standing in for an
    # ordinary unit open to them: one registered since)
    later = await world.items(assignment, project_id, 1)
    first = await next_unit(assignment, other)
    assert await is_gold(assignment, first)
    assert first["item_id"] not in {*seen_items, *later}


async def test_at_a_share_of_gold_an_expert_gets_it_within_one_unit_of_the_rate(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=0.25)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=50)
    for _ in range(10):
        await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 20)
    kinds = []
    for _ in range(20):
        handed = await next_unit(assignment, expert_id)
        kinds.append(await is_gold(assignment, handed))
    assert abs(sum(kinds) - 0.25 * 20) < 1
    assert all(abs(sum(kinds[:n]) - 0.25 * n) < 1 for n in range(1, 21))


async def test_a_gold_unit_looks_exactly_like_an_ordinary_one_to_the_expert(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=0.5)
    expert_id = await world.expert(assignment, projects=(project_id,))
    media = world.image("same")
    prelabels = {"model_name": "m", "model_version": "1", "labels": []}
    await world.gold(assignment, project_id, KEY, media=media, prelabels=prelabels)
    # two ordinary items alike: one is open for the gold to stand in for whenever it is due
    events = [world.registered(project_id, media=media, prelabels=prelabels) for _ in range(2)]
    await publish(assignment.settings, *events)
    for event in events:
        await eventually(lambda e=event: world.known(assignment, e.data.item_id))
    # at a rate of 1/2, exactly one of the first two units is gold
    handed = [await next_unit(assignment, expert_id) for _ in range(2)]
    flags = [await is_gold(assignment, h) for h in handed]
    assert sorted(flags) == [False, True]
    gold, ordinary = handed if flags[0] else handed[::-1]
    assert gold.keys() == ordinary.keys()
    for unit in (gold, ordinary):
        assert str(uuid.UUID(unit["item_id"])) == unit["item_id"]
        assert unit["unit_id"] == f"{unit['item_id']}~0"
    ids = ("lease_id", "unit_id", "item_id", "expires_at")
    assert {k: v for k, v in gold.items() if k not in ids} == {
        k: v for k, v in ordinary.items() if k not in ids
    }


async def test_a_gold_judgment_is_scored_per_field_and_feeds_calibration_for_ops_at_once(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0, required={"task.image_edit": 2})
    expert_id = await world.expert(
        assignment, projects=(project_id,), skills={"task.image_edit": 3}
    )
    await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 1)  # an ordinary unit for the gold to stand in for
    async with reader(assignment, WORK) as topic:
        handed = await next_unit(assignment, expert_id)
        assert await is_gold(assignment, handed)
        wrong = answers("accept", point=4, ratings={**KEY["ratings"], "visual_quality": 1})
        await ok(await world.submit(assignment, expert_id, handed, wrong), 201)
        records = await topic.until(
            lambda got: any(e.type == GOLD_SCORED.type for e in decoded(got))
        )
    [scored] = [e.data for e in decoded(records) if e.type == GOLD_SCORED.type]
    assert scored.expert_id == expert_id and scored.item_id == handed["item_id"]
    assert scored.fields["ratings.visual_quality"] is False and scored.fields["verdict"] is True
    assert scored.fields["flags.unsafe"] is True  # the safety call is scored of its own
    eight_of_nine = pytest.approx(8 / 9)  # verdict, six dimensions, severity, unsafe
    assert scored.score == eight_of_nine
    ops_view = await ok(
        await assignment.client.get(f"/v1/experts/{expert_id}/calibration", headers=OPS)
    )
    assert ops_view["items"] == [
        {
            "skill": "task.image_edit",
            "mean": eight_of_nine,
            "count": 1,
            "window": 20,
            "trend": [eight_of_nine],
            "as_of": None,
        }
    ]
    # the expert's own view moves in whole batches, at a boundary: not with this judgment
    mine = await ok(
        await assignment.client.get("/v1/me/calibration", headers=auth("expert", subject=expert_id))
    )
    assert mine == {"items": [], "next_cursor": None}


async def test_below_the_floor_an_expert_is_benched_from_the_project_until_reinstated(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(
        assignment, gold_rate=1.0, calibration={"floor": 0.9, "min_count": 1}
    )
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 8)
    async with reader(assignment, EXPERTS) as topic:
        handed = await world.judge(assignment, expert_id, answers("reject"))
        records = await topic.until(lambda got: len(decoded(got)) == 1)
    assert await is_gold(assignment, handed)
    [benched] = [e.data for e in decoded(records)]
    assert (benched.expert_id, benched.project_id, benched.floor) == (expert_id, project_id, 0.9)
    assert benched.skills == {"modality.image": 0.0}  # the verdict wrong: it is decisive

    async def no_work() -> bool:
        got = await next_unit(assignment, expert_id)  # until the bench reaches the handout
        if got is not None:
            await ok(
                await assignment.client.post(
                    f"/v1/me/leases/{got['lease_id']}/release",
                    json={"reason": "skip"},
                    headers=auth("expert", subject=expert_id),
                )
            )
        return got is None

    await eventually(no_work)

    async def told_benched() -> bool:  # once the bench reaches the handout (within a second)
        told = await assignment.client.post(
            "/v1/work:next", headers=auth("expert", subject=expert_id)
        )
        return told.status_code == 204 and told.headers["Quorum-No-Work-Reason"] == "benched"

    await eventually(told_benched)
    benches = await ok(
        await assignment.client.get(f"/v1/projects/{project_id}/benches", headers=OPS)
    )
    assert [b["expert_id"] for b in benches["items"]] == [expert_id]
    url = f"/v1/projects/{project_id}/benches/{expert_id}/reinstate"
    async with reader(assignment, EXPERTS) as topic:
        await ok(await assignment.client.post(url, json={"reason": "retrained"}, headers=OPS), 204)
        records = await topic.until(lambda got: len(decoded(got)) == 1)
    assert decoded(records)[0].data.by == "ops-ana"
    assert (await assignment.client.post(url, json={"reason": "x"}, headers=OPS)).status_code == 404
    assert await ok(
        await assignment.client.get(f"/v1/experts/{expert_id}/calibration", headers=OPS)
    ) == {"items": [], "next_cursor": None}

    await world.items(assignment, project_id, 1)  # the released ones were theirs once

    async def work_again() -> bool:
        return await next_unit(assignment, expert_id) is not None

    await eventually(work_again)


async def scored_once(
    a: AssignmentUnderTest, project_id: str, key: dict[str, Any], given: dict[str, Any]
) -> Any:
    """An expert's answers ``given`` on a gold item of ``key`` (served in place of an ordinary
    unit open to them, one registered for it): its ``gold.scored`` payload."""
    expert_id = await world.expert(a, projects=(project_id,))
    await world.gold(a, project_id, key)
    await world.items(a, project_id, 1)
    async with reader(a, WORK) as topic:
        handed = await next_unit(a, expert_id)
        assert await is_gold(a, handed)
        await ok(await world.submit(a, expert_id, handed, given), 201)
        records = await topic.until(
            lambda got: any(
                e.type == GOLD_SCORED.type and e.data.expert_id == expert_id for e in decoded(got)
            )
        )
    [scored] = [e.data for e in decoded(records) if e.type == GOLD_SCORED.type]
    return scored


async def test_accepting_an_edit_gold_rejects_as_major_scores_0_and_benches_at_the_default_floor(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0, calibration={"min_count": 1})
    key = answers("reject", point=2, severity="major")
    why = "the seam shows, but the edit does what was asked"
    accepted = answers("accept", point=3, severity="major", justification=why)
    scored = await scored_once(assignment, project_id, key, accepted)
    # every rating within a point and the severity right: only the verdict is wrong
    assert [name for name, right in scored.fields.items() if not right] == ["verdict"]
    assert scored.score == 0.0  # the verdict is decisive (weighed like a rating: 8 of 9)
    benches = await ok(
        await assignment.client.get(f"/v1/projects/{project_id}/benches", headers=OPS)
    )
    assert [(b["expert_id"], b["skills"]) for b in benches["items"]] == [
        (scored.expert_id, {"modality.image": 0.0})
    ]


async def test_an_infeasible_gold_item_is_keyed_and_answered_by_the_verdict_alone_and_scores_1(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    twice = await assignment.client.post(
        f"/v1/projects/{project_id}/gold",
        json={
            "gold_id": "g-twice",
            "media": world.image("g-twice"),
            "key": {"verdict": "infeasible", "flags": ["infeasible_instruction"]},
        },
        headers=OPS,
    )
    assert twice.status_code == 422
    assert [e["field"] for e in twice.json()["errors"]] == ["body.key.flags.0"]
    scored = await scored_once(
        assignment, project_id, {"verdict": "infeasible"}, {"verdict": "infeasible"}
    )
    assert scored.fields == {"verdict": True, "flags.unsafe": True} and scored.score == 1.0


async def test_a_gold_items_weights_are_kept_and_its_decisive_fields_default_to_the_safety_calls(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    weighed = await world.gold(assignment, project_id, KEY, tolerances={"weights": {"verdict": 3}})
    assert weighed["tolerances"]["weights"] == {"verdict": 3.0}
    assert weighed["tolerances"]["decisive"] == ["flags.unsafe", "severity", "verdict"]
    plain = await world.gold(assignment, project_id, KEY, tolerances={"decisive": []})
    assert plain["tolerances"]["decisive"] == []
    listed = await ok(await assignment.client.get(f"/v1/projects/{project_id}/gold", headers=OPS))
    assert sorted(tuple(g["tolerances"]["decisive"]) for g in listed["items"]) == [
        (),
        ("flags.unsafe", "severity", "verdict"),
    ]


@pytest.mark.parametrize(
    ("tolerances", "fields"),
    [
        (
            {
                "weights": {"labels": 2, "flags.sparkly": 1},
                "decisive": ["verdict", "flags.glitter"],
            },
            [
                "body.tolerances.decisive",
                "body.tolerances.weights.flags.sparkly",
                "body.tolerances.weights.labels",
            ],
        ),
        ({"decisive": ["verdict", "justification"]}, ["body.tolerances.decisive.1"]),
        ({"weights": {"verdict": 0}}, ["body.tolerances.weights.verdict"]),
    ],
    ids=["scores-nothing", "not-a-field", "weighs-nothing"],
)
async def test_weights_and_decisive_fields_that_cannot_apply_are_refused_naming_each(
    assignment: AssignmentUnderTest, tolerances: dict[str, Any], fields: list[str]
) -> None:
    project_id = await world.project(assignment)
    response = await assignment.client.post(
        f"/v1/projects/{project_id}/gold",
        json={"gold_id": "g-w", "media": world.image("g-w"), "key": KEY, "tolerances": tolerances},
        headers=OPS,
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == fields


async def test_a_gold_unit_given_back_is_closed_and_never_served_again(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, KEY)
    items = await world.items(assignment, project_id, 2)
    handed = await next_unit(assignment, expert_id)
    assert await is_gold(assignment, handed)
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{handed['lease_id']}/release",
            json={"reason": "skip"},
            headers=auth("expert", subject=expert_id),
        )
    )
    item = await world.item_of(assignment, handed)
    assert item["units"][0]["state"] == "closed" and item["open"] == 0
    late = await world.submit(assignment, expert_id, handed, KEY)
    assert late.status_code == 409
    # gold stays due at a rate of 1, yet the given-back gold item never comes again: the
    # ordinary units come, then nothing
    after = [await world.judge(assignment, expert_id, KEY) for _ in items]
    assert [u["item_id"] for u in after] == items
    assert await next_unit(assignment, expert_id) is None


async def test_an_id_in_a_path_that_no_document_can_have_is_a_422(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    response = await assignment.client.post(
        f"/v1/projects/{project_id}/benches/%0E%F1%AA%BE%B8/reinstate",
        json={"reason": "r"},
        headers=OPS,
    )
    assert response.status_code == 422, response.text  # a control character: not an id


@pytest.mark.parametrize("case", world.MISPLACED, ids=[c.name for c in world.MISPLACED])
async def test_a_gold_key_whose_labels_do_not_fit_the_media_is_refused_naming_the_field(
    assignment: AssignmentUnderTest, case: world.Misplaced
) -> None:
    taxonomy = await world.taxonomy(
        assignment, *world.PLACEMENT_CLASSES, modalities=world.PLACEMENT_MODALITIES
    )
    project_id = await world.project(
        assignment, template="multimodal_label_qa", taxonomy=taxonomy, modality=case.modality
    )

    async def registered(*labels: dict[str, Any]) -> Any:
        response = await assignment.client.post(
            f"/v1/projects/{project_id}/gold",
            json={
                "gold_id": world.short_id("gold"),
                **case.content,
                "key": world.label_answers(*labels),
            },
            headers=OPS,
        )
        return response if response.status_code != 409 else None  # version not consumed yet

    refused = await eventually(lambda: registered(case.fits, case.label))
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"] == [
        {"field": f"body.key.labels.1.{case.field}", "message": case.message}
    ]
    fits = await registered(case.fits)
    assert fits.status_code == 201, fits.text


async def test_work_released_and_work_expired_say_a_gold_unit_is_gold(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0, lease_ttl_s=5)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    for _ in range(2):
        await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 1)  # an ordinary unit for the gold to stand in for
    lifecycle = EventRegistry([WORK_RELEASED, WORK_EXPIRED])

    def given_back(records: list[Any]) -> dict[str, Any]:
        events = [
            decode(r.value, key=r.key, headers=r.headers, registry=lifecycle) for r in records
        ]
        return {e.type: e.data for e in events if e is not None and e.data.expert_id == expert_id}

    async with reader(assignment, WORK) as topic:
        released, expiring = [await next_unit(assignment, expert_id) for _ in range(2)]
        assert await is_gold(assignment, released) and await is_gold(assignment, expiring)
        await ok(
            await assignment.client.post(
                f"/v1/me/leases/{released['lease_id']}/release",
                json={"reason": "skip"},
                headers=auth("expert", subject=expert_id),
            )
        )
        records = await topic.until(lambda got: len(given_back(got)) == 2, timeout=30)
    events = given_back(records)
    assert (events[WORK_RELEASED.type].unit_id, events[WORK_RELEASED.type].kind) == (
        released["unit_id"],
        WorkKind.gold,
    )
    assert (events[WORK_EXPIRED.type].unit_id, events[WORK_EXPIRED.type].kind) == (
        expiring["unit_id"],
        WorkKind.gold,
    )


async def consumed(a: AssignmentUnderTest) -> bool:
    """Whether assignment applied every event of its work topic (gold.scored among them)."""
    topic = a.settings.topic_prefix + WORK.name
    return await caught_up(a.settings.kafka_bootstrap_servers, a.settings.group_id, topic)


async def test_a_gold_score_replayed_after_a_reinstatement_feeds_nothing_and_benches_nobody(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(
        assignment, gold_rate=1.0, calibration={"floor": 0.9, "min_count": 1}
    )
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 1)  # an ordinary unit for the gold to stand in for
    async with reader(assignment, WORK) as topic:
        handed = await world.judge(assignment, expert_id, answers("reject"))
        records = await topic.until(
            lambda got: any(
                e.type == GOLD_SCORED.type and e.data.expert_id == expert_id for e in decoded(got)
            )
        )
    assert await is_gold(assignment, handed)
    [scored] = [e for e in decoded(records) if e.type == GOLD_SCORED.type]
    benches_url = f"/v1/projects/{project_id}/benches"
    benched = await ok(await assignment.client.get(benches_url, headers=OPS))
    assert [b["expert_id"] for b in benched["items"]] == [expert_id]
    await ok(
        await assignment.client.post(
            f"{benches_url}/{expert_id}/reinstate", json={"reason": "retrained"}, headers=OPS
        ),
        204,
    )
    await publish(assignment.settings, scored)  # the same event again: a replay of the topic
    await eventually(lambda: consumed(assignment))
    calibration_url = f"/v1/experts/{expert_id}/calibration"
    assert await ok(await assignment.client.get(calibration_url, headers=OPS)) == {
        "items": [],
        "next_cursor": None,
    }
    assert (await ok(await assignment.client.get(benches_url, headers=OPS)))["items"] == []


async def test_a_gold_score_replayed_after_more_scores_than_are_kept_counts_once(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, calibration={"floor": 0.0})
    expert_id = await world.expert(assignment, projects=(project_id,))
    item_id = str(uuid.uuid4())  # one key: the events stay in order on one partition

    def scored(n: int, score: float) -> Any:
        payload = GoldScoredV1(
            judgment_id=f"jdg_{expert_id}_{n}",
            unit_id=f"{item_id}~0",
            item_id=item_id,
            project_id=project_id,
            tenant="acme",
            expert_id=expert_id,
            fields={"verdict": score == 1.0},
            score=score,
            scored_at=datetime.now(UTC),
        )
        return make_event(GOLD_SCORED, payload, source="/quorum/assignment", tenant="acme")

    first = scored(0, 0.0)
    kept = calibration.kept()
    later = [scored(n, 1.0) for n in range(1, kept + 1)]  # the first leaves what is kept
    await publish(assignment.settings, first, *later, first)
    await eventually(lambda: consumed(assignment), timeout=60)
    [skill] = (
        await ok(await assignment.client.get(f"/v1/experts/{expert_id}/calibration", headers=OPS))
    )["items"]
    assert (skill["mean"], skill["count"]) == (1.0, calibration.DEFAULT_WINDOW)
    assert set(skill["trend"]) == {1.0}
