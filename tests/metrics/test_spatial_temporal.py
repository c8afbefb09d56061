"""Spatial and temporal agreement and the spread of A/V sync offsets
(``services/metrics/agreement/spatial_temporal.py``): small cases computed by hand, the
event-based F1 against ``mir_eval``'s note matching, the bootstrap's exact procedure, and the
incremental states against the batch computation after any sequence of records."""

from __future__ import annotations

import json
import math
import warnings
from typing import Any

import mir_eval
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.metrics.agreement.spatial_temporal import (
    PERCENTAGE_OF_LENGTH,
    SYNC_OFFSET_DIMENSION,
    T_COLLAR_S,
    EventCounts,
    RegionAgreementState,
    SegmentAgreementState,
    SyncOffsetState,
    SyncSpread,
    event_counts,
    event_counts_by_class,
    judged_labels,
    mean_over_items,
    median_abs_difference,
    pooled_sd,
    region_overlap,
    segment_overlap,
    symmetric_event_f1,
    sync_offset_ms,
    sync_spread,
)
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, TimeSegment
from tests.metrics.judgments import judgment

# -- builders --------------------------------------------------------------------------------


def box(x: float, y: float, w: float, h: float, cls: str = "cat") -> Label:
    return Label(class_id=cls, geometry=Box(x=x, y=y, width=w, height=h))


def seg(start: float, end: float, cls: str = "speech") -> Label:
    return Label(class_id=cls, segment=TimeSegment(start_s=start, end_s=end))


def no_nan(value: Any) -> bool:
    json.dumps(value, allow_nan=False)  # raises on NaN or infinity
    return True


# -- spatial: hand-computed ------------------------------------------------------------------


def test_box_iou_is_intersection_over_union_of_the_matched_pair() -> None:
    # [0, 10] and [5, 15] wide, same height: 50 / 150
    overlap = region_overlap([box(0, 0, 10, 10)], [box(5, 0, 10, 10)])
    assert (overlap.left, overlap.right, overlap.matched) == (1, 1, 1)
    assert overlap.mean_iou == pytest.approx(1 / 3, abs=1e-12)


def test_unmatched_regions_of_either_side_count_zero_over_the_union_of_objects() -> None:
    a = [box(0, 0, 10, 10), box(100, 100, 5, 5)]
    b = [box(5, 0, 10, 10)]
    # one matched pair (1/3) and one unmatched region: (1/3) / (2 + 1 - 1)
    assert region_overlap(a, b).mean_iou == pytest.approx(1 / 6, abs=1e-12)
    assert region_overlap(b, a).mean_iou == pytest.approx(1 / 6, abs=1e-12)
    b2 = [*b, box(200, 0, 5, 5)]  # one unmatched on each side: (1/3) / (2 + 2 - 1)
    assert region_overlap(a, b2).mean_iou == pytest.approx(1 / 9, abs=1e-12)


def test_regions_of_different_classes_never_match() -> None:
    overlap = region_overlap([box(0, 0, 10, 10, "cat")], [box(0, 0, 10, 10, "dog")])
    assert overlap.matched == 0
    assert overlap.mean_iou == 0.0


def test_matching_maximises_the_total_iou_where_greedy_would_not() -> None:
    # intervals (all 10 high): a1 [1, 11], a2 [10.5, 13]; b1 [2, 12], b2 [0, 9]
    # a1-b1 9/11 (the best pair), a1-b2 8/11, a2-b1 1.5/11, a2-b2 none. Greedy takes a1-b1
    # and leaves a2 alone (9/11 / 3); the optimum pairs a1-b2 and a2-b1: 19/22 over 2 objects
    a = [box(1, 0, 10, 10), box(10.5, 0, 2.5, 10)]
    b = [box(2, 0, 10, 10), box(0, 0, 9, 10)]
    overlap = region_overlap(a, b)
    assert overlap.matched == 2
    assert overlap.iou_sum == pytest.approx(19 / 22, abs=1e-12)
    assert overlap.mean_iou == pytest.approx(19 / 44, abs=1e-12)


