"""Agreement rules: geometry, matching, per-type agreement and the consensus decision, each
against its plain definition or a value worked out by hand."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from itertools import permutations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.assignment import agreement
from services.assignment.agreement import ConsensusPolicy
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, Severity, TimeSegment
from shared.contracts.work import Resolution, Verdict

# --- helpers: plain definitions -----------------------------------------------------------


def coco_compress(counts: Sequence[int]) -> str:
    """COCO's compressed string of run lengths (maskApi.c ``rleToString``): the 4th run on
    is a difference to the run two before; each number in 5-bit groups, low first, with a
    continuation bit (0x20), offset by 48."""
    chars = []
    for i, count in enumerate(counts):
        x = count - counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            if more:
                c |= 0x20
            chars.append(chr(c + 48))
    return "".join(chars)


def runs_of(pixels: np.ndarray) -> list[int]:
    """Uncompressed COCO counts of a 2-D 0/1 array: runs in column-major order, 0s first."""
    flat = pixels.flatten(order="F")
    counts, current, run = [], 0, 0
    for value in flat:
        if value == current:
            run += 1
        else:
            counts.append(run)
            current, run = value, 1
    counts.append(run)
    return counts


def dense_iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0


def box(x: float, y: float, w: float, h: float, class_id: str = "car") -> Label:
    return Label(class_id=class_id, geometry=Box(x=x, y=y, width=w, height=h))


def seg(start: float, end: float, class_id: str = "speech") -> Label:
    return Label(class_id=class_id, segment=TimeSegment(start_s=start, end_s=end))


def geometry_iou(a: Label, b: Label) -> float:
    assert a.geometry is not None and b.geometry is not None
    return agreement.iou(a.geometry, b.geometry)


def plain_majority_passes(values: Sequence[object], quorum: float) -> bool:
    counts = Counter(values).most_common()
    top = counts[0][1]
    leaders = [v for v, c in counts if c == top]
    return len(leaders) == 1 and top / len(values) >= quorum


SQUARE = Box(x=0, y=0, width=10, height=10)
SQUARE_POLYGON = Polygon(points=[(0, 0), (10, 0), (10, 10), (0, 10)])

# --- strategies ---------------------------------------------------------------------------

coords = st.integers(0, 12)
boxes = st.builds(Box, x=coords, y=coords, width=st.integers(1, 8), height=st.integers(1, 8))
polygons = st.lists(st.tuples(coords, coords), min_size=3, max_size=6).map(
    lambda points: Polygon(points=[(float(x), float(y)) for x, y in points])
)
bit_arrays = st.sampled_from([(3, 4), (4, 4)]).flatmap(
    lambda size: st.lists(
        st.booleans(), min_size=size[0] * size[1], max_size=size[0] * size[1]
    ).map(lambda bits: np.array(bits, dtype=np.uint8).reshape(size))
)


@st.composite
def masks(draw: st.DrawFn) -> RleMask:
    pixels = draw(bit_arrays)
    counts = runs_of(pixels)
    encoded = coco_compress(counts) if draw(st.booleans()) else counts
    return RleMask(size=(pixels.shape[0], pixels.shape[1]), counts=encoded)


geometries = st.one_of(boxes, polygons, masks())

# --- geometry -----------------------------------------------------------------------------


@given(geometries, geometries)
def test_iou_is_symmetric_and_between_0_and_1(
    a: Box | Polygon | RleMask, b: Box | Polygon | RleMask
) -> None:
    forward, backward = agreement.iou(a, b), agreement.iou(b, a)
    assert 0.0 <= forward <= 1.0
    assert forward == pytest.approx(backward, abs=1e-12)


@pytest.mark.parametrize(
    "shape",
    [
        SQUARE,
        SQUARE_POLYGON,
        Polygon(points=[(0, 0), (4, 1), (2, 5)]),
        RleMask(size=(4, 4), counts=[3, 4, 2, 7]),
    ],
)
def test_a_shape_against_itself_is_1(shape: Box | Polygon | RleMask) -> None:
    assert agreement.iou(shape, shape) == 1.0


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (SQUARE, Box(x=20, y=0, width=5, height=5)),
        (SQUARE_POLYGON, Polygon(points=[(11, 11), (15, 11), (15, 15)])),
        (SQUARE, Box(x=10, y=0, width=5, height=5)),  # touching edges share no area
        (RleMask(size=(2, 2), counts=[2, 2]), RleMask(size=(2, 2), counts=[0, 2, 2])),
    ],
)
def test_disjoint_shapes_are_0(a: Box | Polygon | RleMask, b: Box | Polygon | RleMask) -> None:
    assert agreement.iou(a, b) == 0.0


def test_a_box_against_the_same_box_as_a_polygon_is_1() -> None:
    assert agreement.iou(SQUARE, SQUARE_POLYGON) == 1.0
    assert agreement.iou(SQUARE_POLYGON, SQUARE) == 1.0


def test_half_overlapping_squares_are_one_third() -> None:
    # intersection 5 x 10 = 50, union 100 + 100 - 50 = 150
    assert agreement.iou(SQUARE, Box(x=5, y=0, width=10, height=10)) == pytest.approx(1 / 3)


def test_a_triangle_inside_the_square_covering_half_is_one_half() -> None:
    triangle = Polygon(points=[(0, 0), (10, 0), (0, 10)])
    assert agreement.iou(triangle, SQUARE) == pytest.approx(0.5)


def test_a_self_intersecting_polygon_counts_by_the_area_of_its_valid_form() -> None:
    bow_tie = Polygon(points=[(0, 0), (10, 10), (10, 0), (0, 10)])  # two triangles of 25
    assert agreement.iou(bow_tie, SQUARE) == pytest.approx(0.5)


def test_a_polygon_without_area_overlaps_nothing() -> None:
    line = Polygon(points=[(0, 0), (5, 5), (10, 10)])
    assert agreement.iou(line, line) == 0.0


@given(bit_arrays, bit_arrays)
def test_mask_iou_equals_the_pixelwise_iou(a: np.ndarray, b: np.ndarray) -> None:
    mask_a = RleMask(size=(a.shape[0], a.shape[1]), counts=runs_of(a))
    mask_b = RleMask(size=(b.shape[0], b.shape[1]), counts=coco_compress(runs_of(b)))
    expected = dense_iou(a, b) if a.shape == b.shape else 0.0
    assert agreement.iou(mask_a, mask_b) == pytest.approx(expected)


def test_a_hand_encoded_compressed_mask_decodes_to_its_runs() -> None:
    # [3, 4, 2, 1, 54] on 8 x 8: 3 -> "3", 4 -> "4", 2 -> "2"; the 4th run is the difference
    # 1 - 4 = -3 -> 29 (0b11101, sign bit 0x10 set, no more groups) -> chr(77) "M"; the 5th
    # is 54 - 2 = 52 -> groups 20 | 0x20 -> chr(100) "d", then 1 -> "1"
    compressed = RleMask(size=(8, 8), counts="342Md1")
    uncompressed = RleMask(size=(8, 8), counts=[3, 4, 2, 1, 54])
    assert agreement.rle_counts(compressed) == [3, 4, 2, 1, 54]
    assert agreement.iou(compressed, uncompressed) == 1.0


@given(st.lists(st.integers(0, 5_000), min_size=1, max_size=30))
def test_compressed_counts_decode_to_the_counts_encoded(counts: list[int]) -> None:
    mask = RleMask(size=(1, max(1, sum(counts))), counts=coco_compress(counts))
    assert agreement.rle_counts(mask) == counts


def test_masks_of_different_sizes_do_not_match() -> None:
    assert (
        agreement.iou(RleMask(size=(2, 2), counts=[0, 4]), RleMask(size=(1, 4), counts=[0, 4]))
        == 0.0
    )


def test_a_mask_against_a_box_is_0_without_rasterising() -> None:
    full = RleMask(size=(10, 10), counts=[0, 100])
    assert agreement.iou(full, SQUARE) == 0.0
    assert agreement.iou(SQUARE_POLYGON, full) == 0.0


@pytest.mark.parametrize(
    "counts",
    [[1, 2], [5, 5], "0~", "P", "\x7f0"],
    ids=["runs-short-of-size", "runs-over-size", "bad-character", "ends-inside-a-number", "del"],
)
def test_a_malformed_mask_overlaps_nothing(counts: list[int] | str) -> None:
    bad = RleMask(size=(2, 2), counts=counts)
    assert agreement.iou(bad, bad) == 0.0


def test_a_malformed_compressed_string_is_refused_when_decoded() -> None:
    with pytest.raises(ValueError, match="inside a number"):
        agreement.rle_counts(RleMask(size=(2, 2), counts="P"))


def coco_decode(text: str) -> list[int]:
    """COCO's ``rleFrString``, one character at a time (the plain definition)."""
    at, counts = 0, []
    while at < len(text):
        value = shift = 0
        while True:
            if at >= len(text):
                raise ValueError("ends inside a number")
            char = ord(text[at]) - 48
            if not 0 <= char < 64:
                raise ValueError("not of the encoding")
            at += 1
            value |= (char & 0x1F) << shift
            shift += 5
            if not char & 0x20:
                if char & 0x10:
                    value |= -1 << shift
                break
            if shift >= 65:
                raise ValueError("over 13 groups")
        if len(counts) > 2:
            value += counts[-2]
        if value < 0:
            raise ValueError("negative")
        counts.append(value)
    return counts


