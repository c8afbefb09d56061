"""Drift of a project's resolved labels and pre-label confidences against a baseline window,
free of I/O.

**State, kept incrementally.** A window of resolved labels is a count per label
(:class:`LabelCounts`). A window of pre-label confidences (in [0, 1]) is a histogram of
``CONFIDENCE_BINS = 10`` equal-width bins (bin ``i`` is ``[i/10, (i+1)/10)``, 1.0 in the top
bin) for PSI and Jensen-Shannon, plus, for Kolmogorov-Smirnov, the exact values up to
``KS_SAMPLE_CAP = 10,000``; past the cap the values are a uniform reservoir sample of that
size (Vitter's algorithm R), whose random choices are a hash of the value's position, so the
same stream gives the same sample on every replica and after every replay (:class:`ConfidenceWindow`).
Either window adds one observation in O(1). Which period is the baseline and which the current
window is the caller's choice (for example the last 24 h against the 7 days before).

**Figures** (each with the two window sizes):

* PSI (population stability index), ``sum_i (c_i - b_i) ln(c_i / b_i)`` over the labels seen
  in either window (or the 10 bins), ``b`` and ``c`` the baseline and current shares, a
  share of 0 replaced by ``PSI_EPSILON = 1e-4`` (no renormalisation; a label or bin empty in
  both windows adds 0). Beware: on samples of a few hundred, PSI's sampling noise alone is
  about ``(k - 1)(1/n_b + 1/n_c)``; hence the significance gate below.
* Jensen-Shannon divergence in **base 2**, so it is in [0, 1]: ``JS = KL(b || m)/2 +
  KL(c || m)/2``, ``m = (b + c)/2``, no epsilon (``m`` is never 0 where ``b`` or ``c`` is
  not). It equals ``scipy.spatial.distance.jensenshannon(b, c, base=2) ** 2`` (scipy returns
  the distance, the square root, in natural log unless told).
* Labels: Pearson's chi-square test of homogeneity on the 2 x k table (baseline, current)
  x labels, **without** continuity correction, labels that are zero in both windows dropped,
  ``None`` with fewer than 2 labels left (equal to ``scipy.stats.chi2_contingency(table,
  correction=False)``).
* Confidences only: the two-sample Kolmogorov-Smirnov test on the kept values
  (``scipy.stats.ks_2samp``, two-sided, its default method).

**Verdict** (:class:`DriftPolicy`): no verdict (``severity None``) while either window holds
fewer than ``min_count`` (200) observations. Otherwise ``none`` unless the test (chi-square
for labels, KS for confidences) has ``p < alpha`` (0.01); if it has, the severity is the higher
of PSI's (``minor`` from 0.1, ``major`` from 0.25, ``critical`` from 0.5: the industry's usual
0.1 / 0.25 and twice the latter) and JS's (0.02 / 0.05 / 0.1, about PSI's over 5.5, the
ratio of the two for small shifts). Significant but below both minor thresholds is ``none``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from scipy import stats

from services.metrics.figures import equal_width_bucket

#: Equal-width bins of the confidence histogram on [0, 1].
CONFIDENCE_BINS = 10
#: The share an empty label or bin is given in PSI.
PSI_EPSILON = 1e-4
#: Confidences kept exactly per window for KS; past it, a reservoir sample of this size.
KS_SAMPLE_CAP = 10_000

Severity = Literal["none", "minor", "major", "critical"]
_LEVELS: tuple[Severity, ...] = ("none", "minor", "major", "critical")


@dataclass(frozen=True)
class DriftPolicy:
    """When a difference between two windows is drift, and how severe."""

    min_count: int = 200
    alpha: float = 0.01
    psi_thresholds: tuple[float, float, float] = (0.1, 0.25, 0.5)
    js_thresholds: tuple[float, float, float] = (0.02, 0.05, 0.1)

    def __post_init__(self) -> None:
        if self.min_count < 1 or not 0 < self.alpha < 1:
            raise ValueError("min_count is 1 or more and alpha strictly between 0 and 1")
        for thresholds in (self.psi_thresholds, self.js_thresholds):
            if not 0 < thresholds[0] <= thresholds[1] <= thresholds[2]:
                raise ValueError("thresholds are positive and increasing")


# --- state ---------------------------------------------------------------------------------


@dataclass
class LabelCounts:
    """Resolved labels of one window: a count per label."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, label: str, weight: int = 1) -> None:
        """Count ``label`` ``weight`` times (a negative weight withdraws a revised outcome)."""
        count = self.counts.get(label, 0) + weight
        if count < 0:
            raise ValueError(f"{label!r} would count below 0")
        self.counts[label] = count

    @property
    def n(self) -> int:
        return sum(self.counts.values())

    def merged(self, other: LabelCounts) -> LabelCounts:
        """The counts of both windows (for example of several hours)."""
        counts = dict(self.counts)
        for label, count in other.counts.items():
            counts[label] = counts.get(label, 0) + count
        return LabelCounts(counts)

    def to_document(self) -> dict[str, Any]:
        # a list, since labels may hold dots or start with $
        return {"counts": [[label, n] for label, n in sorted(self.counts.items())]}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> LabelCounts:
        return cls({str(label): int(n) for label, n in document["counts"]})


