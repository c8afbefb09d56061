"""Time to resolution from a mergeable DDSketch: p50 / p90 / p99 within the stated accuracy."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from ddsketch import DDSketch
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics.throughput import (
    ANY_SKILL,
    QUANTILES,
    RELATIVE_ACCURACY,
    UNKNOWN_SKILLS,
    Judged,
    ResolutionTimes,
    SkillDepth,
    UnitLifecycle,
    depth_by_skill,
    time_to_resolution,
)

durations = st.lists(
    st.one_of(st.just(0.0), st.floats(1e-3, 1e7, allow_nan=False)), min_size=1, max_size=400
)


def kept(values: list[float]) -> ResolutionTimes:
    times = ResolutionTimes()
    for v in values:
        times.add(v)
    return times


def within_accuracy(estimate: float, exact: float) -> bool:
    return abs(estimate - exact) <= RELATIVE_ACCURACY * exact * (1 + 1e-9) + 1e-12


@settings(deadline=None)
@given(durations)
def test_quantiles_are_within_one_percent_of_numpys_lower_quantiles(values: list[float]) -> None:
    figure = time_to_resolution(kept(values))
    assert figure.n == len(values) and figure.relative_accuracy == 0.01
    for q in QUANTILES:
        estimate = figure.value(q)
        assert estimate is not None
        exact = float(np.quantile(values, q, method="lower"))
        assert within_accuracy(estimate, exact), (q, estimate, exact)
    assert figure.minimum == min(values) and figure.maximum == max(values)
    assert figure.mean == pytest.approx(float(np.mean(values)))


@settings(deadline=None)
@given(durations, durations)
def test_two_merged_sketches_are_the_sketch_of_the_union(a: list[float], b: list[float]) -> None:
    merged = kept(a).merged(kept(b))
    union = kept(a + b)
    assert merged.bins == union.bins and merged.zero_count == union.zero_count
    assert time_to_resolution(merged).quantiles == time_to_resolution(union).quantiles
    for q in QUANTILES:
        estimate = time_to_resolution(merged).value(q)
        assert estimate is not None
        assert within_accuracy(estimate, float(np.quantile(a + b, q, method="lower")))


@given(durations)
def test_the_bins_are_the_ones_ddsketch_keeps(values: list[float]) -> None:
    reference = DDSketch(RELATIVE_ACCURACY)
    for v in values:
        reference.add(v)
    figure = time_to_resolution(kept(values), quantiles=(0.0, 0.25, 0.5, 0.9, 0.99, 1.0))
    for x in figure.quantiles:
        expected = min(max(reference.get_quantile_value(x.q), min(values)), max(values))
        assert x.value == expected


@given(durations)
def test_a_sketch_survives_its_document(values: list[float]) -> None:
    times = kept(values)
    restored = ResolutionTimes.from_document(times.to_document())
    assert restored == times
    assert time_to_resolution(restored) == time_to_resolution(times)


def test_p50_p90_p99_of_one_to_a_hundred_seconds_by_hand() -> None:
    figure = time_to_resolution(kept([float(s) for s in range(1, 101)]))
    # ranks q * 99: 49.5, 89.1, 98.01, the lower elements 50, 90, 99 seconds
    for q, exact in [(0.5, 50.0), (0.9, 90.0), (0.99, 99.0)]:
        estimate = figure.value(q)
        assert estimate is not None and within_accuracy(estimate, exact)


def test_no_durations_give_no_quantiles_and_bad_durations_are_refused() -> None:
    figure = time_to_resolution(ResolutionTimes())
    assert (figure.n, figure.quantiles, figure.mean, figure.reason) == (0, (), None, "no durations")
    empty = ResolutionTimes.from_document(ResolutionTimes().to_document())
    assert empty == ResolutionTimes()
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="is not a duration"):
            ResolutionTimes().add(bad)
    with pytest.raises(ValueError, match="do not merge"):
        ResolutionTimes(0.01).merged(ResolutionTimes(0.02))


def test_a_week_of_durations_in_seconds_takes_a_few_hundred_bins() -> None:
    times = kept(list(np.geomspace(1, 7 * 24 * 3600, 10_000)))
    assert len(times.bins) < 700


def test_a_unit_counts_under_each_skill_its_project_requires() -> None:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    waiting = UnitLifecycle("u1", "review", t)
    held = UnitLifecycle("u2", "review", t, leases=(t,))
    done_unit = UnitLifecycle("u3", "review", t, judgments=(Judged("j", "e", t, 1.0),))
    rows = depth_by_skill(
        {
            "video": [waiting, held, done_unit],
            "open": [waiting],
            "new": [held],
            "idle": [done_unit],
        },
        {"video": ["lang.ja", "modality.video"], "open": [], "idle": ["lang.ja"]},
    )
    assert rows == [
        SkillDepth(ANY_SKILL, 1, 0, 1),
        SkillDepth(UNKNOWN_SKILLS, 0, 1, 1),
        SkillDepth("lang.ja", 1, 1, 1),  # the idle project has nothing waiting: not counted
        SkillDepth("modality.video", 1, 1, 1),
    ]