@settings(max_examples=500)
@given(st.text(st.sampled_from([chr(c) for c in range(44, 116)] + ["\x7f", "\u00e9"])))
def test_a_compressed_string_decodes_as_cocos_decoder_does_or_is_refused_as_it_is(
    text: str,
) -> None:
    mask = RleMask(size=(1, 1), counts=text)
    try:
        expected = coco_decode(text)
    except ValueError:
        with pytest.raises(ValueError, match=r"."):
            agreement.rle_counts(mask)
    else:
        assert agreement.rle_counts(mask) == expected


def _long_mask(runs: int) -> RleMask:
    """A 1-pixel-high mask of ``runs`` runs of one pixel each."""
    return RleMask(size=(1, runs), counts=[1] * runs)


def test_a_mask_over_the_run_limit_matches_nothing_not_even_itself() -> None:
    at_limit, over = _long_mask(agreement.MAX_MASK_RUNS), _long_mask(agreement.MAX_MASK_RUNS + 1)
    assert agreement.iou(at_limit, at_limit) == 1.0
    assert agreement.iou(over, over) == 0.0


def test_every_mask_an_answer_cannot_hold_is_named_and_so_are_its_bounds() -> None:
    def mask(counts: list[int] | str, size: tuple[int, int] = (2, 2)) -> Label:
        return Label(class_id="car", geometry=RleMask(size=size, counts=counts))

    labels = [
        mask([0, 4]),
        Label(class_id="car", geometry=SQUARE),
        mask([1, 2]),
        mask("P"),
        mask([1] * (agreement.MAX_MASK_RUNS + 1), (1, agreement.MAX_MASK_RUNS + 1)),
    ]
    errors = agreement.mask_errors(labels, at="body.labels")
    assert [e.field for e in errors] == [
        "body.labels.2.geometry.counts",
        "body.labels.3.geometry.counts",
        "body.labels.4.geometry.counts",
    ]
    assert "cover 3 pixels, not 2 x 2" in errors[0].message
    assert "inside a number" in errors[1].message
    assert f"over {agreement.MAX_MASK_RUNS:,}" in errors[2].message
    many = [mask([0, 4])] * (agreement.MAX_ANSWER_MASKS + 1)
    assert [(e.field, e.message) for e in agreement.mask_errors(many, at="body.labels")] == [
        ("body.labels", f"at most {agreement.MAX_ANSWER_MASKS} masks")
    ]
    each = agreement.MAX_MASK_RUNS
    heavy = [mask([1] * each, (1, each))] * (agreement.MAX_ANSWER_MASK_RUNS // each + 1)
    [total] = agreement.mask_errors(heavy, at="body.labels")
    assert total.field == "body.labels" and "mask runs in all" in total.message
    assert agreement.mask_errors([*many[:-1], Label(class_id="car")], at="body.labels") == []


def test_past_the_matching_budget_only_identical_masks_match(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    left = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 8, 8]))
    same = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 8, 8]))
    close = Label(class_id="car", geometry=RleMask(size=(4, 4), counts=[0, 7, 9]))
    assert agreement.match_labels([left], [close], iou_threshold=0.5) == [(0, 0, 0.875)]
    monkeypatch.setattr(agreement, "MAX_MASK_WORK", 0)
    assert agreement.match_labels([left], [close], iou_threshold=0.5) == []
    assert agreement.match_labels([left], [same], iou_threshold=0.5) == [(0, 0, 1.0)]


