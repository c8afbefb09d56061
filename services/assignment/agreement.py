"""Agreement rules, free of I/O: how alike the judgments of one item are, and whether they
settle it by consensus or send it to an adjudicator.

Each label type has its own measure, a figure in [0, 1] and a pass rule:

* the verdict and the set of class labels (labels without geometry or segment): a qualified
  majority (:func:`class_majority`);
* each rating dimension: the spread of the points given (:func:`rating_spread`);
* geometry labels (boxes, polygons, masks): IoU after optimal one-to-one matching
  (:func:`region_agreement`);
* time segments: onset and offset within tolerances after optimal matching
  (:func:`segment_agreement`).

:func:`decide` applies them all with a :class:`ConsensusPolicy` and names every reason an
item goes to adjudication. Judgments are referred to by their index in the sequence given.
Measured quantities (IoU, seconds) are compared with their thresholds to :data:`EPSILON`;
shares of judgments are compared exactly.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Generic, Literal, TypeVar

import numpy as np
import numpy.typing as npt
import shapely
from scipy.optimize import linear_sum_assignment

from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, Severity, TimeSegment
from shared.contracts.work import MAX_FINAL_LABELS, Resolution, Verdict
from shared.errors import FieldError

#: Slack in comparisons of measured values (IoU, seconds) with thresholds: float rounding
#: (``1.3 - 1.0 > 0.3``) never decides a match.
EPSILON = 1e-9
#: Severity levels from the least to the most severe.
SEVERITY_ORDER = (Severity.none, Severity.minor, Severity.major, Severity.critical)
#: The most 5-bit groups one number of a compressed COCO string may take (65 bits).
_MAX_GROUPS = 13
#: The most runs a mask is compared with: a 4K frame (3,840 columns) crossed by its object's
#: edges 13 times a column, in column-major runs. A mask with more (a pre-label from a
#: client; answers and keys are refused: :func:`mask_errors`) matches nothing.
MAX_MASK_RUNS = 100_000
#: The most masks, and runs of masks in all, one answer or key may hold (:func:`mask_errors`).
#: Two masks compare in the smaller one's runs (times a binary search in the other), so two
#: answers compare in at most ``MAX_ANSWER_MASKS x MAX_ANSWER_MASK_RUNS`` steps: about a
#: second in the worst case (every mask overlapping every other), milliseconds for masks of
#: distinct objects, whose extents do not overlap.
MAX_ANSWER_MASKS = 100
MAX_ANSWER_MASK_RUNS = 200_000
#: The work one matching spends on mask pairs (the smaller mask's runs, summed over the
#: pairs compared): what two answers within the limits above may need. Past it (pre-labels
#: from a client are not held to those limits), the pairs left match only when identical.
MAX_MASK_WORK = MAX_ANSWER_MASKS * MAX_ANSWER_MASK_RUNS

T = TypeVar("T")
U = TypeVar("U")
H = TypeVar("H", bound=Hashable)
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]
LabelKind = Literal["classes", "regions", "segments"]


# --- geometry -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Area:
    """A box or polygon as a valid shapely geometry (polygonal, possibly empty)."""

    shape: Any
    area: float


@dataclass(frozen=True, eq=False)
class _Runs:
    """A mask as the intervals of its 1 pixels, in column-major pixel order, and the number
    of 1 pixels before each interval (``before``, one more: the area at the end)."""

    size: tuple[int, int]
    starts: Ints
    ends: Ints
    before: Ints
    #: the runs of 0s and 1s the mask was given in
    runs: int

    @property
    def area(self) -> int:
        return int(self.before[-1])

    @property
    def extent(self) -> tuple[int, int]:
        """The first pixel of the mask's 1s and the pixel after its last (0, 0: none)."""
        return (int(self.starts[0]), int(self.ends[-1])) if self.starts.size else (0, 0)

    def same(self, other: _Runs) -> bool:
        return (
            self.size == other.size
            and np.array_equal(self.starts, other.starts)
            and np.array_equal(self.ends, other.ends)
        )

    def ones_before(self, points: Ints) -> Ints:
        """How many of the mask's 1 pixels lie before each of ``points``."""
        k = np.searchsorted(self.starts, points, "right")  # intervals starting at or before
        last = np.maximum(k - 1, 0)
        beyond = np.where(k > 0, np.maximum(self.ends[last] - points, 0), 0)
        return self.before[k] - beyond


_Region = _Area | _Runs | None  # None: a malformed mask, which matches nothing


def rle_counts(mask: RleMask) -> list[int]:
    """The run lengths of a COCO RLE mask, decoding the compressed string form: runs of 0s and
    1s in turn, starting with 0s, over the pixels in column-major order.

    Raises ValueError when the string is not in COCO's encoding or a run comes out negative.
    """
    return [int(count) for count in _counts(mask)]


def _counts(mask: RleMask) -> Ints:
    if not isinstance(mask.counts, str):
        return np.asarray(mask.counts, dtype=np.int64)
    return _decode(mask.counts)


