"""Rosters on the real servers: invitations, not open enrollment. Ops invite, the expert
accepts or declines, ops remove; each answer moves only from the state it answers."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
import pytest_asyncio

from tests.assignment.conftest import AssignmentUnderTest
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OPS = auth("ops", subject="ops-ana")


@pytest_asyncio.fixture(scope="module")
async def project_id(assignment: AssignmentUnderTest) -> str:
    rubric_id = f"rub-{uuid.uuid4().hex[:8]}"
    made = await assignment.client.post(
        "/v1/rubrics",
        json={"rubric_id": rubric_id, "template": "image_edit_evaluation"},
        headers=OPS,
    )
    assert made.status_code == 201
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    body = {
        "project_id": project_id,
        "name": "P",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
    }
    created = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert created.status_code == 201, created.text
    return project_id


async def expert(a: AssignmentUnderTest) -> str:
    expert_id = f"exp-{uuid.uuid4().hex[:8]}"
    body = {"expert_id": expert_id, "display_name": "E"}
    assert (await a.client.post("/v1/experts", json=body, headers=OPS)).status_code == 201
    return expert_id


async def invite(a: AssignmentUnderTest, project_id: str, expert_id: str) -> Any:
    return await a.client.post(
        f"/v1/projects/{project_id}/invitations", json={"expert_id": expert_id}, headers=OPS
    )


async def states(a: AssignmentUnderTest, project_id: str) -> dict[str, str]:
    """The project's invitations, every page of them."""
    found: dict[str, str] = {}
    params: dict[str, Any] = {"limit": 3}
    while True:
        listed = await a.client.get(
            f"/v1/projects/{project_id}/invitations", params=params, headers=OPS
        )
        assert listed.status_code == 200, listed.text
        page = listed.json()
        found |= {i["expert_id"]: i["state"] for i in page["items"]}
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]