# --- time segments ------------------------------------------------------------------------

segments = st.tuples(st.integers(0, 20), st.integers(0, 10)).map(
    lambda t: TimeSegment(start_s=t[0] / 2, end_s=(t[0] + t[1]) / 2)
)


@given(segments, segments)
def test_temporal_iou_is_symmetric_and_between_0_and_1(a: TimeSegment, b: TimeSegment) -> None:
    forward = agreement.temporal_iou(a, b)
    assert 0.0 <= forward <= 1.0
    assert forward == agreement.temporal_iou(b, a)


def test_temporal_iou_of_overlapping_segments_is_overlap_over_union() -> None:
    # [0, 4] and [2, 6]: overlap 2, union 6
    a, b = TimeSegment(start_s=0, end_s=4), TimeSegment(start_s=2, end_s=6)
    assert agreement.temporal_iou(a, b) == pytest.approx(1 / 3)


def test_zero_length_segments_are_1_at_the_same_instant_else_0() -> None:
    instant = TimeSegment(start_s=3, end_s=3)
    assert agreement.temporal_iou(instant, instant) == 1.0
    assert agreement.temporal_iou(instant, TimeSegment(start_s=3.5, end_s=3.5)) == 0.0
    assert agreement.temporal_iou(instant, TimeSegment(start_s=2, end_s=4)) == 0.0


