"""Sufficient statistics of agreement on one field, kept incrementally.

One judgment (an item, an expert, a value) updates the state in time that depends on how
many experts judged that item, never on how many judgments are stored:

* ``items``: per item, who gave which value (needed to undo an item's old contribution and
  to update the pair tables; a second judgment of the same expert on the same item replaces
  the first);
* ``profiles``: how many items have each *profile*, the vector of counts of each value among
  the item's judgments (so ``r_i``, the item's judgment count, and its per-value counts). Every
  item-level figure (Fleiss' and Gwet's coefficients and their standard errors, percent
  agreement, the bootstrap over items) is a function of this histogram, whose size is bounded
  by the number of distinct profiles, not by the number of items;
* ``coincidence``: Krippendorff's coincidence matrix, kept exactly as integer numerators per
  pairable count ``m``: ``C_m[c, k] = sum over items with m judgments of n_c n_k - [c = k] n_c``
  (``o = sum_m C_m / (m - 1)``). Items with one judgment are not pairable and add nothing;
* ``pairs``: per expert pair ``(a, b)`` with ``a < b``, the contingency table of
  ``(value of a, value of b)`` over the items both judged.

An update removes the item's old contribution and adds its new one. All counts are integers,
so the state after any sequence of events equals the batch computation from the final
judgments (:meth:`AgreementState.from_judgments`, a separate code path) exactly. Zero cells
are dropped, so equal states have equal :meth:`to_dict` forms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from itertools import combinations
from typing import Any

from services.metrics.agreement.scale import Level, Scale, Value, normalize, sort_key

Profile = tuple[tuple[Value, int], ...]
Cells = dict[tuple[Value, Value], int]
Judgment = tuple[str, str, object]
"""(item id, expert id, value)"""

STATE_VERSION = 1


def profile_of(ratings: Iterable[Value]) -> Profile:
    counts = Counter(ratings)
    return tuple(sorted(counts.items(), key=lambda vc: sort_key(vc[0])))


def _bump(cells: Cells, key: tuple[Value, Value], by: int) -> None:
    count = cells.get(key, 0) + by
    if count:
        cells[key] = count
    else:
        cells.pop(key, None)


class AgreementState:
    """The agreement statistics of one field (see the module docstring)."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.items: dict[str, dict[str, Value]] = {}
        self.profiles: dict[Profile, int] = {}
        self.coincidence: dict[int, Cells] = {}
        self.pairs: dict[tuple[str, str], Cells] = {}

    # -- updates ---------------------------------------------------------------------------

    def record(self, item: str, expert: str, value: object) -> bool:
        """Take one judgment (replacing the expert's earlier value on the item); returns whether
        the state changed."""
        v = normalize(value)
        if not self.scale.admits(v):
            raise ValueError(f"{v!r} is not on the field's scale")
        ratings = self.items.get(item)
        if ratings is None:
            ratings = self.items[item] = {}
        old = ratings.get(expert)
        if old == v:
            return False
        self._contribute(ratings, -1)
        for other, w in ratings.items():
            if other == expert:
                continue
            if old is not None:
                self._pair(expert, old, other, w, -1)
            self._pair(expert, v, other, w, +1)
        ratings[expert] = v
        self._contribute(ratings, +1)
        return True

    def withdraw(self, item: str, expert: str) -> bool:
        """Remove an expert's judgment of an item; returns whether the state changed."""
        ratings = self.items.get(item)
        if ratings is None or expert not in ratings:
            return False
        self._contribute(ratings, -1)
        old = ratings.pop(expert)
        for other, w in ratings.items():
            self._pair(expert, old, other, w, -1)
        if ratings:
            self._contribute(ratings, +1)
        else:
            del self.items[item]
        return True

    def _contribute(self, ratings: dict[str, Value], sign: int) -> None:
        if not ratings:
            return
        profile = profile_of(ratings.values())
        count = self.profiles.get(profile, 0) + sign
        if count:
            self.profiles[profile] = count
        else:
            del self.profiles[profile]
        m = len(ratings)
        if m < 2:
            return
        cells = self.coincidence.setdefault(m, {})
        for c, n_c in profile:
            for k, n_k in profile:
                _bump(cells, (c, k), sign * (n_c * n_k - (n_c if c == k else 0)))
        if not cells:
            del self.coincidence[m]

    def _pair(self, e: str, v: Value, f: str, w: Value, sign: int) -> None:
        key, cell = ((e, f), (v, w)) if e < f else ((f, e), (w, v))
        cells = self.pairs.setdefault(key, {})
        _bump(cells, cell, sign)
        if not cells:
            del self.pairs[key]

    # -- batch -----------------------------------------------------------------------------

    @classmethod
    def from_judgments(cls, scale: Scale, judgments: Iterable[Judgment]) -> AgreementState:
        """The state computed in one pass over all judgments (later ones of the same expert on
        the same item replace earlier ones), without the incremental updates."""
        state = cls(scale)
        table: dict[str, dict[str, Value]] = {}
        for item, expert, value in judgments:
            v = normalize(value)
            if not scale.admits(v):
                raise ValueError(f"{v!r} is not on the field's scale")
            table.setdefault(item, {})[expert] = v
        state.items = table
        for ratings in table.values():
            profile = profile_of(ratings.values())
            state.profiles[profile] = state.profiles.get(profile, 0) + 1
            m = len(ratings)
            if m >= 2:
                cells = state.coincidence.setdefault(m, {})
                values = list(ratings.values())
                for i, c in enumerate(values):
                    for j, k in enumerate(values):
                        if i != j:
                            cells[(c, k)] = cells.get((c, k), 0) + 1
            for (a, va), (b, vb) in combinations(sorted(ratings.items()), 2):
                cells = state.pairs.setdefault((a, b), {})
                cells[(va, vb)] = cells.get((va, vb), 0) + 1
        return state

    # -- reading ---------------------------------------------------------------------------

    def values_seen(self) -> set[Value]:
        return {v for profile in self.profiles for v, _ in profile}

    def ordered_values(self) -> tuple[Value, ...]:
        return self.scale.ordered(self.values_seen())

    @property
    def judgment_count(self) -> int:
        return sum(n * sum(c for _, c in p) for p, n in self.profiles.items())

    # -- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON- and BSON-safe data in a canonical order (no value is ever a key)."""

        def cells(c: Cells) -> list[list[Any]]:
            return [
                [a, b, n]
                for (a, b), n in sorted(
                    c.items(), key=lambda x: (sort_key(x[0][0]), sort_key(x[0][1]))
                )
            ]

        return {
            "version": STATE_VERSION,
            "scale": {
                "level": self.scale.level.value,
                "values": None if self.scale.values is None else list(self.scale.values),
            },
            "items": [
                {"item": item, "ratings": [[e, v] for e, v in sorted(ratings.items())]}
                for item, ratings in sorted(self.items.items())
            ],
            "profiles": [
                {"counts": [[v, c] for v, c in p], "items": n}
                for p, n in sorted(
                    self.profiles.items(), key=lambda x: [(sort_key(v), c) for v, c in x[0]]
                )
            ],
            "coincidence": [
                {"m": m, "cells": cells(c)} for m, c in sorted(self.coincidence.items())
            ],
            "pairs": [
                {"a": a, "b": b, "cells": cells(c)} for (a, b), c in sorted(self.pairs.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgreementState:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown agreement state version {data.get('version')!r}")
        raw_values = data["scale"]["values"]
        scale = Scale(
            Level(data["scale"]["level"]),
            None if raw_values is None else tuple(normalize(v) for v in raw_values),
        )
        state = cls(scale)
        state.items = {d["item"]: {e: normalize(v) for e, v in d["ratings"]} for d in data["items"]}
        state.profiles = {
            tuple((normalize(v), int(c)) for v, c in d["counts"]): int(d["items"])
            for d in data["profiles"]
        }
        state.coincidence = {
            int(d["m"]): {(normalize(a), normalize(b)): int(n) for a, b, n in d["cells"]}
            for d in data["coincidence"]
        }
        state.pairs = {
            (d["a"], d["b"]): {(normalize(a), normalize(b)): int(n) for a, b, n in d["cells"]}
            for d in data["pairs"]
        }
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AgreementState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
