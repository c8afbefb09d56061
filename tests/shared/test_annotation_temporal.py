"""Time segments (shared/annotation/temporal.py): temporal IoU and onsets and offsets within
tolerances, each against its plain definition or a value worked out by hand."""

from __future__ import annotations

import pytest
from hypothesis import given

from shared.annotation import temporal
from shared.contracts.vocabulary import TimeSegment
from tests.shared.annotation_cases import segments


@given(segments, segments)
def test_temporal_iou_is_symmetric_and_between_0_and_1(a: TimeSegment, b: TimeSegment) -> None:
    forward = temporal.temporal_iou(a, b)
    assert 0.0 <= forward <= 1.0
    assert forward == temporal.temporal_iou(b, a)


def test_temporal_iou_of_overlapping_segments_is_overlap_over_union() -> None:
    # [0, 4] and [2, 6]: overlap 2, union 6
    a, b = TimeSegment(start_s=0, end_s=4), TimeSegment(start_s=2, end_s=6)
    assert temporal.temporal_iou(a, b) == pytest.approx(1 / 3)


def test_zero_length_segments_are_1_at_the_same_instant_else_0() -> None:
    instant = TimeSegment(start_s=3, end_s=3)
    assert temporal.temporal_iou(instant, instant) == 1.0
    assert temporal.temporal_iou(instant, TimeSegment(start_s=3.5, end_s=3.5)) == 0.0
    assert temporal.temporal_iou(instant, TimeSegment(start_s=2, end_s=4)) == 0.0


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
        temporal.segments_match(reference, other, onset_tolerance_s=0.3, offset_tolerance_s=0.3)
        is matches
    )