@pytest.mark.parametrize(
    ("start", "end", "matches"),
    [
        (1.3, 2.0, True),  # onset at the tolerance (1.3 - 1.0 is 0.30000000000000004)
        (1.0, 1.7, True),  # offset at the tolerance (2.0 - 1.7 is 0.30000000000000004)
        (1.3, 2.3, True),  # both at the tolerance, later
        (1.31, 2.0, False),  # onset beyond
        (0.69, 2.0, False),  # onset beyond, earlier
        (1.0, 2.31, False),  # offset beyond
        (1.0, 1.69, False),  # offset beyond, earlier
    ],
)
def test_segments_match_within_the_onset_and_offset_tolerances(
    start: float, end: float, matches: bool
) -> None:
    reference = TimeSegment(start_s=1.0, end_s=2.0)
    other = TimeSegment(start_s=start, end_s=end)
    assert (
        agreement.segments_match(reference, other, onset_tolerance_s=0.3, offset_tolerance_s=0.3)
        is matches
    )


# --- matching -----------------------------------------------------------------------------

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
    pairs = agreement.match(range(n), range(m), lambda i, j: rows[i][j], threshold=threshold)
    assert len({i for i, _, _ in pairs}) == len({j for _, j, _ in pairs}) == len(pairs)
    assert all(s == rows[i][j] and s >= threshold for i, j, s in pairs)
    assert sum(s for _, _, s in pairs) == pytest.approx(best_total(rows, m, threshold))


def test_match_of_an_empty_side_is_empty() -> None:
    assert agreement.match([], [1, 2], lambda a, b: 1.0, threshold=0.0) == []
    assert agreement.match([1], [], lambda a, b: 1.0, threshold=0.0) == []


# A: 0.9 with X, 0.11 with Y; B: 0.05 with X, 0.01 with Y
CROSSED = (
    [box(0, 0, 10, 10), box(9, 0, 10, 10)],
    [box(0, 0, 10, 9), box(0, 8, 10, 10)],
)


def test_match_labels_pairs_as_many_labels_as_it_can_before_maximising_iou() -> None:
    left, right = CROSSED
    by_iou = agreement.match(left, right, geometry_iou, threshold=0.04)
    assert [(i, j) for i, j, _ in by_iou] == [(0, 0)]
    pairs = agreement.match_labels(left, right, iou_threshold=0.04)
    assert [(i, j) for i, j, _ in pairs] == [(0, 1), (1, 0)]
    assert [s for _, _, s in pairs] == pytest.approx([20 / 180, 9 / 181])


def test_match_labels_pairs_only_labels_of_the_same_class_and_part() -> None:
    left = [box(0, 0, 10, 10, "car"), box(20, 0, 10, 10, "car")]
    right = [
        box(0, 0, 10, 10, "truck"),
        Label(class_id="car", part="rear", geometry=SQUARE),
        box(20, 0, 10, 10, "car"),
    ]
    assert agreement.match_labels(left, right, iou_threshold=0.5) == [(1, 2, 1.0)]


