"""Spatial and temporal agreement between experts, and the spread of their audio-visual sync
offsets (issue 22). Pure: no I/O; IoU, time segments and the optimal matching come from
:mod:`shared.annotation` (one implementation for consensus, gold scoring and these figures).

**Pairs of experts on one item.**

* *Regions* are the labels with a geometry (box, polygon, RLE mask) and no time segment;
  *segments* the labels with a time segment and no geometry. A label with both (a region in
  a span of video) is in neither figure: it needs a spatio-temporal IoU, not in this slice.
  Two labels can match only with the same class, part and text
  (:func:`shared.annotation.matching.identity`, as consensus matches them).
* **Mean IoU with unmatched regions as 0** (:func:`region_overlap`, :func:`segment_overlap`):
  within each class the regions of the two experts are paired one to one with the largest
  total IoU (Hungarian assignment: :func:`shared.annotation.matching.match` on
  :func:`~shared.annotation.geometry.iou_matrix` or
  :func:`~shared.annotation.temporal.temporal_iou_matrix`), keeping pairs whose IoU is
  above 0 and at least ``iou_threshold`` (default 0: any overlap). The figure is
  ``sum of the matched IoUs / (|A| + |B| - matched)``: the mean IoU over the union of the
  two experts' objects, where a matched pair is one object and an unmatched region of either
  side counts 0. It is the object-level Jaccard index ``TP / (TP + FP + FN)`` (the per-threshold
  score of the 2018 Data Science Bowl, Caicedo et al. 2019) with each true positive weighted
  by its IoU, and it is symmetric in the two experts. Undefined (``None``) when neither gave
  a region; 0 when only one did.
* **Event-based F1** (:func:`event_counts`), as sed_eval's ``EventBasedMetrics`` defines it
  (Mesaros, Heittola & Virtanen 2016) with ``event_matching_type="optimal"``: an estimated
  event matches a reference event of the same class when
  ``|onset difference| <= t_collar`` (default 0.2 s) and
  ``|offset difference| <= max(t_collar, percentage_of_length * reference length)``
  (default 0.5), to :data:`shared.annotation.EPSILON`; the pairing is a maximum one-to-one
  (bipartite) matching per class, so ``F1 = 2 matched / (references + estimates)``, summed
  over classes (sed_eval's overall, micro-averaged F). The offset tolerance depends on the
  reference's length, so the figure depends on who is the reference: **made symmetric**
  (:func:`symmetric_event_f1`) as the mean of the F1 with A as reference and with B as
  reference, ``(matched(A→B) + matched(B→A)) / (|A| + |B|)``. With ``evaluate_offset=False``
  (onsets only) the criterion is symmetric already and both directions agree. Undefined when
  neither expert gave an event; 0 when only one did.

**Items.** An item's figure is the mean over its expert pairs (in expert-id order) where the
pair's figure is defined, so ``None`` unless two experts judged it and one of a pair gave a
region (or event).

**Audio-visual sync offsets.** An expert's judgment of the offset is the rating dimension
:data:`SYNC_OFFSET_DIMENSION` (a signed number of milliseconds). Per item with two experts or
more (:func:`sync_spread`): the standard deviation (``ddof=1``) and the range (max - min).

**Projects.** Every figure is an :class:`~services.metrics.agreement.figures.Estimate`:

* mean IoU, segment IoU and event F1: the mean of the item figures over the items where it
  is defined (``n`` = those items), with a **percentile bootstrap over items**: B = 1000
  resamples with replacement of the items (multinomial counts, as alpha's bootstrap draws
  them), NumPy's PCG64 seeded with 22, the 2.5th and 97.5th percentiles (linear
  interpolation) of the resampled means; one item gives the value without an interval;
* sync offsets: the **pooled within-item standard deviation**
  ``sqrt(sum_i sum_e (x_ie - mean_i)^2 / sum_i (m_i - 1))`` over items with ``m_i >= 2``
  offsets (``n`` = items, ``df = sum (m_i - 1)``) with the chi-square interval
  ``[sqrt(df s^2 / chi2(0.975, df)), sqrt(df s^2 / chi2(0.025, df))]``; and the **median
  absolute pairwise difference** over every pair of experts within an item (``n`` = those
  item-pairs, pooled over items), with the same percentile bootstrap over items (a resample
  takes all the pairs of each drawn item).

Undefined figures carry ``value=None`` and a ``reason``; nothing is NaN and empty input does
not raise.

**State.** :class:`RegionAgreementState`, :class:`SegmentAgreementState` and
:class:`SyncOffsetState` hold, per item, each expert's labels (or offset) and the item's
contribution. Recording an expert's labels recomputes that item's contribution only (time in
the item's experts and labels, independent of the number of items); the project figures are
computed on read. Contributions are computed from the experts in id order, so a state after
any sequence of ``record`` / ``withdraw`` equals the batch state (``from_labels`` /
``from_offsets``) on the final data exactly. ``to_dict`` / ``from_dict`` give plain,
JSON-safe data with string keys only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt
from scipy import stats

from services.metrics.agreement.figures import (
    BOOTSTRAP_REPLICATES,
    BOOTSTRAP_SEED,
    CONFIDENCE,
    Estimate,
    undefined,
)
from shared.annotation.geometry import iou_matrix, region
from shared.annotation.matching import Identity, identity, match
from shared.annotation.temporal import segments_match_matrix, temporal_iou_matrix
from shared.contracts.vocabulary import Label, TimeSegment
from shared.contracts.work import JudgmentSubmittedV1

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: The rating dimension holding an expert's audio-visual sync offset, in signed milliseconds
SYNC_OFFSET_DIMENSION = "av_sync_offset_ms"
#: sed_eval's defaults for the event-based metric
T_COLLAR_S = 0.2
PERCENTAGE_OF_LENGTH = 0.5
STATE_VERSION = 1
#: Bootstrap replicates drawn at once at most (replicates x items numbers), a fixed function
#: of the number of items so that the draws do not depend on anything else
_CHUNK_CELLS = 2_000_000


# -- two experts on one item -----------------------------------------------------------------


def is_region(label: Label) -> bool:
    """A label in the spatial figure: a geometry and no time segment."""
    return label.geometry is not None and label.segment is None


def is_segment(label: Label) -> bool:
    """A label in the temporal figures: a time segment and no geometry."""
    return label.segment is not None and label.geometry is None


def _by_class(
    left: Sequence[Label], right: Sequence[Label]
) -> list[tuple[Identity, list[Label], list[Label]]]:
    groups: dict[Identity, tuple[list[Label], list[Label]]] = {}
    for label in left:
        groups.setdefault(identity(label), ([], []))[0].append(label)
    for label in right:
        groups.setdefault(identity(label), ([], []))[1].append(label)
    return [(key, ls, rs) for key, (ls, rs) in groups.items()]


def _segments(labels: Sequence[Label]) -> list[TimeSegment]:
    return [label.segment for label in labels if label.segment is not None]


def _matched_ious(values: Floats, iou_threshold: float) -> list[float]:
    """The IoUs of the one-to-one pairing with the largest total IoU, pairs above 0 and at
    least ``iou_threshold``."""
    rows, cols = values.shape
    pairs = match(
        range(rows), range(cols), lambda i, j: float(values[i, j]), threshold=iou_threshold
    )
    return [s for _, _, s in pairs if s > 0.0]


@dataclass(frozen=True)
class Overlap:
    """Two experts' regions (or segments) matched one to one: how many each gave, how many
    pairs matched and the sum of their IoUs."""

    left: int
    right: int
    matched: int
    iou_sum: float

    @property
    def mean_iou(self) -> float | None:
        """``iou_sum / (left + right - matched)``; None when neither gave any."""
        union = self.left + self.right - self.matched
        return None if union == 0 else self.iou_sum / union


def region_overlap(
    a: Sequence[Label], b: Sequence[Label], *, iou_threshold: float = 0.0
) -> Overlap:
    """The optimal matching of two experts' regions (labels of other kinds are ignored)."""
    left, right = [x for x in a if is_region(x)], [x for x in b if is_region(x)]
    ious: list[float] = []
    for _, ls, rs in _by_class(left, right):
        if ls and rs:
            values = iou_matrix(
                [region(x.geometry) for x in ls if x.geometry is not None],
                [region(x.geometry) for x in rs if x.geometry is not None],
            )
            ious.extend(_matched_ious(values, iou_threshold))
    return Overlap(len(left), len(right), len(ious), math.fsum(ious))