def test_a_polygon_compares_by_area_with_a_box_of_the_same_class() -> None:
    triangle = Label(class_id="cat", geometry=Polygon(points=[(0, 0), (2, 0), (0, 2)]))
    # the triangle (area 2) inside the 2 x 2 square: 2 / 4
    assert region_overlap([triangle], [box(0, 0, 2, 2)]).mean_iou == pytest.approx(0.5)


def test_masks_compare_pixel_by_pixel_and_never_with_a_box() -> None:
    full = Label(class_id="cat", geometry=RleMask(size=(2, 2), counts=[0, 4]))
    half = Label(class_id="cat", geometry=RleMask(size=(2, 2), counts=[2, 2]))
    assert region_overlap([full], [half]).mean_iou == pytest.approx(0.5)
    # a mask against a box is 0: both unmatched
    assert region_overlap([full], [box(0, 0, 2, 2)]).mean_iou == 0.0


def test_no_region_on_either_side_is_undefined_and_on_one_side_is_zero() -> None:
    assert region_overlap([], []).mean_iou is None
    assert region_overlap([box(0, 0, 1, 1)], []).mean_iou == 0.0


def test_only_labels_with_a_geometry_and_no_segment_are_regions() -> None:
    timed = Label(
        class_id="cat",
        geometry=Box(x=0, y=0, width=1, height=1),
        segment=TimeSegment(start_s=0, end_s=1),
    )
    overlap = region_overlap([timed, seg(0, 1, "cat")], [box(0, 0, 1, 1)])
    assert (overlap.left, overlap.right, overlap.matched) == (0, 1, 0)


def test_an_iou_threshold_leaves_lower_overlaps_unmatched() -> None:
    a, b = [box(0, 0, 10, 10)], [box(5, 0, 10, 10)]  # IoU 1/3
    assert region_overlap(a, b, iou_threshold=0.5).mean_iou == 0.0
    assert region_overlap(a, b, iou_threshold=0.3).mean_iou == pytest.approx(1 / 3)


# -- temporal: hand-computed -----------------------------------------------------------------


def test_segment_iou_with_unmatched_segments_as_zero() -> None:
    assert segment_overlap([seg(0, 2)], [seg(1, 3)]).mean_iou == pytest.approx(1 / 3)
    # and an unmatched segment on one side: (1/3) / 2
    two = [seg(1, 3), seg(10, 11)]
    assert segment_overlap([seg(0, 2)], two).mean_iou == pytest.approx(1 / 6)
    assert segment_overlap([seg(0, 2)], [seg(1, 3, "music")]).mean_iou == 0.0


@pytest.mark.parametrize(
    ("onset", "matched"),
    [(1.19, 1), (1.2, 1), (1.21, 0), (0.81, 1), (0.79, 0)],
)
def test_onset_matches_within_the_collar_of_0_2_s_and_not_beyond(
    onset: float, matched: int
) -> None:
    counts = event_counts([seg(1.0, 3.0)], [seg(onset, 3.0)])
    assert counts == EventCounts(1, 1, matched)
    assert counts.f1 == float(matched)


@pytest.mark.parametrize(
    ("end", "matched"),
    # reference [0, 4]: the offset tolerance is max(0.2, 0.5 * 4) = 2.0 s
    [(5.9, 1), (2.1, 1), (6.1, 0), (1.9, 0)],
)
def test_offset_tolerance_is_half_the_reference_length(end: float, matched: int) -> None:
    assert event_counts([seg(0, 4)], [seg(0.1, end)]).matched == matched


@pytest.mark.parametrize(("end", "matched"), [(1.39, 1), (1.41, 0)])
def test_offset_collar_is_the_floor_for_short_reference_events(end: float, matched: int) -> None:
    # reference [1, 1.2]: 0.5 * 0.2 = 0.1 < the 0.2 s collar
    assert event_counts([seg(1, 1.2)], [seg(1, end)]).matched == matched


def test_event_f1_is_made_symmetric_by_averaging_both_references() -> None:
    a, b = [seg(0, 4)], [seg(0, 6.5)]
    # offsets 2.5 s apart: within half of 6.5 s (B the reference), not half of 4 s (A)
    assert event_counts(a, b).f1 == 0.0
    assert event_counts(b, a).f1 == 1.0
    assert symmetric_event_f1(a, b) == 0.5
    assert symmetric_event_f1(b, a) == 0.5
    # onsets only: one criterion both ways
    assert symmetric_event_f1(a, b, evaluate_offset=False) == 1.0