def test_match_labels_pairs_a_box_at_the_iou_threshold_and_not_below() -> None:
    half = box(0, 0, 10, 5)  # IoU with the square: 50 / 100
    assert agreement.match_labels([box(0, 0, 10, 10)], [half], iou_threshold=0.5) == [(0, 0, 0.5)]
    assert (
        agreement.match_labels([box(0, 0, 10, 10)], [box(0, 0, 10, 4.9)], iou_threshold=0.5) == []
    )


def test_match_labels_needs_matching_segments_on_timed_geometry() -> None:
    timed = Label(class_id="car", geometry=SQUARE, segment=TimeSegment(start_s=0, end_s=2))
    late = timed.model_copy(update={"segment": TimeSegment(start_s=1, end_s=3)})
    untimed = Label(class_id="car", geometry=SQUARE)
    tolerance = {"onset_tolerance_s": 0.5, "offset_tolerance_s": 0.5}
    assert len(agreement.match_labels([timed], [timed], iou_threshold=0.5, **tolerance)) == 1
    assert agreement.match_labels([timed], [late], iou_threshold=0.5, **tolerance) == []
    assert agreement.match_labels([timed], [untimed], iou_threshold=0.5, **tolerance) == []


@given(st.lists(geometries, min_size=1, max_size=4), st.lists(geometries, min_size=1, max_size=4))
def test_match_labels_reports_the_iou_of_each_pair(
    left: list[Box | Polygon | RleMask], right: list[Box | Polygon | RleMask]
) -> None:
    a = [Label(class_id="c", geometry=g) for g in left]
    b = [Label(class_id="c", geometry=g) for g in right]
    for i, j, s in agreement.match_labels(a, b, iou_threshold=0.1):
        assert s == pytest.approx(agreement.iou(left[i], right[j]))
        assert s >= 0.1 - 1e-9


# --- agreement per label type -------------------------------------------------------------


@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=7),
    st.sampled_from([0.0, 0.3, 0.5, 0.6, 2 / 3, 0.75, 1.0]),
)
def test_class_majority_agrees_with_counting(values: list[str | None], quorum: float) -> None:
    vote = agreement.class_majority(values, quorum=quorum)
    (top, count), *_ = Counter(values).most_common(1)
    assert vote.agreement == count / len(values)
    assert vote.passed is plain_majority_passes(values, quorum)
    assert vote.value == (top if vote.passed else None)


@pytest.mark.parametrize("values", [["a", "b"], ["a", "a", "b", "b"], ["a", "b", "c"], ["a", None]])
def test_ties_never_pass_even_with_no_quorum(values: list[str | None]) -> None:
    vote = agreement.class_majority(values, quorum=0.0)
    assert not vote.passed
    assert vote.value is None


def test_two_of_three_pass_a_two_thirds_quorum_and_not_0_67() -> None:
    assert agreement.class_majority(["a", "a", "b"], quorum=2 / 3).value == "a"
    assert not agreement.class_majority(["a", "a", "b"], quorum=0.67).passed


@pytest.mark.parametrize(
    ("points", "passed", "value", "figure"),
    [
        ([3, 4, 4], True, 4, 0.75),  # spread 1, at the limit; 1 - 1/4
        ([3, 5, 4], False, None, 0.5),  # spread 2, just over
        ([2, 3], True, 2.5, 0.75),  # an even count: the midpoint of the two middle points
        ([4, 4, 4], True, 4, 1.0),
        ([1, 5], False, None, 0.0),
    ],
)
def test_rating_spread_passes_up_to_the_limit(
    points: list[int], passed: bool, value: float | None, figure: float
) -> None:
    spread = agreement.rating_spread(points, max_spread=1, scale_min=1, scale_max=5)
    assert (spread.passed, spread.value, spread.agreement) == (passed, value, figure)
    assert spread.spread == max(points) - min(points)


