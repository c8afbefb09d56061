"""Intersection over union of boxes, polygons and COCO RLE masks, free of I/O.

Boxes and polygons compare as shapely areas; masks compare pixel by pixel through their runs
(:mod:`shared.annotation.rle`), never rasterised. Measured values are compared with
thresholds to :data:`shared.annotation.EPSILON`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from shared.annotation import EPSILON
from shared.annotation.rle import MAX_ANSWER_MASK_RUNS, MAX_ANSWER_MASKS, MaskRuns, mask_runs
from shared.contracts.vocabulary import Box, Polygon, RleMask

Floats = npt.NDArray[np.float64]

#: The work one matching spends on mask pairs (the smaller mask's runs, summed over the
#: pairs compared): what two answers within the limits of :func:`rle.mask_errors
#: <shared.annotation.rle.mask_errors>` may need. Past it (pre-labels from a client are not
#: held to those limits), the pairs left match only when identical.
MAX_MASK_WORK = MAX_ANSWER_MASKS * MAX_ANSWER_MASK_RUNS


@dataclass(frozen=True)
class Area:
    """A box or polygon as a valid shapely geometry (polygonal, possibly empty)."""

    shape: Any
    area: float


#: A geometry ready to compare: an area, a mask's runs, or None for a malformed mask (which
#: matches nothing)
Region = Area | MaskRuns | None


def _polygons(geometry: Any) -> list[Any]:
    if isinstance(geometry, shapely.Polygon):
        return [geometry]
    return [p for part in getattr(geometry, "geoms", ()) for p in _polygons(part)]


def region(geometry: Box | Polygon | RleMask) -> Region:
    """A geometry as it is compared: a box or polygon as its valid shape and area, a mask as
    its runs (None when malformed or over :data:`~shared.annotation.rle.MAX_MASK_RUNS`)."""
    if isinstance(geometry, RleMask):
        try:
            return mask_runs(geometry)
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
    return Area(shape, float(shape.area))


def _ratio(intersection: float, union: float) -> float:
    if not (union > 0 and math.isfinite(union) and math.isfinite(intersection)):
        return 0.0
    value = intersection / union
    return 1.0 if value > 1.0 - EPSILON else max(0.0, value)


def _runs_intersection(a: MaskRuns, b: MaskRuns) -> int:
    """The 1 pixels two masks share: for each interval of the one with fewer, the other's 1s
    within it (a cost of the smaller mask's runs, times a binary search in the larger)."""
    small, large = (a, b) if a.starts.size <= b.starts.size else (b, a)
    if not small.starts.size or not large.starts.size:
        return 0
    return int(np.sum(large.ones_before(small.ends) - large.ones_before(small.starts)))


def region_iou(a: Region, b: Region) -> float:
    """:func:`iou` of two geometries as :func:`region` gives them."""
    if isinstance(a, Area) and isinstance(b, Area):
        intersection = float(shapely.intersection(a.shape, b.shape).area)
        return _ratio(intersection, a.area + b.area - intersection)
    if isinstance(a, MaskRuns) and isinstance(b, MaskRuns) and a.size == b.size:
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
    return region_iou(region(a), region(b))


def _shape(value: Region) -> Any:
    assert isinstance(value, Area)
    return value.shape


def _area(value: Region) -> float:
    assert isinstance(value, Area)
    return value.area


def iou_matrix(left: Sequence[Region], right: Sequence[Region]) -> Floats:
    """IoU of every pair; only polygonal pairs whose shapes intersect are computed, and mask
    pairs within :data:`MAX_MASK_WORK` (past it, a pair is 1 when identical, else 0)."""
    matrix = np.zeros((len(left), len(right)))
    left_areas = [i for i, r in enumerate(left) if isinstance(r, Area)]
    right_areas = [j for j, r in enumerate(right) if isinstance(r, Area)]
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
        if not isinstance(a, MaskRuns):
            continue
        first, last = a.extent
        for j, b in enumerate(right):
            if not isinstance(b, MaskRuns) or a.size != b.size:
                continue
            start, end = b.extent
            if end <= first or last <= start:
                continue  # no pixel in common
            work += min(a.starts.size, b.starts.size)
            if work > MAX_MASK_WORK:  # past the budget, the pairs left match when identical
                matrix[i, j] = 1.0 if a.same(b) else 0.0
            else:
                matrix[i, j] = region_iou(a, b)
    return matrix