def test_event_matching_is_a_maximum_one_to_one_matching() -> None:
    # e1 fits both references, e2 only r2: the maximum matching pairs r1-e1 and r2-e2
    ref = [seg(0.0, 1.0), seg(0.15, 1.0)]
    est = [seg(0.1, 1.0), seg(0.3, 1.0)]
    assert event_counts(ref, est) == EventCounts(2, 2, 2)
    # two estimates on one reference: one match, precision 1/2
    counts = event_counts([seg(0, 1)], [seg(0, 1), seg(0.05, 1)])
    assert (counts.matched, counts.precision, counts.recall) == (1, 0.5, 1.0)
    assert counts.f1 == pytest.approx(2 / 3)


def test_events_of_different_classes_never_match_and_count_per_class() -> None:
    ref = [seg(0, 1, "speech"), seg(2, 3, "music")]
    est = [seg(0, 1, "music"), seg(2, 3, "music")]
    by_class = event_counts_by_class(ref, est)
    assert by_class[("segments", "speech", None, None)] == EventCounts(1, 0, 0)
    assert by_class[("segments", "music", None, None)] == EventCounts(1, 2, 1)
    assert event_counts(ref, est) == EventCounts(2, 2, 1)


def test_no_event_on_either_side_is_undefined() -> None:
    assert symmetric_event_f1([], []) is None
    assert symmetric_event_f1([seg(0, 1)], []) == 0.0
    assert EventCounts(0, 0, 0).precision is None


# -- temporal: against mir_eval --------------------------------------------------------------

CLASSES = ("speech", "music", "dog")
#: (t_collar, percentage_of_length): sed_eval's defaults and values off the millisecond grid
COLLARS = [(T_COLLAR_S, PERCENTAGE_OF_LENGTH), (0.055, 0.37), (0.205, 0.53), (1.0, 0.1)]
#: mir_eval rounds distances to 4 decimals (half of 1e-4 either way) and Quorum compares to
#: 1e-9: cases where a distance is within 1e-4 of its tolerance are left out (by assume), so
#: that both decide every pair the same way
CLEARANCE = 1e-4

events = st.lists(
    st.tuples(st.sampled_from(CLASSES), st.integers(0, 3000), st.integers(10, 2000)).map(
        lambda e: seg(e[1] / 1000, (e[1] + e[2]) / 1000, e[0])
    ),
    max_size=7,
)


def clear_of_the_tolerances(
    reference: list[Label], estimated: list[Label], t_collar: float, pct: float
) -> bool:
    for r in reference:
        for e in estimated:
            if r.class_id != e.class_id:
                continue
            assert r.segment is not None and e.segment is not None
            onset = abs(r.segment.start_s - e.segment.start_s)
            offset = abs(r.segment.end_s - e.segment.end_s)
            tolerance = max(t_collar, pct * (r.segment.end_s - r.segment.start_s))
            if abs(onset - t_collar) < CLEARANCE or abs(offset - tolerance) < CLEARANCE:
                return False
    return True


def intervals(labels: list[Label]) -> np.ndarray:
    rows = [[x.segment.start_s, x.segment.end_s] for x in labels if x.segment is not None]
    return np.array(rows, dtype=np.float64).reshape(-1, 2)


def mir_eval_matched(
    reference: list[Label], estimated: list[Label], t_collar: float, pct: float, offsets: bool
) -> int:
    """Matched notes by ``mir_eval.transcription``: one pitch per class, 1200 cents apart
    (beyond its 50-cent tolerance), so classes never match."""
    if not reference or not estimated:
        return 0
    pitch = {c: 110.0 * 2**k for k, c in enumerate(CLASSES)}
    _, recall, _, _ = mir_eval.transcription.precision_recall_f1_overlap(
        intervals(reference),
        np.array([pitch[x.class_id] for x in reference]),
        intervals(estimated),
        np.array([pitch[x.class_id] for x in estimated]),
        onset_tolerance=t_collar,
        offset_ratio=pct if offsets else None,
        offset_min_tolerance=t_collar,
    )
    return round(float(recall) * len(reference))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(a=events, b=events, collars=st.sampled_from(COLLARS), offsets=st.booleans())