@given(st.lists(st.integers(1, 7), min_size=1, max_size=7), st.integers(0, 6))
def test_rating_consensus_is_the_median_between_the_middle_points(
    points: list[int], limit: int
) -> None:
    spread = agreement.rating_spread(points, max_spread=limit, scale_min=1, scale_max=7)
    assert spread.passed is (max(points) - min(points) <= limit)
    if spread.passed:
        ordered = sorted(points)
        middle = ordered[(len(ordered) - 1) // 2 : len(ordered) // 2 + 1]
        assert spread.value == sum(middle) / len(middle)
        assert statistics.median_low(points) <= spread.value <= statistics.median_high(points)


THREE_CARS = [box(0, 0, 10, 10), box(20, 0, 10, 10), box(40, 0, 10, 10)]


def test_identical_judges_agree_fully_on_regions() -> None:
    result = agreement.region_agreement([THREE_CARS] * 3, iou_threshold=0.5, quorum=2 / 3)
    assert (result.agreement, result.passed, result.unsettled) == (1.0, True, 0)
    assert result.labels == tuple(THREE_CARS)


def test_a_judge_missing_a_box_lowers_region_agreement_and_two_judges_split_on_it() -> None:
    result = agreement.region_agreement(
        [THREE_CARS, THREE_CARS[:2]], iou_threshold=0.5, quorum=2 / 3
    )
    assert result.agreement == pytest.approx(2 * 2 / 5)
    assert not result.passed  # one of two draws the third box: a tie
    assert result.unsettled == 1
    assert result.labels is None


def test_a_box_two_of_three_judges_draw_is_kept_and_one_only_one_draws_is_dropped() -> None:
    extra = box(70, 0, 10, 10)
    judges = [THREE_CARS, THREE_CARS, [*THREE_CARS[:2], extra]]
    result = agreement.region_agreement(judges, iou_threshold=0.5, quorum=2 / 3)
    # pairs: 1, 2*2/6, 2*2/6 -> mean 7/9
    assert result.agreement == pytest.approx(7 / 9)
    assert result.passed
    assert result.source == 0  # the first of the two with the highest mean agreement
    assert result.labels == tuple(THREE_CARS)


def test_an_object_the_reference_lacks_but_a_majority_draws_is_unsettled() -> None:
    # judges 1 and 2 both draw a fourth box the reference (judge 0, first among equals) lacks
    extra = box(70, 0, 10, 10)
    judges = [THREE_CARS[:1], [THREE_CARS[0], extra], [THREE_CARS[0], extra], THREE_CARS[:1]]
    result = agreement.region_agreement(judges, iou_threshold=0.5, quorum=0.5)
    assert not result.passed


def test_regions_of_different_classes_do_not_agree() -> None:
    result = agreement.region_agreement(
        [[box(0, 0, 10, 10, "car")], [box(0, 0, 10, 10, "truck")]], iou_threshold=0.5, quorum=0.5
    )
    assert result.agreement == 0.0
    assert not result.passed


def test_judges_drawing_no_regions_agree() -> None:
    result = agreement.region_agreement([[], []], iou_threshold=0.5, quorum=2 / 3)
    assert (result.agreement, result.passed, result.labels) == (1.0, True, ())


@pytest.mark.parametrize(("shift", "passed"), [(0.5, True), (0.6, False)])
def test_segments_agree_up_to_the_tolerance(shift: float, passed: bool) -> None:
    reference = [seg(1.0, 3.0), seg(5.0, 6.0)]
    other = [seg(1.0 + shift, 3.0 - shift), seg(5.0, 6.0)]
    result = agreement.segment_agreement(
        [reference, other], onset_tolerance_s=0.5, offset_tolerance_s=0.5, quorum=2 / 3
    )
    assert result.passed is passed
    assert result.agreement == (1.0 if passed else 0.5)


def test_class_labels_agree_by_majority_of_the_whole_set() -> None:
    cat, dog = Label(class_id="cat"), Label(class_id="dog")
    kept = agreement.class_labels_agreement([[cat, dog], [dog, cat], [cat]], quorum=2 / 3)
    assert kept.passed and kept.labels == (cat, dog) and kept.source == 0
    split = agreement.class_labels_agreement([[cat], [dog], [cat, dog]], quorum=0.5)
    assert not split.passed and split.agreement == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("given", "quorum", "expected"),
    [
        ([Severity.critical, Severity.major, Severity.none], 2 / 3, Severity.major),
        ([Severity.critical, Severity.none, Severity.none], 2 / 3, Severity.none),
        ([Severity.critical, Severity.none], 0.5, Severity.none),  # half is no majority
        ([Severity.minor, None, Severity.minor], 2 / 3, Severity.minor),
        ([None, None], 2 / 3, None),
    ],
)
def test_severity_is_the_most_severe_a_qualified_majority_reports_or_exceeds(
    given: list[Severity | None], quorum: float, expected: Severity | None
) -> None:
    assert agreement.severity_consensus(given, quorum=quorum) is expected


