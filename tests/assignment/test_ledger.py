"""The work ledger: per expert and project, judgments, adjudications and time spent, as CSV
for payouts; the rows from the judgments stored on the real servers."""

from __future__ import annotations

import csv
import io

import pytest

from services.assignment import ledger
from shared.contracts.work import WorkKind
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok


def test_rows_add_up_each_experts_judgments_per_project_in_order() -> None:
    judged = [
        ("bea", "p2", WorkKind.review, 10.0),
        ("ann", "p1", WorkKind.review, 1.5),
        ("ann", "p1", WorkKind.adjudication, 2.25),
        ("ann", "p2", WorkKind.review, 4.0),
    ]
    assert ledger.rows(judged) == [
        ledger.LedgerRow("ann", "p1", judgments=2, adjudications=1, time_spent_s=3.75),
        ledger.LedgerRow("ann", "p2", judgments=1, adjudications=0, time_spent_s=4.0),
        ledger.LedgerRow("bea", "p2", judgments=1, adjudications=0, time_spent_s=10.0),
    ]


def test_the_csv_has_a_header_and_one_line_per_row() -> None:
    text = ledger.to_csv([ledger.LedgerRow("ann, the second", "p1", 2, 1, 3.14159)])
    assert text == (
        "expert_id,project_id,judgments,adjudications,time_spent_s\n"
        '"ann, the second",p1,2,1,3.142\n'
    )
    assert ledger.to_csv([]) == "expert_id,project_id,judgments,adjudications,time_spent_s\n"


@pytest.mark.integration
async def test_ops_export_the_ledger_of_a_project_as_csv(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment)
    experts = sorted([await world.expert(assignment, projects=(project_id,)) for _ in range(2)])
    await world.items(assignment, project_id, 3)
    for expert_id, count in zip(experts, (2, 1), strict=True):
        for _ in range(count):
            await world.judge(assignment, expert_id, world.edit_answers())
    response = await assignment.client.get(
        "/v1/ledger", params={"project_id": project_id}, headers=OPS
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert [
        (r["expert_id"], r["project_id"], r["judgments"], r["adjudications"]) for r in table
    ] == [
        (experts[0], project_id, "2", "0"),
        (experts[1], project_id, "1", "0"),
    ]
    assert all(float(r["time_spent_s"]) >= 0 for r in table)
    as_json = await ok(
        await assignment.client.get(
            "/v1/ledger", params={"project_id": project_id, "format": "json"}, headers=OPS
        )
    )
    assert [row["judgments"] for row in as_json] == [2, 1]
