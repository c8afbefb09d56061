"""The per-judgment export: a client gets every judgment of its items, each judge under a
pseudonym stable within the project and never their identity; gold copies never appear. And
the project key behind pseudonyms and draws: made once, kept, shared by every replica."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.assignment.pseudonyms import pseudonym
from services.assignment.stores.secrets import ProjectSecrets
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.test_effective_labels import (
    PRELABELS,
    answers,
    handed_and_judged,
    judged,
    labelled_project,
    prelabelled,
)
from tests.assignment.world import ok
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

CLIENT = auth("client", subject="client-app")


async def export(a: AssignmentUnderTest, project_id: str, headers: dict[str, str]) -> Any:
    return await a.client.get(f"/v1/projects/{project_id}/judgments/export", headers=headers)


def lines(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in response.text.splitlines()]


async def test_a_client_exports_every_judgment_under_pseudonyms_stable_across_its_items(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment, overlap={"k": 2})
    first = await world.expert(assignment, projects=(project_id,))
    second = await world.expert(assignment, projects=(project_id,))
    items = [await prelabelled(assignment, project_id, taxonomy) for _ in range(2)]
    for _ in items:  # the judges disagree: the items wait for adjudication, judged all the same
        await ok(await judged(assignment, first, answers("accept")), 201)
        await ok(await judged(assignment, second, answers("reject")), 201)

    response = await export(assignment, project_id, CLIENT)
    got = lines(response)
    assert first not in response.text and second not in response.text
    assert sorted({line["item_id"] for line in got}) == sorted(items)
    assert len(got) == 4 and {line["kind"] for line in got} == {"review"}
    judges = {line["judge"] for line in got}
    assert len(judges) == 2 and all(j.startswith("judge-") for j in judges)
    for item_id in items:
        on_item = {line["verdict"]: line for line in got if line["item_id"] == item_id}
        # each judge judged both items: one pseudonym per judge across the project
        assert {on_item["accept"]["judge"], on_item["reject"]["judge"]} == judges
        # what the accept stands for: the item's pre-labels; the reject: none
        assert [label["class_id"] for label in on_item["accept"]["labels"]] == [
            label["class_id"] for label in PRELABELS["labels"]
        ]
        assert on_item["reject"]["labels"] == []
        assert on_item["reject"]["justification"]
    accept_judges = {line["judge"] for line in got if line["verdict"] == "accept"}
    assert len(accept_judges) == 1  # the same expert accepted both


async def test_ops_export_the_same_lines_and_another_tenant_or_an_expert_cannot(
    assignment: AssignmentUnderTest,
) -> None:
    project_id, taxonomy = await labelled_project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await prelabelled(assignment, project_id, taxonomy)
    await ok(await judged(assignment, expert_id, answers("accept")), 201)
    assert lines(await export(assignment, project_id, world.OPS)) == lines(
        await export(assignment, project_id, CLIENT)
    )
    elsewhere = await export(assignment, project_id, auth("client", tenant="globex"))
    assert elsewhere.status_code == 404
    assert elsewhere.headers["content-type"] == "application/problem+json"
    expert = await export(assignment, project_id, auth("expert", subject=expert_id))
    assert expert.status_code == 403
    missing = await export(assignment, "no-such-project", CLIENT)
    assert missing.status_code == 404


async def test_one_expert_has_unrelated_pseudonyms_in_two_projects(
    assignment: AssignmentUnderTest,
) -> None:
    one, taxonomy_one = await labelled_project(assignment)
    two, taxonomy_two = await labelled_project(assignment)
    expert_id = await world.expert(assignment, projects=(one, two))
    await prelabelled(assignment, one, taxonomy_one)
    await ok(await judged(assignment, expert_id, answers("accept")), 201)
    await prelabelled(assignment, two, taxonomy_two)
    await ok(await judged(assignment, expert_id, answers("accept")), 201)
    [in_one] = lines(await export(assignment, one, CLIENT))
    [in_two] = lines(await export(assignment, two, CLIENT))
    assert in_one["judge"] != in_two["judge"]


async def test_gold_copies_never_appear_in_the_export(assignment: AssignmentUnderTest) -> None:
    project_id, taxonomy = await labelled_project(assignment, gold_rate=0.5)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.gold(assignment, project_id, answers("accept"), prelabels=PRELABELS)
    await world.gold(assignment, project_id, answers("accept"), prelabels=PRELABELS)
    # gold stands in for ordinary units: at a rate of 1/2, both gold items come within the
    # first four units, while ordinary ones are open; then the rest of the ordinary ones
    items = {await prelabelled(assignment, project_id, taxonomy) for _ in range(4)}
    gold_served = 0
    for _ in range(6):
        handed, response = await _judge_next(assignment, expert_id)
        await ok(response, 201)
        gold_served += (await world.item_of(assignment, handed)).get("gold_id") is not None
    assert gold_served == 2
    assert await world.next_unit(assignment, expert_id) is None
    got = lines(await export(assignment, project_id, CLIENT))
    assert {line["item_id"] for line in got} == items


async def _judge_next(a: AssignmentUnderTest, expert_id: str) -> tuple[dict[str, Any], Any]:
    return await handed_and_judged(a, expert_id, answers("accept"))


async def test_a_projects_key_is_made_once_and_every_replica_reads_the_same(
    mongo_client: AsyncMongoClient[Any],
) -> None:
    db = mongo_client[f"secrets-{uuid.uuid4().hex[:8]}"]
    try:
        replicas = [ProjectSecrets(db) for _ in range(4)]
        keys = await asyncio.gather(*(r.key("acme", "p1") for r in replicas))
        assert len(set(keys)) == 1 and len(keys[0]) == 32
        # after a restart (a new store on the same database) it is still the same key
        assert await ProjectSecrets(db).key("acme", "p1") == keys[0]
        others = {await replicas[0].key("acme", "p2"), await replicas[0].key("globex", "p1")}
        assert keys[0] not in others and len(others) == 2
    finally:
        await mongo_client.drop_database(db.name)


def test_a_pseudonym_is_stable_under_one_key_and_unrelated_under_another() -> None:
    key, other = bytes(32), bytes(range(32))
    assert pseudonym(key, "exp-1") == pseudonym(key, "exp-1")
    assert pseudonym(key, "exp-1") != pseudonym(key, "exp-2")
    assert pseudonym(key, "exp-1") != pseudonym(other, "exp-1")
    assert "exp-1" not in pseudonym(key, "exp-1")
    assert len(pseudonym(key, "exp-1")) == len("judge-") + 16