# --- the decision -------------------------------------------------------------------------


def test_agreeing_judgments_resolve_by_consensus_with_every_value() -> None:
    answers = [
        Answers(
            verdict=Verdict.correct,
            ratings={"clarity": 4, "accuracy": 2},
            severity=Severity.minor,
            labels=[Label(class_id="street"), *THREE_CARS, seg(1, 2)],
        ),
        Answers(
            verdict=Verdict.correct,
            ratings={"clarity": 3, "accuracy": 2},
            severity=Severity.minor,
            labels=[seg(1.1, 2.1), *THREE_CARS, Label(class_id="street")],
        ),
    ]
    decision = agreement.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert decision.method is Resolution.consensus and not decision.escalated
    assert decision.reasons == ()
    assert decision.verdict is Verdict.correct
    assert decision.ratings == {"accuracy": 2, "clarity": 3.5}  # judges split 4 / 3
    assert decision.spreads == {"accuracy": 0, "clarity": 1}
    assert decision.severity is Severity.minor
    assert decision.labels == (Label(class_id="street"), *THREE_CARS, seg(1, 2))
    assert decision.label_sources == (0, 0, 0, 0, 0)
    assert decision.figures == {
        "verdict": 1.0,
        "labels.classes": 1.0,
        "labels.regions": 1.0,
        "labels.segments": 1.0,
        "ratings.accuracy": 1.0,
        "ratings.clarity": 0.75,
    }
    assert decision.agreement == 0.75


def test_disagreements_are_each_named_and_their_values_left_out() -> None:
    answers = [
        Answers(verdict=Verdict.accept, ratings={"clarity": 1}, labels=THREE_CARS),
        Answers(verdict=Verdict.reject, ratings={"clarity": 5}, labels=THREE_CARS[:2]),
    ]
    decision = agreement.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert decision.method is Resolution.adjudication
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("disagreement", "verdict"),
        ("disagreement", "labels.regions"),
        ("disagreement", "ratings.clarity"),
    ]
    assert "the most frequent has 1 of 2" in decision.reasons[0].message
    assert "spread 4 is over the limit 1" in decision.reasons[2].message
    assert decision.verdict is None and decision.labels == () and decision.ratings == {}
    assert decision.agreement == 0.0


def test_a_listed_flag_a_severe_report_and_the_audit_each_escalate_agreeing_judgments() -> None:
    answers = [
        Answers(verdict=Verdict.accept, flags=["safety"], severity=Severity.critical),
        Answers(verdict=Verdict.accept, flags=["edge_case"]),
    ]
    policy = ConsensusPolicy(
        escalate_flags=frozenset({"safety", "rare_class"}),
        escalate_severity=Severity.critical,
        audit_rate=0.1,
    )
    decision = agreement.decide(answers, policy=policy, audit_draw=0.05)
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("flag", "flags.safety"),
        ("severity", "severity"),
        ("audit", "audit"),
    ]
    assert decision.escalated
    assert decision.verdict is Verdict.accept  # the values that agreed, for the adjudicator


@pytest.mark.parametrize(("draw", "audited"), [(0.0999, True), (0.1, False), (0.5, False)])
def test_the_audit_draws_exactly_below_the_rate(draw: float, audited: bool) -> None:
    answers = [Answers(verdict=Verdict.accept)] * 2
    decision = agreement.decide(answers, policy=ConsensusPolicy(audit_rate=0.1), audit_draw=draw)
    assert decision.escalated is audited
    assert [r.field for r in decision.reasons] == (["audit"] if audited else [])


