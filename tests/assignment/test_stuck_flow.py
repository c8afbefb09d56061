"""Stuck work on the real servers: ops list the open units nobody on a project's roster may
ever take and why, demand counts them and is blocked, proposals put first the experts who
would unblock them, and an item nobody else may take returns to the expert who skipped it
(never to one who judged it, nor after an unsafe-content release)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from services.assignment.handlers.handout import Handout
from shared.http.pagination import encode_cursor
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import eventually
from tests.service_helpers import auth

pytestmark = pytest.mark.integration


def skill() -> str:
    """A skill no other test's experts hold (the tenant is shared)."""
    return f"domain.s{uuid.uuid4().hex[:8]}"


async def stuck(a: AssignmentUnderTest, project_id: str, **params: Any) -> Any:
    return await ok(
        await a.client.get(f"/v1/projects/{project_id}/stuck", params=params, headers=OPS)
    )


async def demand(a: AssignmentUnderTest, project_id: str) -> Any:
    return await ok(await a.client.get(f"/v1/projects/{project_id}/demand", headers=OPS))


async def release(a: AssignmentUnderTest, expert_id: str, handed: Any, reason: str) -> None:
    await ok(
        await a.client.post(
            f"/v1/me/leases/{handed['lease_id']}/release",
            json={"reason": reason},
            headers=auth("expert", subject=expert_id),
        )
    )


async def test_an_adjudication_nobody_on_the_roster_may_take_is_listed_blocks_demand_and_is_proposed_for(
    assignment: AssignmentUnderTest,
) -> None:
    s = skill()
    project_id = await world.project(assignment, required={s: 2}, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,), skills={s: 3})
    second = await world.expert(assignment, projects=(project_id,), skills={s: 3})
    junior = await world.expert(assignment, skills={s: 3})  # may review, not adjudicate
    senior = await world.expert(assignment, skills={s: 4})  # the adjudicator's level
    [item_id] = await world.items(assignment, project_id, 1)
    await world.judge(assignment, first, world.edit_answers("accept"))
    await world.judge(assignment, second, world.edit_answers("reject"))

    async def listed() -> Any:
        return (await stuck(assignment, project_id))["items"]

    [unit] = await eventually(listed)
    assert unit["unit_id"] == f"{item_id}~2" and unit["item_id"] == item_id
    assert (unit["kind"], unit["reason"], unit["returns_to"]) == (
        "adjudication",
        "no_eligible_adjudicator",
        None,
    )
    assert unit["needs"] == {s: 4}
    assert "adjudicator's level" in unit["detail"]

    found = await demand(assignment, project_id)
    assert (found["pending_units"], found["stuck_units"], found["returning_units"]) == (1, 1, 0)
    assert found["blocked"] is True and found["outgrown"] is True
    assert found["weeks_to_clear"] is None  # never a clearing time for work nobody can do
    assert [p["expert_id"] for p in found["proposals"]] == [senior, junior]
    best = found["proposals"][0]
    assert (best["unblocks"], best["adjudicates"]) == (1, True)
    assert best["why"] == ["required_skills", "adjudicator_level", "unblocks_stuck_units"]
    assert found["proposals"][1]["why"] == ["required_skills"]
    proposed = await ok(
        await assignment.client.get(f"/v1/projects/{project_id}/proposals", headers=OPS)
    )
    assert [(p["expert_id"], p["unblocks"]) for p in proposed] == [(senior, 1), (junior, 0)]

    await world.join(assignment, project_id, senior)
    assert (await stuck(assignment, project_id))["items"] == []
    after = await demand(assignment, project_id)
    assert (after["stuck_units"], after["blocked"]) == (0, False)
    handed = await next_unit(assignment, senior)
    assert handed is not None and handed["unit_id"] == f"{item_id}~2"
    assert handed["kind"] == "adjudication"


async def test_a_skipped_item_nobody_else_may_take_returns_to_the_expert_who_skipped_it(
    assignment: AssignmentUnderTest,
) -> None:
    # overlap k equal to the roster: only the expert who skipped it can finish it
    project_id = await world.project(assignment, overlap={"k": 2})
    skipper = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, skipper)
    await release(assignment, skipper, handed, "skip")
    await world.judge(assignment, other, world.edit_answers())
    assert await next_unit(assignment, other) is None  # they judged it

    [unit] = (await stuck(assignment, project_id))["items"]
    assert (unit["reason"], unit["returns_to"]) == ("every_roster_member_had_it", skipper)
    found = await demand(assignment, project_id)
    assert (found["stuck_units"], found["returning_units"], found["blocked"]) == (0, 1, False)
    # past a full warm page the handout asks the store for the items the expert gave back
    store = service_of(assignment.app).get(Handout).items
    given_back = await store.given_back_by("acme", project_id, skipper, 16)
    assert [i.item_id for i in given_back] == [item_id]
    assert await store.given_back_by("acme", project_id, other, 16) == []  # judged it

    again = await next_unit(assignment, skipper)
    assert again is not None and again["item_id"] == item_id
    await ok(await world.submit(assignment, skipper, again, world.edit_answers()), 201)
    item = await world.known(assignment, item_id)
    assert sorted(item["judges"]) == sorted([skipper, other])
    judged_by = [u["judgment"]["expert_id"] for u in item["units"] if u["judgment"]]
    assert sorted(judged_by) == sorted([skipper, other])  # k = 2 distinct experts judged
    assert [(g["expert_id"], g["how"]) for g in item["given_back"]] == [(skipper, "skip")]
    assert await next_unit(assignment, skipper) is None  # judged: never again
    assert (await stuck(assignment, project_id))["items"] == []


