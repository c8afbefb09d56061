"""Projects on the real servers: created as drafts against a rubric version, changed at the
revision read, moved through their statuses; each change is one project.changed event with
the full configuration, in order on the project's key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from shared.contracts.work import PROJECT_CHANGED, PROJECTS
from shared.events.codec import EventRegistry, decode
from tests.assignment.conftest import AssignmentUnderTest
from tests.kafka_helpers import TopicReader
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OPS = auth("ops", subject="ops-ana")
REGISTRY = EventRegistry([PROJECT_CHANGED])


def new_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture(scope="module")
async def rubric_ids(assignment: AssignmentUnderTest) -> dict[str, str]:
    """A rubric of each template, the QA one with a second version."""
    ids = {}
    for template in ("image_edit_evaluation", "multimodal_label_qa"):
        rubric_id = f"rub-{uuid.uuid4().hex[:8]}"
        body = {"rubric_id": rubric_id, "template": template}
        made = await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
        assert made.status_code == 201, made.text
        ids[template] = rubric_id
    qa = ids["multimodal_label_qa"]
    definition = (await assignment.client.get(f"/v1/rubrics/{qa}", headers=OPS)).json()
    second = {"definition": {**definition["latest"]["definition"], "name": "QA v2"}}
    added = await assignment.client.post(f"/v1/rubrics/{qa}/versions", json=second, headers=OPS)
    assert added.status_code == 201, added.text
    return ids


@pytest_asyncio.fixture
async def published(assignment: AssignmentUnderTest) -> AsyncIterator[TopicReader]:
    topic = assignment.settings.topic_prefix + PROJECTS.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic) as reader:
        yield reader


def edit_project(rubric_id: str, project_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "project_id": project_id,
        "name": "Image edits, batch 7",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        "required_skills": {"task.image_edit_eval": 3, "task.aesthetics": 2},
        "overlap": {"k": 2, "iaa_share": 0.2, "k_iaa": 3, "dynamic": True, "k_max": 4},
        "gold_rate": 0.1,
        "adjudication": {"escalate_flags": ["unsafe"], "audit_rate": 0.05},
        "lease_ttl_s": 900,
        "priority_weight": 2,
        "due_at": "2027-01-15T00:00:00Z",
        **changes,
    }


async def changes_of(reader: TopicReader, project_id: str, count: int) -> list[Any]:
    """The first ``count`` project.changed events of the project read since the reader began."""

    def mine(records: list[Any]) -> list[Any]:
        events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
        return [e for e in events if e is not None and e.data.project_id == project_id]

    await reader.until(lambda records: len(mine(records)) >= count)
    return mine(reader.records)


async def test_a_new_project_is_a_draft_pinned_to_the_latest_rubric_version_and_is_published(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str], published: TopicReader
) -> None:
    project_id = new_id()
    rubric_id = rubric_ids["image_edit_evaluation"]
    created = await assignment.client.post(
        "/v1/projects", json=edit_project(rubric_id, project_id), headers=OPS
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert (project["status"], project["revision"]) == ("draft", 1)
    assert project["rubric"] == {"rubric_id": rubric_id, "version": 1}
    stored = await assignment.client.get(f"/v1/projects/{project_id}", headers=OPS)
    assert stored.json() == project
    [event] = await changes_of(published, project_id, 1)
    data = event.data
    assert event.key == f"acme/{project_id}" and event.tenant == "acme"
    assert (data.status, data.revision, data.modality) == ("draft", 1, "image")
    assert data.rubric_ref.model_dump() == {"rubric_id": rubric_id, "version": 1}
    assert [d.name for d in data.rubric][:2] == ["instruction_adherence", "structural_integrity"]
    assert data.skill_levels == {"task.image_edit_eval": 3, "task.aesthetics": 2}
    assert sorted(data.required_skills) == ["task.aesthetics", "task.image_edit_eval"]
    assert data.overlap == 2 and data.overlap_policy.model_dump() == {
        "k": 2,
        "iaa_share": 0.2,
        "k_iaa": 3,
        "dynamic": True,
        "k_max": 4,
    }
    assert (data.gold_ratio, data.lease_ttl_s, data.priority_weight) == (0.1, 900, 2.0)
    assert data.adjudication.escalate_flags == ["unsafe"]


async def test_a_project_id_is_taken_once(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str]
) -> None:
    project_id = new_id()
    body = edit_project(rubric_ids["image_edit_evaluation"], project_id)
    assert (await assignment.client.post("/v1/projects", json=body, headers=OPS)).status_code == 201
    again = await assignment.client.post(
        "/v1/projects", json={**body, "name": "Other"}, headers=OPS
    )
    assert again.status_code == 409
    stored = (await assignment.client.get(f"/v1/projects/{project_id}", headers=OPS)).json()
    assert (stored["name"], stored["revision"]) == ("Image edits, batch 7", 1)


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"rubric": {"rubric_id": "no-such-rubric"}}, ["body.rubric.rubric_id"]),
        ({"overlap": {"k": 3, "k_iaa": 2}}, ["body.overlap.k_iaa"]),
        ({"overlap": {"k": 2, "dynamic": True, "k_max": 1}}, ["body.overlap.k_max"]),
        ({"adjudication": {"escalate_flags": ["sparkly"]}}, ["body.adjudication.escalate_flags.0"]),
        ({"due_at": "2027-01-15T00:00:00"}, ["body.due_at"]),
        ({"required_skills": {"Task": 3}}, ["body.required_skills.Task.[key]"]),
        ({"overlap": {"k": 1, "kk": 2}}, ["body.overlap.kk"]),
    ],
    ids=[
        "unknown-rubric",
        "k-iaa-below-k",
        "k-max-below-k",
        "unknown-flag",
        "naive-due",
        "bad-skill",
        "typo",
    ],
)
async def test_a_project_whose_settings_do_not_hold_together_is_refused_and_not_published(
    assignment: AssignmentUnderTest,
    rubric_ids: dict[str, str],
    changes: dict[str, Any],
    fields: list[str],
) -> None:
    project_id = new_id()
    body = edit_project(rubric_ids["image_edit_evaluation"], project_id, **changes)
    response = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert (
        await assignment.client.get(f"/v1/projects/{project_id}", headers=OPS)
    ).status_code == 404


async def test_a_rubric_asking_for_labels_needs_a_taxonomy_version(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str]
) -> None:
    project_id = new_id()
    qa = rubric_ids["multimodal_label_qa"]
    body = edit_project(qa, project_id, modality="video", adjudication={})
    refused = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["body.taxonomy"]
    body["taxonomy"] = {"ontology_id": "street", "version": 3}
    created = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert created.status_code == 201, created.text
    assert created.json()["rubric"] == {"rubric_id": qa, "version": 2}


async def test_a_change_is_a_new_revision_and_event_and_a_new_rubric_version_is_pinned(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str], published: TopicReader
) -> None:
    project_id = new_id()
    qa = rubric_ids["multimodal_label_qa"]
    body = edit_project(
        qa,
        project_id,
        rubric={"rubric_id": qa, "version": 1},
        taxonomy={"ontology_id": "street", "version": 3},
        adjudication={},
    )
    await assignment.client.post("/v1/projects", json=body, headers=OPS)
    patch = {"rubric": {"rubric_id": qa, "version": 2}, "gold_rate": 0.25, "due_at": None}
    changed = await assignment.client.patch(f"/v1/projects/{project_id}", json=patch, headers=OPS)
    assert changed.status_code == 200, changed.text
    project = changed.json()
    assert project["revision"] == 2 and project["rubric"]["version"] == 2
    assert (project["gold_rate"], project["due_at"], project["name"]) == (
        0.25,
        None,
        "Image edits, batch 7",
    )
    first, second = await changes_of(published, project_id, 2)
    assert [first.data.revision, second.data.revision] == [1, 2]
    assert (second.data.rubric_ref.version, second.data.gold_ratio, second.data.due_at) == (
        2,
        0.25,
        None,
    )


async def test_statuses_move_as_the_rules_say_and_a_closed_project_changes_no_more(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str], published: TopicReader
) -> None:
    project_id = new_id()
    url = f"/v1/projects/{project_id}"
    body = edit_project(rubric_ids["image_edit_evaluation"], project_id)
    await assignment.client.post("/v1/projects", json=body, headers=OPS)
    for target in ("active", "paused", "active", "closed"):
        moved = await assignment.client.post(f"{url}/status", json={"status": target}, headers=OPS)
        assert moved.status_code == 200, moved.text
    reopened = await assignment.client.post(f"{url}/status", json={"status": "active"}, headers=OPS)
    assert reopened.status_code == 409
    assert reopened.json()["detail"] == "closed is final: a closed project does not reopen"
    edited = await assignment.client.patch(url, json={"name": "late"}, headers=OPS)
    assert edited.status_code == 409
    stored = (await assignment.client.get(url, headers=OPS)).json()
    assert (stored["status"], stored["revision"], stored["name"]) == (
        "closed",
        5,
        "Image edits, batch 7",
    )
    events = await changes_of(published, project_id, 5)
    assert [(e.data.revision, e.data.status) for e in events] == [
        (1, "draft"),
        (2, "active"),
        (3, "paused"),
        (4, "active"),
        (5, "closed"),
    ]


async def test_a_draft_cannot_be_paused(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str]
) -> None:
    project_id = new_id()
    body = edit_project(rubric_ids["image_edit_evaluation"], project_id)
    await assignment.client.post("/v1/projects", json=body, headers=OPS)
    refused = await assignment.client.post(
        f"/v1/projects/{project_id}/status", json={"status": "paused"}, headers=OPS
    )
    assert refused.status_code == 409
    assert refused.json()["errors"] == [
        {
            "field": "body.status",
            "message": "a draft project cannot become paused; from draft: active, closed",
        }
    ]


async def test_concurrent_changes_all_land_each_with_its_own_revision_and_event(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str], published: TopicReader
) -> None:
    project_id = new_id()
    body = edit_project(rubric_ids["image_edit_evaluation"], project_id)
    await assignment.client.post("/v1/projects", json=body, headers=OPS)
    answers = await asyncio.gather(
        *(
            assignment.client.patch(
                f"/v1/projects/{project_id}", json={"priority_weight": w}, headers=OPS
            )
            for w in (3, 4, 5, 6)
        )
    )
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.json()["revision"] for a in answers) == [2, 3, 4, 5]
    events = await changes_of(published, project_id, 5)
    assert [e.data.revision for e in events] == [1, 2, 3, 4, 5]
    by_revision = {a.json()["revision"]: a.json()["priority_weight"] for a in answers}
    assert {e.data.revision: e.data.priority_weight for e in events[1:]} == by_revision


async def test_projects_are_listed_by_id(
    assignment: AssignmentUnderTest, rubric_ids: dict[str, str]
) -> None:
    prefix = f"pl-{uuid.uuid4().hex[:6]}"
    for suffix in "abc":
        body = edit_project(rubric_ids["image_edit_evaluation"], f"{prefix}-{suffix}")
        await assignment.client.post("/v1/projects", json=body, headers=OPS)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await assignment.client.get("/v1/projects", params=params, headers=OPS)).json()
        seen += [p["project_id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert [s for s in seen if s.startswith(prefix)] == [f"{prefix}-{x}" for x in "abc"]
