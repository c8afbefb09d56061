"""Gold stays secret (docs/assignment.md, "What an expert may learn"): with everything the unit
routes answer (status codes, error texts, headers, bodies), an expert's client cannot tell a
gold unit from an ordinary one, nor learn whether another judge has a unit or whether an item
went to adjudication; a unit they do not hold is refused alike, decided from their own lease.
Gold is served only on units of versions its key holds under; a given-back gold unit keeps
gold due; the client's progress counts only its own items."""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shared.contracts.taxonomy import VERSION_PUBLISHED, ClassSnapshot, VersionPublishedV1
from shared.events.envelope import make_event
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

KEY = world.edit_answers("accept", point=4)
#: headers whose values are the request's own (its id, its trace, its size, its time)
PER_REQUEST = {"x-request-id", "traceparent", "content-length", "date", "server"}
#: body fields whose values are the request's own (ids made, times)
VOLATILE = {
    "request_id",
    "judgment_id",
    "feedback_id",
    "submitted_at",
    "leased_at",
    "expires_at",
    "time_spent_s",
}


def _normal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "<varies>" if k in VOLATILE else _normal(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def shape(response: httpx.Response, named: dict[str, str]) -> dict[str, Any]:
    """Everything the response tells the client, with the values the client sent or was
    handed (``named``: name -> value) replaced by their names, and per-request values out."""
    text = response.text
    for name, value in sorted(named.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, f"<{name}>")
    body = json.loads(text) if text else None
    headers = {k: v for k, v in response.headers.items() if k.lower() not in PER_REQUEST}
    return {"status": response.status_code, "headers": headers, "body": _normal(body)}


def feedback(**fields: Any) -> dict[str, Any]:
    return {
        "about": "rubric",
        "kind": "unclear_guideline",
        "text": "does 'preservation' include the background blur?",
        **fields,
    }


@dataclass
class Caller:
    """An expert's client on the unit routes."""

    a: AssignmentUnderTest
    expert_id: str

    @property
    def headers(self) -> dict[str, str]:
        return auth("expert", subject=self.expert_id)

    async def judge(self, unit_id: str, lease_id: str, answers: Any, sub: str) -> httpx.Response:
        body = {"submission_id": sub, "lease_id": lease_id, "answers": answers}
        return await self.a.client.post(
            f"/v1/units/{unit_id}/judgments", json=body, headers=self.headers
        )

    async def heartbeat(self, lease_id: str) -> httpx.Response:
        return await self.a.client.post(f"/v1/me/leases/{lease_id}/heartbeat", headers=self.headers)

    async def release(self, lease_id: str) -> httpx.Response:
        return await self.a.client.post(
            f"/v1/me/leases/{lease_id}/release",
            json={"reason": "skip", "note": "not sure"},
            headers=self.headers,
        )

    async def feedback(self, unit_id: str, sub: str) -> httpx.Response:
        return await self.a.client.post(
            f"/v1/units/{unit_id}/feedback", json=feedback(submission_id=sub), headers=self.headers
        )


async def judged_through(caller: Caller, handed: dict[str, Any]) -> list[tuple[str, Any]]:
    """The unit routes on a unit the caller holds and then judges: every answer's shape."""
    unit_id, lease_id, item_id = handed["unit_id"], handed["lease_id"], handed["item_id"]
    subs = {f"sub{i}": uuid.uuid4().hex for i in range(3)}
    named = {"unit": unit_id, "lease": lease_id, "item": item_id, **subs}
    bad = world.edit_answers("accept", point=4, ratings={**KEY["ratings"], "visual_quality": 9})
    steps = [
        ("heartbeat", caller.heartbeat(lease_id)),
        ("answers refused", caller.judge(unit_id, lease_id, bad, subs["sub0"])),
        ("feedback while held", caller.feedback(unit_id, subs["sub1"])),
        ("judged", caller.judge(unit_id, lease_id, KEY, subs["sub0"])),
        ("judged again", caller.judge(unit_id, lease_id, KEY, subs["sub0"])),
        ("heartbeat after", caller.heartbeat(lease_id)),
        ("release after", caller.release(lease_id)),
        ("sibling", caller.judge(f"{item_id}~1", lease_id, KEY, subs["sub2"])),
        ("feedback once judged", caller.feedback(unit_id, subs["sub2"])),
    ]
    return [(name, shape(await call, named)) for name, call in steps]


async def given_back_through(caller: Caller, handed: dict[str, Any]) -> list[tuple[str, Any]]:
    """The unit routes on a unit the caller holds and then gives back: every answer's shape."""
    unit_id, lease_id, item_id = handed["unit_id"], handed["lease_id"], handed["item_id"]
    subs = {f"sub{i}": uuid.uuid4().hex for i in range(3)}
    named = {"unit": unit_id, "lease": lease_id, "item": item_id, **subs}
    steps = [
        ("feedback while held", caller.feedback(unit_id, subs["sub0"])),
        ("released", caller.release(lease_id)),
        ("heartbeat after", caller.heartbeat(lease_id)),
        ("released again", caller.release(lease_id)),
        ("judged after", caller.judge(unit_id, lease_id, KEY, subs["sub1"])),
        ("feedback after", caller.feedback(unit_id, subs["sub2"])),
        ("the same feedback again", caller.feedback(unit_id, subs["sub0"])),
    ]
    return [(name, shape(await call, named)) for name, call in steps]


async def is_gold(a: AssignmentUnderTest, handed: dict[str, Any]) -> bool:
    return (await world.item_of(a, handed))["gold_id"] is not None


async def move_to_a_new_rubric_version(a: AssignmentUnderTest, project_id: str) -> None:
    """Version 2 of the project's rubric (other anchor texts: the gold keys hold under it),
    the project moved to it, and its gold checked against it."""
    project = await ok(await a.client.get(f"/v1/projects/{project_id}", headers=OPS))
    rubric_id = project["rubric"]["rubric_id"]
    form = await ok(await a.client.get(f"/v1/rubrics/{rubric_id}/versions/1", headers=OPS))
    definition = form["definition"]
    for dimension in definition["dimensions"]:
        dimension["anchors"] = {"1": "poor", "5": "excellent"}
    await ok(
        await a.client.post(
            f"/v1/rubrics/{rubric_id}/versions", json={"definition": definition}, headers=OPS
        ),
        201,
    )
    patch = {"rubric": {"rubric_id": rubric_id, "version": 2}}
    await ok(await a.client.patch(f"/v1/projects/{project_id}", json=patch, headers=OPS))

    async def checked() -> bool:
        listed = await ok(await a.client.get(f"/v1/projects/{project_id}/gold", headers=OPS))
        return all(len(g["valid_for"]) == 2 for g in listed["items"])

    await eventually(checked)


@pytest.mark.parametrize(
    ("overlap", "rubric_change"),
    [({"k": 1}, False), ({"k": 3}, False), ({"k": 1}, True), ({"k": 2}, True)],
    ids=["overlap-1", "overlap-3", "overlap-1-after-a-rubric-change", "overlap-2-after-a-change"],
)
async def test_every_unit_route_answers_a_gold_unit_as_it_answers_an_ordinary_one(
    assignment: AssignmentUnderTest, overlap: dict[str, int], rubric_change: bool
) -> None:
    project_id = await world.project(assignment, gold_rate=0.5, overlap=overlap)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=4)
    for _ in range(2):
        await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 4)  # ordinary work left for each gold unit
    if rubric_change:  # the items' units keep version 1; gold must not show version 2
        await move_to_a_new_rubric_version(assignment, project_id)
    handed = [await next_unit(assignment, expert_id) for _ in range(4)]
    kinds = [await is_gold(assignment, h) for h in handed]
    assert sorted(kinds) == [False, False, True, True]  # within one unit of the rate: 2 of 4
    gold = [h for h, g in zip(handed, kinds, strict=True) if g]
    ordinary = [h for h, g in zip(handed, kinds, strict=True) if not g]
    # the handouts: the same but for the ids, the media (and their links) and the deadline
    same = {"lease_id", "unit_id", "item_id", "expires_at", "content", "media_links"}
    for g, o in zip(gold, ordinary, strict=True):
        assert {k: v for k, v in g.items() if k not in same} == {
            k: v for k, v in o.items() if k not in same
        }
        assert g["content"].keys() == o["content"].keys()
        assert g["content"]["taxonomy"] == o["content"]["taxonomy"]
        # a link per media file of the content, whatever the unit is
        assert len(g["media_links"]) == len(
            [g["content"]["media"]] if g["content"]["media"] else g["content"]["parts"] or []
        )
    assert {h["rubric"]["version"] for h in handed} == {1}
    caller = Caller(assignment, expert_id)
    assert await judged_through(caller, gold[0]) == await judged_through(caller, ordinary[0])
    given_back = await given_back_through(caller, gold[1])
    assert given_back == await given_back_through(caller, ordinary[1])
    assert [step[1]["status"] for step in given_back] == [201, 200, 409, 409, 409, 409, 200]


