"""Drift of resolved labels and pre-label confidences: PSI, JS, chi-square, KS, verdicts."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from services.metrics.drift import (
    CONFIDENCE_BINS,
    PSI_EPSILON,
    ConfidenceWindow,
    DriftPolicy,
    LabelCounts,
    chi_square_homogeneity,
    confidence_drift,
    js_divergence,
    ks_two_sample,
    label_drift,
    psi,
)

LABELS = ["car", "bus", "truck", "bike", "person"]
label_counts = st.dictionaries(st.sampled_from(LABELS), st.integers(0, 10_000), max_size=5)
histograms = st.lists(st.integers(0, 10_000), min_size=CONFIDENCE_BINS, max_size=CONFIDENCE_BINS)


def reference_psi(b: np.ndarray, c: np.ndarray) -> float:
    pb = np.maximum(b / b.sum(), PSI_EPSILON)
    pc = np.maximum(c / c.sum(), PSI_EPSILON)
    return float(np.sum((pc - pb) * np.log(pc / pb)))


def test_psi_of_a_shift_from_half_half_to_a_quarter_by_hand() -> None:
    value = psi([50, 50], [25, 75]).value
    assert value == pytest.approx(-0.25 * math.log(0.5) + 0.25 * math.log(1.5), abs=1e-15)
    assert value == pytest.approx(0.274653, abs=1e-6)


def test_psi_gives_a_label_absent_from_a_window_the_epsilon_share() -> None:
    value = psi({"car": 10}, {"car": 5, "bus": 5}).value
    expected = -0.5 * math.log(0.5) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert value == pytest.approx(expected, abs=1e-12)
    assert psi({"car": 3, "bus": 0}, {"car": 6}).value == 0.0


@given(histograms, histograms)
def test_psi_equals_a_plain_reference_and_is_not_negative(b: list[int], c: list[int]) -> None:
    figure = psi(b, c)
    if sum(b) == 0 or sum(c) == 0:
        assert figure.value is None and figure.reason == "a window is empty"
        return
    assert figure.value == pytest.approx(reference_psi(np.array(b), np.array(c)), abs=1e-9)
    assert figure.value >= 0
    assert (figure.n_baseline, figure.n_current) == (sum(b), sum(c))


@given(label_counts, label_counts)
def test_js_divergence_is_scipys_squared_base_2_distance(
    b: dict[str, int], c: dict[str, int]
) -> None:
    figure = js_divergence(b, c)
    if sum(b.values()) == 0 or sum(c.values()) == 0:
        assert figure.value is None
        return
    keys = sorted(set(b) | set(c))
    distance = jensenshannon([b.get(k, 0) for k in keys], [c.get(k, 0) for k in keys], base=2)
    assert figure.value == pytest.approx(float(distance) ** 2, abs=1e-9)
    assert 0 <= figure.value <= 1


def test_js_divergence_of_disjoint_windows_is_one_and_of_equal_shares_zero() -> None:
    assert js_divergence({"car": 5}, {"bus": 7}).value == 1.0
    assert js_divergence([1, 2, 3], [2, 4, 6]).value == pytest.approx(0.0, abs=1e-15)


@given(label_counts, label_counts)
def test_chi_square_equals_scipy_without_continuity_correction_zero_columns_dropped(
    b: dict[str, int], c: dict[str, int]
) -> None:
    test = chi_square_homogeneity(b, c)
    keys = [k for k in sorted(set(b) | set(c)) if b.get(k, 0) + c.get(k, 0) > 0]
    if sum(b.values()) == 0 or sum(c.values()) == 0 or len(keys) < 2:
        assert test.statistic is None and test.p_value is None and test.reason
        return
    table = [[b.get(k, 0) for k in keys], [c.get(k, 0) for k in keys]]
    reference = chi2_contingency(table, correction=False)
    assert test.statistic == pytest.approx(reference.statistic, rel=1e-9, abs=1e-9)
    assert test.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-12)
    assert test.dof == reference.dof == len(keys) - 1
    assert test.categories == tuple(keys)


def test_chi_square_on_a_2x2_table_is_not_yates_corrected() -> None:
    test = chi_square_homogeneity({"car": 30, "bus": 10}, {"car": 20, "bus": 20})
    assert test.statistic == pytest.approx(chi2_contingency([[30, 10], [20, 20]], False).statistic)
    assert test.statistic != pytest.approx(chi2_contingency([[30, 10], [20, 20]]).statistic)
    # 80 items, expected 25 and 15 per row: sum (o - e)² / e = 4 (25/25 + 25/15) / 2 ... by hand
    assert test.statistic == pytest.approx(2 * (25 / 25 + 25 / 15), abs=1e-12)


def test_chi_square_with_fewer_than_two_labels_is_undefined() -> None:
    test = chi_square_homogeneity({"car": 30, "bus": 0}, {"car": 12})
    assert (test.statistic, test.p_value, test.reason) == (None, None, "fewer than 2 labels")
    assert chi_square_homogeneity({}, {"car": 1, "bus": 1}).reason == "a window is empty"


def window(values: np.ndarray | list[float], cap: int = 10_000) -> ConfidenceWindow:
    kept = ConfidenceWindow(cap=cap)
    for v in values:
        kept.add(float(v))
    return kept


@settings(deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=300),
    st.lists(st.floats(0, 1), min_size=1, max_size=300),
)
def test_ks_below_the_cap_is_scipys_ks_2samp_on_the_exact_values(
    b: list[float], c: list[float]
) -> None:
    test = ks_two_sample(window(b), window(c))
    reference = ks_2samp(b, c)
    assert (test.statistic, test.p_value) == (reference.statistic, reference.pvalue)
    assert test.exact


def test_the_histogram_puts_one_in_the_top_bin_and_counts_every_value() -> None:
    kept = window([0.0, 0.05, 0.1, 0.95, 1.0, 1.0])
    assert kept.bins == [2, 1, 0, 0, 0, 0, 0, 0, 0, 3]
    assert kept.n == 6 and kept.sample == [0.0, 0.05, 0.1, 0.95, 1.0, 1.0]
    with pytest.raises(ValueError, match="not a number from 0 to 1"):
        kept.add(1.01)
    with pytest.raises(ValueError, match="not a number from 0 to 1"):
        kept.add(float("nan"))


def test_past_the_cap_the_sample_is_a_uniform_reservoir_the_same_on_every_replay() -> None:
    values = np.arange(20_000) / 20_000
    first, again = window(values, cap=1000), window(values, cap=1000)
    assert first.sample == again.sample and len(first.sample) == 1000
    assert not first.exact and first.n == 20_000
    # positions are uniform: the mean of uniform(0,1) over 1000 draws is 0.5 +- 0.03 (3.3 sd)
    assert abs(float(np.mean(first.sample)) - 0.5) < 0.03
    assert not ks_two_sample(first, window(values[:5000])).exact


def test_windows_survive_their_documents() -> None:
    kept = window(np.random.default_rng(3).random(50), cap=20)
    assert ConfidenceWindow.from_document(kept.to_document()) == kept
    labels = LabelCounts()
    for label in ["car.suv", "$bus", "car.suv"]:
        labels.add(label)
    assert LabelCounts.from_document(labels.to_document()) == labels
    assert labels.counts == Counter(["car.suv", "$bus", "car.suv"])
    labels.add("car.suv", -2)
    assert labels.n == 1
    with pytest.raises(ValueError, match="below 0"):
        labels.add("car.suv", -1)


def labels_window(rng: np.random.Generator, shares: list[float], n: int) -> LabelCounts:
    return LabelCounts(dict(Counter(rng.choice(LABELS, size=n, p=shares).tolist())))


SHARES = [0.4, 0.3, 0.15, 0.1, 0.05]


def test_a_seeded_label_shift_raises_a_major_alert() -> None:
    rng = np.random.default_rng(11)
    verdict = label_drift(
        labels_window(rng, SHARES, 2000), labels_window(rng, [0.2, 0.3, 0.15, 0.1, 0.25], 2000)
    )
    assert verdict.alert and verdict.severity in ("major", "critical")
    assert verdict.test.p_value is not None and verdict.test.p_value < 1e-10


def test_no_label_alert_on_unshifted_windows_of_the_same_size() -> None:
    rng = np.random.default_rng(12)
    verdicts = [
        label_drift(labels_window(rng, SHARES, 2000), labels_window(rng, SHARES, 2000))
        for _ in range(100)
    ]
    assert not any(v.alert for v in verdicts)
    assert all(v.severity == "none" for v in verdicts)


def test_a_seeded_confidence_shift_alerts_and_unshifted_confidences_do_not() -> None:
    rng = np.random.default_rng(13)
    baseline = window(rng.beta(8, 2, 2000))
    shifted = confidence_drift(baseline, window(rng.beta(4, 2, 2000)))
    assert shifted.alert
    assert shifted.psi.value is not None and shifted.psi.value >= 0.25
    steady = [
        confidence_drift(window(rng.beta(8, 2, 2000)), window(rng.beta(8, 2, 2000)))
        for _ in range(30)
    ]
    assert not any(v.alert for v in steady)


def test_no_verdict_below_the_minimum_count_per_window() -> None:
    verdict = label_drift(LabelCounts({"car": 150}), LabelCounts({"bus": 150}))
    assert verdict.severity is None and verdict.reason == "a window holds fewer than 200"
    assert verdict.psi.value is not None  # the figures are still there to read
    assert (
        label_drift(
            LabelCounts({"car": 150}), LabelCounts({"bus": 150}), DriftPolicy(min_count=100)
        ).severity
        == "critical"
    )


def test_severity_follows_the_stated_thresholds() -> None:
    policy = DriftPolicy(min_count=1)
    base = LabelCounts({"a": 5000, "b": 5000})
    cases = {
        (5000, 5000): "none",
        (6500, 3500): "none",  # PSI 0.093, JS 0.017: significant, below both minors
        (6600, 3400): "minor",  # PSI 0.106
        (7300, 2700): "minor",  # PSI 0.229
        (7400, 2600): "major",  # PSI 0.251
        (8500, 1500): "critical",  # PSI 0.607, JS 0.105
    }
    for (a, b), severity in cases.items():
        verdict = label_drift(base, LabelCounts({"a": a, "b": b}), policy)
        # PSI of shares (x, 1 - x) against (1/2, 1/2) is (x - 1/2) ln(x / (1 - x))
        x = a / 10_000
        assert verdict.psi.value == pytest.approx((x - 0.5) * math.log(x / (1 - x)), abs=1e-12)
        assert verdict.severity == severity, (a, b, verdict.psi.value, verdict.js.value)
