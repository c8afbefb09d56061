"""Systematic errors of a model's pre-labels and its calibration, free of I/O.

**Confusion** (:class:`PrelabelConfusion`, one per model name and version): a count per
(pre-label class, resolved class), kept incrementally, with up to ``max_examples`` (5) item
ids per error cell, the most recent first.

**Systematic errors** (:func:`systematic_errors`). The error rate of a class is, by default
(``axis="prelabel"``), the share of the items the model pre-labelled with it whose resolved
label differs (its false discoveries); with ``axis="resolved"``, the share of the items
resolved to it that the model pre-labelled otherwise (its misses). For every class with at
least ``min_count`` items (30), a **one-sided exact binomial test**
(``scipy.stats.binomtest(errors, n, p0, alternative="greater")``) of the class's errors
against ``p0``, the error rate of the **other** classes pooled (not the overall rate, which
contains the class itself and would dilute a large class's excess). The p-values of the tested
classes are adjusted with Benjamini-Hochberg (:func:`benjamini_hochberg`, step-up, equal to
``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")``); a class is an **alert**
when its q-value is below ``alpha`` (0.05), which controls the false discovery rate among the
alerts at ``alpha``. When the other classes made no error, ``p0`` is 0 and a class with any
error has p = 0: with ``min_count`` items that is an alert.

*Measured:* the binomial test treats the other classes' rate as known, which it is not, so it
is somewhat liberal: on unbiased data (6 classes, 3,000 items, every class wrong 10 % of the
time) 25 of 300 runs (8.3 %) raised at least one alert where BH promises at most 5 %.
``test="fisher"`` (one-sided Fisher exact test on the 2 x 2 table class / other classes x
wrong / right, which conditions on both rates) raised one in 3.3 % of the same runs, and found
a class wrong 15 % of the time instead of 10 % in 71 % of runs against the binomial's 81 %.
Fisher is the default: it keeps the promised false discovery rate; ``test="binomial"`` trades
that for power.

**Calibration** (:class:`CalibrationState`, :func:`reliability`): 10 equal-width confidence
buckets (``[i/10, (i+1)/10)``, a confidence of 1.0 in the top bucket); per bucket the count,
the mean confidence and the accuracy (a pre-label is correct when it equals the resolved
label) with its Wilson interval; the expected calibration error
``ECE = sum_b n_b / n * |accuracy_b - confidence_b|`` (Naeini et al. 2015; Guo et al. 2017)
and the maximum calibration error over non-empty buckets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scipy import stats

from services.metrics.figures import Proportion, equal_width_bucket, proportion

#: Item ids kept per error cell.
MAX_EXAMPLES = 5
#: Items a class needs before it is tested.
MIN_COUNT = 30
#: The false discovery rate the alerts are controlled at.
ALPHA = 0.05
#: Confidence buckets of the reliability curve.
CALIBRATION_BUCKETS = 10

Axis = Literal["prelabel", "resolved"]


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the order given: for the ``i``-th
    smallest of ``m`` p-values, ``min over j >= i of m p_(j) / j``, capped at 1."""
    m = len(p_values)
    if any(not (0 <= p <= 1) for p in p_values):
        raise ValueError("p-values are from 0 to 1")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, m * p_values[i] / rank)
        adjusted[i] = running
    return adjusted


# --- confusion -----------------------------------------------------------------------------


