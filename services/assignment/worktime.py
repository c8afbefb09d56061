"""The time experts spent on their units, free of I/O.

An expert may hold several leases at once (prefetched work) but works on one unit at a time,
so their time is the **union** of their lease intervals, never the sum: three units taken
together and submitted a minute apart took three minutes, not six. A lease counts from its
handout to its end (the judgment), never to its deadline, which heartbeats move.

The union is shared out among the leases (:func:`shares`): each instant of an expert's union
goes to one lease, the one that ended first among those they held then (ties: the first in
the input). So the three units above count a minute each, and the shares of an expert's
leases add up to the length of their union exactly, whatever the overlaps; the ledger adds
them per project and the demand takes their median. Nothing here depends on another expert's
leases.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

_ZERO = timedelta(0)


@dataclass(frozen=True)
class Held:
    """A lease an expert held: from its handout (``start``) to its end (``end``: the judgment).
    An end before the start (two replicas' clocks) counts as an empty lease."""

    expert_id: str
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.utcoffset() is None or self.end.utcoffset() is None:
            raise ValueError("a lease's start and end must be timezone-aware")

    @property
    def stop(self) -> datetime:
        """The end, never before the start."""
        return max(self.start, self.end)


def union(intervals: Iterable[tuple[datetime, datetime]]) -> timedelta:
    """The length of the union of ``(start, end)`` intervals (an end before its start: empty)."""
    total = _ZERO
    reach: datetime | None = None
    for start, end in sorted((s, max(s, e)) for s, e in intervals):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def shares(held: Sequence[Held]) -> list[timedelta]:
    """Each lease's share of its expert's time, in the order given: every instant of the
    expert's union of leases goes to the lease, among those held then, that ends first (the
    first given on a tie). Per expert the shares add up to :func:`union` of their leases; a
    share is never more than its own lease."""
    found = [_ZERO] * len(held)
    by_expert: dict[str, list[int]] = {}
    for index, lease in enumerate(held):
        by_expert.setdefault(lease.expert_id, []).append(index)
    for indices in by_expert.values():
        starting = sorted(indices, key=lambda i: (held[i].start, i))
        points = sorted({held[i].start for i in indices} | {held[i].stop for i in indices})
        active: list[tuple[datetime, int]] = []  # (end, index): the first to end on top
        next_start = 0
        for at, until in itertools.pairwise(points):
            while next_start < len(starting) and held[starting[next_start]].start <= at:
                index = starting[next_start]
                heapq.heappush(active, (held[index].stop, index))
                next_start += 1
            while active and active[0][0] <= at:
                heapq.heappop(active)
            if active:
                found[active[0][1]] += until - at
    return found
