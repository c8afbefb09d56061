"""Pre-label systematic errors (one-sided Fisher or binomial test against the other classes, BH) and calibration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest, fisher_exact
from sklearn.metrics import confusion_matrix
from statsmodels.stats.multitest import multipletests

from services.metrics.prelabels import (
    CalibrationState,
    PrelabelConfusion,
    benjamini_hochberg,
    reliability,
    systematic_errors,
)

CLASSES = ["car", "bus", "truck", "bike", "person", "sign"]


@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_benjamini_hochberg_equals_statsmodels_fdr_bh(p_values: list[float]) -> None:
    reference = multipletests(p_values, method="fdr_bh")[1]
    assert benjamini_hochberg(p_values) == pytest.approx(list(reference), abs=1e-12)


def test_benjamini_hochberg_by_hand() -> None:
    # m = 4: 4p/rank = 0.04, 0.04, 0.0533, 0.8; step-up minima from the top
    assert benjamini_hochberg([0.2, 0.01, 0.02, 0.04]) == pytest.approx(
        [0.2, 0.04, 0.04, 0.0533333]
    )
    assert benjamini_hochberg([]) == []


pairs = st.lists(st.tuples(st.sampled_from(CLASSES), st.sampled_from(CLASSES)), max_size=300)


@pytest.mark.filterwarnings("ignore:A single label was found:UserWarning")
@given(pairs)
def test_the_confusion_counts_equal_sklearns_confusion_matrix(data: list[tuple[str, str]]) -> None:
    confusion = PrelabelConfusion("detector", "v3")
    for prelabel, resolved in data:
        confusion.add(prelabel, resolved)
    labels, matrix = confusion.matrix()
    assert confusion.n == len(data)
    if data:
        reference = confusion_matrix(
            [p for p, _ in data], [r for _, r in data], labels=labels
        )  # rows: the first argument (pre-label)
        assert matrix == reference.tolist()
    assert PrelabelConfusion.from_document(confusion.to_document()) == confusion


def biased(rng: np.random.Generator, n: int, error: dict[str, float]) -> PrelabelConfusion:
    confusion = PrelabelConfusion("detector", "v3")
    for i in range(n):
        prelabel = CLASSES[rng.integers(len(CLASSES))]
        wrong = rng.random() < error.get(prelabel, 0.1)
        resolved = (
            CLASSES[(CLASSES.index(prelabel) + 1 + rng.integers(5)) % 6] if wrong else prelabel
        )
        confusion.add(prelabel, resolved, f"item-{i}")
    return confusion


def test_the_binomial_variant_of_a_class_with_40_errors_in_100_against_10_in_300_by_hand() -> None:
    confusion = PrelabelConfusion("detector", "v3")
    for i in range(100):
        confusion.add("bus", "truck" if i < 40 else "bus", f"bus-{i}")
    for i in range(300):
        confusion.add("car", "bike" if i < 10 else "car", f"car-{i}")
    report = systematic_errors(confusion, min_count=30, test="binomial")
    bus, car = (next(c for c in report.classes if c.label == label) for label in ("bus", "car"))
    assert (bus.n, bus.errors, bus.rate.value) == (100, 40, 0.4)
    assert bus.others_rate.value == pytest.approx(10 / 300)
    assert bus.p_value == binomtest(40, 100, 10 / 300, alternative="greater").pvalue
    assert car.p_value == binomtest(10, 300, 40 / 100, alternative="greater").pvalue
    assert [bus.q_value, car.q_value] == pytest.approx(
        list(multipletests([bus.p_value, car.p_value], method="fdr_bh")[1])
    )
    assert report.alerts == (bus,)
    assert bus.examples == ("bus-39", "bus-38", "bus-37", "bus-36", "bus-35")  # most recent
    assert report.overall.value == pytest.approx(50 / 400)
    assert bus.rate.ci is not None and bus.rate.ci.low < 0.4 < bus.rate.ci.high


def test_a_seeded_biased_class_alerts_and_unbiased_data_of_the_same_size_does_not() -> None:
    rng = np.random.default_rng(5)
    report = systematic_errors(biased(rng, 3000, {"truck": 0.25}))
    assert [c.label for c in report.alerts] == ["truck"]
    assert report.tested == len(CLASSES)
    false_alarms = sum(len(systematic_errors(biased(rng, 3000, {})).alerts) for _ in range(40))
    assert false_alarms <= 4  # FDR at 0.05 under the global null: P(any alert) <= 0.05


def test_the_resolved_axis_finds_a_class_the_model_misses() -> None:
    confusion = PrelabelConfusion("detector", "v3")
    for i in range(200):
        confusion.add("car", "car")
        confusion.add("bus", "bus")
        confusion.add("car" if i < 80 else "sign", "sign", f"sign-{i}")
    by_resolved = systematic_errors(confusion, axis="resolved")
    assert [c.label for c in by_resolved.alerts] == ["sign"]
    assert by_resolved.alerts[0].examples[0] == "sign-79"
    by_prelabel = systematic_errors(confusion, axis="prelabel")
    assert [c.label for c in by_prelabel.alerts] == ["car"]  # 80 of its 280 are signs


def test_classes_below_the_minimum_count_are_not_tested_nor_counted_in_bh() -> None:
    confusion = PrelabelConfusion("detector", "v3")
    for _ in range(10):
        confusion.add("bus", "truck")
    for _ in range(100):
        confusion.add("car", "car")
    report = systematic_errors(confusion, min_count=30)
    bus = next(c for c in report.classes if c.label == "bus")
    assert (bus.p_value, bus.q_value, bus.alert, bus.reason) == (
        None,
        None,
        False,
        "fewer than 30 items",
    )
    assert report.tested == 1
    only = PrelabelConfusion("detector", "v3")
    only.add("car", "bus")
    assert (
        systematic_errors(only, min_count=1).classes[0].reason == "no other class to compare with"
    )
    empty = systematic_errors(PrelabelConfusion("detector", "v3"))
    assert (empty.n, empty.overall.value, empty.reason) == (
        0,
        None,
        "no resolved pre-labelled items",
    )


def test_a_withdrawn_outcome_leaves_the_counts_as_before() -> None:
    confusion = PrelabelConfusion("detector", "v3")
    confusion.add("car", "car")
    before = confusion.to_document()
    confusion.add("car", "bus", "item-9")
    confusion.withdraw("car", "bus", "item-9")
    assert confusion.matrix() == PrelabelConfusion.from_document(before).matrix()
    assert confusion.examples == {("car", "bus"): []}
    with pytest.raises(ValueError, match="nothing counted"):
        confusion.withdraw("car", "bus")


def reference_ece(confidences: np.ndarray, correct: np.ndarray) -> float:
    bucket = np.searchsorted([i / 10 for i in range(1, 10)], confidences, side="right")
    total = 0.0
    for b in range(10):
        mask = bucket == b
        if mask.any():
            total += mask.mean() * abs(correct[mask].mean() - confidences[mask].mean())
    return total


@settings(deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.booleans()), min_size=1, max_size=400))
def test_expected_calibration_error_equals_a_plain_reference(
    data: list[tuple[float, bool]],
) -> None:
    state = CalibrationState()
    for confidence, correct in data:
        state.add(confidence, correct)
    curve = reliability(state)
    confidences = np.array([c for c, _ in data])
    correct = np.array([k for _, k in data], dtype=float)
    assert curve.n == len(data)
    assert curve.ece == pytest.approx(reference_ece(confidences, correct), abs=1e-9)
    assert curve.mce is not None and curve.ece is not None and 0 <= curve.ece <= curve.mce <= 1
    assert CalibrationState.from_document(state.to_document()) == state


def test_reliability_curve_by_hand_with_a_confidence_of_one_in_the_top_bucket() -> None:
    state = CalibrationState()
    for confidence, correct in [
        (1.0, True),
        (0.95, False),
        (0.9, True),
        (0.25, False),
        (0.2, True),
    ]:
        state.add(confidence, correct)
    curve = reliability(state)
    top, low = curve.buckets[9], curve.buckets[2]
    assert (top.low, top.high, top.n, top.accuracy.value) == (0.9, 1.0, 3, pytest.approx(2 / 3))
    assert top.mean_confidence == pytest.approx(0.95)
    assert (low.n, low.accuracy.value, low.mean_confidence) == (2, 0.5, pytest.approx(0.225))
    # ECE = 3/5 |2/3 - 0.95| + 2/5 |0.5 - 0.225|
    assert curve.ece == pytest.approx(0.6 * (0.95 - 2 / 3) + 0.4 * 0.275)
    assert curve.buckets[0].mean_confidence is None and curve.buckets[0].accuracy.value is None
    assert reliability(CalibrationState()).ece is None


def test_the_fisher_variant_is_fishers_one_sided_exact_test_on_the_2x2_table() -> None:
    confusion = PrelabelConfusion("detector", "v3")
    for i in range(100):
        confusion.add("bus", "truck" if i < 40 else "bus")
    for i in range(300):
        confusion.add("car", "bike" if i < 10 else "car")
    report = systematic_errors(confusion, test="fisher")
    bus = next(c for c in report.classes if c.label == "bus")
    assert bus.p_value == fisher_exact([[40, 60], [10, 290]], alternative="greater")[1]
    assert report.test == "fisher" and bus.alert