def _reservoir_slot(position: int) -> int:
    """Algorithm R's draw for the ``position``-th value (1-based): uniform in
    ``[0, position)``, from a hash of the position so that it is the same everywhere."""
    digest = hashlib.blake2b(position.to_bytes(8, "big"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % position


@dataclass
class ConfidenceWindow:
    """Pre-label confidences of one window: the 10-bin histogram and the values for KS (exact
    up to ``cap``, then a reservoir sample of ``cap``)."""

    bins: list[int] = field(default_factory=lambda: [0] * CONFIDENCE_BINS)
    sample: list[float] = field(default_factory=list)
    cap: int = KS_SAMPLE_CAP

    def __post_init__(self) -> None:
        if len(self.bins) != CONFIDENCE_BINS or any(b < 0 for b in self.bins):
            raise ValueError(f"{CONFIDENCE_BINS} bins, none negative")
        if self.cap < 1 or len(self.sample) > min(self.cap, self.n):
            raise ValueError("the sample holds at most cap values and no more than were seen")

    @property
    def n(self) -> int:
        return sum(self.bins)

    @property
    def exact(self) -> bool:
        """Whether ``sample`` holds every value of the window."""
        return self.n <= self.cap

    def add(self, confidence: float) -> None:
        self.bins[equal_width_bucket(confidence, CONFIDENCE_BINS)] += 1
        position = self.n
        if len(self.sample) < self.cap:
            self.sample.append(float(confidence))
        else:
            slot = _reservoir_slot(position)
            if slot < self.cap:
                self.sample[slot] = float(confidence)

    def to_document(self) -> dict[str, Any]:
        return {"bins": list(self.bins), "sample": list(self.sample), "cap": self.cap}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ConfidenceWindow:
        return cls(
            [int(b) for b in document["bins"]],
            [float(v) for v in document["sample"]],
            int(document["cap"]),
        )


# --- figures -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Divergence:
    """A divergence between the baseline and current distributions; ``value`` is ``None``
    with a ``reason`` when a window is empty."""

    value: float | None
    n_baseline: int
    n_current: int
    reason: str | None = None


@dataclass(frozen=True)
class HomogeneityTest:
    """A two-sample test: its statistic, p-value, degrees of freedom (chi-square only) and the
    categories it used; ``None`` values with a ``reason`` when it is undefined."""

    test: Literal["chi-square", "kolmogorov-smirnov"]
    statistic: float | None
    p_value: float | None
    n_baseline: int
    n_current: int
    dof: int | None = None
    categories: tuple[str, ...] = ()
    exact: bool = True
    reason: str | None = None


@dataclass(frozen=True)
class DriftVerdict:
    """PSI, JS and the test of one comparison, and the severity the policy gives them
    (``None`` with a ``reason`` below the minimum count)."""

    psi: Divergence
    js: Divergence
    test: HomogeneityTest
    severity: Severity | None
    reason: str | None = None

    @property
    def alert(self) -> bool:
        return self.severity not in (None, "none")


def _aligned(
    baseline: Mapping[str, float] | Sequence[float], current: Mapping[str, float] | Sequence[float]
) -> tuple[list[float], list[float]]:
    if isinstance(baseline, Mapping) and isinstance(current, Mapping):
        keys = sorted(set(baseline) | set(current))
        return [float(baseline.get(k, 0)) for k in keys], [float(current.get(k, 0)) for k in keys]
    if isinstance(baseline, Mapping) or isinstance(current, Mapping):
        raise TypeError("both distributions are mappings or both are sequences")
    if len(baseline) != len(current):
        raise ValueError("both histograms have the same bins")
    return [float(v) for v in baseline], [float(v) for v in current]


def _check_counts(counts: Sequence[float]) -> float:
    if any(not math.isfinite(c) or c < 0 for c in counts):
        raise ValueError("counts are finite and not negative")
    return math.fsum(counts)


def psi(
    baseline: Mapping[str, float] | Sequence[float],
    current: Mapping[str, float] | Sequence[float],
    epsilon: float = PSI_EPSILON,
) -> Divergence:
    """The population stability index of two count distributions (label counts keyed by
    label, or histograms with the same bins): ``sum (c - b) ln(c / b)`` on shares, a share of
    0 replaced by ``epsilon``."""
    b, c = _aligned(baseline, current)
    nb, nc = _check_counts(b), _check_counts(c)
    if nb == 0 or nc == 0:
        return Divergence(None, int(nb), int(nc), "a window is empty")
    total = 0.0
    for bi, ci in zip(b, c, strict=True):
        pb, pc = max(bi / nb, epsilon), max(ci / nc, epsilon)
        total += (pc - pb) * math.log(pc / pb)
    return Divergence(total, int(nb), int(nc))


def js_divergence(
    baseline: Mapping[str, float] | Sequence[float],
    current: Mapping[str, float] | Sequence[float],
) -> Divergence:
    """The Jensen-Shannon divergence (base 2, in [0, 1]) of two count distributions."""
    b, c = _aligned(baseline, current)
    nb, nc = _check_counts(b), _check_counts(c)
    if nb == 0 or nc == 0:
        return Divergence(None, int(nb), int(nc), "a window is empty")
    total = 0.0
    for bi, ci in zip(b, c, strict=True):
        pb, pc = bi / nb, ci / nc
        m = (pb + pc) / 2
        if pb > 0:
            total += pb * math.log2(pb / m) / 2
        if pc > 0:
            total += pc * math.log2(pc / m) / 2
    return Divergence(min(max(total, 0.0), 1.0), int(nb), int(nc))


def chi_square_homogeneity(
    baseline: Mapping[str, int], current: Mapping[str, int]
) -> HomogeneityTest:
    """Pearson's chi-square test that two windows share one label distribution: the 2 x k
    table without continuity correction, labels zero in both windows dropped; undefined with
    an empty window or fewer than 2 labels."""
    labels = tuple(
        sorted(k for k in set(baseline) | set(current) if baseline.get(k, 0) or current.get(k, 0))
    )
    rows = [[float(baseline.get(k, 0)) for k in labels], [float(current.get(k, 0)) for k in labels]]
    nb, nc = _check_counts(rows[0]), _check_counts(rows[1])
    undefined = None
    if nb == 0 or nc == 0:
        undefined = "a window is empty"
    elif len(labels) < 2:
        undefined = "fewer than 2 labels"
    if undefined:
        return HomogeneityTest(
            "chi-square", None, None, int(nb), int(nc), categories=labels, reason=undefined
        )
    total = nb + nc
    statistic = 0.0
    for j in range(len(labels)):
        column = rows[0][j] + rows[1][j]
        for row, n_row in ((rows[0], nb), (rows[1], nc)):
            expected = n_row * column / total
            statistic += (row[j] - expected) ** 2 / expected
    dof = len(labels) - 1
    p_value = float(stats.chi2.sf(statistic, dof))
    return HomogeneityTest("chi-square", statistic, p_value, int(nb), int(nc), dof, labels)


def ks_two_sample(baseline: ConfidenceWindow, current: ConfidenceWindow) -> HomogeneityTest:
    """The two-sample Kolmogorov-Smirnov test (two-sided) on the confidences each window kept;
    ``exact`` is false when a window is past its cap and the test ran on its sample."""
    nb, nc = baseline.n, current.n
    if nb == 0 or nc == 0:
        return HomogeneityTest("kolmogorov-smirnov", None, None, nb, nc, reason="a window is empty")
    result = stats.ks_2samp(baseline.sample, current.sample)
    return HomogeneityTest(
        "kolmogorov-smirnov",
        float(result.statistic),
        float(result.pvalue),
        nb,
        nc,
        exact=baseline.exact and current.exact,
    )


def _level(value: float, thresholds: tuple[float, float, float]) -> int:
    return sum(value >= t for t in thresholds)


def _verdict(
    psi_value: Divergence, js_value: Divergence, test: HomogeneityTest, policy: DriftPolicy
) -> DriftVerdict:
    small = min(test.n_baseline, test.n_current)
    if small < policy.min_count:
        return DriftVerdict(
            psi_value, js_value, test, None, f"a window holds fewer than {policy.min_count}"
        )
    if test.p_value is None or psi_value.value is None or js_value.value is None:
        return DriftVerdict(psi_value, js_value, test, None, test.reason or "undefined")
    if test.p_value >= policy.alpha:
        return DriftVerdict(psi_value, js_value, test, "none", "not significant")
    level = max(
        _level(psi_value.value, policy.psi_thresholds), _level(js_value.value, policy.js_thresholds)
    )
    return DriftVerdict(psi_value, js_value, test, _LEVELS[level])


def label_drift(
    baseline: LabelCounts, current: LabelCounts, policy: DriftPolicy | None = None
) -> DriftVerdict:
    """Drift of the resolved labels: PSI, JS and chi-square, and the policy's severity."""
    policy = policy or DriftPolicy()
    return _verdict(
        psi(baseline.counts, current.counts),
        js_divergence(baseline.counts, current.counts),
        chi_square_homogeneity(baseline.counts, current.counts),
        policy,
    )


def confidence_drift(
    baseline: ConfidenceWindow, current: ConfidenceWindow, policy: DriftPolicy | None = None
) -> DriftVerdict:
    """Drift of the pre-label confidences: PSI and JS on the histogram, KS on the values."""
    policy = policy or DriftPolicy()
    return _verdict(
        psi(baseline.bins, current.bins),
        js_divergence(baseline.bins, current.bins),
        ks_two_sample(baseline, current),
        policy,
    )