def _decode(text: str) -> Ints:
    """COCO's compressed string (``rleFrString``) decoded with numpy, one pass per step."""
    points = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)  # code points
    codes = points.astype(np.int64) - 48
    bad = np.flatnonzero((codes < 0) | (codes >= 64))
    if bad.size:
        at = int(bad[0])
        raise ValueError(f"character {text[at]!r} at {at} is not of COCO's encoding")
    if not codes.size:
        return np.zeros(0, dtype=np.int64)
    last = np.flatnonzero((codes & 0x20) == 0)  # the last character of each number
    first = np.concatenate([[0], last[:-1] + 1]) if last.size else np.zeros(0, dtype=np.int64)
    lengths = last - first + 1
    long = np.flatnonzero(lengths > _MAX_GROUPS)
    if long.size:
        at = int(first[long[0]]) + _MAX_GROUPS
        raise ValueError(f"a number ending at character {at} has over {_MAX_GROUPS} groups")
    if not last.size or last[-1] != codes.size - 1:
        raise ValueError("the compressed counts end inside a number")
    if int(lengths.max()) > 12:  # over 60 bits: beyond int64, Python's integers decode it
        return np.asarray(_decode_exactly(text), dtype=object)
    shifts = 5 * (np.arange(codes.size) - np.repeat(first, lengths))
    values = np.add.reduceat((codes & 0x1F) << shifts, first)
    negative = (codes[last] & 0x10) != 0
    values = np.where(negative, values - (np.int64(1) << (5 * lengths)), values)
    if values.size * int(np.abs(values).max()) >= 2**62:  # the sums below could overflow
        return np.asarray(_decode_exactly(text), dtype=object)
    counts = values.copy()
    counts[1::2] = np.cumsum(values[1::2])  # from the 4th run on, each adds the one 2 before
    counts[2::2] = np.cumsum(values[2::2])
    negatives = np.flatnonzero(counts < 0)
    if negatives.size:
        raise ValueError(f"run {int(negatives[0])} is negative")
    return counts


def _decode_exactly(text: str) -> list[int]:
    """COCO's compressed string decoded one character at a time, with Python's integers:
    for numbers of over 60 bits (no real mask has runs that long)."""
    at = 0
    counts: list[int] = []
    while at < len(text):
        value = shift = 0
        while True:
            char = ord(text[at]) - 48
            at += 1
            value |= (char & 0x1F) << shift
            shift += 5
            if not char & 0x20:
                if char & 0x10:
                    value |= -1 << shift
                break
        if len(counts) > 2:
            value += counts[-2]
        if value < 0:
            raise ValueError(f"run {len(counts)} is negative")
        counts.append(value)
    return counts