async def test_a_unit_the_caller_does_not_hold_is_refused_alike_whatever_and_whoever_it_is(
    assignment: AssignmentUnderTest,
) -> None:
    # the caller holds a gold unit; the others are ordinary work of a project at overlap 2
    gold_project = await world.project(assignment, gold_rate=1.0)
    work = await world.project(assignment, overlap={"k": 2})
    me = await world.expert(assignment, projects=(gold_project,))
    first = await world.expert(assignment, projects=(work,))
    second = await world.expert(assignment, projects=(work,))
    await world.gold(assignment, gold_project, KEY)
    await world.items(assignment, gold_project, 1)  # an ordinary unit for the gold to stand in for
    mine = await next_unit(assignment, me)
    assert await is_gold(assignment, mine)
    # the caller judges that ordinary unit too: only the other project has work left for them
    assert not await is_gold(assignment, await world.judge(assignment, me, KEY))
    escalated, held = await world.items(assignment, work, 2)
    await world.judge(assignment, first, world.edit_answers("accept"))
    await world.judge(assignment, second, world.edit_answers("reject"))

    async def adjudication_unit() -> Any:
        units = (await world.known(assignment, escalated))["units"]
        return len(units) == 3 and units[2]["kind"] == "adjudication"

    await eventually(adjudication_unit)  # the two disagree: the item went to adjudication
    held_by_first = await next_unit(assignment, first)
    assert held_by_first["item_id"] == held
    await world.join(assignment, work, me)
    given_back = await eventually(lambda: next_unit(assignment, me))  # the roster read anew
    assert given_back["item_id"] == held
    await ok(await Caller(assignment, me).release(given_back["lease_id"]))
    caller = Caller(assignment, me)
    units = {
        "the gold copy's sibling": f"{mine['item_id']}~1",
        "a unit another expert holds": held_by_first["unit_id"],
        "a unit another expert judged": f"{escalated}~0",
        "an adjudication unit": f"{escalated}~2",
        "a unit the caller gave back": given_back["unit_id"],
        "a unit that does not exist": f"{uuid.uuid4()}~0",
    }
    sub = uuid.uuid4().hex
    answers = {}
    for what, unit_id in units.items():
        named = {"unit": unit_id, "lease": mine["lease_id"], "sub": sub}
        judged = await caller.judge(unit_id, mine["lease_id"], KEY, sub)
        noted = await caller.feedback(unit_id, sub)
        answers[what] = (shape(judged, named), shape(noted, named))
    first_answer = answers["the gold copy's sibling"]
    assert first_answer[0]["status"] == first_answer[1]["status"] == 409
    assert all(answer == first_answer for answer in answers.values()), answers
    # and the caller's own gold unit is still theirs, untouched
    await ok(await caller.judge(mine["unit_id"], mine["lease_id"], KEY, uuid.uuid4().hex), 201)


