"""IoU of boxes, polygons and COCO RLE masks (shared/annotation/geometry.py), each against its
plain definition or a value worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from shared.annotation import geometry, rle
from shared.contracts.vocabulary import Box, Polygon, RleMask
from tests.shared.annotation_cases import (
    SQUARE,
    SQUARE_POLYGON,
    bit_arrays,
    coco_compress,
    dense_iou,
    geometries,
    runs_of,
)


@given(geometries, geometries)
def test_iou_is_symmetric_and_between_0_and_1(
    a: Box | Polygon | RleMask, b: Box | Polygon | RleMask
) -> None:
    forward, backward = geometry.iou(a, b), geometry.iou(b, a)
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
    assert geometry.iou(shape, shape) == 1.0


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
    assert geometry.iou(a, b) == 0.0


def test_a_box_against_the_same_box_as_a_polygon_is_1() -> None:
    assert geometry.iou(SQUARE, SQUARE_POLYGON) == 1.0
    assert geometry.iou(SQUARE_POLYGON, SQUARE) == 1.0


def test_half_overlapping_squares_are_one_third() -> None:
    # intersection 5 x 10 = 50, union 100 + 100 - 50 = 150
    assert geometry.iou(SQUARE, Box(x=5, y=0, width=10, height=10)) == pytest.approx(1 / 3)


def test_a_triangle_inside_the_square_covering_half_is_one_half() -> None:
    triangle = Polygon(points=[(0, 0), (10, 0), (0, 10)])
    assert geometry.iou(triangle, SQUARE) == pytest.approx(0.5)


def test_a_self_intersecting_polygon_counts_by_the_area_of_its_valid_form() -> None:
    bow_tie = Polygon(points=[(0, 0), (10, 10), (10, 0), (0, 10)])  # two triangles of 25
    assert geometry.iou(bow_tie, SQUARE) == pytest.approx(0.5)


def test_a_polygon_without_area_overlaps_nothing() -> None:
    line = Polygon(points=[(0, 0), (5, 5), (10, 10)])
    assert geometry.iou(line, line) == 0.0


@given(bit_arrays, bit_arrays)
def test_mask_iou_equals_the_pixelwise_iou(a: np.ndarray, b: np.ndarray) -> None:
    mask_a = RleMask(size=(a.shape[0], a.shape[1]), counts=runs_of(a))
    mask_b = RleMask(size=(b.shape[0], b.shape[1]), counts=coco_compress(runs_of(b)))
    expected = dense_iou(a, b) if a.shape == b.shape else 0.0
    assert geometry.iou(mask_a, mask_b) == pytest.approx(expected)


def test_masks_of_different_sizes_do_not_match() -> None:
    assert (
        geometry.iou(RleMask(size=(2, 2), counts=[0, 4]), RleMask(size=(1, 4), counts=[0, 4]))
        == 0.0
    )


def test_a_mask_against_a_box_is_0_without_rasterising() -> None:
    full = RleMask(size=(10, 10), counts=[0, 100])
    assert geometry.iou(full, SQUARE) == 0.0
    assert geometry.iou(SQUARE_POLYGON, full) == 0.0


@pytest.mark.parametrize(
    "counts",
    [[1, 2], [5, 5], "0~", "P", "\x7f0"],
    ids=["runs-short-of-size", "runs-over-size", "bad-character", "ends-inside-a-number", "del"],
)
def test_a_malformed_mask_overlaps_nothing(counts: list[int] | str) -> None:
    bad = RleMask(size=(2, 2), counts=counts)
    assert geometry.iou(bad, bad) == 0.0


def _long_mask(runs: int) -> RleMask:
    """A 1-pixel-high mask of ``runs`` runs of one pixel each."""
    return RleMask(size=(1, runs), counts=[1] * runs)


def test_a_mask_over_the_run_limit_matches_nothing_not_even_itself() -> None:
    at_limit, over = _long_mask(rle.MAX_MASK_RUNS), _long_mask(rle.MAX_MASK_RUNS + 1)
    assert geometry.iou(at_limit, at_limit) == 1.0
    assert geometry.iou(over, over) == 0.0