def test_event_f1_equals_mir_eval_on_random_segments(
    a: list[Label], b: list[Label], collars: tuple[float, float], offsets: bool
) -> None:
    t_collar, pct = collars
    assume(clear_of_the_tolerances(a, b, t_collar, pct))
    assume(clear_of_the_tolerances(b, a, t_collar, pct))
    options: dict[str, Any] = {
        "t_collar": t_collar,
        "percentage_of_length": pct,
        "evaluate_offset": offsets,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f1s = []
        for ref, est in ((a, b), (b, a)):
            # per class
            by_class = event_counts_by_class(ref, est, **options)
            for cls in CLASSES:
                r = [x for x in ref if x.class_id == cls]
                e = [x for x in est if x.class_id == cls]
                counts = by_class.get(("segments", cls, None, None), EventCounts(0, 0, 0))
                assert counts.reference == len(r)
                assert counts.estimated == len(e)
                assert counts.matched == mir_eval_matched(r, e, t_collar, pct, offsets)
                if r and e:
                    _, _, f1, _ = mir_eval.transcription.precision_recall_f1_overlap(
                        intervals(r),
                        np.full(len(r), 440.0),
                        intervals(e),
                        np.full(len(e), 440.0),
                        onset_tolerance=t_collar,
                        offset_ratio=pct if offsets else None,
                        offset_min_tolerance=t_collar,
                    )
                    assert counts.f1 == pytest.approx(f1, abs=1e-12)
            # summed over classes
            total = event_counts(ref, est, **options)
            assert total.matched == mir_eval_matched(ref, est, t_collar, pct, offsets)
            f1s.append(total.f1)
    symmetric = symmetric_event_f1(a, b, **options)
    if not a and not b:
        assert symmetric is None
    else:
        assert f1s[0] is not None and f1s[1] is not None
        assert symmetric == pytest.approx((f1s[0] + f1s[1]) / 2, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(a=events, b=events)
def test_onset_only_matching_is_symmetric_already(a: list[Label], b: list[Label]) -> None:
    forward = event_counts(a, b, evaluate_offset=False)
    backward = event_counts(b, a, evaluate_offset=False)
    assert forward.matched == backward.matched
    assert symmetric_event_f1(a, b, evaluate_offset=False) == forward.f1


# -- sync offsets: hand-computed -------------------------------------------------------------


def test_sync_spread_of_an_item_is_its_sd_with_ddof_1_and_its_range() -> None:
    spread = sync_spread([10.0, 20.0, 40.0])
    # mean 70/3; squared deviations sum to 2100 - 4900/3 = 1400/3
    assert spread.mean == pytest.approx(70 / 3)
    assert spread.sum_squares == pytest.approx(1400 / 3)
    assert spread.sd == pytest.approx(math.sqrt(700 / 3))  # 15.275...
    assert spread.range == 30.0
    assert spread.differences == (10.0, 20.0, 30.0)
    single = sync_spread([7.0])
    assert (single.sd, single.range, single.differences) == (None, None, ())


def test_pooled_sd_pools_squared_deviations_over_items_with_a_chi_square_interval() -> None:
    spreads = [sync_spread([10.0, 20.0, 40.0]), sync_spread([-5.0, 5.0]), sync_spread([7.0])]
    estimate, df = pooled_sd(spreads)
    # (1400/3 + 50) / (2 + 1) = 1550/9; the single-offset item adds nothing
    assert df == 3
    assert estimate.n == 2
    assert estimate.value == pytest.approx(math.sqrt(1550 / 9))  # 13.123...
    # chi-square quantiles of 3 degrees of freedom (tables): 9.348404 (0.975), 0.215795 (0.025)
    assert estimate.ci is not None
    assert estimate.ci[0] == pytest.approx(math.sqrt(1550 / 3 / 9.348403604), rel=1e-8)
    assert estimate.ci[1] == pytest.approx(math.sqrt(1550 / 3 / 0.2157952826), rel=1e-8)


def test_median_absolute_pairwise_difference_pools_the_pairs_of_all_items() -> None:
    spreads = [sync_spread([10.0, 20.0, 40.0]), sync_spread([-5.0, 5.0]), sync_spread([7.0])]
    estimate = median_abs_difference(spreads)
    # pairs: 10, 30, 20 and 10: median (10 + 20) / 2, over 4 item-pairs
    assert estimate.value == 15.0
    assert estimate.n == 4
    assert estimate.ci is not None
    assert estimate.ci[0] <= estimate.ci[1]


def test_sync_offsets_are_read_from_the_av_sync_offset_ms_rating() -> None:
    rated = judgment("p", 1, 1, 1, ratings={SYNC_OFFSET_DIMENSION: -40.0, "clarity": 3.0})
    assert sync_offset_ms(rated) == -40.0
    assert sync_offset_ms(judgment("p", 2, 1, 2, ratings={"clarity": 3.0})) is None


def test_judged_labels_are_the_effective_labels_when_given() -> None:
    given_labels = [box(0, 0, 1, 1)]
    corrected = [box(0, 0, 2, 2)]
    assert judged_labels(judgment("p", 1, 1, 1, labels=given_labels)) == given_labels
    both = judgment("p", 2, 1, 1, labels=given_labels, effective_labels=corrected)
    assert judged_labels(both) == corrected


def test_sync_state_figures_by_hand() -> None:
    state = SyncOffsetState()
    for item, expert, offset in [
        ("i1", "e1", 10),
        ("i1", "e2", 20),
        ("i1", "e3", 40),
        ("i2", "e1", -5),
        ("i2", "e2", 5),
        ("i3", "e1", 7),
    ]:
        state.record(item, expert, offset)
    figures = state.figures()
    assert figures["items"] == 3
    assert figures["pooled_sd"]["value"] == pytest.approx(math.sqrt(1550 / 9))
    assert figures["pooled_sd"]["n"] == 2
    assert figures["pooled_sd"]["df"] == 3
    assert figures["median_abs_difference"]["value"] == 15.0
    assert figures["median_abs_difference"]["n"] == 4
    assert state.spreads()["i2"].range == 10.0


# -- project figures: bootstrap and undefined cases ------------------------------------------


def test_mean_over_items_interval_is_a_percentile_bootstrap_of_1000_pcg64_seed_22() -> None:
    values = [0.1, 0.5, 0.9, 0.3, 0.7]
    estimate = mean_over_items(values)
    rng = np.random.Generator(np.random.PCG64(22))
    draws = rng.multinomial(5, [0.2] * 5, size=1000)
    means = [float(np.mean(np.repeat(values, row))) for row in draws]
    lo, hi = np.percentile(means, [2.5, 97.5])
    assert estimate.value == pytest.approx(0.5)
    assert estimate.n == 5
    assert estimate.ci == pytest.approx((lo, hi), abs=1e-12)


def test_median_difference_bootstrap_resamples_whole_items() -> None:
    spreads = [
        sync_spread([0.0, 10.0, 25.0]),
        sync_spread([3.0, 4.0]),
        sync_spread([-20.0, 20.0]),
        sync_spread([1.0, 1.0, 2.0, 8.0]),
    ]
    estimate = median_abs_difference(spreads)
    rng = np.random.Generator(np.random.PCG64(22))
    draws = rng.multinomial(4, [0.25] * 4, size=1000)
    medians = [
        float(np.median([d for s, k in zip(spreads, row, strict=True) for d in s.differences * k]))
        for row in draws
    ]
    lo, hi = np.percentile(medians, [2.5, 97.5])
    assert estimate.ci == pytest.approx((lo, hi), abs=1e-12)


def test_undefined_figures_give_no_value_and_a_reason_never_nan() -> None:
    empty: list[Any] = [
        RegionAgreementState().figures(),
        SegmentAgreementState().figures(),
        SyncOffsetState().figures(),
    ]
    for figures in empty:
        assert no_nan(figures)
        for name, figure in figures.items():
            if name != "items":
                assert figure["value"] is None
                assert figure["ci"] is None
                assert figure["reason"]
    # one expert per item: still nothing to compare
    state = RegionAgreementState()
    state.record("i1", "e1", [box(0, 0, 1, 1)])
    assert state.mean_iou().value is None
    assert state.mean_iou().n == 0
    # two experts with no region at all: undefined (0 / 0), not 1
    state = RegionAgreementState()
    state.record("i1", "e1", [])
    state.record("i1", "e2", [])
    assert state.mean_iou().value is None
    assert pooled_sd([])[0].value is None
    assert mean_over_items([]).reason == "no item has a value"


def test_one_item_gives_a_value_without_an_interval() -> None:
    state = RegionAgreementState()
    state.record("i1", "e1", [box(0, 0, 10, 10)])
    state.record("i1", "e2", [box(5, 0, 10, 10)])
    estimate = state.mean_iou()
    assert estimate.value == pytest.approx(1 / 3)
    assert (estimate.n, estimate.ci) == (1, None)
    assert estimate.reason == "an interval needs two items"
    median = median_abs_difference([sync_spread([1.0, 4.0])])
    assert (median.value, median.n, median.ci) == (3.0, 1, None)


def test_an_item_with_three_experts_averages_its_expert_pairs() -> None:
    state = SegmentAgreementState()
    state.record("i1", "a", [seg(0, 2)])
    state.record("i1", "b", [seg(1, 3)])
    state.record("i1", "c", [])
    # pairs: a-b 1/3, a-c 0, b-c 0
    item = state.contributions["i1"]
    assert item.mean_iou.pairs == 3
    assert item.mean_iou.value == pytest.approx(1 / 9)
    # events: a-b onsets 1 s apart (no match): 0 for every pair
    assert item.event_f1.value == 0.0
    state.record("i2", "a", [seg(0, 1)])
    state.record("i2", "b", [seg(0.1, 1.05)])
    figures = state.figures()
    assert figures["event_f1"]["value"] == pytest.approx(0.5)
    assert figures["event_f1"]["n"] == 2


def test_record_and_withdraw_say_whether_the_state_changed() -> None:
    state = RegionAgreementState()
    assert state.record("i1", "e1", [box(0, 0, 1, 1)])
    assert not state.record("i1", "e1", [box(0, 0, 1, 1)])
    assert not state.record("i1", "e1", [box(0, 0, 1, 1), seg(0, 1)])  # a segment: no region
    assert state.withdraw("i1", "e1")
    assert not state.withdraw("i1", "e1")
    assert state.items == {} and state.contributions == {}
    sync = SyncOffsetState()
    with pytest.raises(ValueError, match="finite"):
        sync.record("i1", "e1", math.nan)


# -- incremental state equals the batch computation ------------------------------------------

ITEMS = ("i1", "i2", "i3")
EXPERTS = ("e1", "e2", "e3")

region_labels = st.lists(
    st.one_of(
        st.builds(
            box,
            st.integers(0, 12),
            st.integers(0, 12),
            st.integers(1, 8),
            st.integers(1, 8),
            st.sampled_from(["cat", "dog"]),
        ),
        st.builds(
            lambda x, y, cls: Label(
                class_id=cls, geometry=Polygon(points=[(x, y), (x + 6, y), (x, y + 6)])
            ),
            st.integers(0, 12),
            st.integers(0, 12),
            st.sampled_from(["cat", "dog"]),
        ),
        st.builds(seg, st.just(0.0), st.just(1.0)),  # not a region: left out
    ),
    max_size=3,
)
segment_labels = st.lists(
    st.builds(
        lambda start, length, cls: seg(start / 10, (start + length) / 10, cls),
        st.integers(0, 40),
        st.integers(1, 30),
        st.sampled_from(["speech", "music"]),
    ),
    max_size=3,
)


def replay(state: Any, stream: list[tuple[str, str, str, Any]]) -> dict[str, dict[str, Any]]:
    """Apply the events to ``state``; return the final table (item -> expert -> value)."""
    table: dict[str, dict[str, Any]] = {}
    for action, item, expert, value in stream:
        if action == "record":
            state.record(item, expert, value)
            table.setdefault(item, {})[expert] = value
        else:
            state.withdraw(item, expert)
            table.get(item, {}).pop(expert, None)
            if item in table and not table[item]:
                del table[item]
    return table


def streams(values: st.SearchStrategy[Any]) -> st.SearchStrategy[list[tuple[str, str, str, Any]]]:
    return st.lists(
        st.tuples(
            st.sampled_from(["record", "record", "record", "withdraw"]),
            st.sampled_from(ITEMS),
            st.sampled_from(EXPERTS),
            values,
        ),
        max_size=14,
    )


def flat(table: dict[str, dict[str, Any]]) -> list[tuple[str, str, Any]]:
    return [(i, e, v) for i, values in table.items() for e, v in values.items()]


def round_trips(state: Any) -> None:
    data = json.loads(json.dumps(state.to_dict(), allow_nan=False))
    assert type(state).from_dict(data) == state
    assert type(state).from_dict(data).figures() == state.figures()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(region_labels))
def test_region_state_after_any_records_equals_the_batch_state(
    stream: list[tuple[str, str, str, Any]],
) -> None:
    state = RegionAgreementState()
    table = replay(state, stream)
    batch = RegionAgreementState.from_labels(flat(table))
    assert state == batch
    assert state.figures() == batch.figures()
    # the figure, straight from the final data: per item, the mean over its expert pairs
    expected = []
    for item in sorted(table):
        experts = sorted(table[item])
        pairs = [
            region_overlap(table[item][a], table[item][b]).mean_iou
            for k, a in enumerate(experts)
            for b in experts[k + 1 :]
        ]
        defined = [p for p in pairs if p is not None]
        if defined:
            expected.append(sum(defined) / len(defined))
    estimate = state.mean_iou()
    assert estimate.n == len(expected)
    assert estimate.value == (pytest.approx(sum(expected) / len(expected)) if expected else None)
    round_trips(state)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=streams(segment_labels))