def test_a_single_judgment_resolves_as_single_unless_escalated() -> None:
    only = Answers(
        verdict=Verdict.reject, ratings={"clarity": 2}, labels=THREE_CARS, flags=["safety"]
    )
    single = agreement.decide([only], policy=ConsensusPolicy(), audit_draw=0.5)
    assert single.method is Resolution.single
    assert (single.verdict, single.ratings, single.labels) == (
        Verdict.reject,
        {"clarity": 2},
        tuple(THREE_CARS),
    )
    assert single.agreement is None and single.figures == {}
    flagged = agreement.decide(
        [only], policy=ConsensusPolicy(escalate_flags=frozenset({"safety"})), audit_draw=0.5
    )
    assert flagged.method is Resolution.adjudication
    assert [r.field for r in flagged.reasons] == ["flags.safety"]


def test_a_dimension_most_judgments_leave_unrated_is_left_out() -> None:
    answers = [Answers(ratings={"style": 5}), Answers(), Answers()]
    decision = agreement.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert not decision.escalated and decision.ratings == {}
    split = agreement.decide(answers[:2], policy=ConsensusPolicy(), audit_draw=0.5)
    assert [r.field for r in split.reasons] == ["ratings.style"]


def test_decide_refuses_no_judgments_and_a_draw_outside_0_1() -> None:
    with pytest.raises(ValueError, match="no judgments"):
        agreement.decide([], policy=ConsensusPolicy(), audit_draw=0.0)
    with pytest.raises(ValueError, match="audit_draw"):
        agreement.decide([Answers()], policy=ConsensusPolicy(), audit_draw=1.0)


def test_a_policy_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="quorum, audit_rate"):
        ConsensusPolicy(quorum=1.5, audit_rate=-0.1)


FLAGS = ["safety", "edge_case"]
answers_strategy = st.builds(
    Answers,
    verdict=st.sampled_from([Verdict.accept, Verdict.reject, None]),
    ratings=st.dictionaries(st.just("clarity"), st.integers(1, 5), max_size=1),
    flags=st.lists(st.sampled_from(FLAGS), unique=True),
    labels=st.lists(st.sampled_from(["cat", "dog"]), unique=True, max_size=1).map(
        lambda ids: [Label(class_id=i) for i in ids]
    ),
)


def _rated_or_not(given: list[bool], quorum: float) -> bool | None:
    """True: rated by a qualified majority; False: left unrated by one; None: neither."""
    rated, unrated = sum(given), len(given) - sum(given)
    if rated > unrated and rated / len(given) >= quorum:
        return True
    if unrated > rated and unrated / len(given) >= quorum:
        return False
    return None


@given(
    st.lists(answers_strategy, min_size=2, max_size=4),
    st.sampled_from([0.5, 0.6, 2 / 3, 0.75, 1.0]),
    st.integers(0, 2),
    st.sets(st.sampled_from(FLAGS)),
    st.sampled_from([0.0, 0.2, 0.5]),
    st.sampled_from([0.0, 0.1, 0.2, 0.7]),
)
def test_decide_escalates_exactly_when_a_rule_fails_a_listed_flag_is_set_or_the_audit_draws(
    answers: list[Answers],
    quorum: float,
    limit: int,
    flags: set[str],
    rate: float,
    draw: float,
) -> None:
    policy = ConsensusPolicy(
        quorum=quorum, default_max_spread=limit, escalate_flags=frozenset(flags), audit_rate=rate
    )
    decision = agreement.decide(answers, policy=policy, audit_draw=draw)
    expected = set()
    verdicts = [a.verdict for a in answers]
    if any(verdicts) and not plain_majority_passes(verdicts, quorum):
        expected.add("verdict")
    classes = [frozenset(label.class_id for label in a.labels) for a in answers]
    if any(classes) and not plain_majority_passes(classes, quorum):
        expected.add("labels.classes")
    points = [a.ratings["clarity"] for a in answers if "clarity" in a.ratings]
    if points:
        rated = _rated_or_not(["clarity" in a.ratings for a in answers], quorum)
        if rated is None or (rated and max(points) - min(points) > limit):
            expected.add("ratings.clarity")
    expected |= {f"flags.{f}" for f in flags if any(f in a.flags for a in answers)}
    if draw < rate:
        expected.add("audit")
    assert {r.field for r in decision.reasons} == expected
    assert len(decision.reasons) == len(expected)
    assert decision.method is (Resolution.adjudication if expected else Resolution.consensus)
    assert decision.agreement == (min(decision.figures.values()) if decision.figures else None)