async def test_an_invited_expert_who_accepts_is_on_the_roster(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    invited = await invite(assignment, project_id, expert_id)
    assert invited.status_code == 201 and invited.json()["state"] == "invited"
    assert invited.json()["invited_by"] == "ops-ana"
    me = auth("expert", subject=expert_id)
    mine = await assignment.client.get("/v1/me/invitations", headers=me)
    assert [(i["project_id"], i["state"]) for i in mine.json()["items"]] == [
        (project_id, "invited")
    ]
    accepted = await assignment.client.post(f"/v1/me/invitations/{project_id}/accept", headers=me)
    assert accepted.status_code == 200 and accepted.json()["answered_at"]
    assert (await states(assignment, project_id))[expert_id] == "accepted"


async def test_a_declined_invitation_cannot_be_accepted_later_but_ops_may_invite_again(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    me = auth("expert", subject=expert_id)
    await invite(assignment, project_id, expert_id)
    declined = await assignment.client.post(f"/v1/me/invitations/{project_id}/decline", headers=me)
    assert declined.json()["state"] == "declined"
    late = await assignment.client.post(f"/v1/me/invitations/{project_id}/accept", headers=me)
    assert late.status_code == 409
    assert late.json()["detail"] == f"the invitation to {project_id} is declined: nothing to answer"
    assert (await states(assignment, project_id))[expert_id] == "declined"
    again = await invite(assignment, project_id, expert_id)
    assert again.status_code == 201
    assert (await states(assignment, project_id))[expert_id] == "invited"


async def test_inviting_someone_invited_or_on_the_roster_is_a_conflict(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    await invite(assignment, project_id, expert_id)
    assert (await invite(assignment, project_id, expert_id)).status_code == 409
    me = auth("expert", subject=expert_id)
    await assignment.client.post(f"/v1/me/invitations/{project_id}/accept", headers=me)
    assert (await invite(assignment, project_id, expert_id)).status_code == 409
    assert (await states(assignment, project_id))[expert_id] == "accepted"


async def test_concurrent_invitations_of_one_expert_make_one(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    answers = await asyncio.gather(*(invite(assignment, project_id, expert_id) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409]


async def test_only_known_active_experts_are_invited(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    unknown = await invite(assignment, project_id, "exp-nobody")
    assert unknown.status_code == 422
    assert unknown.json()["errors"] == [{"field": "body.expert_id", "message": "no such expert"}]
    gone = await expert(assignment)
    await assignment.client.post(
        f"/v1/experts/{gone}/state", json={"state": "offboarded", "reason": "left"}, headers=OPS
    )
    assert (await invite(assignment, project_id, gone)).status_code == 409
    assert "exp-nobody" not in await states(assignment, project_id)
    assert gone not in await states(assignment, project_id)


async def test_a_removed_expert_is_off_the_roster_and_their_answer_comes_too_late(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    await invite(assignment, project_id, expert_id)
    removed = await assignment.client.delete(
        f"/v1/projects/{project_id}/invitations/{expert_id}", headers=OPS
    )
    assert removed.status_code == 200 and removed.json()["state"] == "removed"
    me = auth("expert", subject=expert_id)
    late = await assignment.client.post(f"/v1/me/invitations/{project_id}/accept", headers=me)
    assert late.status_code == 409
    assert (await states(assignment, project_id))[expert_id] == "removed"
    again = await assignment.client.delete(
        f"/v1/projects/{project_id}/invitations/{expert_id}", headers=OPS
    )
    assert again.status_code == 404


async def test_an_expert_answers_only_their_own_invitations(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    invited, other = await expert(assignment), await expert(assignment)
    await invite(assignment, project_id, invited)
    stranger = auth("expert", subject=other)
    answer = await assignment.client.post(
        f"/v1/me/invitations/{project_id}/accept", headers=stranger
    )
    assert answer.status_code == 404
    elsewhere = auth("expert", tenant="globex", subject=invited)
    answer = await assignment.client.post(
        f"/v1/me/invitations/{project_id}/accept", headers=elsewhere
    )
    assert answer.status_code == 404
    assert (await states(assignment, project_id))[invited] == "invited"


async def test_invitations_to_an_unknown_project_are_not_found(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = await expert(assignment)
    assert (await invite(assignment, "p-nowhere", expert_id)).status_code == 404
    listed = await assignment.client.get("/v1/projects/p-nowhere/invitations", headers=OPS)
    assert listed.status_code == 404


async def invite_many(a: AssignmentUnderTest, project_id: str, body: dict[str, Any]) -> Any:
    return await a.client.post(
        f"/v1/projects/{project_id}/invitations:batch", json=body, headers=OPS
    )


async def test_ops_invite_many_experts_in_one_call_each_with_its_outcome(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    new, invited, on_roster, declined, gone = [await expert(assignment) for _ in range(5)]
    await invite(assignment, project_id, invited)
    for expert_id in (on_roster, declined):
        await invite(assignment, project_id, expert_id)
    me = auth("expert", subject=on_roster)
    await assignment.client.post(f"/v1/me/invitations/{project_id}/accept", headers=me)
    me = auth("expert", subject=declined)
    await assignment.client.post(f"/v1/me/invitations/{project_id}/decline", headers=me)
    await assignment.client.post(
        f"/v1/experts/{gone}/state", json={"state": "offboarded", "reason": "left"}, headers=OPS
    )
    ids = [new, invited, on_roster, declined, "exp-nobody", gone]
    made = await invite_many(assignment, project_id, {"batch_id": "b-1", "expert_ids": ids})
    assert made.status_code == 201, made.text
    batch = made.json()
    assert (batch["invited"], batch["unchanged"], batch["refused"]) == (2, 2, 2)
    assert [(r["expert_id"], r["outcome"]) for r in batch["results"]] == [
        (new, "invited"),
        (invited, "unchanged"),
        (on_roster, "unchanged"),
        (declined, "invited"),
        ("exp-nobody", "refused"),
        (gone, "refused"),
    ]
    assert batch["results"][2]["invitation"]["state"] == "accepted"
    assert batch["results"][4]["errors"] == [
        {"field": "body.expert_ids.4", "message": "no such expert"}
    ]
    assert batch["results"][5]["errors"][0]["field"] == "body.expert_ids.5"
    now = await states(assignment, project_id)
    assert [now.get(e) for e in ids] == [
        "invited",
        "invited",
        "accepted",
        "invited",
        None,
        None,
    ]


async def test_the_same_batch_again_gets_the_first_answer_and_another_body_a_conflict(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    first_expert, second_expert, third_expert = [await expert(assignment) for _ in range(3)]
    body = {"batch_id": f"b-{uuid.uuid4().hex[:6]}", "expert_ids": [first_expert, second_expert]}
    made = await invite_many(assignment, project_id, body)
    assert made.status_code == 201
    me = auth("expert", subject=first_expert)
    await assignment.client.post(f"/v1/me/invitations/{project_id}/decline", headers=me)

    again = await invite_many(assignment, project_id, body)
    assert again.status_code == 200
    assert again.json() == made.json()  # the first answer: the declined expert not invited again
    assert (await states(assignment, project_id))[first_expert] == "declined"

    swapped = await invite_many(
        assignment, project_id, {**body, "expert_ids": [first_expert, third_expert]}
    )
    assert swapped.status_code == 409
    assert [e["field"] for e in swapped.json()["errors"]] == ["body.expert_ids.1"]
    longer = await invite_many(
        assignment, project_id, {**body, "expert_ids": [*body["expert_ids"], third_expert]}
    )
    assert longer.status_code == 409
    assert [e["field"] for e in longer.json()["errors"]] == ["body.expert_ids"]
    assert third_expert not in await states(assignment, project_id)


async def test_concurrent_calls_of_one_batch_invite_once_and_answer_alike(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    ids = [await expert(assignment) for _ in range(3)]
    body = {"batch_id": f"b-{uuid.uuid4().hex[:6]}", "expert_ids": ids}
    answers = await asyncio.gather(*(invite_many(assignment, project_id, body) for _ in range(4)))
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1
    assert answers[0].json()["invited"] == 3


async def test_a_batch_naming_an_expert_twice_or_to_a_closed_or_unknown_project_invites_nobody(
    assignment: AssignmentUnderTest, project_id: str
) -> None:
    expert_id = await expert(assignment)
    twice = await invite_many(
        assignment, project_id, {"batch_id": "b-twice", "expert_ids": [expert_id, expert_id]}
    )
    assert twice.status_code == 422
    assert twice.json()["errors"] == [
        {"field": "body.expert_ids.1", "message": "this expert is named twice"}
    ]
    unknown = await invite_many(
        assignment, "p-nowhere", {"batch_id": "b-1", "expert_ids": [expert_id]}
    )
    assert unknown.status_code == 404
    closed = await closed_project(assignment)
    refused = await invite_many(assignment, closed, {"batch_id": "b-1", "expert_ids": [expert_id]})
    assert refused.status_code == 409
    assert expert_id not in await states(assignment, project_id)
    assert await states(assignment, closed) == {}


async def closed_project(a: AssignmentUnderTest) -> str:
    rubric_id = f"rub-{uuid.uuid4().hex[:8]}"
    body = {"rubric_id": rubric_id, "template": "image_edit_evaluation"}
    assert (await a.client.post("/v1/rubrics", json=body, headers=OPS)).status_code == 201
    project_id = f"p-{uuid.uuid4().hex[:8]}"
    body = {
        "project_id": project_id,
        "name": "P",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
    }
    assert (await a.client.post("/v1/projects", json=body, headers=OPS)).status_code == 201
    closed = await a.client.post(
        f"/v1/projects/{project_id}/status", json={"status": "closed"}, headers=OPS
    )
    assert closed.status_code == 200, closed.text
    return project_id
