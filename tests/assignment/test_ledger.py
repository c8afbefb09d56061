"""The work ledger: per expert and project, units handed out, judgments, adjudications, time
spent and gold score, as CSV for payouts; the rows from what is stored on the real servers."""

from __future__ import annotations

import csv
import io

import pytest

from services.assignment import ledger
from shared.contracts.work import WorkKind
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok
from tests.service_helpers import auth


def test_rows_add_up_each_experts_work_per_project_in_order() -> None:
    judged = [
        ledger.Judged("bea", "p2", WorkKind.review, 10.0),
        ledger.Judged("ann", "p1", WorkKind.review, 1.5),
        ledger.Judged("ann", "p1", WorkKind.adjudication, 2.25),
        ledger.Judged("ann", "p2", WorkKind.gold, 4.0, gold_score=0.5),
        ledger.Judged("ann", "p2", WorkKind.gold, 1.0, gold_score=1.0),
    ]
    handed = [
        ("bea", "p2"),
        ("bea", "p2"),
        ("ann", "p1"),
        ("ann", "p1"),
        ("ann", "p2"),
        ("ann", "p2"),
        ("cy", "p1"),
    ]
    assert ledger.rows(judged, handed) == [
        ledger.LedgerRow("ann", "p1", 2, judgments=2, adjudications=1, time_spent_s=3.75),
        ledger.LedgerRow(
            "ann", "p2", 2, judgments=2, time_spent_s=5.0, gold_scored=2, gold_score=0.75
        ),
        ledger.LedgerRow("bea", "p2", 2, judgments=1, time_spent_s=10.0),
        ledger.LedgerRow("cy", "p1", 1),  # handed a unit, gave it back
    ]


def test_the_csv_has_a_header_and_one_line_per_row() -> None:
    header = (
        "expert_id,project_id,units,judgments,adjudications,time_spent_s,gold_scored,gold_score\n"
    )
    text = ledger.to_csv(
        [
            ledger.LedgerRow("ann, the second", "p1", 3, 2, 1, 3.14159),
            ledger.LedgerRow("bea", "p1", 1, 1, 0, 2.0, gold_scored=1, gold_score=2 / 3),
        ]
    )
    assert text == header + '"ann, the second",p1,3,2,1,3.142,0,\nbea,p1,1,1,0,2.000,1,0.6667\n'
    assert ledger.to_csv([]) == header


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
    assert [row["judgments"] for row in as_json["items"]] == [2, 1]
    first = await ok(
        await assignment.client.get(
            "/v1/ledger",
            params={"project_id": project_id, "format": "json", "limit": 1},
            headers=OPS,
        )
    )
    assert [row["expert_id"] for row in first["items"]] == [experts[0]]
    rest = await ok(
        await assignment.client.get(
            "/v1/ledger",
            params={"project_id": project_id, "format": "json", "cursor": first["next_cursor"]},
            headers=OPS,
        )
    )
    assert [row["expert_id"] for row in rest["items"]] == [experts[1]]
    assert rest["next_cursor"] is None


@pytest.mark.integration
async def test_the_ledger_counts_units_given_back_and_the_gold_score(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, gold_rate=1.0)  # one gold item: the first
    expert_id = await world.expert(assignment, projects=(project_id,))
    key = world.edit_answers("accept", point=4)
    await world.gold(assignment, project_id, key)
    await world.items(assignment, project_id, 3)
    for _ in range(2):
        handed = await world.next_unit(assignment, expert_id)
        gold = (await world.item_of(assignment, handed))["gold_id"] is not None
        wrong = world.edit_answers("reject", point=1)
        await ok(await world.submit(assignment, expert_id, handed, key if gold else wrong), 201)
    given_back = await world.next_unit(assignment, expert_id)
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{given_back['lease_id']}/release",
            json={"reason": "skip"},
            headers=auth("expert", subject=expert_id),
        )
    )
    [row] = (
        await ok(
            await assignment.client.get(
                "/v1/ledger", params={"project_id": project_id, "format": "json"}, headers=OPS
            )
        )
    )["items"]
    assert (row["units"], row["judgments"], row["gold_scored"], row["gold_score"]) == (
        3,
        2,
        1,
        1.0,
    )
