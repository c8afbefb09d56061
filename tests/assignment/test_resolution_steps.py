"""Which items need a step once a unit is judged (``resolution.awaits_step``): only those do
the service reads the project and rubric for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.assignment import resolution
from services.assignment.models.work import Judgment, Unit, UnitState, WorkItem
from shared.contracts.rubric import Answers
from shared.contracts.work import ItemResolvedV1, RubricRef, WorkKind

T0 = datetime(2026, 12, 1, tzinfo=UTC)
RUBRIC = RubricRef(rubric_id="rub-1", version=1)


def unit(n: int, state: UnitState, kind: WorkKind = WorkKind.review) -> Unit:
    judged = state is UnitState.done
    judgment = Judgment(
        judgment_id=f"j{n}",
        submission_id=f"s{n}",
        unit_id=f"item~{n}",
        item_id="item",
        project_id="p",
        expert_id=f"e{n}",
        rubric=RUBRIC,
        answers=Answers(verdict="accept"),
        time_spent_s=1.0,
        submitted_at=T0,
    )
    return Unit(
        n=n,
        unit_id=f"item~{n}",
        kind=kind,
        state=state,
        rubric=RUBRIC,
        created_at=T0,
        judgment=judgment if judged else None,
    )


def item(*units: Unit) -> WorkItem:
    return WorkItem(
        item_id="item",
        tenant="acme",
        project_id="p",
        modality="image",
        registered_at=T0,
        units=list(units),
    )


def test_an_item_whose_units_are_all_judged_awaits_its_step() -> None:
    assert resolution.awaits_step(item(unit(0, UnitState.done), unit(1, UnitState.done)))


@pytest.mark.parametrize("out", [UnitState.open, UnitState.leased, UnitState.closed])
def test_an_item_with_a_unit_not_judged_awaits_nothing_yet(out: UnitState) -> None:
    assert not resolution.awaits_step(item(unit(0, UnitState.done), unit(1, out)))


def test_a_resolved_item_awaits_nothing() -> None:
    settled = item(unit(0, UnitState.done))
    settled.resolution = ItemResolvedV1.model_validate(
        {
            "item_id": "item",
            "project_id": "p",
            "tenant": "acme",
            "final_labels": [],
            "ratings": {},
            "severity": "none",
            "method": "single",
            "judgment_ids": ["j0"],
            "resolved_at": T0,
            "verdict": "accept",
            "judged_by": ["e0"],
        }
    )
    assert not resolution.awaits_step(settled)


def test_an_item_with_only_an_adjudication_judged_awaits_nothing() -> None:
    assert not resolution.awaits_step(item(unit(0, UnitState.done, WorkKind.adjudication)))
