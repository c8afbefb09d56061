"""Experts on the real servers: invited by ops, moved through vetting with an audit trail,
skills attested; every answer checked against what is stored afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from tests.assignment.conftest import AssignmentUnderTest
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OPS = auth("ops", subject="ops-ana")


def new_id() -> str:
    return f"exp-{uuid.uuid4().hex[:10]}"


async def invite(a: AssignmentUnderTest, expert_id: str, **fields: Any) -> dict[str, Any]:
    body = {"expert_id": expert_id, "display_name": "Kenji Sato", **fields}
    response = await a.client.post("/v1/experts", json=body, headers=OPS)
    assert response.status_code == 201, response.text
    return response.json()


async def stored(a: AssignmentUnderTest, expert_id: str) -> dict[str, Any]:
    response = await a.client.get(f"/v1/experts/{expert_id}", headers=OPS)
    assert response.status_code == 200, response.text
    return response.json()


async def move(a: AssignmentUnderTest, expert_id: str, state: str, reason: str = "ok") -> Any:
    return await a.client.post(
        f"/v1/experts/{expert_id}/state", json={"state": state, "reason": reason}, headers=OPS
    )


async def test_an_invited_expert_starts_invited_with_who_invited_them(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    created = await invite(
        assignment,
        expert_id,
        languages=["ja", "en"],
        timezone="Asia/Tokyo",
        capacity={"max_leases": 4, "hours_per_week": 12},
    )
    assert created["state"] == "invited"
    assert created["capacity"] == {"max_leases": 4, "hours_per_week": 12}
    [entry] = created["history"]
    assert (entry["from_state"], entry["to_state"], entry["by"]) == (None, "invited", "ops-ana")
    assert await stored(assignment, expert_id) == created


async def test_onboarding_a_known_expert_with_another_body_is_a_conflict_naming_each_field(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    first = await invite(assignment, expert_id, capacity={"max_leases": 2})
    again = await assignment.client.post(
        "/v1/experts",
        json={"expert_id": expert_id, "display_name": "Other", "capacity": {"max_leases": 4}},
        headers=OPS,
    )
    assert again.status_code == 409
    assert again.json()["errors"] == [
        {
            "field": "body.display_name",
            "message": 'differs from the first request with this id: "Kenji Sato"',
        },
        {
            "field": "body.capacity.max_leases",
            "message": "differs from the first request with this id: 2",
        },
    ]
    assert await stored(assignment, expert_id) == first


async def test_onboarding_is_one_call_with_skills_their_proof_and_the_state_moves_recorded(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    body = {
        "expert_id": expert_id,
        "display_name": "Kenji Sato",
        "languages": ["ja"],
        "skills": [
            {"skill": "modality.video", "level": 4, "note": "ten years of broadcast QA"},
            {"skill": "lang.ja", "level": 5, "note": "native speaker, JLPT N1 examiner"},
        ],
        "state": "vetted",
        "reason": "screened by the partner agency",
    }
    created = await assignment.client.post("/v1/experts", json=body, headers=OPS)
    assert created.status_code == 201, created.text
    expert = created.json()
    assert expert["state"] == "vetted"
    assert [(e["from_state"], e["to_state"], e["reason"]) for e in expert["history"]] == [
        (None, "invited", "invited"),
        ("invited", "vetting", "screened by the partner agency"),
        ("vetting", "vetted", "screened by the partner agency"),
    ]
    assert [(s["skill"], s["level"], s["verified"]["note"]) for s in expert["skills"]] == [
        ("lang.ja", 5, "native speaker, JLPT N1 examiner"),
        ("modality.video", 4, "ten years of broadcast QA"),
    ]
    assert {s["verified"]["method"] for s in expert["skills"]} == {"attestation"}
    assert {s["verified"]["by"] for s in expert["skills"]} == {"ops-ana"}
    assert await stored(assignment, expert_id) == expert

    again = await assignment.client.post("/v1/experts", json=body, headers=OPS)
    assert again.status_code == 200, again.text
    assert again.json() == expert
    # the same body after the expert changed: the expert as stored now
    await assignment.client.patch(
        f"/v1/experts/{expert_id}", json={"timezone": "Asia/Tokyo"}, headers=OPS
    )
    later = await assignment.client.post("/v1/experts", json=body, headers=OPS)
    assert later.status_code == 200
    assert later.json() == await stored(assignment, expert_id)
    assert later.json()["timezone"] == "Asia/Tokyo"

    other = {**body, "skills": [{**body["skills"][0], "level": 3}, body["skills"][1]]}
    conflict = await assignment.client.post("/v1/experts", json=other, headers=OPS)
    assert conflict.status_code == 409
    assert [e["field"] for e in conflict.json()["errors"]] == ["body.skills.0.level"]


async def test_concurrent_onboardings_of_one_expert_make_one(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    body = {"expert_id": expert_id, "display_name": "K", "state": "vetting", "reason": "r"}
    answers = await asyncio.gather(
        *(assignment.client.post("/v1/experts", json=body, headers=OPS) for _ in range(4))
    )
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({json.dumps(a.json(), sort_keys=True) for a in answers}) == 1


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"state": "vetted"}, "reason"),
        ({"state": "suspended", "reason": "r"}, "state"),
        (
            {
                "skills": [
                    {"skill": "lang.ja", "level": 3, "note": "n"},
                    {"skill": "lang.ja", "level": 4, "note": "n"},
                ]
            },
            "skills.1.skill",
        ),
        ({"skills": [{"skill": "lang.ja", "level": 3}]}, "skills.0.note"),
        ({"skills": [{"skill": "Lang", "level": 3, "note": "n"}]}, "skills.0.skill"),
    ],
)
async def test_a_bad_onboarding_names_its_field_and_stores_nothing(
    assignment: AssignmentUnderTest, fields: dict[str, Any], where: str
) -> None:
    expert_id = new_id()
    body = {"expert_id": expert_id, "display_name": "K", **fields}
    response = await assignment.client.post("/v1/experts", json=body, headers=OPS)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == [f"body.{where}"]
    missing = await assignment.client.get(f"/v1/experts/{expert_id}", headers=OPS)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"languages": ["Japanese"]}, "languages.0"),
        ({"capacity": {"max_leases": 0}}, "capacity.max_leases"),
        ({"display_name": "  "}, "display_name"),
        ({"role": "admin"}, "role"),
    ],
)
async def test_a_bad_invitation_names_its_field_and_stores_nothing(
    assignment: AssignmentUnderTest, fields: dict[str, Any], where: str
) -> None:
    expert_id = new_id()
    body = {"expert_id": expert_id, "display_name": "K", **fields}
    response = await assignment.client.post("/v1/experts", json=body, headers=OPS)
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [f"body.{where}"]
    missing = await assignment.client.get(f"/v1/experts/{expert_id}", headers=OPS)
    assert missing.status_code == 404


async def test_vetting_moves_are_recorded_with_who_when_and_why(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    for state, reason in [
        ("vetting", "accepted the invitation"),
        ("vetted", "passed qualification"),
        ("suspended", "missed three deadlines"),
        ("vetted", "back after a talk"),
    ]:
        response = await move(assignment, expert_id, state, reason)
        assert response.status_code == 200, response.text
    expert = await stored(assignment, expert_id)
    assert expert["state"] == "vetted"
    assert [(h["from_state"], h["to_state"], h["reason"]) for h in expert["history"]] == [
        (None, "invited", "invited"),
        ("invited", "vetting", "accepted the invitation"),
        ("vetting", "vetted", "passed qualification"),
        ("vetted", "suspended", "missed three deadlines"),
        ("suspended", "vetted", "back after a talk"),
    ]
    assert {h["by"] for h in expert["history"]} == {"ops-ana"}
    assert expert["revision"] == 5


async def test_a_move_the_vetting_rules_forbid_is_a_conflict_that_changes_nothing(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    before = await invite(assignment, expert_id)
    skipped = await move(assignment, expert_id, "vetted")
    assert skipped.status_code == 409
    assert skipped.json()["errors"] == [
        {
            "field": "body.state",
            "message": "an expert in invited cannot move to vetted; from invited: "
            "offboarded, vetting",
        }
    ]
    assert (await move(assignment, expert_id, "offboarded")).status_code == 200
    final = await move(assignment, expert_id, "vetting")
    assert final.status_code == 409
    assert "offboarded is final" in final.json()["detail"]
    after = await stored(assignment, expert_id)
    assert [h["to_state"] for h in after["history"]] == ["invited", "offboarded"]
    assert after["revision"] == before["revision"] + 1


async def test_a_move_needs_a_reason(assignment: AssignmentUnderTest) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    response = await move(assignment, expert_id, "vetting", reason=" ")
    assert response.status_code == 422
    assert (await stored(assignment, expert_id))["state"] == "invited"


async def test_an_attested_skill_records_its_level_who_and_why_and_replaces_the_last(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    url = f"/v1/experts/{expert_id}/skills/task.av_sync"
    for level in (2, 4):
        body = {"level": level, "note": "reviewed their portfolio"}
        response = await assignment.client.put(url, json=body, headers=OPS)
        assert response.status_code == 200, response.text
    other = {"level": 3, "note": "native speaker"}
    response = await assignment.client.put(
        f"/v1/experts/{expert_id}/skills/lang.ja", json=other, headers=OPS
    )
    skills = (await stored(assignment, expert_id))["skills"]
    assert [(s["skill"], s["level"]) for s in skills] == [("lang.ja", 3), ("task.av_sync", 4)]
    proof = skills[1]["verified"]
    assert (proof["method"], proof["by"], proof["note"]) == (
        "attestation",
        "ops-ana",
        "reviewed their portfolio",
    )


@pytest.mark.parametrize(
    ("skill", "level"), [("Task.Video", 3), ("task", 3), ("task.detection", 6)]
)
async def test_a_bad_skill_or_level_is_refused_and_nothing_is_granted(
    assignment: AssignmentUnderTest, skill: str, level: int
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    response = await assignment.client.put(
        f"/v1/experts/{expert_id}/skills/{skill}",
        json={"level": level, "note": "n"},
        headers=OPS,
    )
    assert response.status_code == 422
    assert (await stored(assignment, expert_id))["skills"] == []


async def test_a_withdrawn_skill_is_gone_and_an_unknown_one_is_not_found(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    url = f"/v1/experts/{expert_id}/skills/domain.clinical"
    await assignment.client.put(url, json={"level": 5, "note": "MD"}, headers=OPS)
    assert (await assignment.client.delete(url, headers=OPS)).status_code == 200
    assert (await stored(assignment, expert_id))["skills"] == []
    again = await assignment.client.delete(url, headers=OPS)
    assert again.status_code == 404


async def test_a_profile_change_keeps_what_it_does_not_name(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id, languages=["en"], timezone="Europe/Berlin")
    response = await assignment.client.patch(
        f"/v1/experts/{expert_id}", json={"capacity": {"max_leases": 8}}, headers=OPS
    )
    assert response.status_code == 200, response.text
    expert = await stored(assignment, expert_id)
    assert expert["capacity"] == {"max_leases": 8, "hours_per_week": 20}
    assert (expert["languages"], expert["timezone"]) == (["en"], "Europe/Berlin")


async def test_concurrent_edits_of_one_expert_all_land(assignment: AssignmentUnderTest) -> None:
    import asyncio

    expert_id = new_id()
    await invite(assignment, expert_id)
    skills = [f"lang.l{i}" for i in range(6)]
    answers = await asyncio.gather(
        *(
            assignment.client.put(
                f"/v1/experts/{expert_id}/skills/{s}", json={"level": 2, "note": "n"}, headers=OPS
            )
            for s in skills
        )
    )
    assert [a.status_code for a in answers] == [200] * len(skills)
    expert = await stored(assignment, expert_id)
    assert sorted(s["skill"] for s in expert["skills"]) == skills
    assert expert["revision"] == 1 + len(skills)


async def test_experts_are_listed_by_id_in_pages_and_by_state(
    assignment: AssignmentUnderTest,
) -> None:
    prefix = f"list-{uuid.uuid4().hex[:6]}"
    ids = [f"{prefix}-{i}" for i in range(5)]
    for expert_id in ids:
        await invite(assignment, expert_id)
    await move(assignment, ids[1], "vetting")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await assignment.client.get("/v1/experts", params=params, headers=OPS)).json()
        seen += [e["expert_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [s for s in seen if s.startswith(prefix)] == ids
    assert seen == sorted(seen)
    vetting = await assignment.client.get(
        "/v1/experts", params={"state": "vetting", "limit": 200}, headers=OPS
    )
    assert ids[1] in [e["expert_id"] for e in vetting.json()["items"]]
    assert ids[0] not in [e["expert_id"] for e in vetting.json()["items"]]


async def test_an_expert_reads_their_own_profile_and_no_other(
    assignment: AssignmentUnderTest,
) -> None:
    expert_id = new_id()
    await invite(assignment, expert_id)
    mine = await assignment.client.get("/v1/me", headers=auth("expert", subject=expert_id))
    assert mine.status_code == 200 and mine.json()["expert_id"] == expert_id
    stranger = await assignment.client.get("/v1/me", headers=auth("expert", subject=new_id()))
    assert stranger.status_code == 404
    elsewhere = await assignment.client.get(
        "/v1/me", headers=auth("expert", tenant="globex", subject=expert_id)
    )
    assert elsewhere.status_code == 404