def test_segment_state_after_any_records_equals_the_batch_state(
    stream: list[tuple[str, str, str, Any]],
) -> None:
    state = SegmentAgreementState()
    table = replay(state, stream)
    batch = SegmentAgreementState.from_labels(flat(table))
    assert state == batch
    assert state.figures() == batch.figures()
    f1s = []
    for item in sorted(table):
        experts = sorted(table[item])
        pairs = [
            symmetric_event_f1(table[item][a], table[item][b])
            for k, a in enumerate(experts)
            for b in experts[k + 1 :]
        ]
        defined = [p for p in pairs if p is not None]
        if defined:
            f1s.append(sum(defined) / len(defined))
    assert state.event_f1().n == len(f1s)
    if f1s:
        assert state.event_f1().value == pytest.approx(sum(f1s) / len(f1s))
    round_trips(state)


@settings(max_examples=100, deadline=None)
@given(stream=streams(st.integers(-500, 500).map(float)))
def test_sync_state_after_any_records_equals_the_batch_state(
    stream: list[tuple[str, str, str, Any]],
) -> None:
    state = SyncOffsetState()
    table = replay(state, stream)
    batch = SyncOffsetState.from_offsets(flat(table))
    assert state == batch
    assert state.figures() == batch.figures()
    # pooled SD straight from the final data
    groups = [list(v.values()) for v in table.values() if len(v) >= 2]
    estimate, df = state.pooled_sd()
    assert df == sum(len(g) - 1 for g in groups)
    if groups:
        ss = sum(((np.array(g) - np.mean(g)) ** 2).sum() for g in groups)
        assert estimate.value == pytest.approx(math.sqrt(ss / df), abs=1e-9)
        diffs = [abs(x - y) for g in groups for k, x in enumerate(g) for y in g[k + 1 :]]
        assert state.median_abs_difference().value == pytest.approx(float(np.median(diffs)))
    else:
        assert estimate.value is None
    round_trips(state)


def test_states_keep_their_parameters_through_plain_dicts() -> None:
    state = SegmentAgreementState(t_collar=0.1, percentage_of_length=0.25, iou_threshold=0.5)
    state.record("i1", "e1", [seg(0, 1)])
    copy = SegmentAgreementState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert (copy.t_collar, copy.percentage_of_length, copy.iou_threshold) == (0.1, 0.25, 0.5)
    with pytest.raises(ValueError, match="segments agreement state"):
        SegmentAgreementState.from_dict({**state.to_dict(), "version": 99})
    mask = Label(class_id="cat", geometry=RleMask(size=(2, 2), counts=[1, 3]))
    regions = RegionAgreementState(iou_threshold=0.25)
    regions.record("i1", "e1", [mask])
    round_trips(regions)
    assert isinstance(SyncSpread.from_dict(sync_spread([1.0, 2.0]).to_dict()), SyncSpread)
