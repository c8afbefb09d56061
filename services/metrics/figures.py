"""Shapes every metrics figure shares, free of I/O: an interval, a proportion with its Wilson
interval, and the equal-width bucket a value in [0, 1] falls in.

A figure that cannot be computed (no observations, a window below its minimum count, a test
with one category) carries ``None`` for its value and a ``reason`` in words; it never carries
a made-up 0 or NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

#: The confidence level of every interval, unless a caller asks for another.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A two-sided interval at ``confidence`` computed by ``method``."""

    low: float
    high: float
    confidence: float = CONFIDENCE
    method: str = "wilson"


@dataclass(frozen=True)
class Proportion:
    """``successes`` out of ``n``: the share and its Wilson score interval (no continuity
    correction); ``value`` and ``ci`` are ``None`` with a ``reason`` when ``n`` is 0."""

    successes: float
    n: int
    value: float | None
    ci: Interval | None
    reason: str | None = None


def wilson_interval(successes: float, n: int, confidence: float = CONFIDENCE) -> Interval | None:
    """The Wilson score interval of ``successes / n`` (Wilson 1927, without continuity
    correction; what ``statsmodels.stats.proportion.proportion_confint(method="wilson")``
    computes), or ``None`` when ``n`` is 0. ``z`` is the normal ``1 - (1 - confidence) / 2``
    quantile (1.95996... at 95 %)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError("successes are from 0 to n, and n is not negative")
    if not 0 < confidence < 1:
        raise ValueError("the confidence level is strictly between 0 and 1")
    if n == 0:
        return None
    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    share = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n)) / denominator
    # exactly 0 and 1 at the ends (the formula leaves a rounding error there)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return Interval(low, high, confidence, "wilson")


def proportion(successes: float, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """``successes`` out of ``n`` with its Wilson interval; undefined when ``n`` is 0."""
    interval = wilson_interval(successes, n, confidence)
    if interval is None:
        return Proportion(successes, n, None, None, "no observations")
    return Proportion(successes, n, successes / n, interval)


def equal_width_bucket(value: float, buckets: int) -> int:
    """The bucket of ``value`` in [0, 1] among ``buckets`` equal-width buckets: bucket ``i``
    is ``[i / buckets, (i + 1) / buckets)`` with its bounds as the floats ``i / buckets``, and
    1.0 falls in the top bucket (``buckets - 1``)."""
    if buckets < 1:
        raise ValueError("one bucket or more")
    if not (isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1):
        raise ValueError(f"{value!r} is not a number from 0 to 1")
    index = min(int(value * buckets), buckets - 1)
    # value * buckets can round across a bound; the bounds are the floats i / buckets
    if index > 0 and value < index / buckets:
        index -= 1
    elif index < buckets - 1 and value >= (index + 1) / buckets:
        index += 1
    return index
