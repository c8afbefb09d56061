"""Optimal one-to-one matching, free of I/O: of any two sequences by a similarity
(:func:`match`), and of two judgments' labels by kind, class, IoU and time segments
(:func:`match_labels`), with the Hungarian algorithm (scipy's ``linear_sum_assignment``).
Similarities are compared with thresholds to :data:`shared.annotation.EPSILON`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from shared.annotation import EPSILON
from shared.annotation.geometry import iou_matrix, region
from shared.annotation.temporal import segments_match_matrix, temporal_iou_matrix
from shared.contracts.vocabulary import Label, TimeSegment

T = TypeVar("T")
U = TypeVar("U")
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
LabelKind = Literal["classes", "regions", "segments"]
#: What two labels must share to match: kind, class, part and text
Identity = tuple[LabelKind, str, str | None, str | None]


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
    similarity among pairs at or above ``threshold`` (to :data:`~shared.annotation.EPSILON`),
    as ``(left index, right index, similarity)`` in left order. Similarities are at least 0;
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


def identity(label: Label) -> Identity:
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
            temporal_iou_matrix(segments_left, segments_right),
            segments_match_matrix(segments_left, segments_right, onset, offset),
        )
    values = iou_matrix(
        [region(label.geometry) for label in left if label.geometry is not None],
        [region(label.geometry) for label in right if label.geometry is not None],
    )
    keep = values >= iou_threshold - EPSILON
    # a geometry label with a time segment (video) also needs the segments to match
    timed_left = np.array([label.segment is not None for label in left])
    timed_right = np.array([label.segment is not None for label in right])
    if timed_left.any() or timed_right.any():
        zero = TimeSegment(start_s=0, end_s=0)
        timed = segments_match_matrix(
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
    one and the segments match. Segment labels match when
    :func:`~shared.annotation.temporal.segments_match` within the tolerances (similarity:
    the temporal IoU).
    """
    groups: dict[Identity, tuple[list[int], list[int]]] = {}
    for i, label in enumerate(left):
        groups.setdefault(identity(label), ([], []))[0].append(i)
    for j, label in enumerate(right):
        groups.setdefault(identity(label), ([], []))[1].append(j)
    pairs: list[tuple[int, int, float]] = []
    for (kind, *_), (left_index, right_index) in groups.items():
        if not left_index or not right_index:
            continue
        values, keep = _similarities(
            kind,
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
