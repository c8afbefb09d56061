"""The work ledger: per expert and project, units handed out, judgments, adjudications, time
spent and gold score, as CSV for payouts; the rows from what is stored on the real servers."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import ledger, worktime
from shared.contracts.work import WorkKind
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, ok
from tests.service_helpers import auth

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def judged_at(
    expert_id: str,
    project_id: str,
    kind: WorkKind,
    start_s: float,
    end_s: float,
    gold_score: float | None = None,
) -> ledger.Judged:
    """A judgment on a unit handed out ``start_s`` seconds after T0, submitted at ``end_s``."""
    return ledger.Judged(
        expert_id,
        project_id,
        kind,
        leased_at=T0 + timedelta(seconds=start_s),
        submitted_at=T0 + timedelta(seconds=end_s),
        gold_score=gold_score,
    )


def test_rows_add_up_each_experts_work_per_project_in_order() -> None:
    judged = [
        judged_at("bea", "p2", WorkKind.review, 0, 10.0),
        judged_at("ann", "p1", WorkKind.review, 0, 1.5),
        judged_at("ann", "p1", WorkKind.adjudication, 1.5, 3.75),
        judged_at("ann", "p2", WorkKind.gold, 10, 14.0, gold_score=0.5),
        judged_at("ann", "p2", WorkKind.gold, 20, 21.0, gold_score=1.0),
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


def test_prefetched_units_held_side_by_side_are_paid_once_across_projects() -> None:
    # ann takes three units at 9:00 (two in p1, one in p2) and submits one a minute
    judged = [
        judged_at("ann", "p1", WorkKind.review, 0, 60),
        judged_at("ann", "p2", WorkKind.review, 0, 120),
        judged_at("ann", "p1", WorkKind.review, 0, 180),
    ]
    table = ledger.rows(judged, [("ann", "p1"), ("ann", "p1"), ("ann", "p2")])
    assert [(r.project_id, r.time_spent_s) for r in table] == [("p1", 120.0), ("p2", 60.0)]
    assert ledger.seconds_spent(judged) == [60.0, 60.0, 60.0]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ann", "bea"]),
            st.sampled_from(["p1", "p2"]),
            st.integers(0, 600),
            st.integers(0, 600),
        ),
        max_size=10,
    )
)
def test_an_experts_rows_add_up_to_the_union_of_their_leases_never_their_sum(
    leases: list[tuple[str, str, int, int]],
) -> None:
    judged = [judged_at(e, p, WorkKind.review, s, s + n) for e, p, s, n in leases]
    table = ledger.rows(judged, [])
    for expert_id in ("ann", "bea"):
        theirs = [(j.leased_at, j.submitted_at) for j in judged if j.expert_id == expert_id]
        union = worktime.union(theirs).total_seconds()
        paid = sum(r.time_spent_s for r in table if r.expert_id == expert_id)
        assert paid == pytest.approx(union)
        assert paid <= sum(n for e, _, _, n in leases if e == expert_id) + 1e-9


@pytest.mark.parametrize("start", ["=", "+", "-", "@"])
def test_an_id_a_spreadsheet_would_run_as_a_formula_is_written_after_a_single_quote(
    start: str,
) -> None:
    formula = f'{start}HYPERLINK("http://evil.example")'
    text = ledger.to_csv([ledger.LedgerRow(formula, f"{start}cmd|' /C calc'!A0", 1)])
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert row["expert_id"] == "'" + formula
    assert row["project_id"] == f"'{start}cmd|' /C calc'!A0"
    # a cell whose text starts otherwise is written as it is
    plain = ledger.to_csv([ledger.LedgerRow("ann=1", "p-1", 1)])
    assert plain.splitlines()[1].startswith("ann=1,p-1,")


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_start_owasp_names_for_formula_injection_is_neutralised(start: str) -> None:
    # ids cannot hold a tab or a carriage return (shared.contracts.vocabulary.ID_PATTERN);
    # the cell rule neutralises them all the same
    assert ledger.cell(f"{start}1+1") == f"'{start}1+1"


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


@pytest.mark.integration
async def test_the_ledger_and_the_demand_count_units_prefetched_together_once(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=3)
    await world.items(assignment, project_id, 4)  # one left pending for the demand
    began = time.monotonic()
    held = [await world.next_unit(assignment, expert_id) for _ in range(3)]
    for handed in held:  # one unit at a time, each after a while, all three held from the start
        await asyncio.sleep(0.4)
        await ok(await world.submit(assignment, expert_id, handed, world.edit_answers()), 201)
    wall = time.monotonic() - began
    [row] = (
        await ok(
            await assignment.client.get(
                "/v1/ledger", params={"project_id": project_id, "format": "json"}, headers=OPS
            )
        )
    )["items"]
    # the sum of the three leases would be about twice the time the expert held any
    assert row["judgments"] == 3 and 1.2 <= row["time_spent_s"] <= wall + 0.01
    demand = await ok(await assignment.client.get(f"/v1/projects/{project_id}/demand", headers=OPS))
    # the median unit took one of the three turns, not two
    assert 0.4 <= demand["seconds_per_unit"] <= wall / 2


def test_every_adjudication_of_an_expert_counts() -> None:
    # two adjudications and a review: 3 judgments, of which 2 adjudications (not "the last one")
    got = ledger.rows(
        [
            judged_at("e1", "p1", WorkKind.adjudication, 0, 10),
            judged_at("e1", "p1", WorkKind.adjudication, 10, 20),
            judged_at("e1", "p1", WorkKind.review, 20, 30),
        ],
        [],
    )
    assert [(r.judgments, r.adjudications) for r in got] == [(3, 2)]
