"""A resource of every kind assignment keeps, made in tenant acme through its API and topics
only (tests/assignment/world.py): a project with a roster, items, a resolved item, gold, a
bench, calibration, live leases, feedback, a qualification set with an attempt, a draft project
with a pending invitation. The tenancy matrix names them as another tenant; the fuzzer names
them as acme's own roles."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok
from tests.kafka_helpers import eventually
from tests.service_helpers import auth

#: a key on the image-edit template: accepted, every dimension at 4
KEY = world.edit_answers("accept", point=4)
SKILL = "lang.ja"
#: texts only tenant acme wrote: another tenant must never be shown them
PROJECT_NAME = "Acme confidential edits"
FEEDBACK_TEXT = "acme-only: does preservation include the background blur?"


@dataclass(frozen=True)
class Estate:
    #: active, gold at rate 1 (each expert gets the gold item first), benching below 0.9
    project_id: str
    #: a draft, the newcomer invited to it (not answered)
    draft_project_id: str
    rubric_id: str
    gold_id: str
    set_id: str
    feedback_id: str
    #: vetted, on the roster, holds ``max_leases`` leases (one is ``lease_id``), attested
    #: ``SKILL``, enrolled in the set, gave the feedback
    holder: str
    #: vetted, on the roster, holds nothing
    spare: str
    #: vetted, on the roster, holds nothing yet; invited to the draft project (not answered)
    newcomer: str
    #: judged the gold item wrong: benched from the project, with calibration
    benched: str
    #: judged the gold item right, then ``resolved_item``
    judge: str
    resolved_item: str
    lease_id: str
    unit_id: str
    leased_item: str
    open_items: tuple[str, ...]

    @property
    def ids(self) -> set[str]:
        """Every id of the tenant's resources (skill ids and versions are vocabulary)."""
        return {
            self.project_id,
            self.draft_project_id,
            self.rubric_id,
            self.gold_id,
            self.set_id,
            self.feedback_id,
            self.holder,
            self.spare,
            self.newcomer,
            self.benched,
            self.judge,
            self.resolved_item,
            self.lease_id,
            self.unit_id,
            self.leased_item,
            *self.open_items,
        }

    @property
    def markers(self) -> set[str]:
        """What only the tenant wrote: its ids and its texts."""
        return {*self.ids, PROJECT_NAME, FEEDBACK_TEXT}


async def seed_estate(a: AssignmentUnderTest, *, items: int = 12, max_leases: int = 3) -> Estate:
    """Every kind of resource, in tenant acme; ``items`` open items beside the ones judged."""
    project_id = await world.project(
        a, name=PROJECT_NAME, gold_rate=1.0, calibration={"floor": 0.9, "min_count": 1}
    )
    project = await ok(await a.client.get(f"/v1/projects/{project_id}", headers=OPS))
    gold = await world.gold(a, project_id, KEY)
    open_items = await world.items(a, project_id, items + 2)

    benched = await world.expert(a, projects=(project_id,))
    await world.judge(a, benched, world.edit_answers("reject"))  # the gold item, wrong

    async def bench_landed() -> bool:  # it follows the gold score
        found = await ok(await a.client.get(f"/v1/projects/{project_id}/benches", headers=OPS))
        return [b["expert_id"] for b in found["items"]] == [benched]

    await eventually(bench_landed)
    judge = await world.expert(a, projects=(project_id,))
    await world.judge(a, judge, KEY)  # the gold item, right
    resolved = await world.judge(a, judge, world.edit_answers("accept", point=4))

    async def settled() -> bool:
        return (await world.known(a, resolved["item_id"]) or {}).get("resolution") is not None

    await eventually(settled)

    holder = await world.expert(a, projects=(project_id,), skills={SKILL: 3}, max_leases=max_leases)
    held = [await world.next_unit(a, holder) for _ in range(max_leases)]
    assert all(held), f"the holder got {held}"
    ordinary = [h for h in held if h["item_id"] in open_items]
    lease = ordinary[0] if ordinary else held[0]
    feedback = {
        "submission_id": uuid.uuid4().hex,
        "about": "rubric",
        "kind": "unclear_guideline",
        "text": FEEDBACK_TEXT,
    }
    given = await ok(
        await a.client.post(
            f"/v1/units/{lease['unit_id']}/feedback",
            json=feedback,
            headers=auth("expert", subject=holder),
        ),
        201,
    )
    set_id = world.short_id("qs")
    qualification = {
        "set_id": set_id,
        "name": "Image edits, level 3",
        "skill": "task.image_edit_eval",
        "level": 3,
        "modality": "image",
        "rubric": {"rubric_id": await world.rubric(a), "version": 1},
        "threshold": 0.6,
        "items": [{"media": world.image(f"{set_id}-{i}"), "key": KEY} for i in range(2)],
    }
    await ok(await a.client.post("/v1/qualifications", json=qualification, headers=OPS), 201)
    await ok(
        await a.client.post(
            f"/v1/experts/{holder}/qualifications", json={"set_id": set_id}, headers=OPS
        ),
        201,
    )
    spare = await world.expert(a, projects=(project_id,))
    newcomer = await world.expert(a, projects=(project_id,))
    draft = await world.project(a, status="draft")
    await ok(
        await a.client.post(
            f"/v1/projects/{draft}/invitations", json={"expert_id": newcomer}, headers=OPS
        ),
        201,
    )
    taken = {h["item_id"] for h in held} | {resolved["item_id"]}
    return Estate(
        project_id=project_id,
        draft_project_id=draft,
        rubric_id=project["rubric"]["rubric_id"],
        gold_id=gold["gold_id"],
        set_id=set_id,
        feedback_id=given["feedback_id"],
        holder=holder,
        spare=spare,
        newcomer=newcomer,
        benched=benched,
        judge=judge,
        resolved_item=resolved["item_id"],
        lease_id=lease["lease_id"],
        unit_id=lease["unit_id"],
        leased_item=lease["item_id"],
        open_items=tuple(i for i in open_items if i not in taken),
    )