async def test_a_gold_unit_given_back_keeps_gold_due_so_the_next_unit_is_gold_again(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=0.5)
    expert_id = await world.expert(assignment, projects=(project_id,))
    for _ in range(3):
        await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 3)
    caller = Caller(assignment, expert_id)
    handed = await next_unit(assignment, expert_id)
    if not await is_gold(assignment, handed):  # at 0.5, one of the first two is gold
        await ok(await caller.judge(handed["unit_id"], handed["lease_id"], KEY, "s-1"), 201)
        handed = await next_unit(assignment, expert_id)
    gold_item = (await world.item_of(assignment, handed))["gold_id"]
    assert gold_item is not None
    await ok(await caller.release(handed["lease_id"]))
    again = await next_unit(assignment, expert_id)
    # releasing gold does not skip it: another gold item comes instead (never the same one)
    assert await is_gold(assignment, again)
    assert (await world.item_of(assignment, again))["gold_id"] != gold_item


async def test_no_gold_is_served_once_no_ordinary_unit_is_left_so_nothing_left_tells_nothing(
    assignment: AssignmentUnderTest,
) -> None:
    """Gold only stands in for an ordinary unit open to the expert: served after their last
    ordinary unit, then ``nothing_left``, it would tell them those last units were gold."""
    project_id = await world.project(assignment, gold_rate=0.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    gold_ids = {(await world.gold(assignment, project_id, KEY))["gold_id"] for _ in range(3)}
    items = await world.items(assignment, project_id, 2)
    handed = [await world.judge(assignment, expert_id, KEY) for _ in items]
    assert [h["item_id"] for h in handed] == items
    # ops turn gold on at a rate of 1: gold is due for the expert at every unit from now on
    patch = {"gold_rate": 1.0}
    await ok(await assignment.client.patch(f"/v1/projects/{project_id}", json=patch, headers=OPS))
    await asyncio.sleep(assignment.settings.handout_profile_ttl_s + 0.5)  # the rate reaches it
    response = await assignment.client.post(
        "/v1/work:next", headers=auth("expert", subject=expert_id)
    )
    # no ordinary unit is open for them: nothing, though three gold items they never had remain
    assert response.status_code == 204 and response.content == b""
    assert response.headers["Quorum-No-Work-Reason"] == "nothing_left"
    # the gold waits for the next ordinary unit and stands in for it
    [item_id] = await world.items(assignment, project_id, 1)
    stand_in = await next_unit(assignment, expert_id)
    assert (await world.item_of(assignment, stand_in))["gold_id"] in gold_ids
    assert stand_in["item_id"] != item_id


async def test_a_gold_item_whose_key_fails_the_projects_new_rubric_is_flagged_and_not_served(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    registered = await world.gold(assignment, project_id, KEY)
    project = await ok(await assignment.client.get(f"/v1/projects/{project_id}", headers=OPS))
    rubric_id = project["rubric"]["rubric_id"]
    form = await ok(await assignment.client.get(f"/v1/rubrics/{rubric_id}/versions/1", headers=OPS))
    narrower = form["definition"]
    narrower["dimensions"] = [
        d for d in narrower["dimensions"] if d["name"] != "character_consistency"
    ]
    await ok(
        await assignment.client.post(
            f"/v1/rubrics/{rubric_id}/versions", json={"definition": narrower}, headers=OPS
        ),
        201,
    )
    patch = {"rubric": {"rubric_id": rubric_id, "version": 2}}
    await ok(await assignment.client.patch(f"/v1/projects/{project_id}", json=patch, headers=OPS))

    async def flagged() -> Any:
        listed = await ok(
            await assignment.client.get(f"/v1/projects/{project_id}/gold", headers=OPS)
        )
        return [g for g in listed["items"] if g["stale"] is not None]

    [stale] = await eventually(flagged)
    assert stale["gold_id"] == registered["gold_id"]
    assert stale["stale"]["rubric"] == {"rubric_id": rubric_id, "version": 2}
    assert "key.ratings.character_consistency" in [e["field"] for e in stale["stale"]["errors"]]
    assert "not served" in stale["stale"]["reason"]
    # units of version 2 get no gold of version 1's key: the expert gets the ordinary item
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    assert handed["item_id"] == item_id and handed["rubric"]["version"] == 2
    assert await next_unit(assignment, expert_id) is None


async def test_a_clients_progress_counts_the_items_it_registered_not_the_gold_served(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    expert_id = await world.expert(assignment, projects=(project_id,))
    for _ in range(2):
        await world.gold(assignment, project_id, KEY)
    await world.items(assignment, project_id, 1)
    for _ in range(3):
        await world.judge(assignment, expert_id, KEY)
    progress = await ok(
        await assignment.client.get(
            f"/v1/projects/{project_id}/progress", headers=auth("client", subject="acme-system")
        )
    )
    assert (progress["items"], progress["unresolved"]) == (1, 0)
    assert progress["units"] == {"open": 0, "leased": 0, "done": 1}


@pytest.mark.parametrize(
    ("label", "tolerances", "field"),
    [
        (
            {
                "class_id": "car",
                "geometry": {"kind": "polygon", "points": [[0, 0], [1, 1], [2, 2]]},
            },
            {},
            "body.key.labels.0.geometry",
        ),
        (
            {
                "class_id": "car",
                "geometry": {"kind": "box", "x": 1, "y": 1, "width": 1e-100, "height": 1e-100},
            },
            {},
            "body.key.labels.0.geometry",
        ),
        (
            {
                "class_id": "car",
                "geometry": {"kind": "box", "x": 1, "y": 1, "width": 5, "height": 5},
            },
            {"iou_threshold": 0},
            "body.tolerances.iou_threshold",
        ),
    ],
    ids=["collinear-polygon", "box-of-1e-200", "iou-threshold-0"],
)
async def test_a_gold_key_that_cannot_score_1_against_itself_is_refused_naming_the_field(
    assignment: AssignmentUnderTest,
    label: dict[str, Any],
    tolerances: dict[str, Any],
    field: str,
) -> None:
    taxonomy = await world.taxonomy(assignment, "car")
    project_id = await world.project(assignment, template="multimodal_label_qa", taxonomy=taxonomy)

    async def registered() -> Any:
        response = await assignment.client.post(
            f"/v1/projects/{project_id}/gold",
            json={
                "gold_id": world.short_id("gold"),
                "media": world.image("g"),
                "key": world.label_answers(label),
                "tolerances": tolerances,
            },
            headers=OPS,
        )
        return response if response.status_code != 409 else None  # version not consumed yet

    refused = await eventually(registered)
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == [field]


async def test_a_gold_item_waits_for_a_taxonomy_version_assignment_does_not_know_yet(
    assignment: AssignmentUnderTest,
) -> None:
    first = await world.taxonomy(assignment, "car")
    project_id = await world.project(
        assignment, template="multimodal_label_qa", taxonomy=first, gold_rate=1.0
    )
    car = {"class_id": "car", "geometry": {"kind": "box", "x": 1, "y": 1, "width": 5, "height": 5}}

    async def registered() -> Any:
        response = await assignment.client.post(
            f"/v1/projects/{project_id}/gold",
            json={"gold_id": "g-car", "media": world.image("g"), "key": world.label_answers(car)},
            headers=OPS,
        )
        return response if response.status_code != 409 else None  # version not consumed yet

    await ok(await eventually(registered), 201)
    later = {"ontology_id": world.short_id("ont"), "version": 1}
    patch = {"taxonomy": later}
    await ok(await assignment.client.patch(f"/v1/projects/{project_id}", json=patch, headers=OPS))

    async def gold_item() -> Any:
        listed = await ok(
            await assignment.client.get(f"/v1/projects/{project_id}/gold", headers=OPS)
        )
        return listed["items"][0]

    async def waiting() -> Any:
        found = await gold_item()
        return found["stale"] is not None and "not known here yet" in found["stale"]["reason"]

    await eventually(waiting)
    version = VersionPublishedV1(
        ontology_id=later["ontology_id"],
        tenant="acme",
        name="Street",
        version=1,
        content_hash="sha256:test",
        classes=[ClassSnapshot.model_validate({"id": "car", "name": "Car"})],
        published_at=datetime.now(UTC),
    )
    await publish(
        assignment.settings, make_event(VERSION_PUBLISHED, version, source="/t", tenant="acme")
    )

    async def valid() -> Any:
        found = await gold_item()
        return (
            found["stale"] is None
            and {"rubric": found["rubric"], "taxonomy": later} in found["valid_for"]
        )

    await eventually(valid)