def segment_overlap(
    a: Sequence[Label], b: Sequence[Label], *, iou_threshold: float = 0.0
) -> Overlap:
    """The optimal matching of two experts' time segments by temporal IoU (labels of other
    kinds are ignored)."""
    left, right = [x for x in a if is_segment(x)], [x for x in b if is_segment(x)]
    ious: list[float] = []
    for _, ls, rs in _by_class(left, right):
        if ls and rs:
            values = temporal_iou_matrix(_segments(ls), _segments(rs))
            ious.extend(_matched_ious(values, iou_threshold))
    return Overlap(len(left), len(right), len(ious), math.fsum(ious))


@dataclass(frozen=True)
class EventCounts:
    """Reference events, estimated events and the matched pairs of an event-based
    comparison."""

    reference: int
    estimated: int
    matched: int

    @property
    def precision(self) -> float | None:
        return None if self.estimated == 0 else self.matched / self.estimated

    @property
    def recall(self) -> float | None:
        return None if self.reference == 0 else self.matched / self.reference

    @property
    def f1(self) -> float | None:
        """``2 matched / (reference + estimated)``; None when there is no event at all."""
        total = self.reference + self.estimated
        return None if total == 0 else 2 * self.matched / total


def _check_collars(t_collar: float, percentage_of_length: float) -> None:
    if not (math.isfinite(t_collar) and t_collar >= 0):
        raise ValueError("t_collar is a finite number of seconds, 0 or more")
    if not (math.isfinite(percentage_of_length) and percentage_of_length >= 0):
        raise ValueError("percentage_of_length is a finite number, 0 or more")


