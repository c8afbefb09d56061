"""COCO run-length encoded masks, free of I/O: the run lengths of a mask (the compressed
string form decoded as COCO's ``rleFrString`` does), its 1 pixels as intervals, its COCO
``bbox`` and ``area``, and the bounds within which masks are compared.

A mask's runs are of 0s and 1s in turn, starting with 0s, over the pixels in column-major
order (down each column of ``size[0]`` rows, then the next column).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from shared.contracts.vocabulary import Label, RleMask
from shared.errors import FieldError

Ints = npt.NDArray[np.int64]

#: The most 5-bit groups one number of a compressed COCO string may take (65 bits).
MAX_GROUPS = 13
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


@dataclass(frozen=True, eq=False)
class MaskRuns:
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

    def same(self, other: MaskRuns) -> bool:
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


def rle_counts(mask: RleMask) -> list[int]:
    """The run lengths of a COCO RLE mask, decoding the compressed string form: runs of 0s and
    1s in turn, starting with 0s, over the pixels in column-major order.

    Raises ValueError when the string is not in COCO's encoding or a run comes out negative.
    """
    return [int(count) for count in counts(mask)]


def counts(mask: RleMask) -> Ints:
    """:func:`rle_counts` as a numpy array (of Python integers, dtype object, when a run is
    beyond what int64 sums safely)."""
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
    long = np.flatnonzero(lengths > MAX_GROUPS)
    if long.size:
        at = int(first[long[0]]) + MAX_GROUPS
        raise ValueError(f"a number ending at character {at} has over {MAX_GROUPS} groups")
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
    decoded = values.copy()
    decoded[1::2] = np.cumsum(values[1::2])  # from the 4th run on, each adds the one 2 before
    decoded[2::2] = np.cumsum(values[2::2])
    negatives = np.flatnonzero(decoded < 0)
    if negatives.size:
        raise ValueError(f"run {int(negatives[0])} is negative")
    return decoded


def _decode_exactly(text: str) -> list[int]:
    """COCO's compressed string decoded one character at a time, with Python's integers:
    for numbers of over 60 bits (no real mask has runs that long)."""
    at = 0
    decoded: list[int] = []
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
        if len(decoded) > 2:
            value += decoded[-2]
        if value < 0:
            raise ValueError(f"run {len(decoded)} is negative")
        decoded.append(value)
    return decoded


def box_and_area(mask: RleMask) -> tuple[list[float], int]:
    """COCO's ``bbox`` of the mask's 1 pixels, ``[x, y, width, height]`` with columns as x
    and rows as y (as pycocotools' ``toBbox``: a run that wraps into the next column spans
    every row), and their count, COCO's ``area``; ``([0, 0, 0, 0], 0)`` for a mask without
    a 1 pixel. Computed from the runs as given, whether or not they cover ``size``.

    Raises ValueError when the compressed string is not in COCO's encoding.
    """
    height = mask.size[0]
    runs = counts(mask)
    if runs.size and runs.dtype != object and int(runs.max()) * runs.size >= 2**62:
        runs = runs.astype(object)  # sums beyond int64: Python's integers
    ends = np.cumsum(runs)
    ones = runs[1::2]
    keep = (ones > 0).astype(bool)
    if not keep.any():
        return [0.0, 0.0, 0.0, 0.0], 0
    first = (ends[1::2] - ones)[keep]  # the first and last pixel of each run of 1s
    last = ends[1::2][keep] - 1
    first_column, last_column = first // height, last // height
    if bool(np.any(first_column != last_column)):
        top, bottom = 0, height - 1  # a run wraps into the next column: every row
    else:
        top, bottom = int(np.min(first % height)), int(np.max(last % height))
    left, right = int(np.min(first_column)), int(np.max(last_column))
    box = [float(left), float(top), float(right - left + 1), float(bottom - top + 1)]
    return box, int(np.sum(ones))


def mask_runs(mask: RleMask) -> MaskRuns:
    """The mask's 1 intervals; ValueError when malformed (runs not covering ``size``
    exactly, a string not in COCO's encoding) or over :data:`MAX_MASK_RUNS` runs."""
    if isinstance(mask.counts, str) and len(mask.counts) > MAX_MASK_RUNS * MAX_GROUPS:
        raise ValueError(f"over {MAX_MASK_RUNS:,} runs")
    runs = counts(mask)
    if runs.size > MAX_MASK_RUNS:
        raise ValueError(f"{runs.size:,} runs: over {MAX_MASK_RUNS:,}")
    height, width = mask.size
    covered = int(runs.sum())
    if covered != height * width:
        raise ValueError(f"the runs cover {covered} pixels, not {height} x {width}")
    runs = runs.astype(np.int64)
    ends = np.cumsum(runs)
    starts = ends - runs
    ones_starts, ones_ends = starts[1::2], ends[1::2]
    keep = ones_ends > ones_starts  # runs of length 0 hold no pixel
    ones_starts, ones_ends = ones_starts[keep], ones_ends[keep]
    before = np.concatenate([[0], np.cumsum(ones_ends - ones_starts)])
    return MaskRuns(mask.size, ones_starts, ones_ends, before, int(runs.size))


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
            runs = mask_runs(label.geometry)
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
