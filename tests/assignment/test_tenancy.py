"""Another tenant cannot reach tenant acme's resources, on every operation of assignment's
OpenAPI document. A resource of every kind is seeded in acme (tests/assignment/estate.py:
projects, rubrics, gold, a qualification set and attempt, feedback, live leases, a bench,
calibration, progress, the ledger, items, experts, invitations); then each role of another
tenant calls each operation naming acme's resources (path, query and body; its experts' tokens
carry the subject of acme's expert) and:

* gets the answer the same call gets when the ids it names exist nowhere (so it cannot tell
  that they exist), never a 5xx, and never a success on a resource its path names;
* is shown none of acme's ids or texts it did not send (lists included; its tokens' subject
  is its own);
* changes none of acme's resources and publishes nothing.

The operations come from the OpenAPI document, so a new one is checked too; one whose
parameters or body the estate cannot fill fails the structural test below until it is taught.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.auth.principal import Role
from tests.access import Operation, operations_of
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.estate import SKILL, Estate, bodies, seed_estate
from tests.assignment.world import OPS
from tests.kafka_helpers import published_offsets
from tests.service_helpers import auth

OPERATIONS = operations_of(create_app(AssignmentSettings(environment="test")))

#: the estate's resource each parameter (path or query) names
NAMES: dict[str, Callable[[Estate], str]] = {
    "project_id": lambda e: e.project_id,
    "expert_id": lambda e: e.holder,
    "item_id": lambda e: e.resolved_item,
    "unit_id": lambda e: e.unit_id,
    "lease_id": lambda e: e.lease_id,
    "gold_id": lambda e: e.gold_id,
    "set_id": lambda e: e.set_id,
    "feedback_id": lambda e: e.feedback_id,
    "rubric_id": lambda e: e.rubric_id,
    "version": lambda e: "1",
    "skill_id": lambda e: SKILL,
}
_ROT = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "bcdefghijklmnopqrstuvwxyzaBCDEFGHIJKLMNOPQRSTUVWXYZA1234567890",
)


def nowhere(text: str, ids: set[str]) -> str:
    """``text`` with each of acme's ids in it replaced by one of the same shape that exists
    in no tenant (every letter and digit rotated)."""
    for found in sorted(ids, key=len, reverse=True):
        text = text.replace(found, found.translate(_ROT))
    return text


def other_tenant(operation: Operation) -> str:
    """A tenant of the operation's own: what one operation's calls create there (an expert
    onboarded under acme's expert id) never meets another operation's."""
    return "other-" + hashlib.sha256(str(operation).encode()).hexdigest()[:12]


def request_of(operation: Operation, estate: Estate) -> dict[str, Any]:
    """The operation's call naming acme's resources: every path parameter, every query
    parameter the estate names (optional ones too: the filters of lists), the body."""
    path = operation.path
    for name in operation.path_params:
        path = path.replace(f"{{{name}}}", NAMES[name](estate))
    params = {
        p["name"]: NAMES[p["name"]](estate)
        for p in operation.spec.get("parameters", [])
        if p["in"] == "query" and p["name"] in NAMES
    }
    request: dict[str, Any] = {"method": operation.method, "url": path, "params": params}
    if "requestBody" in operation.spec:
        request["json"] = bodies(estate)[str(operation)]
    return request


def reads(estate: Estate) -> list[str]:
    """What acme's ops read of the estate: unchanged by another tenant's calls."""
    e = estate
    return [
        f"/v1/projects/{e.project_id}",
        f"/v1/projects/{e.draft_project_id}",
        f"/v1/projects/{e.project_id}/progress",
        f"/v1/projects/{e.project_id}/gold",
        f"/v1/projects/{e.project_id}/invitations",
        f"/v1/projects/{e.draft_project_id}/invitations",
        f"/v1/projects/{e.project_id}/benches",
        f"/v1/items/{e.resolved_item}",
        f"/v1/items/{e.leased_item}",
        f"/v1/experts/{e.holder}",
        f"/v1/experts/{e.holder}/qualifications",
        f"/v1/experts/{e.benched}/calibration",
        f"/v1/rubrics/{e.rubric_id}",
        f"/v1/qualifications/{e.set_id}",
        "/v1/leases",
        "/v1/feedback",
    ]


async def read_back(client: httpx.AsyncClient, estate: Estate) -> dict[str, Any]:
    state = {}
    for url in reads(estate):
        response = await client.get(url, headers=OPS)
        state[url] = (response.status_code, response.json())
    return state


@pytest_asyncio.fixture(scope="module")
async def estate(assignment: AssignmentUnderTest) -> Estate:
    return await seed_estate(assignment)


def test_the_estate_names_every_parameter_and_body_of_every_operation() -> None:
    """Structural: an operation the tenancy matrix cannot call on acme's resources (a new path
    or required query parameter, a new body) fails here until the estate names it."""
    fields = {f: f"x-{f}" for f in Estate.__dataclass_fields__ if f != "open_items"}
    sample = Estate(**fields, open_items=())
    known = bodies(sample)
    missing = []
    for operation in OPERATIONS:
        missing += [f"{operation}: parameter {n}" for n in operation.names if n not in NAMES]
        if "requestBody" in operation.spec and str(operation) not in known:
            missing.append(f"{operation}: a body")
    stale = set(known) - {str(o) for o in OPERATIONS}
    assert not missing, "teach tests/assignment/estate.py and NAMES: " + "; ".join(missing)
    assert not stale, f"bodies of operations that no longer exist: {sorted(stale)}"


@pytest.mark.integration
@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_another_tenant_cannot_tell_acmes_resources_from_none_nor_see_or_change_them(
    assignment: AssignmentUnderTest, estate: Estate, operation: Operation
) -> None:
    client = assignment.client
    tenant = other_tenant(operation)
    request = request_of(operation, estate)
    sent = json.dumps(request)
    unknown = json.loads(nowhere(sent, estate.ids))
    before = await read_back(client, estate)
    offsets = await published_offsets(assignment.settings)
    breaches: list[str] = []
    succeeded = False
    for role in Role:
        caller = auth(role.value, tenant=tenant, subject=estate.holder)
        answer = await client.request(**request, headers=caller)
        stranger = auth(role.value, tenant=tenant, subject=estate.holder.translate(_ROT))
        baseline = await client.request(**unknown, headers=stranger)
        status = answer.status_code
        succeeded = succeeded or answer.is_success
        if status >= 500 or status == 401:
            breaches.append(f"{role.value}: {status} {answer.text[:300]}")
        if status != baseline.status_code:
            breaches.append(
                f"{role.value}: {status} on acme's ids, {baseline.status_code} on ids that "
                f"exist nowhere: {answer.text[:300]}"
            )
        if operation.path_params and operation.roles and answer.is_success:
            breaches.append(f"{role.value}: {status} on acme's {operation.path_params}")
        if operation.path_params and status == 422:
            breaches.append(f"{role.value}: 422, the estate's body does not reach the lookup")
        shown = {m for m in estate.markers - {estate.holder} if m in answer.text and m not in sent}
        if shown:
            breaches.append(f"{role.value}: shown acme's {sorted(shown)}: {answer.text[:300]}")
    if await read_back(client, estate) != before:
        breaches.append("another tenant's calls changed acme's resources")
    if not succeeded and await published_offsets(assignment.settings) != offsets:
        breaches.append("another tenant's refused calls published events")
    assert not breaches, f"{operation} as tenant {tenant}: " + "; ".join(breaches)