def _event_hits(
    reference: Sequence[TimeSegment],
    estimated: Sequence[TimeSegment],
    t_collar: float,
    percentage_of_length: float,
    evaluate_offset: bool,
) -> Bools:
    """Which (reference, estimate) pairs may match: each reference's row with its own offset
    tolerance."""
    hits = np.zeros((len(reference), len(estimated)), dtype=bool)
    for i, ref in enumerate(reference):
        offset = (
            max(t_collar, percentage_of_length * (ref.end_s - ref.start_s))
            if evaluate_offset
            else math.inf
        )
        hits[i] = segments_match_matrix([ref], estimated, t_collar, offset)[0]
    return hits


def _maximum_matching(hits: Bools) -> int:
    """The size of a maximum one-to-one matching among the allowed pairs (the assignment with
    the most pairs of weight 1)."""
    rows, cols = hits.shape
    return len(match(range(rows), range(cols), lambda i, j: float(hits[i, j]), threshold=1.0))


def event_counts_by_class(
    reference: Sequence[Label],
    estimated: Sequence[Label],
    *,
    t_collar: float = T_COLLAR_S,
    percentage_of_length: float = PERCENTAGE_OF_LENGTH,
    evaluate_offset: bool = True,
) -> dict[Identity, EventCounts]:
    """sed_eval's event-based counts per class (see the module docstring), ``reference``
    being the reference; labels other than segments are ignored."""
    _check_collars(t_collar, percentage_of_length)
    left = [x for x in reference if is_segment(x)]
    right = [x for x in estimated if is_segment(x)]
    out: dict[Identity, EventCounts] = {}
    for key, ls, rs in _by_class(left, right):
        matched = 0
        if ls and rs:
            hits = _event_hits(
                _segments(ls), _segments(rs), t_collar, percentage_of_length, evaluate_offset
            )
            matched = _maximum_matching(hits)
        out[key] = EventCounts(len(ls), len(rs), matched)
    return out


