"""COCO RLE masks (shared/annotation/rle.py): the compressed string decoded as COCO's decoder
does, the bounds a mask answer is held to, and a mask's COCO bbox and area, each against its
plain definition or a value worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.annotation import geometry, rle
from shared.contracts.vocabulary import Label, RleMask
from tests.shared.annotation_cases import SQUARE, coco_compress, runs_of


def test_a_hand_encoded_compressed_mask_decodes_to_its_runs() -> None:
    # [3, 4, 2, 1, 54] on 8 x 8: 3 -> "3", 4 -> "4", 2 -> "2"; the 4th run is the difference
    # 1 - 4 = -3 -> 29 (0b11101, sign bit 0x10 set, no more groups) -> chr(77) "M"; the 5th
    # is 54 - 2 = 52 -> groups 20 | 0x20 -> chr(100) "d", then 1 -> "1"
    compressed = RleMask(size=(8, 8), counts="342Md1")
    uncompressed = RleMask(size=(8, 8), counts=[3, 4, 2, 1, 54])
    assert rle.rle_counts(compressed) == [3, 4, 2, 1, 54]
    assert geometry.iou(compressed, uncompressed) == 1.0


@given(st.lists(st.integers(0, 5_000), min_size=1, max_size=30))
def test_compressed_counts_decode_to_the_counts_encoded(counts: list[int]) -> None:
    mask = RleMask(size=(1, max(1, sum(counts))), counts=coco_compress(counts))
    assert rle.rle_counts(mask) == counts


def test_a_malformed_compressed_string_is_refused_when_decoded() -> None:
    with pytest.raises(ValueError, match="inside a number"):
        rle.rle_counts(RleMask(size=(2, 2), counts="P"))


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
            rle.rle_counts(mask)
    else:
        assert rle.rle_counts(mask) == expected


def test_every_mask_an_answer_cannot_hold_is_named_and_so_are_its_bounds() -> None:
    def mask(counts: list[int] | str, size: tuple[int, int] = (2, 2)) -> Label:
        return Label(class_id="car", geometry=RleMask(size=size, counts=counts))

    labels = [
        mask([0, 4]),
        Label(class_id="car", geometry=SQUARE),
        mask([1, 2]),
        mask("P"),
        mask([1] * (rle.MAX_MASK_RUNS + 1), (1, rle.MAX_MASK_RUNS + 1)),
    ]
    errors = rle.mask_errors(labels, at="body.labels")
    assert [e.field for e in errors] == [
        "body.labels.2.geometry.counts",
        "body.labels.3.geometry.counts",
        "body.labels.4.geometry.counts",
    ]
    assert "cover 3 pixels, not 2 x 2" in errors[0].message
    assert "inside a number" in errors[1].message
    assert f"over {rle.MAX_MASK_RUNS:,}" in errors[2].message
    many = [mask([0, 4])] * (rle.MAX_ANSWER_MASKS + 1)
    assert [(e.field, e.message) for e in rle.mask_errors(many, at="body.labels")] == [
        ("body.labels", f"at most {rle.MAX_ANSWER_MASKS} masks")
    ]
    each = rle.MAX_MASK_RUNS
    heavy = [mask([1] * each, (1, each))] * (rle.MAX_ANSWER_MASK_RUNS // each + 1)
    [total] = rle.mask_errors(heavy, at="body.labels")
    assert total.field == "body.labels" and "mask runs in all" in total.message
    assert rle.mask_errors([*many[:-1], Label(class_id="car")], at="body.labels") == []


# --- a mask's COCO bbox and area ----------------------------------------------------------


def box_and_area(size: tuple[int, int], counts: list[int] | str) -> tuple[list[float], int]:
    return rle.box_and_area(RleMask(size=size, counts=counts))


@pytest.mark.parametrize(
    "counts", [[12], [], [5, 0, 7], [0]], ids=["all-zeros", "no-runs", "empty-run", "zero"]
)
def test_an_empty_mask_has_a_zero_box_and_no_area(counts: list[int]) -> None:
    assert box_and_area((3, 4), counts) == ([0.0, 0.0, 0.0, 0.0], 0)
    assert box_and_area((3, 4), coco_compress(counts)) == ([0.0, 0.0, 0.0, 0.0], 0)


@pytest.mark.parametrize(
    ("size", "counts", "box", "area"),
    [
        ((5, 2), [6, 3, 1], [1, 1, 1, 3], 3),
        ((3, 4), [0, 3, 9], [0, 0, 1, 3], 3),
        ((4, 4), [2, 4, 10], [0, 0, 2, 4], 4),
        ((3, 4), [2, 0, 3, 2, 5], [1, 0, 2, 3], 2),
        ((4, 3), [1, 1, 5, 1, 2, 1, 1], [0, 1, 3, 3], 3),
        ((2, 5), [1, 1, 7, 1], [0, 1, 5, 1], 2),
        ((3, 3), [1, 7, 1], [0, 0, 3, 3], 7),
        ((8, 8), [3, 4, 2, 1, 54], [0, 1, 2, 6], 5),
    ],
    ids=[
        "within-a-column",
        "ones-first",
        "wraps-a-column",
        "empty-run-between",
        "three-runs",
        "wide-not-tall",
        "wraps-two-columns",
        "two-columns",
    ],
)
def test_the_box_of_a_mask_is_the_extent_of_its_runs_of_ones_compressed_or_not(
    size: tuple[int, int], counts: list[int], box: list[float], area: int
) -> None:
    assert box_and_area(size, counts) == (box, area)
    assert box_and_area(size, coco_compress(counts)) == (box, area)


def test_the_box_of_a_malformed_compressed_string_is_refused() -> None:
    with pytest.raises(ValueError, match="inside a number"):
        box_and_area((2, 2), "P")


@st.composite
def rectangles(draw: st.DrawFn) -> tuple[int, int, int, int, int, int]:
    height, width = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    x, y = draw(st.integers(0, width - 1)), draw(st.integers(0, height - 1))
    w, h = draw(st.integers(1, width - x)), draw(st.integers(1, height - y))
    return height, width, x, y, w, h


@given(rectangles(), st.booleans())
def test_the_box_of_a_mask_drawn_from_a_rectangle_is_that_rectangle(
    rectangle: tuple[int, int, int, int, int, int], compressed: bool
) -> None:
    height, width, x, y, w, h = rectangle
    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[y : y + h, x : x + w] = 1
    counts = runs_of(pixels)
    given_counts = coco_compress(counts) if compressed else counts
    assert box_and_area((height, width), given_counts) == ([x, y, w, h], w * h)


pixel_arrays = st.tuples(st.integers(1, 8), st.integers(1, 8)).flatmap(
    lambda size: st.lists(
        st.booleans(), min_size=size[0] * size[1], max_size=size[0] * size[1]
    ).map(lambda bits: np.array(bits, dtype=np.uint8).reshape(size))
)


@given(pixel_arrays, st.booleans())
def test_the_box_of_any_mask_is_the_extent_of_its_pixels_and_its_area_their_count(
    pixels: np.ndarray, compressed: bool
) -> None:
    counts = runs_of(pixels)
    given_counts = coco_compress(counts) if compressed else counts
    rows, columns = np.nonzero(pixels)
    if not rows.size:
        expected: list[float] = [0.0, 0.0, 0.0, 0.0]
    else:
        x, y = int(columns.min()), int(rows.min())
        expected = [x, y, int(columns.max()) - x + 1, int(rows.max()) - y + 1]
    assert box_and_area(pixels.shape, given_counts) == (expected, int(pixels.sum()))