@dataclass
class PrelabelConfusion:
    """Pre-label class against resolved class for one model version."""

    model: str
    version: str
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    examples: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    max_examples: int = MAX_EXAMPLES

    def add(self, prelabel: str, resolved: str, item_id: str | None = None) -> None:
        """Count one resolved item the model had pre-labelled."""
        row = self.counts.setdefault(prelabel, {})
        row[resolved] = row.get(resolved, 0) + 1
        if prelabel != resolved and item_id is not None and self.max_examples > 0:
            kept = self.examples.setdefault((prelabel, resolved), [])
            if item_id in kept:
                kept.remove(item_id)
            kept.insert(0, item_id)
            del kept[self.max_examples :]

    def withdraw(self, prelabel: str, resolved: str, item_id: str | None = None) -> None:
        """Undo an :meth:`add` (an outcome was revised)."""
        row = self.counts.get(prelabel, {})
        if row.get(resolved, 0) < 1:
            raise ValueError(f"nothing counted for {prelabel!r} resolved as {resolved!r}")
        row[resolved] -= 1
        kept = self.examples.get((prelabel, resolved), [])
        if item_id in kept:
            kept.remove(item_id)

    @property
    def n(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    def labels(self) -> list[str]:
        seen = set(self.counts)
        for row in self.counts.values():
            seen.update(r for r, n in row.items() if n)
        return sorted(seen)

    def matrix(self) -> tuple[list[str], list[list[int]]]:
        """The labels and the square matrix: rows pre-label, columns resolved label."""
        labels = self.labels()
        return labels, [[self.counts.get(p, {}).get(r, 0) for r in labels] for p in labels]

    def to_document(self) -> dict[str, Any]:
        cells = [
            {
                "prelabel": p,
                "resolved": r,
                "n": n,
                "examples": list(self.examples.get((p, r), [])),
            }
            for p, row in sorted(self.counts.items())
            for r, n in sorted(row.items())
        ]
        return {
            "model": self.model,
            "version": self.version,
            "max_examples": self.max_examples,
            "cells": cells,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> PrelabelConfusion:
        confusion = cls(
            str(document["model"]),
            str(document["version"]),
            max_examples=int(document["max_examples"]),
        )
        for cell in document["cells"]:
            p, r = str(cell["prelabel"]), str(cell["resolved"])
            confusion.counts.setdefault(p, {})[r] = int(cell["n"])
            if cell["examples"]:
                confusion.examples[(p, r)] = [str(i) for i in cell["examples"]]
        return confusion


@dataclass(frozen=True)
class ClassErrors:
    """One class's errors against the other classes': its rate with a Wilson interval, the
    pooled rate of the other classes, the one-sided binomial p-value and the BH q-value
    (``None`` with a ``reason`` when the class was not tested), and example item ids."""

    label: str
    n: int
    errors: int
    rate: Proportion
    others_rate: Proportion
    p_value: float | None
    q_value: float | None
    alert: bool
    examples: tuple[str, ...] = ()
    reason: str | None = None


@dataclass(frozen=True)
class SystematicErrors:
    """The model version's overall error rate and every class's test; ``alerts`` are the
    classes whose q-value is below ``alpha``."""

    model: str
    version: str
    axis: Axis
    test: Literal["binomial", "fisher"]
    n: int
    overall: Proportion
    classes: tuple[ClassErrors, ...]
    alpha: float
    min_count: int
    tested: int
    reason: str | None = None

    @property
    def alerts(self) -> tuple[ClassErrors, ...]:
        return tuple(c for c in self.classes if c.alert)


def systematic_errors(
    confusion: PrelabelConfusion,
    *,
    axis: Axis = "prelabel",
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    max_examples: int = MAX_EXAMPLES,
    test: Literal["binomial", "fisher"] = "fisher",
) -> SystematicErrors:
    """The classes whose error rate is significantly above the other classes' (see the
    module's docstring for the test and the false discovery rate control)."""
    if not 0 < alpha < 1 or min_count < 1:
        raise ValueError("alpha is strictly between 0 and 1 and min_count 1 or more")
    labels, rows = confusion.matrix()
    k = len(labels)
    totals, errors = [], []
    for i in range(k):
        line = rows[i] if axis == "prelabel" else [rows[j][i] for j in range(k)]
        totals.append(sum(line))
        errors.append(sum(line) - line[i])
    n, wrong = sum(totals), sum(errors)
    overall = proportion(wrong, n)
    tested = [i for i in range(k) if totals[i] >= min_count and n - totals[i] > 0]
    p_values = {}
    for i in tested:
        other_errors, others = wrong - errors[i], n - totals[i]
        if test == "binomial":
            result = stats.binomtest(
                errors[i], totals[i], other_errors / others, alternative="greater"
            )
            p_values[i] = float(result.pvalue)
        else:
            table = [[errors[i], totals[i] - errors[i]], [other_errors, others - other_errors]]
            p_values[i] = float(stats.fisher_exact(table, alternative="greater")[1])
    q_values = dict(zip(tested, benjamini_hochberg([p_values[i] for i in tested]), strict=True))
    classes = []
    for i, label in enumerate(labels):
        if totals[i] == 0:
            continue
        reason = None
        if n - totals[i] == 0:
            reason = "no other class to compare with"
        elif totals[i] < min_count:
            reason = f"fewer than {min_count} items"
        q = q_values.get(i)
        cells = [(label, r) for r in labels] if axis == "prelabel" else [(p, label) for p in labels]
        cells.sort(key=lambda cell: -confusion.counts.get(cell[0], {}).get(cell[1], 0))
        examples = [e for cell in cells for e in confusion.examples.get(cell, [])][:max_examples]
        classes.append(
            ClassErrors(
                label,
                totals[i],
                errors[i],
                proportion(errors[i], totals[i]),
                proportion(wrong - errors[i], n - totals[i]),
                p_values.get(i),
                q,
                q is not None and q < alpha,
                tuple(examples),
                reason,
            )
        )
    return SystematicErrors(
        confusion.model,
        confusion.version,
        axis,
        test,
        n,
        overall,
        tuple(classes),
        alpha,
        min_count,
        len(tested),
        None if n else "no resolved pre-labelled items",
    )


# --- calibration ---------------------------------------------------------------------------


@dataclass
class CalibrationState:
    """Per confidence bucket: the items, the correct ones and the sum of confidences."""

    n: list[int] = field(default_factory=lambda: [0] * CALIBRATION_BUCKETS)
    correct: list[int] = field(default_factory=lambda: [0] * CALIBRATION_BUCKETS)
    confidence_sum: list[float] = field(default_factory=lambda: [0.0] * CALIBRATION_BUCKETS)

    def __post_init__(self) -> None:
        if not len(self.n) == len(self.correct) == len(self.confidence_sum) >= 1:
            raise ValueError("one bucket or more, the same in every list")

    @property
    def buckets(self) -> int:
        return len(self.n)

    def add(self, confidence: float, correct: bool) -> None:
        """Count one pre-label of ``confidence`` that was ``correct`` (equal to the outcome)."""
        b = equal_width_bucket(confidence, self.buckets)
        self.n[b] += 1
        self.correct[b] += bool(correct)
        self.confidence_sum[b] += float(confidence)

    def to_document(self) -> dict[str, Any]:
        return {"n": self.n, "correct": self.correct, "confidence_sum": self.confidence_sum}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> CalibrationState:
        return cls(
            [int(v) for v in document["n"]],
            [int(v) for v in document["correct"]],
            [float(v) for v in document["confidence_sum"]],
        )


@dataclass(frozen=True)
class ReliabilityBucket:
    low: float
    high: float
    n: int
    mean_confidence: float | None
    accuracy: Proportion


@dataclass(frozen=True)
class Reliability:
    """The reliability curve (every bucket, empty ones with ``None``), ECE and MCE (``None``
    with a ``reason`` without items)."""

    n: int
    buckets: tuple[ReliabilityBucket, ...]
    ece: float | None
    mce: float | None
    reason: str | None = None


def reliability(state: CalibrationState) -> Reliability:
    """The model's calibration from its per-bucket counts."""
    total = sum(state.n)
    buckets = []
    ece_terms = []
    gaps = []
    for b in range(state.buckets):
        n = state.n[b]
        accuracy = proportion(state.correct[b], n)
        mean = state.confidence_sum[b] / n if n else None
        buckets.append(
            ReliabilityBucket(b / state.buckets, (b + 1) / state.buckets, n, mean, accuracy)
        )
        if n and mean is not None and accuracy.value is not None:
            gap = abs(accuracy.value - mean)
            gaps.append(gap)
            ece_terms.append(n / total * gap)
    if not total:
        return Reliability(0, tuple(buckets), None, None, "no pre-labelled items resolved")
    return Reliability(total, tuple(buckets), math.fsum(ece_terms), max(gaps))


# --- comparison of an item's pre-labels with its outcome ------------------------------------

#: The resolved class of a pre-label whose item's outcome has no class left to match it.
NO_CLASS = "none"


@dataclass(frozen=True)
class Comparison:
    """One pre-labelled class of an item against the resolved class it is matched with, and
    the model's confidence in it (``None`` when the pre-label carried none)."""

    prelabel: str
    resolved: str
    confidence: float | None

    @property
    def correct(self) -> bool:
        return self.prelabel == self.resolved


def compare(
    prelabels: Sequence[tuple[str, float | None]], resolved: Sequence[str]
) -> list[Comparison]:
    """An item's pre-labels against its resolved classes, at the level of classes (where a
    label is, its geometry or segment, is not compared):

    * each distinct pre-labelled class counts once, with the highest confidence the model gave
      it (``None`` when it gave none);
    * a pre-labelled class that is among the resolved classes is matched with itself
      (correct);
    * the others, by decreasing confidence (then class id), are matched one to one with the
      resolved classes no pre-label named, in class-id order; one left without a resolved
      class is matched with :data:`NO_CLASS` (the experts removed it).

    For a single-class item this is the pre-label class against the resolved class (or
    ``none``). Resolved classes no pre-label is matched with (the model's misses) are not
    counted."""
    confidence: dict[str, float | None] = {}
    for class_id, value in prelabels:
        held = confidence.get(class_id)
        confidence[class_id] = value if held is None else max(held, value or 0.0)
    wanted = set(resolved)
    spare = sorted(wanted - set(confidence))
    out = [Comparison(c, c, v) for c, v in sorted(confidence.items()) if c in wanted]
    wrong = sorted(
        (c for c in confidence if c not in wanted),
        key=lambda c: (-(confidence[c] or 0.0), c),
    )
    for i, c in enumerate(wrong):
        out.append(Comparison(c, spare[i] if i < len(spare) else NO_CLASS, confidence[c]))
    return out
