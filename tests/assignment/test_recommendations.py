"""Metrics recommendations as assignment reads them: items are prioritised (with one more
review on an agreement alert), classes prioritise their pre-labelled items, expert and
unknown targets are left to ops, each with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from services.assignment import recommendations as rec
from shared.contracts.metrics import AlertKind, MetricsAlertV1


def alert(kind: AlertKind, *targets: tuple[str, str, float]) -> MetricsAlertV1:
    return MetricsAlertV1(
        alert_id="a1",
        project_id="p1",
        tenant="acme",
        kind=kind,
        severity="major",
        summary="s",
        recommendations=[
            {"target": t, "target_kind": k, "score": s, "reason": "r"} for t, k, s in targets
        ],
        raised_at=datetime.now(UTC),
    )


def test_each_target_kind_gets_its_action_in_the_alerts_order() -> None:
    got = rec.actions(
        alert(
            AlertKind.prelabel_error,
            ("i1", "item", 2.0),
            ("cat", "class", 3.0),
            ("e1", "expert", 1.0),
            ("x", "region", 1.0),
        )
    )
    assert got[0] == rec.PrioritiseItem("i1", 2.0, extra_review=False)
    assert got[1] == rec.PrioritiseClass("cat", 3.0)
    assert isinstance(got[2], rec.Ignored) and "ops" in got[2].reason
    assert isinstance(got[3], rec.Ignored) and "'region'" in got[3].reason


@given(st.sampled_from(list(AlertKind)))
def test_only_an_agreement_alert_asks_for_one_more_review(kind: AlertKind) -> None:
    [action] = rec.actions(alert(kind, ("i1", "item", 1.0)))
    assert isinstance(action, rec.PrioritiseItem)
    assert action.extra_review == (kind is AlertKind.agreement)


def test_a_score_that_is_not_a_number_never_reaches_the_rules() -> None:
    payload: dict[str, Any] = alert(AlertKind.drift).model_dump()
    payload["recommendations"] = [
        {"target": "i1", "target_kind": "item", "score": float("nan"), "reason": "r"}
    ]
    with pytest.raises(ValidationError, match="finite"):
        MetricsAlertV1.model_validate(payload)  # the consumer dead-letters the event


@given(st.integers(1, 50), st.integers(1, 50), st.integers(1, 50))
def test_the_review_cap_is_the_largest_overlap_the_project_allows(
    k: int, k_iaa: int, k_max: int
) -> None:
    cap = rec.review_cap(k, k_iaa, k_max)
    assert cap >= max(k, k_iaa, k_max) and cap in (k, k_iaa, k_max)


def test_an_ignored_recommendation_keeps_its_target_and_says_why_exactly() -> None:
    got = rec.actions(alert(AlertKind.prelabel_error, ("e1", "expert", 1.0), ("x", "region", 1.0)))
    assert got == [
        rec.Ignored("e1", "an expert recommendation is for ops"),
        rec.Ignored("x", "target kind 'region' is not known"),
    ]
