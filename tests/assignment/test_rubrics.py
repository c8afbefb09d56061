"""Rubrics on the real servers: created from a template or a definition, checked whole,
versioned immutably; every refusal leaves the stored versions as they were."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from services.assignment import rubric
from tests.assignment.conftest import AssignmentUnderTest
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OPS = auth("ops", subject="ops-ana")


def new_id() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


def small_definition(**changes: Any) -> dict[str, Any]:
    definition = {
        "name": "Caption QA",
        "verdicts": ["accept", "reject"],
        "dimensions": [
            {
                "name": "fluency",
                "title": "Fluency",
                "scale_min": 1,
                "scale_max": 3,
                "anchors": {"1": "broken", "2": "awkward", "3": "natural"},
            }
        ],
        "justification": {"min_length": 10, "verdicts": ["reject"]},
    }
    return {**definition, **changes}


async def versions(a: AssignmentUnderTest, rubric_id: str) -> Any:
    response = await a.client.get(f"/v1/rubrics/{rubric_id}", headers=OPS)
    return response.status_code, response.json().get("versions")


async def test_the_templates_shipped_are_listed_with_their_definitions(
    assignment: AssignmentUnderTest,
) -> None:
    response = await assignment.client.get("/v1/rubric-templates", headers=OPS)
    assert response.status_code == 200
    listed = {t["name"]: t["definition"] for t in response.json()["items"]}
    assert sorted(listed) == sorted(rubric.TEMPLATES)
    dims = [d["name"] for d in listed["image_edit_evaluation"]["dimensions"]]
    assert len(dims) == 6 and "instruction_adherence" in dims


async def test_a_rubric_from_a_template_is_version_1_of_that_definition(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = new_id()
    body = {"rubric_id": rubric_id, "template": "multimodal_label_qa"}
    created = await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/v1/rubrics/{rubric_id}/versions/1"
    stored = await assignment.client.get(created.headers["Location"], headers=OPS)
    assert stored.json() == created.json()
    expected = rubric.load_template("multimodal_label_qa").model_dump(mode="json")
    assert stored.json()["definition"] == expected
    assert (stored.json()["version"], stored.json()["created_by"]) == (1, "ops-ana")


async def test_a_rubric_id_is_taken_once(assignment: AssignmentUnderTest) -> None:
    rubric_id = new_id()
    body = {"rubric_id": rubric_id, "definition": small_definition()}
    assert (await assignment.client.post("/v1/rubrics", json=body, headers=OPS)).status_code == 201
    again = await assignment.client.post(
        "/v1/rubrics",
        json={"rubric_id": rubric_id, "template": "image_edit_evaluation"},
        headers=OPS,
    )
    assert again.status_code == 409
    latest = (await assignment.client.get(f"/v1/rubrics/{rubric_id}", headers=OPS)).json()
    assert latest["versions"] == [1] and latest["latest"]["definition"]["name"] == "Caption QA"


@pytest.mark.parametrize(
    ("definition", "fields"),
    [
        (
            small_definition(
                dimensions=[
                    {
                        "name": "fluency",
                        "title": "F",
                        "scale_min": 1,
                        "scale_max": 3,
                        "anchors": {"1": "a", "4": "beyond"},
                    }
                ]
            ),
            ["body.definition.dimensions.0.anchors"],
        ),
        (small_definition(verdicts=["accept", "infeasible"]), None),
        (small_definition(requried_for=["reject"]), ["body.definition.requried_for"]),
        (
            small_definition(flags=[{"name": "unsafe", "title": "Unsafe", "gaet": True}]),
            ["body.definition.flags.0.gaet"],
        ),
    ],
    ids=["anchor-off-the-scale", "infeasible-without-feasibility-check", "typo", "nested-typo"],
)
async def test_a_definition_that_does_not_hold_together_is_refused_whole(
    assignment: AssignmentUnderTest, definition: dict[str, Any], fields: list[str] | None
) -> None:
    rubric_id = new_id()
    response = await assignment.client.post(
        "/v1/rubrics", json={"rubric_id": rubric_id, "definition": definition}, headers=OPS
    )
    assert response.status_code == 422, response.text
    named = [e["field"] for e in response.json()["errors"]]
    if fields is not None:
        assert named == fields
    assert all(f.startswith("body.definition") for f in named)
    assert (await versions(assignment, rubric_id))[0] == 404


async def test_a_rubric_needs_exactly_one_of_definition_and_template(
    assignment: AssignmentUnderTest,
) -> None:
    for body in (
        {"rubric_id": new_id()},
        {
            "rubric_id": new_id(),
            "template": "multimodal_label_qa",
            "definition": small_definition(),
        },
    ):
        response = await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
        assert response.status_code == 422
        assert "exactly one of definition and template" in response.text


async def test_new_versions_are_numbered_in_turn_and_the_old_stay_as_they_were(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = new_id()
    body = {"rubric_id": rubric_id, "definition": small_definition()}
    await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
    url = f"/v1/rubrics/{rubric_id}/versions"
    second = await assignment.client.post(
        url, json={"definition": small_definition(name="Caption QA v2")}, headers=OPS
    )
    assert second.status_code == 201 and second.json()["version"] == 2
    assert (await versions(assignment, rubric_id)) == (200, [1, 2])
    first = (await assignment.client.get(f"{url}/1", headers=OPS)).json()
    assert first["definition"]["name"] == "Caption QA"
    refused = await assignment.client.post(
        url, json={"definition": small_definition(verdicts=[])}, headers=OPS
    )
    assert refused.status_code == 422
    assert (await versions(assignment, rubric_id)) == (200, [1, 2])


async def test_concurrent_new_versions_each_get_a_number_of_their_own(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = new_id()
    body = {"rubric_id": rubric_id, "definition": small_definition()}
    await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
    answers = await asyncio.gather(
        *(
            assignment.client.post(
                f"/v1/rubrics/{rubric_id}/versions",
                json={"definition": small_definition(name=f"v{i}")},
                headers=OPS,
            )
            for i in range(5)
        )
    )
    assert [a.status_code for a in answers] == [201] * 5
    assert sorted(a.json()["version"] for a in answers) == [2, 3, 4, 5, 6]
    assert (await versions(assignment, rubric_id)) == (200, [1, 2, 3, 4, 5, 6])


async def test_a_version_of_an_unknown_rubric_is_not_found(assignment: AssignmentUnderTest) -> None:
    response = await assignment.client.post(
        f"/v1/rubrics/{new_id()}/versions", json={"definition": small_definition()}, headers=OPS
    )
    assert response.status_code == 404
    missing = await assignment.client.get(f"/v1/rubrics/{new_id()}/versions/1", headers=OPS)
    assert missing.status_code == 404


async def test_rubrics_are_listed_by_id_each_with_its_latest_version(
    assignment: AssignmentUnderTest,
) -> None:
    prefix = f"l{uuid.uuid4().hex[:6]}"
    for suffix in ("a", "b", "c"):
        body = {"rubric_id": f"{prefix}-{suffix}", "definition": small_definition()}
        await assignment.client.post("/v1/rubrics", json=body, headers=OPS)
    await assignment.client.post(
        f"/v1/rubrics/{prefix}-b/versions",
        json={"definition": small_definition(name="B2")},
        headers=OPS,
    )
    seen: list[tuple[str, int, list[int]]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await assignment.client.get("/v1/rubrics", params=params, headers=OPS)).json()
        seen += [(r["rubric_id"], r["latest"]["version"], r["versions"]) for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    mine = [row for row in seen if row[0].startswith(prefix)]
    assert mine == [(f"{prefix}-a", 1, [1]), (f"{prefix}-b", 2, [1, 2]), (f"{prefix}-c", 1, [1])]