def event_counts(
    reference: Sequence[Label],
    estimated: Sequence[Label],
    *,
    t_collar: float = T_COLLAR_S,
    percentage_of_length: float = PERCENTAGE_OF_LENGTH,
    evaluate_offset: bool = True,
) -> EventCounts:
    """sed_eval's overall event-based counts: the per-class counts summed."""
    by_class = event_counts_by_class(
        reference,
        estimated,
        t_collar=t_collar,
        percentage_of_length=percentage_of_length,
        evaluate_offset=evaluate_offset,
    ).values()
    return EventCounts(
        sum(c.reference for c in by_class),
        sum(c.estimated for c in by_class),
        sum(c.matched for c in by_class),
    )


def symmetric_event_f1(
    a: Sequence[Label],
    b: Sequence[Label],
    *,
    t_collar: float = T_COLLAR_S,
    percentage_of_length: float = PERCENTAGE_OF_LENGTH,
    evaluate_offset: bool = True,
) -> float | None:
    """The mean of the event-based F1 with ``a`` as reference and with ``b`` as reference;
    None when neither gave an event."""
    options: dict[str, Any] = {
        "t_collar": t_collar,
        "percentage_of_length": percentage_of_length,
        "evaluate_offset": evaluate_offset,
    }
    forward, backward = event_counts(a, b, **options), event_counts(b, a, **options)
    total = forward.reference + forward.estimated
    return None if total == 0 else (forward.matched + backward.matched) / total


# -- sync offsets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SyncSpread:
    """The spread of one item's sync offsets (milliseconds): ``sd`` (``ddof=1``) and
    ``range`` (max - min) are None below two experts; ``sum_squares`` is the sum of squared
    deviations from the item's mean; ``differences`` the absolute difference of every pair
    of experts, ascending."""

    experts: int
    mean: float
    sum_squares: float
    sd: float | None
    range: float | None
    differences: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "experts": self.experts,
            "mean": self.mean,
            "sum_squares": self.sum_squares,
            "sd": self.sd,
            "range": self.range,
            "differences": list(self.differences),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncSpread:
        return cls(
            int(data["experts"]),
            float(data["mean"]),
            float(data["sum_squares"]),
            None if data["sd"] is None else float(data["sd"]),
            None if data["range"] is None else float(data["range"]),
            tuple(float(d) for d in data["differences"]),
        )


def sync_spread(offsets: Sequence[float]) -> SyncSpread:
    """The spread of one item's offsets (in a fixed order: the caller's)."""
    m = len(offsets)
    if m == 0:
        raise ValueError("an item's spread needs one offset or more")
    mean = math.fsum(offsets) / m
    ss = math.fsum((x - mean) ** 2 for x in offsets)
    differences = tuple(sorted(abs(x - y) for x, y in combinations(offsets, 2)))
    if m < 2:
        return SyncSpread(m, mean, ss, None, None, differences)
    return SyncSpread(
        m, mean, ss, math.sqrt(ss / (m - 1)), max(offsets) - min(offsets), differences
    )


def sync_offset_ms(judgment: JudgmentSubmittedV1) -> float | None:
    """The judgment's A/V sync offset (:data:`SYNC_OFFSET_DIMENSION`), if it rates one."""
    return judgment.ratings.get(SYNC_OFFSET_DIMENSION)