def _runs(mask: RleMask) -> _Runs:
    """The mask's 1 intervals; ValueError when malformed or over :data:`MAX_MASK_RUNS`."""
    if isinstance(mask.counts, str) and len(mask.counts) > MAX_MASK_RUNS * _MAX_GROUPS:
        raise ValueError(f"over {MAX_MASK_RUNS:,} runs")
    counts = _counts(mask)
    if counts.size > MAX_MASK_RUNS:
        raise ValueError(f"{counts.size:,} runs: over {MAX_MASK_RUNS:,}")
    height, width = mask.size
    covered = int(counts.sum())
    if covered != height * width:
        raise ValueError(f"the runs cover {covered} pixels, not {height} x {width}")
    counts = counts.astype(np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    ones_starts, ones_ends = starts[1::2], ends[1::2]
    keep = ones_ends > ones_starts  # runs of length 0 hold no pixel
    ones_starts, ones_ends = ones_starts[keep], ones_ends[keep]
    before = np.concatenate([[0], np.cumsum(ones_ends - ones_starts)])
    return _Runs(mask.size, ones_starts, ones_ends, before, int(counts.size))


def mask_errors(labels: Sequence[Label], *, at: str) -> list[FieldError]:
    """Every problem of the masks among ``labels`` (an answer's or a key's), each at
    ``<at>.<index>.geometry.counts``: runs that do not cover ``size`` exactly, a string not in
    COCO's encoding, over :data:`MAX_MASK_RUNS` runs; and (at ``<at>``) over
    :data:`MAX_ANSWER_MASKS` masks or :data:`MAX_ANSWER_MASK_RUNS` runs in all. A mask that
    is refused would match nothing, and unbounded ones would stall matching."""
    errors: list[FieldError] = []
    masks = total = 0
    for index, label in enumerate(labels):
        if not isinstance(label.geometry, RleMask):
            continue
        masks += 1
        here = f"{at}.{index}.geometry.counts"
        try:
            runs = _runs(label.geometry)
        except ValueError as error:
            errors.append(FieldError(field=here, message=f"not a mask of its size: {error}"))
            continue
        total += runs.runs
    if masks > MAX_ANSWER_MASKS:
        errors.append(FieldError(field=at, message=f"at most {MAX_ANSWER_MASKS} masks"))
    if total > MAX_ANSWER_MASK_RUNS:
        errors.append(
            FieldError(
                field=at,
                message=f"at most {MAX_ANSWER_MASK_RUNS:,} mask runs in all, not {total:,}",
            )
        )
    return errors


def _polygons(geometry: Any) -> list[Any]:
    if isinstance(geometry, shapely.Polygon):
        return [geometry]
    return [p for part in getattr(geometry, "geoms", ()) for p in _polygons(part)]


def _region(geometry: Box | Polygon | RleMask) -> _Region:
    if isinstance(geometry, RleMask):
        try:
            return _runs(geometry)
        except ValueError:
            return None
    if isinstance(geometry, Box):
        shape = shapely.box(
            geometry.x, geometry.y, geometry.x + geometry.width, geometry.y + geometry.height
        )
    else:
        shape = shapely.Polygon(geometry.points)
        if not shape.is_valid:
            # a self-intersecting ring: its valid form, of which only the areas count
            parts = _polygons(shapely.make_valid(shape))
            shape = shapely.union_all(parts) if parts else shapely.Polygon()
    return _Area(shape, float(shape.area))


def _ratio(intersection: float, union: float) -> float:
    if not (union > 0 and math.isfinite(union) and math.isfinite(intersection)):
        return 0.0
    value = intersection / union
    return 1.0 if value > 1.0 - EPSILON else max(0.0, value)


def _runs_intersection(a: _Runs, b: _Runs) -> int:
    """The 1 pixels two masks share: for each interval of the one with fewer, the other's 1s
    within it (a cost of the smaller mask's runs, times a binary search in the larger)."""
    small, large = (a, b) if a.starts.size <= b.starts.size else (b, a)
    if not small.starts.size or not large.starts.size:
        return 0
    return int(np.sum(large.ones_before(small.ends) - large.ones_before(small.starts)))


def _region_iou(a: _Region, b: _Region) -> float:
    if isinstance(a, _Area) and isinstance(b, _Area):
        intersection = float(shapely.intersection(a.shape, b.shape).area)
        return _ratio(intersection, a.area + b.area - intersection)
    if isinstance(a, _Runs) and isinstance(b, _Runs) and a.size == b.size:
        common = _runs_intersection(a, b)
        return _ratio(common, a.area + b.area - common)
    return 0.0


def iou(a: Box | Polygon | RleMask, b: Box | Polygon | RleMask) -> float:
    """Intersection over union of two geometries, in [0, 1].

    A box against a polygon compares the box's rectangle. A self-intersecting polygon counts
    by the area of its valid form (``make_valid``). Masks compare pixel by pixel, and masks
    of different sizes do not overlap (0). A mask against a box or polygon is 0: the
    polygon is not rasterised. A malformed mask (runs not covering ``size``, a bad string)
    and a shape without area (a degenerate polygon, an empty mask) overlap nothing (0).
    """
    return _region_iou(_region(a), _region(b))


def _iou_matrix(left: Sequence[_Region], right: Sequence[_Region]) -> Floats:
    """IoU of every pair; only polygonal pairs whose shapes intersect are computed."""
    matrix = np.zeros((len(left), len(right)))
    left_areas = [i for i, r in enumerate(left) if isinstance(r, _Area)]
    right_areas = [j for j, r in enumerate(right) if isinstance(r, _Area)]
    if left_areas and right_areas:
        shapes_left = np.array([_shape(left[i]) for i in left_areas], dtype=object)
        shapes_right = np.array([_shape(right[j]) for j in right_areas], dtype=object)
        found, tree_index = shapely.STRtree(shapes_right).query(shapes_left, "intersects")
        common = shapely.area(shapely.intersection(shapes_left[found], shapes_right[tree_index]))
        for f, t, c in zip(found, tree_index, common, strict=True):
            i, j = left_areas[f], right_areas[t]
            matrix[i, j] = _ratio(float(c), _area(left[i]) + _area(right[j]) - float(c))
    work = 0
    for i, a in enumerate(left):
        if not isinstance(a, _Runs):
            continue
        first, last = a.extent
        for j, b in enumerate(right):
            if not isinstance(b, _Runs) or a.size != b.size:
                continue
            start, end = b.extent
            if end <= first or last <= start:
                continue  # no pixel in common
            work += min(a.starts.size, b.starts.size)
            if work > MAX_MASK_WORK:  # past the budget, the pairs left match when identical
                matrix[i, j] = 1.0 if a.same(b) else 0.0
            else:
                matrix[i, j] = _region_iou(a, b)
    return matrix


def _shape(region: _Region) -> Any:
    assert isinstance(region, _Area)
    return region.shape


def _area(region: _Region) -> float:
    assert isinstance(region, _Area)
    return region.area


# --- time segments ------------------------------------------------------------------------


def _segment_arrays(segments: Sequence[TimeSegment]) -> tuple[Floats, Floats]:
    starts = np.array([s.start_s for s in segments], dtype=np.float64)
    ends = np.array([s.end_s for s in segments], dtype=np.float64)
    return starts, ends


def _temporal_iou_matrix(left: Sequence[TimeSegment], right: Sequence[TimeSegment]) -> Floats:
    (ls, le), (rs, re) = _segment_arrays(left), _segment_arrays(right)
    ls, le = ls[:, None], le[:, None]
    common = np.clip(np.minimum(le, re) - np.maximum(ls, rs), 0.0, None)
    union = (le - ls) + (re - rs) - common
    same_point = (ls == rs) & (le == re)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(union > 0, common / np.where(union > 0, union, 1.0), same_point * 1.0)
    result: Floats = np.where(ratio > 1.0 - EPSILON, 1.0, ratio)
    return result


def _segments_match_matrix(
    left: Sequence[TimeSegment], right: Sequence[TimeSegment], onset: float, offset: float
) -> Bools:
    (ls, le), (rs, re) = _segment_arrays(left), _segment_arrays(right)
    onsets = np.abs(ls[:, None] - rs) <= onset + EPSILON
    offsets = np.abs(le[:, None] - re) <= offset + EPSILON
    result: Bools = onsets & offsets
    return result


def temporal_iou(a: TimeSegment, b: TimeSegment) -> float:
    """Intersection over union of two time segments, in [0, 1]. Two zero-length segments
    (instants) are 1 when they are the same instant, else 0."""
    return float(_temporal_iou_matrix([a], [b])[0, 0])


def segments_match(
    a: TimeSegment, b: TimeSegment, *, onset_tolerance_s: float, offset_tolerance_s: float
) -> bool:
    """Whether the starts differ by at most the onset tolerance and the ends by at most the
    offset tolerance (to :data:`EPSILON`)."""
    return bool(_segments_match_matrix([a], [b], onset_tolerance_s, offset_tolerance_s)[0, 0])


# --- matching -----------------------------------------------------------------------------


def _assign(weights: Floats, keep: Bools, values: Floats) -> list[tuple[int, int, float]]:
    rows, cols = linear_sum_assignment(-weights)
    return [
        (int(i), int(j), float(values[i, j])) for i, j in zip(rows, cols, strict=True) if keep[i, j]
    ]


def match(
    left: Sequence[T],
    right: Sequence[U],
    similarity: Callable[[T, U], float],
    *,
    threshold: float,
) -> list[tuple[int, int, float]]:
    """The one-to-one pairing of ``left`` and ``right`` items with the highest total
    similarity among pairs at or above ``threshold`` (to :data:`EPSILON`), as
    ``(left index, right index, similarity)`` in left order. Similarities are at least 0;
    an empty side gives []."""
    if not left or not right:
        return []
    values = np.array([[similarity(a, b) for b in right] for a in left], dtype=np.float64)
    keep = values >= threshold - EPSILON
    return _assign(np.where(keep, values, 0.0), keep, values)


def label_kind(label: Label) -> LabelKind:
    """``regions`` for a label with geometry, ``segments`` for one with a time segment only,
    ``classes`` for one with neither."""
    if label.geometry is not None:
        return "regions"
    return "segments" if label.segment is not None else "classes"


def _identity(label: Label) -> tuple[str, str, str | None, str | None]:
    """What two labels must share to match: kind, class, part and text (compared exactly)."""
    return (label_kind(label), label.class_id, label.part, label.text)


def _similarities(
    kind: LabelKind,
    left: Sequence[Label],
    right: Sequence[Label],
    iou_threshold: float,
    onset: float,
    offset: float,
) -> tuple[Floats, Bools]:
    """The similarity of every pair of one identity, and which pairs match."""
    if kind == "classes":
        return np.ones((len(left), len(right))), np.ones((len(left), len(right)), dtype=bool)
    if kind == "segments":
        segments_left = [label.segment for label in left if label.segment is not None]
        segments_right = [label.segment for label in right if label.segment is not None]
        return (
            _temporal_iou_matrix(segments_left, segments_right),
            _segments_match_matrix(segments_left, segments_right, onset, offset),
        )
    values = _iou_matrix(
        [_region(label.geometry) for label in left if label.geometry is not None],
        [_region(label.geometry) for label in right if label.geometry is not None],
    )
    keep = values >= iou_threshold - EPSILON
    # a geometry label with a time segment (video) also needs the segments to match
    timed_left = np.array([label.segment is not None for label in left])
    timed_right = np.array([label.segment is not None for label in right])
    if timed_left.any() or timed_right.any():
        zero = TimeSegment(start_s=0, end_s=0)
        timed = _segments_match_matrix(
            [label.segment or zero for label in left],
            [label.segment or zero for label in right],
            onset,
            offset,
        )
        same = timed_left[:, None] == timed_right
        keep &= same & (~timed_left[:, None] | timed)
    return values, keep


def match_labels(
    left: Sequence[Label],
    right: Sequence[Label],
    *,
    iou_threshold: float,
    onset_tolerance_s: float = 0.0,
    offset_tolerance_s: float = 0.0,
) -> list[tuple[int, int, float]]:
    """The one-to-one pairing of two judgments' labels with the most matching pairs, and
    among those the highest total similarity, as ``(left index, right index, similarity)``
    in left order.

    Two labels can match only with the same kind (:func:`label_kind`), class, part and text.
    Class labels then match (similarity 1). Geometry labels match when their IoU is at least
    ``iou_threshold`` (similarity: the IoU), and if either has a time segment, both have
    one and the segments match. Segment labels match when :func:`segments_match` within the
    tolerances (similarity: the temporal IoU).
    """
    groups: dict[tuple[str, str, str | None, str | None], tuple[list[int], list[int]]] = {}
    for i, label in enumerate(left):
        groups.setdefault(_identity(label), ([], []))[0].append(i)
    for j, label in enumerate(right):
        groups.setdefault(_identity(label), ([], []))[1].append(j)
    pairs: list[tuple[int, int, float]] = []
    for (kind, *_), (left_index, right_index) in groups.items():
        if not left_index or not right_index:
            continue
        values, keep = _similarities(
            kind,  # type: ignore[arg-type]
            [left[i] for i in left_index],
            [right[j] for j in right_index],
            iou_threshold,
            onset_tolerance_s,
            offset_tolerance_s,
        )
        # each match weighs 1, the similarity only breaks ties: n matches always outweigh n - 1
        share = 1.0 / (min(len(left_index), len(right_index)) + 1)
        weights = np.where(keep, 1.0 + share * values, 0.0)
        pairs.extend(
            (left_index[a], right_index[b], s) for a, b, s in _assign(weights, keep, values)
        )
    return sorted(pairs)


# --- agreement per label type -------------------------------------------------------------


@dataclass(frozen=True)
class Majority(Generic[H]):
    """A qualified-majority vote."""

    #: the share of the judgments giving the most frequent value
    agreement: float
    passed: bool
    #: the winning value when passed (None then means "none given" won), else None
    value: H | None


def class_majority(values: Sequence[H | None], *, quorum: float) -> Majority[H]:
    """The most frequent value wins when its share of all values (``None``, "not given",
    included) is at least ``quorum`` and no other value is as frequent: ties never pass."""
    if not values:
        raise ValueError("no values to vote on")
    ranked = Counter(values).most_common(2)
    top, count = ranked[0]
    tied = len(ranked) > 1 and ranked[1][1] == count
    share = count / len(values)
    passed = not tied and share >= quorum
    return Majority(share, passed, top if passed else None)


@dataclass(frozen=True)
class Spread:
    """The spread of one rating dimension's points."""

    #: 1 - spread / (scale_max - scale_min), clamped to [0, 1]
    agreement: float
    passed: bool
    #: the median of the points when passed (the midpoint of the two middle points for an
    #: even count), else None
    value: float | None
    #: max - min of the points
    spread: int


def rating_spread(
    points: Sequence[int], *, max_spread: int, scale_min: int, scale_max: int
) -> Spread:
    """Passes when the points span at most ``max_spread`` points; the consensus is their
    median: on an ordinal scale the middle point, and for an even count the midpoint of the
    two middle points (3 and 4 give 3.5: the judges split between them; the lower median
    would report the harsher judge as the consensus). On a one-point scale the agreement is
    1 when all points are equal, else 0."""
    if not points:
        raise ValueError("no points to compare")
    if scale_max < scale_min:
        raise ValueError(f"scale {scale_min}..{scale_max} is empty")
    spread = max(points) - min(points)
    width = scale_max - scale_min
    if width == 0:
        agreement = 1.0 if spread == 0 else 0.0
    else:
        agreement = min(1.0, max(0.0, 1.0 - spread / width))
    passed = spread <= max_spread
    return Spread(agreement, passed, float(statistics.median(points)) if passed else None, spread)


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement over one kind of labels."""

    agreement: float
    passed: bool
    #: the consensus labels when passed, else None
    labels: tuple[Label, ...] | None
    #: the judgment whose labels the consensus takes (regions and segments: the reference
    #: judgment, given even when not passed; classes: the first with the winning set)
    source: int | None
    #: labels no qualified majority settles (regions and segments)
    unsettled: int = 0


def class_labels_agreement(
    labels_per_judge: Sequence[Sequence[Label]], *, quorum: float
) -> LabelAgreement:
    """Class labels (without geometry or segment) by :func:`class_majority` over each
    judgment's whole set of them (class, part and text, with multiplicity): the winning set
    is the consensus, as labelled by the first judgment giving it. Attributes and confidence
    are not compared."""
    values = [
        frozenset(Counter(_identity(label) for label in labels).items())
        for labels in labels_per_judge
    ]
    vote = class_majority(values, quorum=quorum)
    if not vote.passed:
        return LabelAgreement(vote.agreement, False, None, None)
    source = values.index(vote.value)  # type: ignore[arg-type]
    return LabelAgreement(vote.agreement, True, tuple(labels_per_judge[source]), source)


def _settled(support: int, judgments: int, quorum: float) -> bool | None:
    """True when a qualified majority has the label, False when one lacks it, else None."""
    against = judgments - support
    if support > against and support / judgments >= quorum:
        return True
    if against > support and against / judgments >= quorum:
        return False
    return None


def _located_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    quorum: float,
    pair: Callable[[Sequence[Label], Sequence[Label]], list[tuple[int, int, float]]],
) -> LabelAgreement:
    judges = len(labels_per_judge)
    if judges == 0:
        raise ValueError("no judgments to compare")
    partners: dict[tuple[int, int], dict[int, int]] = {}
    figures: dict[tuple[int, int], Fraction] = {}
    for i in range(judges):
        for j in range(i + 1, judges):
            pairs = pair(labels_per_judge[i], labels_per_judge[j])
            partners[i, j] = {a: b for a, b, _ in pairs}
            partners[j, i] = {b: a for a, b, _ in pairs}
            total = len(labels_per_judge[i]) + len(labels_per_judge[j])
            figures[i, j] = figures[j, i] = (
                Fraction(2 * len(pairs), total) if total else Fraction(1)
            )
    if judges == 1:
        reference, agreement = 0, 1.0
    else:
        standing = [sum(figures[i, j] for j in range(judges) if j != i) for i in range(judges)]
        reference = max(range(judges), key=lambda i: (standing[i], -i))
        agreement = float(sum(standing) / (judges * (judges - 1)))
    kept: list[Label] = []
    unsettled = 0
    for index, label in enumerate(labels_per_judge[reference]):
        support = 1 + sum(
            1 for j in range(judges) if j != reference and index in partners[reference, j]
        )
        settled = _settled(support, judges, quorum)
        if settled:
            kept.append(label)
        elif settled is None:
            unsettled += 1
    for j in range(judges):
        if j == reference:
            continue
        for index in range(len(labels_per_judge[j])):
            if index in partners[j, reference]:
                continue
            support = 1 + sum(
                1 for o in range(judges) if o not in (j, reference) and index in partners[j, o]
            )
            if _settled(support, judges, quorum) is not False:
                unsettled += 1
    passed = unsettled == 0
    return LabelAgreement(agreement, passed, tuple(kept) if passed else None, reference, unsettled)


def region_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    *,
    iou_threshold: float,
    quorum: float,
    onset_tolerance_s: float = 0.0,
    offset_tolerance_s: float = 0.0,
) -> LabelAgreement:
    """Agreement of geometry labels (labels without geometry are left out).

    Every two judgments are matched with :func:`match_labels`; the pair's agreement is
    ``2 * matches / (n_a + n_b)``, 1 when both have none, and the figure is the mean over
    all pairs (1 for a single judgment). The reference judgment has the highest mean
    agreement with the others (ties: the lowest index). A label's support is the number of
    judgments whose matching pairs it with the label, its own judgment included.

    The consensus is the reference's labels that a qualified majority supports: support /
    judgments >= ``quorum``, and more than half. It passes when every label is settled: each
    label of the reference is supported or lacked by a qualified majority, and each label of
    another judgment that is not matched to the reference's is lacked by one (one a
    majority has, but not the reference, is unsettled).
    """
    regions = [
        [label for label in labels if label.geometry is not None] for labels in labels_per_judge
    ]

    def pair(a: Sequence[Label], b: Sequence[Label]) -> list[tuple[int, int, float]]:
        return match_labels(
            a,
            b,
            iou_threshold=iou_threshold,
            onset_tolerance_s=onset_tolerance_s,
            offset_tolerance_s=offset_tolerance_s,
        )

    return _located_agreement(regions, quorum, pair)


def segment_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    *,
    onset_tolerance_s: float,
    offset_tolerance_s: float,
    quorum: float,
) -> LabelAgreement:
    """Agreement of time-segment labels without geometry (others are left out), as
    :func:`region_agreement` with segments matched by :func:`segments_match` within the
    onset and offset tolerances (the closer pair by temporal IoU when there is a choice)."""
    segments = [
        [label for label in labels if label_kind(label) == "segments"]
        for labels in labels_per_judge
    ]

    def pair(a: Sequence[Label], b: Sequence[Label]) -> list[tuple[int, int, float]]:
        return match_labels(
            a,
            b,
            iou_threshold=1.0,
            onset_tolerance_s=onset_tolerance_s,
            offset_tolerance_s=offset_tolerance_s,
        )

    return _located_agreement(segments, quorum, pair)


def severity_consensus(values: Sequence[Severity | None], *, quorum: float) -> Severity | None:
    """The most severe level that a qualified majority of the judgments reports or exceeds
    (share >= ``quorum`` and more than half); a judgment without a severity counts as
    ``none``. None when no judgment gives a severity."""
    if all(value is None for value in values):
        return None
    ranks = [SEVERITY_ORDER.index(value or Severity.none) for value in values]
    for rank in range(len(SEVERITY_ORDER) - 1, 0, -1):
        if _settled(sum(r >= rank for r in ranks), len(ranks), quorum):
            return SEVERITY_ORDER[rank]
    return Severity.none


def flag_consensus(flags_per_judge: Sequence[Sequence[str]], *, quorum: float) -> tuple[str, ...]:
    """The flags a qualified majority of the judgments raised (share >= ``quorum`` and more
    than half), sorted."""
    counts = Counter(flag for flags in flags_per_judge for flag in set(flags))
    return tuple(sorted(f for f, n in counts.items() if _settled(n, len(flags_per_judge), quorum)))


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsensusPolicy:
    """When an item's judgments settle it by consensus."""

    #: share of the judgments a verdict, class set, label or rated dimension needs
    quorum: float = 2 / 3
    #: rating dimension -> largest spread (max - min) still in agreement
    max_spread: Mapping[str, int] = dataclasses.field(default_factory=dict)
    default_max_spread: int = 1
    #: rating dimension -> (scale_min, scale_max)
    scales: Mapping[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    default_scale: tuple[int, int] = (1, 5)
    iou_threshold: float = 0.5
    onset_tolerance_s: float = 0.5
    offset_tolerance_s: float = 0.5
    #: flags that send an item to adjudication whenever a judgment gives one
    escalate_flags: frozenset[str] = frozenset()
    #: a judgment reporting this severity or a more severe one sends the item to adjudication
    escalate_severity: Severity | None = None
    #: share of items drawn for adjudication anyway
    audit_rate: float = 0.0

    def __post_init__(self) -> None:
        problems = [
            name
            for name, ok in (
                ("quorum", 0.0 <= self.quorum <= 1.0),
                ("iou_threshold", 0.0 <= self.iou_threshold <= 1.0),
                ("audit_rate", 0.0 <= self.audit_rate <= 1.0),
                ("onset_tolerance_s", self.onset_tolerance_s >= 0),
                ("offset_tolerance_s", self.offset_tolerance_s >= 0),
                ("default_max_spread", self.default_max_spread >= 0),
                ("max_spread", all(v >= 0 for v in self.max_spread.values())),
                ("default_scale", self.default_scale[0] <= self.default_scale[1]),
                ("scales", all(lo <= hi for lo, hi in self.scales.values())),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"out of range: {', '.join(problems)}")


@dataclass(frozen=True)
class Reason:
    """Why an item goes to adjudication."""

    code: Literal["disagreement", "flag", "severity", "audit", "too_many_labels"]
    #: what it is about: ``verdict``, ``labels.<kind>``, ``ratings.<dim>``, ``flags.<flag>``,
    #: ``severity`` or ``audit``
    field: str
    message: str


@dataclass(frozen=True)
class Decision:
    """How an item's judgments settle it.

    When escalated, the values are those of the label types that reached consensus (the
    others are None, empty or left out): a proposal, not a resolution.
    """

    #: ``consensus``, ``single`` (one judgment), or ``adjudication`` when escalated
    method: Resolution
    reasons: tuple[Reason, ...]
    verdict: Verdict | None
    #: class labels, then geometry labels, then segment labels, each as their source gave them
    labels: tuple[Label, ...]
    #: the judgment each label is taken from
    label_sources: tuple[int, ...]
    ratings: Mapping[str, float]
    #: dimension -> max - min of the points given
    spreads: Mapping[str, int]
    severity: Severity | None
    #: the flags a qualified majority raised (a single judgment: its own)
    flags: tuple[str, ...]
    #: the lowest of ``figures``; None when nothing was compared (a single judgment)
    agreement: float | None
    #: ``verdict``, ``labels.<kind>``, ``ratings.<dim>`` -> agreement in [0, 1]
    figures: Mapping[str, float]

    @property
    def escalated(self) -> bool:
        return self.method is Resolution.adjudication


def _who(indices: Sequence[int]) -> str:
    return ("judgment " if len(indices) == 1 else "judgments ") + ", ".join(map(str, indices))


def _escalations(
    answers: Sequence[Answers], policy: ConsensusPolicy, audit_draw: float
) -> list[Reason]:
    reasons = []
    for flag in sorted(policy.escalate_flags):
        given = [i for i, a in enumerate(answers) if flag in a.flags]
        if given:
            reasons.append(
                Reason("flag", f"flags.{flag}", f"flag {flag!r} escalates; given by {_who(given)}")
            )
    if policy.escalate_severity is not None:
        limit = SEVERITY_ORDER.index(policy.escalate_severity)
        severe = [
            i
            for i, a in enumerate(answers)
            if a.severity is not None and SEVERITY_ORDER.index(a.severity) >= limit
        ]
        if severe:
            reasons.append(
                Reason(
                    "severity",
                    "severity",
                    f"severity {policy.escalate_severity} or above escalates; "
                    f"reported by {_who(severe)}",
                )
            )
    if audit_draw < policy.audit_rate:
        reasons.append(
            Reason(
                "audit", "audit", f"drawn for audit: {audit_draw:.4f} < rate {policy.audit_rate}"
            )
        )
    return reasons


def _majority_message(what: str, vote: Majority[Any], judgments: int, quorum: float) -> str:
    count = round(vote.agreement * judgments)
    return (
        f"no qualified majority for the {what}: the most frequent has {count} of {judgments} "
        f"({vote.agreement:.2f}); a qualified majority has at least {quorum:.2f} and no tie"
    )


def decide(answers: Sequence[Answers], *, policy: ConsensusPolicy, audit_draw: float) -> Decision:
    """Whether the judgments settle the item by consensus, and on what.

    The item is escalated (``Resolution.adjudication``) when any label type present fails
    its rule, a judgment gives a flag of ``policy.escalate_flags`` or a severity at or above
    ``policy.escalate_severity``, or ``audit_draw`` (in [0, 1), drawn by the caller) is below
    ``policy.audit_rate``; every such reason is named. A label type is present when some
    judgment gives it (a verdict, a label of the kind, a rating of the dimension).

    A rating dimension is first put to a :func:`class_majority` of rated against not rated:
    rated by a qualified majority, its points are compared by :func:`rating_spread`; left
    unrated by one, it is left out. Severity never fails: it is
    :func:`severity_consensus`. A single judgment resolves as ``Resolution.single`` with its
    own answers unless it is escalated by a flag, its severity or the audit.
    """
    if not answers:
        raise ValueError("no judgments to decide on")
    if not 0.0 <= audit_draw < 1.0:
        raise ValueError(f"audit_draw {audit_draw} is not in [0, 1)")
    escalations = _escalations(answers, policy, audit_draw)
    if len(answers) == 1:
        only = answers[0]
        return Decision(
            method=Resolution.adjudication if escalations else Resolution.single,
            reasons=tuple(escalations),
            verdict=only.verdict,
            labels=tuple(only.labels),
            label_sources=(0,) * len(only.labels),
            ratings={k: float(v) for k, v in only.ratings.items()},
            spreads={k: 0 for k in only.ratings},
            severity=only.severity,
            flags=tuple(only.flags),
            agreement=None,
            figures={},
        )
    judgments, quorum = len(answers), policy.quorum
    figures: dict[str, float] = {}
    reasons: list[Reason] = []

    verdict: Verdict | None = None
    if any(a.verdict is not None for a in answers):
        vote = class_majority([a.verdict for a in answers], quorum=quorum)
        figures["verdict"] = vote.agreement
        verdict = vote.value
        if not vote.passed:
            reasons.append(
                Reason(
                    "disagreement", "verdict", _majority_message("verdict", vote, judgments, quorum)
                )
            )

    labels: list[Label] = []
    sources: list[int] = []
    for kind in ("classes", "regions", "segments"):
        per_judge = [[label for label in a.labels if label_kind(label) == kind] for a in answers]
        if not any(per_judge):
            continue
        if kind == "classes":
            result = class_labels_agreement(per_judge, quorum=quorum)
            problem = "no qualified majority for the set of class labels"
        elif kind == "regions":
            result = region_agreement(
                per_judge,
                iou_threshold=policy.iou_threshold,
                quorum=quorum,
                onset_tolerance_s=policy.onset_tolerance_s,
                offset_tolerance_s=policy.offset_tolerance_s,
            )
            problem = (
                f"{result.unsettled} geometry label(s) not settled by a qualified majority "
                f"(quorum {quorum:.2f}, IoU >= {policy.iou_threshold:.2f})"
            )
        else:
            result = segment_agreement(
                per_judge,
                onset_tolerance_s=policy.onset_tolerance_s,
                offset_tolerance_s=policy.offset_tolerance_s,
                quorum=quorum,
            )
            problem = (
                f"{result.unsettled} segment label(s) not settled by a qualified majority "
                f"(quorum {quorum:.2f}, onset within {policy.onset_tolerance_s}s, "
                f"offset within {policy.offset_tolerance_s}s)"
            )
        figures[f"labels.{kind}"] = result.agreement
        if result.passed and result.labels is not None and result.source is not None:
            labels.extend(result.labels)
            sources.extend([result.source] * len(result.labels))
        else:
            reasons.append(
                Reason(
                    "disagreement", f"labels.{kind}", f"{problem}; agreement {result.agreement:.2f}"
                )
            )

    ratings: dict[str, float] = {}
    spreads: dict[str, int] = {}
    for dimension in sorted({d for a in answers for d in a.ratings}):
        at = f"ratings.{dimension}"
        rated = class_majority(
            [dimension if dimension in a.ratings else None for a in answers], quorum=quorum
        )
        if not rated.passed:
            figures[at] = rated.agreement
            reasons.append(
                Reason(
                    "disagreement", at, _majority_message("rating or not", rated, judgments, quorum)
                )
            )
            continue
        if rated.value is None:
            figures[at] = rated.agreement
            continue
        scale_min, scale_max = policy.scales.get(dimension, policy.default_scale)
        limit = policy.max_spread.get(dimension, policy.default_max_spread)
        spread = rating_spread(
            [a.ratings[dimension] for a in answers if dimension in a.ratings],
            max_spread=limit,
            scale_min=scale_min,
            scale_max=scale_max,
        )
        figures[at] = spread.agreement
        spreads[dimension] = spread.spread
        if spread.value is not None:
            ratings[dimension] = spread.value
        else:
            reasons.append(
                Reason("disagreement", at, f"spread {spread.spread} is over the limit {limit}")
            )

    if len(labels) > MAX_FINAL_LABELS:
        reasons.append(
            Reason(
                "too_many_labels",
                "labels",
                f"the consensus holds {len(labels)} labels, more than an outcome carries "
                f"({MAX_FINAL_LABELS})",
            )
        )
    all_reasons = (*reasons, *escalations)
    return Decision(
        method=Resolution.adjudication if all_reasons else Resolution.consensus,
        reasons=all_reasons,
        verdict=verdict,
        labels=tuple(labels),
        label_sources=tuple(sources),
        ratings=ratings,
        spreads=spreads,
        severity=severity_consensus([a.severity for a in answers], quorum=quorum),
        flags=flag_consensus([a.flags for a in answers], quorum=quorum),
        agreement=min(figures.values()) if figures else None,
        figures=figures,
    )
