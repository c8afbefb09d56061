"""Optimal matching (shared/annotation/matching.py): of any two sequences against the best
pairing found by trying all, and of labels by kind, class, IoU and time segments."""

from __future__ import annotations

from itertools import permutations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shared.annotation import geometry, matching
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, TimeSegment
from tests.shared.annotation_cases import SQUARE, box, geometries, geometry_iou

grid = st.integers(0, 10).map(lambda n: n / 10)
matrices = st.tuples(st.integers(0, 4), st.integers(0, 4)).flatmap(
    lambda nm: st.lists(
        st.lists(grid, min_size=nm[1], max_size=nm[1]), min_size=nm[0], max_size=nm[0]
    ).map(lambda rows: (nm, rows))
)


def best_total(rows: list[list[float]], m: int, threshold: float) -> float:
    """The largest total over one-to-one pairings of the pairs at or above the threshold."""
    n = len(rows)
    if n == 0 or m == 0:
        return 0.0
    if n <= m:
        pairings = ([(i, p[i]) for i in range(n)] for p in permutations(range(m), n))
    else:
        pairings = ([(p[j], j) for j in range(m)] for p in permutations(range(n), m))
    return max(
        sum(rows[i][j] for i, j in pairing if rows[i][j] >= threshold) for pairing in pairings
    )


@settings(max_examples=300)
@given(matrices, grid)
# the pairs below the threshold would add up to more than the one above it
@example(((2, 2), [[0.6, 0.5], [0.5, 0.0]]), 0.6)
def test_match_equals_the_best_pairing_found_by_trying_all(
    shaped: tuple[tuple[int, int], list[list[float]]], threshold: float
) -> None:
    (n, m), rows = shaped
    pairs = matching.match(range(n), range(m), lambda i, j: rows[i][j], threshold=threshold)
    assert len({i for i, _, _ in pairs}) == len({j for _, j, _ in pairs}) == len(pairs)
    assert all(s == rows[i][j] and s >= threshold for i, j, s in pairs)
    assert sum(s for _, _, s in pairs) == pytest.approx(best_total(rows, m, threshold))


def test_match_of_an_empty_side_is_empty() -> None:
    assert matching.match([], [1, 2], lambda a, b: 1.0, threshold=0.0) == []
    assert matching.match([1], [], lambda a, b: 1.0, threshold=0.0) == []


# A: 0.9 with X, 0.11 with Y; B: 0.05 with X, 0.01 with Y
CROSSED = (
    [box(0, 0, 10, 10), box(9, 0, 10, 10)],
    [box(0, 0, 10, 9), box(0, 8, 10, 10)],
)


def test_match_labels_pairs_as_many_labels_as_it_can_before_maximising_iou() -> None:
    left, right = CROSSED
    by_iou = matching.match(left, right, geometry_iou, threshold=0.04)
    assert [(i, j) for i, j, _ in by_iou] == [(0, 0)]
    pairs = matching.match_labels(left, right, iou_threshold=0.04)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 0)]
    assert [s for _, _, s in pairs] == pytest.approx([20 / 180, 9 / 181])


def test_match_labels_pairs_only_labels_of_the_same_class_and_part() -> None:
    left = [box(0, 0, 10, 10, "car"), box(20, 0, 10, 10, "car")]
    right = [
        box(0, 0, 10, 10, "truck"),
        Label(class_id="car", part="rear", geometry=SQUARE),
        box(20, 0, 10, 10, "car"),
    ]
    assert matching.match_labels(left, right, iou_threshold=0.5) == [(1, 2, 1.0)]


def test_match_labels_pairs_a_box_at_the_iou_threshold_and_not_below() -> None:
    half = box(0, 0, 10, 5)  # IoU with the square: 50 / 100
    assert matching.match_labels([box(0, 0, 10, 10)], [half], iou_threshold=0.5) == [(0, 0, 0.5)]
    assert matching.match_labels([box(0, 0, 10, 10)], [box(0, 0, 10, 4.9)], iou_threshold=0.5) == []


def test_match_labels_needs_matching_segments_on_timed_geometry() -> None:
    timed = Label(class_id="car", geometry=SQUARE, segment=TimeSegment(start_s=0, end_s=2))
    late = timed.model_copy(update={"segment": TimeSegment(start_s=1, end_s=3)})
    untimed = Label(class_id="car", geometry=SQUARE)
    tolerance = {"onset_tolerance_s": 0.5, "offset_tolerance_s": 0.5}
    assert len(matching.match_labels([timed], [timed], iou_threshold=0.5, **tolerance)) == 1
    assert matching.match_labels([timed], [late], iou_threshold=0.5, **tolerance) == []
    assert matching.match_labels([timed], [untimed], iou_threshold=0.5, **tolerance) == []


@given(st.lists(geometries, min_size=1, max_size=4), st.lists(geometries, min_size=1, max_size=4))
def test_match_labels_reports_the_iou_of_each_pair(
    left: list[Box | Polygon | RleMask], right: list[Box | Polygon | RleMask]
) -> None:
    a = [Label(class_id="c", geometry=g) for g in left]
    b = [Label(class_id="c", geometry=g) for g in right]
    for i, j, s in matching.match_labels(a, b, iou_threshold=0.1):
        assert s == pytest.approx(geometry.iou(left[i], right[j]))
        assert s >= 0.1 - 1e-9


def test_past_the_matching_budget_only_identical_masks_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    left = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 8, 8]))
    same = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 8, 8]))
    close = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 7, 9]))
    assert matching.match_labels([left], [close], iou_threshold=0.5) == [(0, 0, 0.875)]
    monkeypatch.setattr(geometry, "MAX_MASK_WORK", 0)
    assert matching.match_labels([left], [close], iou_threshold=0.5) == []
    assert matching.match_labels([left], [same], iou_threshold=0.5) == [(0, 0, 1.0)]
