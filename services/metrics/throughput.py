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

**Lifecycle figures.** The rest of the module computes a window's throughput from one record
per work unit (:class:`UnitLifecycle`) and per item (:class:`ItemLifecycle`), as the
service's stores keep them (docs/metrics.md, "The service: throughput for operations"): the
per-minute series, the queue depth now, how the leases handed out ended, the time to
resolution and the time per judgment.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
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


# -- the lifecycle figures (issue 22 §8), computed on read from one record per unit and item --


@dataclass(frozen=True)
class Judged:
    """A judgment as throughput needs it."""

    judgment_id: str
    expert_id: str
    submitted_at: datetime
    time_spent_s: float


@dataclass(frozen=True)
class UnitLifecycle:
    """What happened to one work unit: when it was created, the times of its leases, releases
    and expiries (each event once, by its time), and its judgments."""

    unit_id: str
    kind: str | None
    created_at: datetime | None
    leases: tuple[datetime, ...] = ()
    releases: tuple[datetime, ...] = ()
    expiries: tuple[datetime, ...] = ()
    judgments: tuple[Judged, ...] = ()

    @property
    def submitted_at(self) -> datetime | None:
        """The first judgment's time: the unit is done from then on."""
        return min((j.submitted_at for j in self.judgments), default=None)

    @property
    def leased_now(self) -> bool:
        """Not submitted, and its latest lease is later than its latest release or expiry."""
        if self.submitted_at is not None or not self.leases:
            return False
        ended = max((*self.releases, *self.expiries), default=None)
        return ended is None or max(self.leases) > ended

    @property
    def queued_now(self) -> bool:
        """Created, not submitted, not leased now: waiting in the pool."""
        return self.created_at is not None and self.submitted_at is None and not self.leased_now


@dataclass(frozen=True)
class ItemLifecycle:
    item_id: str
    registered_at: datetime | None
    resolved_at: datetime | None


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)``."""

    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


#: What the per-minute series count, in the order they are given.
SERIES = ("registered", "queued", "leased", "submitted", "resolved")

#: How a lease ends, the earliest event at or after it: at equal times, in this order.
LEASE_ENDS = ("submitted", "released", "expired", "replaced")


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def per_minute(
    window: TimeWindow, units: Sequence[UnitLifecycle], items: Sequence[ItemLifecycle]
) -> list[dict[str, Any]]:
    """Per minute of the window with at least one event, oldest first: items registered,
    units created (queued), leases handed out, judgments submitted, items resolved."""
    counts: dict[datetime, dict[str, int]] = {}

    def count(what: str, at: datetime | None) -> None:
        if at is not None and at in window:
            row = counts.setdefault(minute_of(at), dict.fromkeys(SERIES, 0))
            row[what] += 1

    for item in items:
        count("registered", item.registered_at)
        count("resolved", item.resolved_at)
    for unit in units:
        count("queued", unit.created_at)
        for at in unit.leases:
            count("leased", at)
        for judged in unit.judgments:
            count("submitted", judged.submitted_at)
    return [{"minute": minute, **counts[minute]} for minute in sorted(counts)]


def lease_end(unit: UnitLifecycle, leased_at: datetime) -> str:
    """How the lease handed out at ``leased_at`` ended: the earliest of the unit's first
    judgment, releases and expiries at or after it and its next lease (``replaced``: it ended
    without an event saying so); ``open`` while none is there."""
    ends: list[tuple[datetime, int]] = []
    if unit.submitted_at is not None and unit.submitted_at >= leased_at:
        ends.append((unit.submitted_at, 0))
    ends += [(at, 1) for at in unit.releases if at >= leased_at]
    ends += [(at, 2) for at in unit.expiries if at >= leased_at]
    ends += [(at, 3) for at in unit.leases if at > leased_at]
    return LEASE_ENDS[min(ends)[1]] if ends else "open"


def lease_outcomes(window: TimeWindow, units: Sequence[UnitLifecycle]) -> dict[str, int]:
    """The leases handed out in the window, by how they ended (:func:`lease_end`)."""
    outcomes = dict.fromkeys(("leases", *LEASE_ENDS, "open"), 0)
    for unit in units:
        for at in unit.leases:
            if at in window:
                outcomes["leases"] += 1
                outcomes[lease_end(unit, at)] += 1
    return outcomes


@dataclass(frozen=True)
class Depth:
    kind: str
    queued: int
    leased: int


def queue_depth(units: Sequence[UnitLifecycle]) -> list[Depth]:
    """Per unit kind (sorted), the units queued now and leased now."""
    kinds: dict[str, list[int]] = {}
    for unit in units:
        if unit.queued_now or unit.leased_now:
            row = kinds.setdefault(unit.kind or "unknown", [0, 0])
            row[0 if unit.queued_now else 1] += 1
    return [Depth(kind, q, leased) for kind, (q, leased) in sorted(kinds.items())]


def resolution_times(
    window: TimeWindow, items: Sequence[ItemLifecycle]
) -> tuple[ResolutionTimes, int]:
    """``resolved_at - registered_at`` (0 when the clocks put it below) of the items resolved
    in the window, and how many of them were left out for want of a registration."""
    times, unregistered = ResolutionTimes(), 0
    for item in items:
        if item.resolved_at is None or item.resolved_at not in window:
            continue
        if item.registered_at is None:
            unregistered += 1
            continue
        times.add(max(0.0, (item.resolved_at - item.registered_at).total_seconds()))
    return times, unregistered


@dataclass(frozen=True)
class TimeSpent:
    n: int
    median: float | None
    mean: float | None


def time_spent(judgments: Sequence[Judged]) -> TimeSpent:
    """The median (the mean of the two middle ones for an even count) and mean of the
    judgments' ``time_spent_s``."""
    values = sorted(j.time_spent_s for j in judgments)
    if not values:
        return TimeSpent(0, None, None)
    return TimeSpent(len(values), statistics.median(values), statistics.fmean(values))


def judgments_in(window: TimeWindow, units: Sequence[UnitLifecycle]) -> list[Judged]:
    """The judgments submitted in the window (each once, whatever unit holds it)."""
    found = {j.judgment_id: j for u in units for j in u.judgments if j.submitted_at in window}
    return sorted(found.values(), key=lambda j: (j.submitted_at, j.judgment_id))


#: the skill row of the units of projects that require no skill
ANY_SKILL = "(any)"
#: the skill row of the units of projects whose configuration metrics has not seen
UNKNOWN_SKILLS = "(unknown)"


@dataclass(frozen=True)
class SkillDepth:
    skill: str
    queued: int
    leased: int
    projects: int


def depth_by_skill(
    open_units: Mapping[str, Sequence[UnitLifecycle]],
    skills: Mapping[str, Sequence[str]],
) -> list[SkillDepth]:
    """Per skill (sorted), the units queued and leased now of the projects that require it:
    a unit counts once under each skill its project requires (only an expert with all of
    them may take it), under :data:`ANY_SKILL` when its project requires none and under
    :data:`UNKNOWN_SKILLS` when the project's configuration is not known."""
    rows: dict[str, list[int]] = {}
    for project, units in open_units.items():
        queued = sum(u.queued_now for u in units)
        leased = sum(u.leased_now for u in units)
        if not queued and not leased:
            continue
        required = skills.get(project)
        names = [UNKNOWN_SKILLS] if required is None else (list(required) or [ANY_SKILL])
        for name in sorted(set(names)):
            row = rows.setdefault(name, [0, 0, 0])
            row[0] += queued
            row[1] += leased
            row[2] += 1
    return [SkillDepth(n, q, lease, p) for n, (q, lease, p) in sorted(rows.items())]
