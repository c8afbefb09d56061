"""Time to resolution for operations, free of I/O: p50 / p90 / p99 from a mergeable DDSketch.

**Sketch.** ``ddsketch.DDSketch`` with a relative accuracy ``RELATIVE_ACCURACY = 0.01``: every
quantile it returns is within 1 % of the exact one (DDSketch's rank convention, the
``lower`` element at rank ``q (n - 1)``, what ``numpy.quantile(..., method="lower")`` picks).
The ddsketch package serialises through protobuf, which this project does not install, and a
sketch's bins are private attributes; so :class:`ResolutionTimes` keeps the sketch's state
itself, as DDSketch defines it: a count per bin key of the logarithmic mapping
(``ddsketch.mapping.LogarithmicMapping(0.01)``, key ``ceil(log_gamma(x))``), the count of
values too small for the mapping (zero durations), and the count, sum, minimum and maximum.
Adding a value is O(1); two states merge by adding their bins (what ``DDSketch.merge`` does),
so hours, replicas or projects combine exactly as one sketch of all their values would
(a test). On read the bins are loaded into a ``DDSketch`` (``add(mapping.value(key),
weight)``, each representative value falling back in its own bin) and its quantiles are
clamped to the observed minimum and maximum, which keeps the 1 % guarantee.
About 670 bins cover one second to one week at 1 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

#: The relative accuracy of every quantile.
RELATIVE_ACCURACY = 0.01
#: The quantiles operations read.
QUANTILES = (0.5, 0.9, 0.99)


@dataclass
class ResolutionTimes:
    """A DDSketch of durations in seconds (from an item's registration to its resolution)."""

    relative_accuracy: float = RELATIVE_ACCURACY
    bins: dict[int, int] = field(default_factory=dict)
    zero_count: int = 0
    count: int = 0
    total: float = 0.0
    minimum: float = math.inf
    maximum: float = -math.inf

    def __post_init__(self) -> None:
        if not 0 < self.relative_accuracy < 1:
            raise ValueError("the relative accuracy is strictly between 0 and 1")
        self._mapping = LogarithmicMapping(self.relative_accuracy)

    def add(self, seconds: float) -> None:
        """Count one duration (0 or more seconds)."""
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds >= 0):
            raise ValueError(f"{seconds!r} is not a duration")
        if seconds > self._mapping.min_possible:
            key = int(self._mapping.key(seconds))
            self.bins[key] = self.bins.get(key, 0) + 1
        else:
            self.zero_count += 1
        self.count += 1
        self.total += seconds
        self.minimum = min(self.minimum, seconds)
        self.maximum = max(self.maximum, seconds)

    def merged(self, other: ResolutionTimes) -> ResolutionTimes:
        """One sketch of both sketches' durations (same relative accuracy)."""
        if other.relative_accuracy != self.relative_accuracy:
            raise ValueError("sketches of different relative accuracies do not merge")
        bins = dict(self.bins)
        for key, n in other.bins.items():
            bins[key] = bins.get(key, 0) + n
        return ResolutionTimes(
            self.relative_accuracy,
            bins,
            self.zero_count + other.zero_count,
            self.count + other.count,
            self.total + other.total,
            min(self.minimum, other.minimum),
            max(self.maximum, other.maximum),
        )

    def sketch(self) -> DDSketch:
        """The ``ddsketch.DDSketch`` these bins are."""
        sketch = DDSketch(self.relative_accuracy)
        for key, n in sorted(self.bins.items()):
            sketch.add(self._mapping.value(key), n)
        if self.zero_count:
            sketch.add(0.0, self.zero_count)
        return sketch

    def to_document(self) -> dict[str, Any]:
        """Plain numbers; bins as ``[key, count]`` pairs (document keys are strings)."""
        return {
            "relative_accuracy": self.relative_accuracy,
            "bins": [[key, n] for key, n in sorted(self.bins.items())],
            "zero_count": self.zero_count,
            "count": self.count,
            "total": self.total,
            "minimum": self.minimum if self.count else None,
            "maximum": self.maximum if self.count else None,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> ResolutionTimes:
        return cls(
            float(document["relative_accuracy"]),
            {int(key): int(n) for key, n in document["bins"]},
            int(document["zero_count"]),
            int(document["count"]),
            float(document["total"]),
            math.inf if document["minimum"] is None else float(document["minimum"]),
            -math.inf if document["maximum"] is None else float(document["maximum"]),
        )


@dataclass(frozen=True)
class Quantile:
    q: float
    value: float


@dataclass(frozen=True)
class TimeToResolution:
    """Quantiles of the durations (each within ``relative_accuracy`` of the exact value), the
    count, mean, minimum and maximum; ``None`` values with a ``reason`` without durations."""

    n: int
    quantiles: tuple[Quantile, ...]
    mean: float | None
    minimum: float | None
    maximum: float | None
    relative_accuracy: float
    reason: str | None = None

    def value(self, q: float) -> float | None:
        return next((x.value for x in self.quantiles if x.q == q), None)


def time_to_resolution(
    times: ResolutionTimes, quantiles: Sequence[float] = QUANTILES
) -> TimeToResolution:
    """p50 / p90 / p99 (or the ``quantiles`` asked for) of the durations."""
    if any(not 0 <= q <= 1 for q in quantiles):
        raise ValueError("quantiles are from 0 to 1")
    if times.count == 0:
        return TimeToResolution(0, (), None, None, None, times.relative_accuracy, "no durations")
    sketch = times.sketch()
    values = []
    for q in quantiles:
        estimate = sketch.get_quantile_value(q)
        assert estimate is not None  # a non-empty sketch answers every q in [0, 1]
        values.append(Quantile(q, min(max(float(estimate), times.minimum), times.maximum)))
    return TimeToResolution(
        times.count,
        tuple(values),
        times.total / times.count,
        times.minimum,
        times.maximum,
        times.relative_accuracy,
    )