def bodies(e: Estate, lease_id: str | None = None) -> dict[str, Any]:
    """A valid body for each operation that takes one, naming the estate's resources (the
    holder's lease ``lease_id``, by default the estate's)."""
    return {
        "POST /v1/experts": {
            "expert_id": e.holder,
            "display_name": "Eve",
            "capacity": {"max_leases": 1},
        },
        "PATCH /v1/experts/{expert_id}": {"display_name": "Eve"},
        "POST /v1/experts/{expert_id}/state": {"state": "suspended", "reason": "r"},
        "PUT /v1/experts/{expert_id}/skills/{skill_id}": {"level": 5, "note": "n"},
        "POST /v1/rubrics": {"rubric_id": e.rubric_id, "template": "image_edit_evaluation"},
        "POST /v1/rubrics/{rubric_id}/versions": {"definition": {"name": "n"}},
        "POST /v1/projects": {
            "project_id": e.project_id,
            "name": "Edits",
            "modality": "image",
            "rubric": {"rubric_id": e.rubric_id},
        },
        "PATCH /v1/projects/{project_id}": {"name": "Q"},
        "POST /v1/projects/{project_id}/status": {"status": "paused"},
        "POST /v1/projects/{project_id}/invitations": {"expert_id": e.spare},
        "POST /v1/projects/{project_id}/invitations:batch": {
            "batch_id": world.short_id("batch"),
            "expert_ids": [e.spare, e.judge],
        },
        "POST /v1/me/leases/{lease_id}/release": {"reason": "skip"},
        "POST /v1/experts/{expert_id}/leases/{lease_id}/release": {"reason": "skip"},
        "POST /v1/units/{unit_id}/judgments": {
            "submission_id": uuid.uuid4().hex,
            "lease_id": lease_id or e.lease_id,
            "answers": world.edit_answers(),
        },
        "POST /v1/projects/{project_id}/gold": {
            "gold_id": world.short_id("gold"),
            "media": world.image("another"),
            "key": KEY,
        },
        "PATCH /v1/projects/{project_id}/gold/{gold_id}": {"active": False},
        "POST /v1/projects/{project_id}/benches/{expert_id}/reinstate": {"reason": "r"},
        "POST /v1/units/{unit_id}/feedback": {
            "submission_id": uuid.uuid4().hex,
            "about": "rubric",
            "kind": "other",
            "text": "t",
        },
        "POST /v1/feedback/{feedback_id}/resolve": {"note": "n"},
        "POST /v1/qualifications": {
            "set_id": e.set_id,
            "name": "Q",
            "skill": "task.image_edit_eval",
            "level": 2,
            "modality": "image",
            "rubric": {"rubric_id": e.rubric_id, "version": 1},
            "threshold": 0.5,
            "items": [{"media": world.image("q"), "key": KEY}],
        },
        "PATCH /v1/qualifications/{set_id}": {"active": False},
        "POST /v1/experts/{expert_id}/qualifications": {"set_id": e.set_id},
        "POST /v1/items/{item_id}/override": {
            "answers": world.edit_answers("reject", point=2),
            "reason": "r",
        },
        "POST /v1/items/{item_id}/send-back": {"reason": "r"},
    }
