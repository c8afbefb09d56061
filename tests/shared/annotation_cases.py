"""Plain definitions and strategies of the tests of shared/annotation (and of the services
whose rules use it): COCO's compressed string, masks as pixel arrays, boxes, polygons, masks
and time segments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st

from shared.annotation import geometry
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, TimeSegment

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
    return geometry.iou(a.geometry, b.geometry)


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

segments = st.tuples(st.integers(0, 20), st.integers(0, 10)).map(
    lambda t: TimeSegment(start_s=t[0] / 2, end_s=(t[0] + t[1]) / 2)
)
