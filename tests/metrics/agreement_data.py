"""Random rating data for the agreement tests: a scale, and judgments with missing values."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from services.metrics.agreement import Level, Scale, Value


@dataclass(frozen=True)
class Ratings:
    scale: Scale
    table: dict[str, dict[str, Value]]  # item -> expert -> value; absent = missing

    @property
    def values(self) -> tuple[Value, ...]:
        assert self.scale.values is not None
        return self.scale.values

    @property
    def experts(self) -> list[str]:
        return sorted({e for ratings in self.table.values() for e in ratings})

    @property
    def judgments(self) -> list[tuple[str, str, Value]]:
        return [(i, e, v) for i, r in sorted(self.table.items()) for e, v in sorted(r.items())]

    def codes(self) -> dict[Value, float]:
        """What the references get: numbers as they are, strings as positions 1..q."""
        if all(not isinstance(v, str) for v in self.values):
            return {v: float(v) for v in self.values}
        return {v: float(i + 1) for i, v in enumerate(self.values)}

    def matrix(self) -> np.ndarray:
        """items x experts, NaN where missing (items in sorted order)."""
        experts = self.experts
        codes = self.codes()
        out = np.full((len(self.table), len(experts)), np.nan)
        for i, (_, ratings) in enumerate(sorted(self.table.items())):
            for e, v in ratings.items():
                out[i, experts.index(e)] = codes[v]
        return out


NAMES = ("none", "minor", "major", "critical", "blocker", "fatal")


@st.composite
def scales(draw: st.DrawFn, levels: tuple[Level, ...] = tuple(Level)) -> Scale:
    level = draw(st.sampled_from(levels))
    q = draw(st.integers(2, 6))
    numeric = level in (Level.interval, Level.ratio) or draw(st.booleans())
    if numeric:
        low = 1 if level is Level.ratio else 0
        values: tuple[Value, ...] = tuple(
            float(v) for v in sorted(draw(st.sets(st.integers(low, 12), min_size=q, max_size=q)))
        )
    else:
        values = NAMES[:q]
    return Scale(level, values)


@st.composite
def ratings(
    draw: st.DrawFn,
    levels: tuple[Level, ...] = tuple(Level),
    max_items: int = 25,
    max_experts: int = 5,
    per_item: int | None = None,
) -> Ratings:
    """Items judged by a random subset of experts (so values are missing), with values skewed
    towards agreement so that the figures vary over their range. ``per_item`` fixes the
    number of judgments per item (each by a different random subset of experts)."""
    scale = draw(scales(levels))
    assert scale.values is not None
    least = max(2, per_item or 2)
    experts = [f"e{k}" for k in range(draw(st.integers(least, max(least, max_experts))))]
    table: dict[str, dict[str, Value]] = {}
    for i in range(draw(st.integers(1, max_items))):
        truth = draw(st.sampled_from(scale.values))
        if per_item is None:
            who = draw(st.lists(st.sampled_from(experts), min_size=1, unique=True))
        else:
            who = draw(
                st.lists(
                    st.sampled_from(experts), min_size=per_item, max_size=per_item, unique=True
                )
            )
        table[f"item{i:03d}"] = {
            e: truth if draw(st.booleans()) else draw(st.sampled_from(scale.values)) for e in who
        }
    return Ratings(scale, table)
