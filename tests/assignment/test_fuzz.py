"""Schemathesis against the assignment service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py). Each case goes as a role
its operation admits, on an estate of every kind of resource (tests/assignment/estate.py): an
expert's cases reach work:next, heartbeats, releases, judgments and feedback on a lease they
hold at that moment, ops' cases reach resolved items, gold, benches, feedback, sets."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.estate import SKILL, bodies, seed_estate
from tests.assignment.world import OPS
from tests.fuzzing import EXAMPLES, FRESH, FuzzEstate, fuzz_tests, reach_test
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

#: the holder's live lease and its unit, as they are when a case is sent
LIVE_LEASE, LIVE_UNIT = "@live-lease", "@live-unit"


async def _seed(base_url: str, settings: AssignmentSettings, app: FastAPI) -> Any:
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        # releases and judgments use the holder's items up: enough for every case
        return await seed_estate(
            AssignmentUnderTest(client, settings, app), items=60 + 3 * EXAMPLES
        )


def estate(base_url: str, settings: AssignmentSettings, app: FastAPI) -> FuzzEstate:
    """Assignment's estate for the fuzzer. The experts whose tokens it sends (the holder and
    the newcomer) and the project they work on are never the ones of operations that would
    spoil them (a suspension, a pause, a removal from the roster): those get others."""
    with ThreadPoolExecutor(1) as pool:  # its own event loop, beside pytest's
        e = pool.submit(asyncio.run, _seed(base_url, settings, app)).result()
    last = {LIVE_LEASE: e.lease_id, LIVE_UNIT: e.unit_id}
    known: dict[str, str] = {}

    def live() -> dict[str, str]:
        """A lease the holder holds now (after they asked for work to fill their capacity); the
        last one known when they hold none. Looked up again once a case may have used it."""
        if known:
            return dict(known)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            client.post("/v1/work:next", headers=auth("expert", subject=e.holder))
            found = client.get("/v1/leases", params={"limit": 200}, headers=OPS).json()
        mine = sorted(
            (lease for lease in found["items"] if lease["expert_id"] == e.holder),
            key=lambda lease: lease["lease_id"],
        )
        if mine and mine[0]["unit_id"]:
            last.update({LIVE_LEASE: mine[0]["lease_id"], LIVE_UNIT: mine[0]["unit_id"]})
            known.update(last)
        return dict(last)

    others = [e.spare, e.benched, e.judge]
    valid = bodies(e, lease_id=LIVE_LEASE)
    fresh = {
        "POST /v1/experts": {"expert_id": FRESH},
        "POST /v1/rubrics": {"rubric_id": FRESH},
        "POST /v1/projects": {"project_id": FRESH},
        "POST /v1/qualifications": {"set_id": FRESH},
        "POST /v1/projects/{project_id}/gold": {"gold_id": FRESH},
        "POST /v1/projects/{project_id}/invitations:batch": {"batch_id": FRESH},
        "POST /v1/units/{unit_id}/judgments": {"submission_id": FRESH},
        "POST /v1/units/{unit_id}/feedback": {"submission_id": FRESH},
    }
    for operation, fields in fresh.items():
        valid[operation] = {**valid[operation], **fields}
    return FuzzEstate(
        subjects={"expert": [e.holder, e.newcomer, "nobody"]},
        values={
            "project_id": [e.project_id, e.draft_project_id],
            "expert_id": [e.holder, *others],
            "item_id": [e.resolved_item, e.leased_item, e.open_items[0]],
            "unit_id": [LIVE_UNIT],
            "lease_id": [LIVE_LEASE],
            "gold_id": [e.gold_id],
            "set_id": [e.set_id],
            "feedback_id": [e.feedback_id],
            "rubric_id": [e.rubric_id],
            "version": [1],
            "skill_id": [SKILL],
        },
        only={
            "POST /v1/experts/{expert_id}/state": {"expert_id": others},
            "PATCH /v1/experts/{expert_id}": {"expert_id": others},
            "DELETE /v1/projects/{project_id}/invitations/{expert_id}": {"expert_id": others},
            "POST /v1/projects/{project_id}/status": {"project_id": [e.draft_project_id]},
            "PATCH /v1/projects/{project_id}": {"project_id": [e.draft_project_id]},
            "POST /v1/projects/{project_id}/benches/{expert_id}/reinstate": {
                "project_id": [e.project_id],
                "expert_id": [e.benched],
            },
        },
        bodies={operation: [body] for operation, body in valid.items()},
        tokens=frozenset(last),
        live=live,
        spent=known.clear,
    )


base_url, test_every_operation_answers_as_documented = fuzz_tests(
    create_app, AssignmentSettings, estate
)
test_each_role_an_operation_admits_got_past_its_role_check = reach_test(
    create_app, AssignmentSettings
)
