"""Time segments, free of I/O: temporal IoU and matching onsets and offsets within
tolerances (to :data:`shared.annotation.EPSILON`), pair by pair or as matrices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from shared.annotation import EPSILON
from shared.contracts.vocabulary import TimeSegment

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


def _segment_arrays(segments: Sequence[TimeSegment]) -> tuple[Floats, Floats]:
    starts = np.array([s.start_s for s in segments], dtype=np.float64)
    ends = np.array([s.end_s for s in segments], dtype=np.float64)
    return starts, ends


def temporal_iou_matrix(left: Sequence[TimeSegment], right: Sequence[TimeSegment]) -> Floats:
    """:func:`temporal_iou` of every pair."""
    (ls, le), (rs, re) = _segment_arrays(left), _segment_arrays(right)
    ls, le = ls[:, None], le[:, None]
    common = np.clip(np.minimum(le, re) - np.maximum(ls, rs), 0.0, None)
    union = (le - ls) + (re - rs) - common
    same_point = (ls == rs) & (le == re)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(union > 0, common / np.where(union > 0, union, 1.0), same_point * 1.0)
    result: Floats = np.where(ratio > 1.0 - EPSILON, 1.0, ratio)
    return result


def segments_match_matrix(
    left: Sequence[TimeSegment], right: Sequence[TimeSegment], onset: float, offset: float
) -> Bools:
    """:func:`segments_match` of every pair, with these onset and offset tolerances."""
    (ls, le), (rs, re) = _segment_arrays(left), _segment_arrays(right)
    onsets = np.abs(ls[:, None] - rs) <= onset + EPSILON
    offsets = np.abs(le[:, None] - re) <= offset + EPSILON
    result: Bools = onsets & offsets
    return result


def temporal_iou(a: TimeSegment, b: TimeSegment) -> float:
    """Intersection over union of two time segments, in [0, 1]. Two zero-length segments
    (instants) are 1 when they are the same instant, else 0."""
    return float(temporal_iou_matrix([a], [b])[0, 0])


def segments_match(
    a: TimeSegment, b: TimeSegment, *, onset_tolerance_s: float, offset_tolerance_s: float
) -> bool:
    """Whether the starts differ by at most the onset tolerance and the ends by at most the
    offset tolerance (to :data:`~shared.annotation.EPSILON`)."""
    return bool(segments_match_matrix([a], [b], onset_tolerance_s, offset_tolerance_s)[0, 0])