def judged_labels(judgment: JudgmentSubmittedV1) -> list[Label]:
    """The labels a judgment stands for: its ``effective_labels`` when given, else its
    ``labels`` (as the agreement report reads them)."""
    return list(
        judgment.effective_labels if judgment.effective_labels is not None else judgment.labels
    )


# -- project figures -------------------------------------------------------------------------


def _resample_counts(n: int, replicates: int, seed: int) -> Iterable[npt.NDArray[np.int64]]:
    """Bootstrap resamples of ``n`` items as multinomial counts, in chunks of replicates."""
    rng = np.random.Generator(np.random.PCG64(seed))
    p = np.full(n, 1.0 / n)
    chunk = max(1, _CHUNK_CELLS // n)
    done = 0
    while done < replicates:
        size = min(chunk, replicates - done)
        yield rng.multinomial(n, p, size=size)
        done += size


def mean_over_items(
    values: Sequence[float],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
    what: str = "no item has a value",
) -> Estimate:
    """The mean of per-item values (in a fixed order) with the percentile bootstrap over
    items; ``what`` is the reason when there is none."""
    n = len(values)
    if n == 0:
        return undefined(0, what)
    value = math.fsum(values) / n
    if n == 1:
        return Estimate(value, 1, None, None, "an interval needs two items")
    x = np.asarray(values, dtype=np.float64)
    means = np.concatenate([counts @ x / n for counts in _resample_counts(n, replicates, seed)])
    lo, hi = np.percentile(means, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    return Estimate(value, n, (float(lo), float(hi)))


def pooled_sd(spreads: Sequence[SyncSpread]) -> tuple[Estimate, int]:
    """The pooled within-item standard deviation over items with two offsets or more, with
    its chi-square interval, and its degrees of freedom ``sum (m_i - 1)``."""
    used = [s for s in spreads if s.experts >= 2]
    if not used:
        return undefined(0, "no item has two sync offsets"), 0
    df = sum(s.experts - 1 for s in used)
    ss = math.fsum(s.sum_squares for s in used)
    value = math.sqrt(ss / df)
    lo = math.sqrt(ss / float(stats.chi2.ppf(0.5 + CONFIDENCE / 2, df)))
    hi = math.sqrt(ss / float(stats.chi2.ppf(0.5 - CONFIDENCE / 2, df)))
    return Estimate(value, len(used), (lo, hi)), df


def _weighted_median(sorted_values: Floats, weights: npt.NDArray[np.int64]) -> float:
    """``np.median`` of ``sorted_values`` each repeated ``weights`` times."""
    cum = np.cumsum(weights)
    total = int(cum[-1])
    upper = float(sorted_values[np.searchsorted(cum, total // 2, side="right")])
    if total % 2:
        return upper
    lower = float(sorted_values[np.searchsorted(cum, total // 2 - 1, side="right")])
    return (lower + upper) / 2


def median_abs_difference(
    spreads: Sequence[SyncSpread],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> Estimate:
    """The median absolute difference over every pair of experts within an item (items in a
    fixed order), ``n`` = those pairs, with the percentile bootstrap over items."""
    used = [s for s in spreads if s.experts >= 2]
    if not used:
        return undefined(0, "no item has two sync offsets")
    pooled = np.array([d for s in used for d in s.differences], dtype=np.float64)
    owner = np.array([k for k, s in enumerate(used) for _ in s.differences], dtype=np.int64)
    value = float(np.median(pooled))
    if len(used) == 1:
        return Estimate(value, pooled.size, None, None, "an interval needs two items")
    order = np.argsort(pooled, kind="stable")
    pooled, owner = pooled[order], owner[order]
    medians = [
        _weighted_median(pooled, row[owner])
        for counts in _resample_counts(len(used), replicates, seed)
        for row in counts
    ]
    lo, hi = np.percentile(medians, [50 * (1 - CONFIDENCE), 50 * (1 + CONFIDENCE)])
    return Estimate(value, int(pooled.size), (float(lo), float(hi)))


# -- incremental state -----------------------------------------------------------------------

V = TypeVar("V")
C = TypeVar("C")


@dataclass(frozen=True)
class ItemFigure:
    """One item's figure: the mean over its expert pairs where the pair's figure is defined
    (None when none is), and how many pairs that is."""

    value: float | None
    pairs: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "pairs": self.pairs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ItemFigure:
        return cls(None if data["value"] is None else float(data["value"]), int(data["pairs"]))


def over_pairs(values: Mapping[str, V], pair_figure: Callable[[V, V], float | None]) -> ItemFigure:
    """``pair_figure`` of every pair of experts (in id order), averaged where defined."""
    got = [
        f
        for a, b in combinations(sorted(values), 2)
        if (f := pair_figure(values[a], values[b])) is not None
    ]
    return ItemFigure(math.fsum(got) / len(got) if got else None, len(got))


class _ItemState(Generic[V, C]):
    """Per item, each expert's value and the item's contribution, recomputed from the item
    alone when one of its experts changes."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, V]] = {}
        self.contributions: dict[str, C] = {}

    def _contribution(self, values: Mapping[str, V]) -> C:
        raise NotImplementedError

    def _store(self, item: str, expert: str, value: V) -> bool:
        values = self.items.setdefault(item, {})
        if expert in values and values[expert] == value:
            return False
        values[expert] = value
        self.contributions[item] = self._contribution(values)
        return True

    def withdraw(self, item: str, expert: str) -> bool:
        """Remove an expert's judgment of an item; returns whether the state changed."""
        values = self.items.get(item)
        if values is None or expert not in values:
            return False
        del values[expert]
        if values:
            self.contributions[item] = self._contribution(values)
        else:
            del self.items[item]
            del self.contributions[item]
        return True

    def _fill(self, table: dict[str, dict[str, V]]) -> None:
        self.items = table
        self.contributions = {item: self._contribution(values) for item, values in table.items()}

    def _in_item_order(self, pick: Callable[[C], float | None]) -> list[float]:
        return [v for _, c in sorted(self.contributions.items()) if (v := pick(c)) is not None]

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, _ItemState)
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


LabelSet = tuple[Label, ...]


def _dump_labels(labels: LabelSet) -> list[dict[str, Any]]:
    return [label.model_dump(mode="json", exclude_none=True) for label in labels]


def _load_labels(data: Iterable[Mapping[str, Any]]) -> LabelSet:
    return tuple(Label.model_validate(d) for d in data)


def _labels_table(
    judgments: Iterable[tuple[str, str, Iterable[Label]]], keep: Callable[[Label], bool]
) -> dict[str, dict[str, LabelSet]]:
    table: dict[str, dict[str, LabelSet]] = {}
    for item, expert, labels in judgments:
        table.setdefault(item, {})[expert] = tuple(x for x in labels if keep(x))
    return table


def _check_version(data: Mapping[str, Any], kind: str) -> None:
    if data.get("version") != STATE_VERSION or data.get("kind") != kind:
        raise ValueError(f"not a {kind} agreement state of version {STATE_VERSION}")


class RegionAgreementState(_ItemState[LabelSet, ItemFigure]):
    """Spatial agreement of one field: per item, each expert's regions and the item's mean
    IoU with unmatched regions as 0 (mean over its expert pairs)."""

    def __init__(self, *, iou_threshold: float = 0.0) -> None:
        super().__init__()
        self.iou_threshold = float(iou_threshold)

    def record(self, item: str, expert: str, labels: Iterable[Label]) -> bool:
        """Take an expert's labels on an item (its regions count; they replace the expert's
        earlier ones); returns whether the state changed."""
        return self._store(item, expert, tuple(x for x in labels if is_region(x)))

    def _pair(self, a: LabelSet, b: LabelSet) -> float | None:
        return region_overlap(a, b, iou_threshold=self.iou_threshold).mean_iou

    def _contribution(self, values: Mapping[str, LabelSet]) -> ItemFigure:
        return over_pairs(values, self._pair)

    @classmethod
    def from_labels(
        cls, judgments: Iterable[tuple[str, str, Iterable[Label]]], *, iou_threshold: float = 0.0
    ) -> RegionAgreementState:
        """The state in one pass over ``(item, expert, labels)`` (a later entry of the same
        expert on the same item replaces the earlier)."""
        state = cls(iou_threshold=iou_threshold)
        state._fill(_labels_table(judgments, is_region))
        return state

    def mean_iou(self) -> Estimate:
        return mean_over_items(
            self._in_item_order(lambda c: c.value),
            what="no item has two experts of whom one gave a region",
        )

    def figures(self) -> dict[str, Any]:
        return {"items": len(self.items), "mean_iou": self.mean_iou().to_dict()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "kind": "regions",
            "iou_threshold": self.iou_threshold,
            "items": [
                {
                    "item": item,
                    "labels": [[e, _dump_labels(v)] for e, v in sorted(values.items())],
                    "mean_iou": self.contributions[item].to_dict(),
                }
                for item, values in sorted(self.items.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RegionAgreementState:
        _check_version(data, "regions")
        state = cls(iou_threshold=float(data["iou_threshold"]))
        for d in data["items"]:
            state.items[d["item"]] = {e: _load_labels(v) for e, v in d["labels"]}
            state.contributions[d["item"]] = ItemFigure.from_dict(d["mean_iou"])
        return state


@dataclass(frozen=True)
class SegmentItem:
    """One item's temporal figures: segment IoU and symmetric event-based F1."""

    mean_iou: ItemFigure
    event_f1: ItemFigure


class SegmentAgreementState(_ItemState[LabelSet, SegmentItem]):
    """Temporal agreement of one field: per item, each expert's time segments, the item's
    segment IoU with unmatched segments as 0 and its symmetric event-based F1."""

    def __init__(
        self,
        *,
        t_collar: float = T_COLLAR_S,
        percentage_of_length: float = PERCENTAGE_OF_LENGTH,
        iou_threshold: float = 0.0,
    ) -> None:
        super().__init__()
        _check_collars(t_collar, percentage_of_length)
        self.t_collar = float(t_collar)
        self.percentage_of_length = float(percentage_of_length)
        self.iou_threshold = float(iou_threshold)

    def record(self, item: str, expert: str, labels: Iterable[Label]) -> bool:
        """Take an expert's labels on an item (its segments count; they replace the expert's
        earlier ones); returns whether the state changed."""
        return self._store(item, expert, tuple(x for x in labels if is_segment(x)))

    def _iou(self, a: LabelSet, b: LabelSet) -> float | None:
        return segment_overlap(a, b, iou_threshold=self.iou_threshold).mean_iou

    def _f1(self, a: LabelSet, b: LabelSet) -> float | None:
        return symmetric_event_f1(
            a, b, t_collar=self.t_collar, percentage_of_length=self.percentage_of_length
        )

    def _contribution(self, values: Mapping[str, LabelSet]) -> SegmentItem:
        return SegmentItem(over_pairs(values, self._iou), over_pairs(values, self._f1))

    @classmethod
    def from_labels(
        cls,
        judgments: Iterable[tuple[str, str, Iterable[Label]]],
        *,
        t_collar: float = T_COLLAR_S,
        percentage_of_length: float = PERCENTAGE_OF_LENGTH,
        iou_threshold: float = 0.0,
    ) -> SegmentAgreementState:
        """The state in one pass over ``(item, expert, labels)`` (a later entry of the same
        expert on the same item replaces the earlier)."""
        state = cls(
            t_collar=t_collar,
            percentage_of_length=percentage_of_length,
            iou_threshold=iou_threshold,
        )
        state._fill(_labels_table(judgments, is_segment))
        return state

    def mean_iou(self) -> Estimate:
        return mean_over_items(
            self._in_item_order(lambda c: c.mean_iou.value),
            what="no item has two experts of whom one gave a segment",
        )

    def event_f1(self) -> Estimate:
        return mean_over_items(
            self._in_item_order(lambda c: c.event_f1.value),
            what="no item has two experts of whom one gave an event",
        )

    def figures(self) -> dict[str, Any]:
        return {
            "items": len(self.items),
            "mean_iou": self.mean_iou().to_dict(),
            "event_f1": self.event_f1().to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "kind": "segments",
            "t_collar": self.t_collar,
            "percentage_of_length": self.percentage_of_length,
            "iou_threshold": self.iou_threshold,
            "items": [
                {
                    "item": item,
                    "labels": [[e, _dump_labels(v)] for e, v in sorted(values.items())],
                    "mean_iou": self.contributions[item].mean_iou.to_dict(),
                    "event_f1": self.contributions[item].event_f1.to_dict(),
                }
                for item, values in sorted(self.items.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SegmentAgreementState:
        _check_version(data, "segments")
        state = cls(
            t_collar=float(data["t_collar"]),
            percentage_of_length=float(data["percentage_of_length"]),
            iou_threshold=float(data["iou_threshold"]),
        )
        for d in data["items"]:
            state.items[d["item"]] = {e: _load_labels(v) for e, v in d["labels"]}
            state.contributions[d["item"]] = SegmentItem(
                ItemFigure.from_dict(d["mean_iou"]), ItemFigure.from_dict(d["event_f1"])
            )
        return state


def _offset(value: float) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{value!r} is not a finite number of milliseconds")
    return v


class SyncOffsetState(_ItemState[float, SyncSpread]):
    """The A/V sync offsets of a project: per item, each expert's offset (milliseconds) and
    the item's spread."""

    def record(self, item: str, expert: str, offset_ms: float) -> bool:
        """Take an expert's offset on an item (replacing the earlier one); returns whether
        the state changed."""
        return self._store(item, expert, _offset(offset_ms))

    def _contribution(self, values: Mapping[str, float]) -> SyncSpread:
        return sync_spread([values[e] for e in sorted(values)])

    @classmethod
    def from_offsets(cls, judgments: Iterable[tuple[str, str, float]]) -> SyncOffsetState:
        """The state in one pass over ``(item, expert, offset)`` (a later entry of the same
        expert on the same item replaces the earlier)."""
        table: dict[str, dict[str, float]] = {}
        for item, expert, offset in judgments:
            table.setdefault(item, {})[expert] = _offset(offset)
        state = cls()
        state._fill(table)
        return state

    def spreads(self) -> dict[str, SyncSpread]:
        """Each item's spread, by item id."""
        return dict(sorted(self.contributions.items()))

    def pooled_sd(self) -> tuple[Estimate, int]:
        return pooled_sd(list(self.spreads().values()))

    def median_abs_difference(self) -> Estimate:
        return median_abs_difference(list(self.spreads().values()))

    def figures(self) -> dict[str, Any]:
        sd, df = self.pooled_sd()
        return {
            "items": len(self.items),
            "pooled_sd": {**sd.to_dict(), "df": df},
            "median_abs_difference": self.median_abs_difference().to_dict(),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "kind": "sync_offsets",
            "items": [
                {
                    "item": item,
                    "offsets": [[e, v] for e, v in sorted(values.items())],
                    "spread": self.contributions[item].to_dict(),
                }
                for item, values in sorted(self.items.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncOffsetState:
        _check_version(data, "sync_offsets")
        state = cls()
        for d in data["items"]:
            state.items[d["item"]] = {e: _offset(v) for e, v in d["offsets"]}
            state.contributions[d["item"]] = SyncSpread.from_dict(d["spread"])
        return state
