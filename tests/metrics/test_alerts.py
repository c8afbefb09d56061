"""Metrics alerts: pre-label errors, drift, expert accuracy and agreement as validated
``quorum.metrics.alert.v1`` payloads with deterministic ids."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Literal

import pytest

from services.assignment.recommendations import PrioritiseClass, PrioritiseItem, actions
from services.metrics.agreement.figures import Estimate
from services.metrics.alerts import (
    AGREEMENT_MAX_ITEMS,
    ALERT_ID_MAX,
    REASON_MAX,
    SUMMARY_MAX,
    ClassContribution,
    Window,
    agreement_alert,
    alert_id,
    class_excess,
    cut,
    drift_alert,
    expert_alert,
    prelabel_alerts,
    psi_contributions,
    severity_of_gap,
)
from services.metrics.drift import (
    ConfidenceWindow,
    DriftPolicy,
    DriftVerdict,
    LabelCounts,
    confidence_drift,
    label_drift,
    psi,
)
from services.metrics.figures import proportion
from services.metrics.handlers.alerts import drift_policy
from services.metrics.prelabels import (
    ClassErrors,
    PrelabelConfusion,
    SystematicErrors,
    systematic_errors,
)
from services.metrics.quality import AccuracyShift
from shared.contracts.metrics import AlertKind, MetricsAlertV1
from shared.contracts.spec import max_length
from shared.contracts.vocabulary import ID_PATTERN, Severity, bounded_json

AT = datetime(2025, 3, 1, 12, tzinfo=UTC)
LATER = AT + timedelta(hours=5)
BASELINE = Window(datetime(2025, 2, 21, tzinfo=UTC), datetime(2025, 2, 28, tzinfo=UTC))
CURRENT = Window(datetime(2025, 2, 28, tzinfo=UTC), datetime(2025, 3, 1, tzinfo=UTC))


def assert_valid(alert: MetricsAlertV1) -> None:
    """The payload survives its own JSON and every bound of the contract."""
    assert MetricsAlertV1.model_validate_json(alert.model_dump_json()) == alert
    assert re.fullmatch(ID_PATTERN, alert.alert_id) and len(alert.alert_id) <= ALERT_ID_MAX
    assert bounded_json(alert.evidence) is alert.evidence
    assert all(0 <= r.score <= 1 for r in alert.recommendations)


def fish_confusion() -> PrelabelConfusion:
    """200 items over four classes: fish wrong 20 times in 50, the others 3 or 4."""
    confusion = PrelabelConfusion("detector", "v7")
    wrong = {"fish": 20, "cat": 3, "dog": 4, "bird": 3}
    other = {"fish": "cat", "cat": "dog", "dog": "cat", "bird": "fish"}
    for label, errors in wrong.items():
        for i in range(50):
            resolved = other[label] if i < errors else label
            confusion.add(label, resolved, f"{label}-{i:02d}")
    return confusion


def class_errors(label: str, rate: tuple[int, int], others: tuple[int, int]) -> ClassErrors:
    return ClassErrors(
        label,
        rate[1],
        rate[0],
        proportion(*rate),
        proportion(*others),
        0.001,
        0.002,
        True,
        ("i-1",),
    )


def findings(
    *classes: ClassErrors, version: str = "v7", model: str = "detector"
) -> SystematicErrors:
    return SystematicErrors(
        model, version, "prelabel", "fisher", 1000, proportion(100, 1000), classes, 0.05, 30, 4
    )


# --- pre-label errors ----------------------------------------------------------------------


def test_a_prelabel_alert_is_raised_for_each_flagged_class_with_its_test_in_the_evidence() -> None:
    systematic = systematic_errors(fish_confusion())
    alerts = prelabel_alerts("acme", "p-1", "v7", systematic, AT)
    assert [a.evidence["class_id"] for a in alerts] == ["fish"]
    (alert,) = alerts
    assert_valid(alert)
    fish = next(c for c in systematic.classes if c.label == "fish")
    e = alert.evidence
    assert alert.kind is AlertKind.prelabel_error and alert.raised_at == AT
    assert (e["n"], e["errors"]) == (50, 20)
    assert e["rate"]["value"] == pytest.approx(0.4)
    assert e["others_rate"]["value"] == pytest.approx(10 / 150)
    assert e["overall_rate"]["value"] == pytest.approx(30 / 200)
    assert e["p_value"] == fish.p_value and e["q_value"] == fish.q_value
    assert e["test"] == "fisher" and e["model"] == "detector" and e["version"] == "v7"
    assert e["examples"] == list(fish.examples) and len(e["examples"]) == 5
    assert "fish" in alert.summary and "20 of 50" in alert.summary


def test_a_prelabel_alert_recommends_its_class_scored_by_its_excess_over_the_others() -> None:
    (alert,) = prelabel_alerts("acme", "p-1", "v7", systematic_errors(fish_confusion()), AT)
    (rec,) = alert.recommendations
    others = 10 / 150
    assert (rec.target, rec.target_kind) == ("fish", "class")
    assert rec.score == pytest.approx((0.4 - others) / (1 - others))
    assert actions(alert) == [PrioritiseClass("fish", rec.score)]


def test_class_excess_is_0_when_no_worse_and_1_when_always_wrong() -> None:
    assert class_excess(class_errors("a", (5, 50), (10, 100))) == 0.0
    assert class_excess(class_errors("a", (2, 50), (10, 100))) == 0.0
    assert class_excess(class_errors("a", (50, 50), (10, 100))) == 1.0
    assert class_excess(class_errors("a", (30, 50), (20, 100))) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("errors", "severity"),
    [(7, Severity.minor), (8, Severity.major), (14, Severity.major), (15, Severity.critical)],
)
def test_prelabel_severity_grows_with_the_excess_at_10_and_25_points(
    errors: int, severity: Severity
) -> None:
    # others wrong 5 % of the time; the class 7 / 8 / 14 / 15 in 50 (14, 16, 28, 30 %)
    (alert,) = prelabel_alerts(
        "acme", "p-1", "v7", findings(class_errors("a", (errors, 50), (5, 100))), AT
    )
    assert alert.severity is severity


def test_severity_of_a_gap_is_minor_below_10_points_major_below_25_and_critical_above() -> None:
    assert severity_of_gap(0.0) is Severity.minor
    assert severity_of_gap(0.0999) is Severity.minor
    assert severity_of_gap(0.10) is Severity.major
    assert severity_of_gap(0.2499) is Severity.major
    assert severity_of_gap(0.25) is Severity.critical


def test_no_prelabel_alert_without_a_flagged_class() -> None:
    confusion = PrelabelConfusion("detector", "v7")
    for label in ("cat", "dog"):
        for i in range(40):
            confusion.add(label, label if i else "bird", f"{label}-{i}")
    assert prelabel_alerts("acme", "p-1", "v7", systematic_errors(confusion), AT) == []


def test_prelabel_alerts_refuse_findings_of_another_model_version() -> None:
    with pytest.raises(ValueError, match="version"):
        prelabel_alerts("acme", "p-1", "v8", systematic_errors(fish_confusion()), AT)


def test_long_names_are_cut_to_the_contract_limits_of_summary_and_reason() -> None:
    long_class = "c" * 256
    systematic = findings(
        class_errors(long_class, (40, 50), (5, 100)), model="m" * 5000, version="v" * 128
    )
    (alert,) = prelabel_alerts("acme", "p-1", "v" * 128, systematic, AT)
    assert_valid(alert)
    assert len(alert.summary) == SUMMARY_MAX == max_length(MetricsAlertV1, "summary")
    assert alert.summary.endswith("…")
    assert len(alert.recommendations[0].reason) == REASON_MAX
    assert alert.recommendations[0].target == long_class


def test_cut_keeps_short_text_and_marks_a_cut_with_an_ellipsis() -> None:
    assert cut("abc", 3) == "abc"
    assert cut("abcd", 3) == "ab…"


# --- alert ids -----------------------------------------------------------------------------


def test_a_replayed_detection_gets_the_same_alert_id_whenever_it_is_raised() -> None:
    systematic = systematic_errors(fish_confusion())
    (first,) = prelabel_alerts("acme", "p-1", "v7", systematic, AT)
    (again,) = prelabel_alerts("acme", "p-1", "v7", systematic_errors(fish_confusion()), LATER)
    assert first.alert_id == again.alert_id
    assert first.raised_at != again.raised_at


def test_alert_ids_differ_by_tenant_project_kind_subject_and_detection() -> None:
    base = alert_id("acme", "p-1", AlertKind.drift, ("labels",), ("t1",))
    others = {
        alert_id("other", "p-1", AlertKind.drift, ("labels",), ("t1",)),
        alert_id("acme", "p-2", AlertKind.drift, ("labels",), ("t1",)),
        alert_id("acme", "p-1", AlertKind.agreement, ("labels",), ("t1",)),
        alert_id("acme", "p-1", AlertKind.drift, ("confidences",), ("t1",)),
        alert_id("acme", "p-1", AlertKind.drift, ("labels",), ("t2",)),
        # the parts are not merely concatenated
        alert_id("acme", "p-1", AlertKind.drift, ("labelst1",), ()),
        alert_id("acme", "p-1", AlertKind.drift, ("labels", "t1"), ()),
    }
    assert base not in others and len(others) == 7
    assert base.startswith("drift-") and re.fullmatch(ID_PATTERN, base)


def test_a_new_count_behind_a_prelabel_finding_is_a_new_detection() -> None:
    confusion = fish_confusion()
    (first,) = prelabel_alerts("acme", "p-1", "v7", systematic_errors(confusion), AT)
    confusion.add("fish", "cat", "fish-extra")
    (second,) = prelabel_alerts("acme", "p-1", "v7", systematic_errors(confusion), AT)
    assert first.alert_id != second.alert_id


# --- drift ---------------------------------------------------------------------------------


def label_windows() -> tuple[LabelCounts, LabelCounts]:
    baseline = LabelCounts({"car": 500, "bus": 300, "truck": 200})
    current = LabelCounts({"car": 250, "bus": 300, "truck": 200, "bike": 250})
    return baseline, current


def test_psi_contributions_sum_to_the_psi_largest_first() -> None:
    baseline, current = label_windows()
    contributions = psi_contributions(baseline, current)
    total = psi(baseline.counts, current.counts).value
    assert total is not None
    assert math.fsum(c.psi_term for c in contributions) == pytest.approx(total, abs=1e-12)
    assert [c.class_id for c in contributions][:2] == ["bike", "car"]
    assert contributions[0].baseline_share == 0 and contributions[0].current_share == 0.25
    assert psi_contributions(LabelCounts(), current) == []


def test_label_drift_alert_has_the_verdicts_severity_and_recommends_the_classes_that_moved() -> (
    None
):
    baseline, current = label_windows()
    verdict = label_drift(baseline, current)
    assert verdict.severity == "critical"
    alert = drift_alert(
        "acme",
        "p-1",
        "labels",
        verdict,
        BASELINE,
        CURRENT,
        AT,
        contributions=psi_contributions(baseline, current),
    )
    assert alert is not None
    assert_valid(alert)
    assert alert.kind is AlertKind.drift and alert.severity is Severity.critical
    # bus and truck kept their counts but their shares moved too little to carry 5 % of the PSI
    assert [(r.target, r.target_kind) for r in alert.recommendations] == [
        ("bike", "class"),
        ("car", "class"),
    ]
    bike, car = alert.recommendations
    assert bike.score + car.score <= 1 and bike.score > car.score
    assert "rose" in bike.reason and "fell" in car.reason
    e = alert.evidence
    assert e["baseline"] == {
        "start": BASELINE.start.isoformat(),
        "end": BASELINE.end.isoformat(),
        "n": 1000,
    }
    assert e["current"]["n"] == 1000 and e["psi"] == verdict.psi.value
    assert e["test"]["name"] == "chi-square" and e["test"]["p_value"] == verdict.test.p_value
    assert [c["class_id"] for c in e["contributions"]][:2] == ["bike", "car"]


def test_a_drift_alert_recommends_no_class_without_per_class_contributions() -> None:
    baseline, current = label_windows()
    alert = drift_alert(
        "acme", "p-1", "labels", label_drift(baseline, current), BASELINE, CURRENT, AT
    )
    assert alert is not None and alert.recommendations == []


def test_a_confidence_drift_alert_recommends_no_class() -> None:
    baseline, current = ConfidenceWindow(), ConfidenceWindow()
    for i in range(400):
        baseline.add(0.9 + (i % 10) / 100)
        current.add(0.5 + (i % 10) / 100)
    verdict = confidence_drift(baseline, current)
    alert = drift_alert("acme", "p-1", "confidences", verdict, BASELINE, CURRENT, AT, scope="v7")
    assert alert is not None
    assert_valid(alert)
    assert alert.recommendations == [] and alert.severity.value == verdict.severity
    assert alert.evidence["test"]["name"] == "kolmogorov-smirnov"
    assert alert.evidence["scope"] == "v7" and "confidences of v7" in alert.summary
    with pytest.raises(ValueError, match="label drift"):
        drift_alert(
            "acme",
            "p-1",
            "confidences",
            verdict,
            BASELINE,
            CURRENT,
            AT,
            contributions=[ClassContribution("car", 0.5, 0.25, 0.17)],
        )


def test_no_drift_alert_without_a_verdict_or_with_a_verdict_of_none() -> None:
    small = label_drift(LabelCounts({"a": 10, "b": 10}), LabelCounts({"a": 5, "b": 15}))
    assert small.severity is None
    same = label_drift(LabelCounts({"a": 500, "b": 500}), LabelCounts({"a": 500, "b": 500}))
    assert same.severity == "none"
    for verdict in (small, same):
        assert drift_alert("acme", "p-1", "labels", verdict, BASELINE, CURRENT, AT) is None


def test_a_drift_alert_id_is_that_of_its_windows() -> None:
    baseline, current = label_windows()
    verdict: DriftVerdict = label_drift(baseline, current)
    first = drift_alert("acme", "p-1", "labels", verdict, BASELINE, CURRENT, AT)
    replay = drift_alert("acme", "p-1", "labels", verdict, BASELINE, CURRENT, LATER)
    next_window = Window(CURRENT.start, CURRENT.end + timedelta(hours=1))
    moved = drift_alert("acme", "p-1", "labels", verdict, BASELINE, next_window, AT)
    assert first is not None and replay is not None and moved is not None
    assert first.alert_id == replay.alert_id != moved.alert_id


# --- expert accuracy -----------------------------------------------------------------------


def shift(before: tuple[int, int], after: tuple[int, int], *, alert: bool = True) -> AccuracyShift:
    direction: Literal["drop", "rise"] = (
        "drop" if after[0] / after[1] < before[0] / before[1] else "rise"
    )
    return AccuracyShift(
        1234, before[1] + after[1], proportion(*before), proportion(*after), direction, alert
    )


def test_an_expert_alert_recommends_the_expert_to_ops_with_the_share_of_accuracy_lost() -> None:
    alert = expert_alert("acme", "p-1", "e-9", shift((180, 200), (70, 100)), AT, scope="skill:x")
    assert alert is not None
    assert_valid(alert)
    assert alert.kind is AlertKind.expert_accuracy
    (rec,) = alert.recommendations
    assert (rec.target, rec.target_kind) == ("e-9", "expert")
    assert rec.score == pytest.approx((0.9 - 0.7) / 0.9)
    assert alert.severity is Severity.major  # a drop of 20 points
    e = alert.evidence
    assert e["index"] == 1234 and e["before"]["value"] == 0.9 and e["after"]["value"] == 0.7
    assert e["drop"] == pytest.approx(0.2) and e["scope"] == "skill:x"
    assert actions(alert)[0].__class__.__name__ == "Ignored"


@pytest.mark.parametrize(
    ("after", "severity"),
    [(85, Severity.minor), (80, Severity.major), (65, Severity.critical)],
)
def test_expert_severity_follows_the_drop_in_accuracy(after: int, severity: Severity) -> None:
    alert = expert_alert("acme", "p-1", "e-9", shift((90, 100), (after, 100)), AT)
    assert alert is not None and alert.severity is severity


def test_no_expert_alert_unless_the_shift_is_an_alert() -> None:
    assert expert_alert("acme", "p-1", "e-9", shift((70, 100), (90, 100), alert=False), AT) is None
    assert expert_alert("acme", "p-1", "e-9", shift((90, 100), (60, 100), alert=False), AT) is None


def test_an_expert_alert_id_is_that_of_the_shifts_position_and_scope() -> None:
    a = expert_alert("acme", "p-1", "e-9", shift((90, 100), (60, 100)), AT)
    b = expert_alert("acme", "p-1", "e-9", shift((90, 100), (60, 100)), LATER)
    c = expert_alert("acme", "p-1", "e-9", shift((90, 100), (60, 100)), AT, scope="skill:y")
    d = expert_alert("acme", "p-1", "e-8", shift((90, 100), (60, 100)), AT)
    assert a is not None and b is not None and c is not None and d is not None
    assert a.alert_id == b.alert_id
    assert len({a.alert_id, c.alert_id, d.alert_id}) == 3


# --- agreement -----------------------------------------------------------------------------


def alpha(value: float, low: float, high: float, n: int = 120) -> Estimate:
    return Estimate(value, n, (low, high))


def test_an_agreement_alert_fires_when_even_the_upper_end_of_alphas_interval_is_too_low() -> None:
    items = [("i-1", 0.9), ("i-2", 0.4), ("i-3", 0.0)]
    alert = agreement_alert("acme", "p-1", "verdict", alpha(0.52, 0.44, 0.60), 0.667, items, AT)
    assert alert is not None
    assert_valid(alert)
    assert alert.kind is AlertKind.agreement and alert.severity is Severity.minor
    e = alert.evidence
    assert (e["field"], e["value"], e["n"], e["ci"], e["threshold"]) == (
        "verdict",
        0.52,
        120,
        [0.44, 0.60],
        0.667,
    )
    # an item all judges agree on is not recommended
    assert [(r.target, r.score) for r in alert.recommendations] == [("i-1", 0.9), ("i-2", 0.4)]
    assert actions(alert) == [PrioritiseItem("i-1", 0.9, True), PrioritiseItem("i-2", 0.4, True)]


def test_no_agreement_alert_when_the_interval_reaches_the_threshold() -> None:
    assert agreement_alert("acme", "p-1", "f", alpha(0.6, 0.5, 0.667), 0.667, [], AT) is None
    assert agreement_alert("acme", "p-1", "f", alpha(0.6, 0.5, 0.7), 0.667, [], AT) is None


def test_no_agreement_alert_on_too_few_items_or_without_an_interval() -> None:
    few = alpha(0.1, 0.0, 0.2, n=29)
    assert agreement_alert("acme", "p-1", "f", few, 0.667, [], AT) is None
    assert agreement_alert("acme", "p-1", "f", few, 0.667, [], AT, min_items=20) is not None
    undefined = Estimate(None, 0, None, reason="no pairable item")
    assert agreement_alert("acme", "p-1", "f", undefined, 0.667, [], AT) is None


@pytest.mark.parametrize(
    ("high", "severity"),
    [(0.6, Severity.minor), (0.5, Severity.major), (0.417, Severity.critical)],
)
def test_agreement_severity_follows_the_gap_below_the_threshold(
    high: float, severity: Severity
) -> None:
    alert = agreement_alert("acme", "p-1", "f", alpha(high - 0.1, high - 0.2, high), 0.667, [], AT)
    assert alert is not None and alert.severity is severity


def test_an_agreement_alert_recommends_at_most_50_items_the_most_disagreed_first_ties_by_id() -> (
    None
):
    items = [(f"i-{i:03d}", (i % 7) / 7) for i in range(300)]
    alert = agreement_alert("acme", "p-1", "f", alpha(0.3, 0.2, 0.4), 0.667, items, AT)
    assert alert is not None
    recs = alert.recommendations
    assert len(recs) == AGREEMENT_MAX_ITEMS == 50
    keys = [(-r.score, r.target) for r in recs]
    assert keys == sorted(keys)
    assert recs[0].score == pytest.approx(6 / 7) and recs[0].target == "i-006"
    assert len(alert.evidence["items"]) == 50


def test_an_agreement_alert_refuses_a_disagreement_outside_0_to_1() -> None:
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="disagreement"):
            agreement_alert("acme", "p-1", "f", alpha(0.3, 0.2, 0.4), 0.667, [("i", bad)], AT)


def test_an_agreement_alert_id_is_that_of_its_estimate() -> None:
    a = agreement_alert("acme", "p-1", "f", alpha(0.3, 0.2, 0.4), 0.667, [("i", 1.0)], AT)
    b = agreement_alert("acme", "p-1", "f", alpha(0.3, 0.2, 0.4), 0.667, [], LATER)
    c = agreement_alert("acme", "p-1", "f", alpha(0.3, 0.2, 0.4, n=121), 0.667, [], AT)
    d = agreement_alert("acme", "p-1", "g", alpha(0.3, 0.2, 0.4), 0.667, [], AT)
    assert a is not None and b is not None and c is not None and d is not None
    assert a.alert_id == b.alert_id
    assert len({a.alert_id, c.alert_id, d.alert_id}) == 3


def test_a_drift_window_smaller_than_the_policys_minimum_can_still_alert() -> None:
    before, after = LabelCounts(), LabelCounts()
    for label, n_before, n_after in (("a", 25, 5), ("b", 25, 45)):
        before.add(label, n_before)
        after.add(label, n_after)
    # 50 items a window: the fixed minimum of 200 observations never lets it alert ...
    assert label_drift(before, after, DriftPolicy()).severity is None
    # ... the lane's policy for 50-item windows does
    assert drift_policy(50).min_count == 50
    assert label_drift(before, after, drift_policy(50)).severity in ("major", "critical")
    assert drift_policy(200) == DriftPolicy() and drift_policy(1_000) == DriftPolicy()