async def test_an_item_released_as_unsafe_never_returns_and_blocks_the_project(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    refuser = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    await release(assignment, refuser, await next_unit(assignment, refuser), "unsafe_content")
    await world.judge(assignment, other, world.edit_answers())
    assert await next_unit(assignment, refuser) is None

    [unit] = (await stuck(assignment, project_id))["items"]
    assert (unit["item_id"], unit["reason"], unit["returns_to"]) == (
        item_id,
        "every_roster_member_had_it",
        None,
    )
    assert "invite another expert" in unit["detail"]
    found = await demand(assignment, project_id)
    assert (found["stuck_units"], found["blocked"], found["weeks_to_clear"]) == (1, True, None)


async def test_stuck_units_return_to_those_who_gave_them_back_the_oldest_first(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 3})
    early, late, judge = [await world.expert(assignment, projects=(project_id,)) for _ in "abc"]
    [item_id] = await world.items(assignment, project_id, 1)
    await release(assignment, early, await next_unit(assignment, early), "skip")
    await release(assignment, late, await next_unit(assignment, late), "skip")
    await world.judge(assignment, judge, world.edit_answers())

    listed = (await stuck(assignment, project_id))["items"]
    assert [(u["unit_id"], u["returns_to"]) for u in listed] == [
        (f"{item_id}~1", early),
        (f"{item_id}~2", late),
    ]
    # each takes the unit that returns to them, whoever asks first
    second = await next_unit(assignment, late)
    first = await next_unit(assignment, early)
    assert (first["unit_id"], second["unit_id"]) == (f"{item_id}~1", f"{item_id}~2")
    for expert_id, handed in ((early, first), (late, second)):
        await ok(await world.submit(assignment, expert_id, handed, world.edit_answers()), 201)
    item = await world.known(assignment, item_id)
    judged_by = [u["judgment"]["expert_id"] for u in item["units"] if u["judgment"]]
    assert sorted(judged_by) == sorted([early, late, judge])


async def test_stuck_units_are_listed_by_item_in_pages_and_never_a_gold_copy(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)
    member = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, world.edit_answers())
    ids = await world.items(assignment, project_id, 1)  # for the gold to stand in for
    copy = await next_unit(assignment, member)  # the gold copy, theirs alone
    assert copy["item_id"] not in ids
    await ok(
        await assignment.client.delete(
            f"/v1/projects/{project_id}/invitations/{member}", headers=OPS
        )
    )
    ids += await world.items(assignment, project_id, 2)

    page = await stuck(assignment, project_id, limit=2)
    rest = await stuck(assignment, project_id, limit=2, cursor=page["next_cursor"])
    listed = page["items"] + rest["items"]
    assert [u["unit_id"] for u in listed] == [f"{i}~0" for i in sorted(ids)]
    assert {u["reason"] for u in listed} == {"roster_empty"}
    assert copy["item_id"] not in {u["item_id"] for u in listed}
    assert rest["next_cursor"] is None

    for bad in ("not-a-cursor", encode_cursor(["x"]), encode_cursor([1, "x"])):
        response = await assignment.client.get(
            f"/v1/projects/{project_id}/stuck", params={"cursor": bad}, headers=OPS
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["field"] == "query.cursor"


async def test_only_ops_and_admins_of_the_tenant_see_a_projects_stuck_work(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    await world.items(assignment, project_id, 1)  # stuck: nobody on the roster
    url = f"/v1/projects/{project_id}/stuck"
    assert (await assignment.client.get(url)).status_code == 401
    for role in ("expert", "client"):
        assert (await assignment.client.get(url, headers=auth(role))).status_code == 403
    elsewhere = await assignment.client.get(url, headers=auth("ops", tenant="globex"))
    assert elsewhere.status_code == 404
    assert (await assignment.client.get(url, headers=auth("admin"))).status_code == 200
    missing = await assignment.client.get("/v1/projects/nope/stuck", headers=OPS)
    assert missing.status_code == 404
