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
from collections.abc import Iterable, Mapping
from itertools import combinations
from typing import Any

from services.metrics.agreement.scale import Level, Scale, Value, normalize, sort_key

Profile = tuple[tuple[Value, int], ...]
Cells = dict[tuple[Value, Value], int]
Judgment = tuple[str, str, object]
"""(item id, expert id, value)"""

STATE_VERSION = 2


def profile_of(ratings: Iterable[Value]) -> Profile:
    counts = Counter(ratings)
    return tuple(sorted(counts.items(), key=lambda vc: sort_key(vc[0])))


def _bump(cells: Cells, key: tuple[Value, Value], by: int) -> None:
    count = cells.get(key, 0) + by
    if count:
        cells[key] = count
    else:
        cells.pop(key, None)


class Tally:
    """The sufficient statistics of one field without per-item data: ``profiles``,
    ``coincidence``, ``pairs`` (see the module docstring), the number of items with a value and
    the number of items each expert gave a value to. Updated by :meth:`replace`, given an
    item's ratings before and after, so whoever holds the ratings (an :class:`AgreementState`
    in memory, or a store's per-item documents) can keep it; its size is bounded by the
    distinct profiles and the expert pairs, not by the items."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.profiles: dict[Profile, int] = {}
        self.coincidence: dict[int, Cells] = {}
        self.pairs: dict[tuple[str, str], Cells] = {}
        self.item_count = 0
        self.expert_items: dict[str, int] = {}
        #: how many judgments give each value
        self.value_counts: dict[Value, int] = {}

    def replace(self, old: Mapping[str, Value], new: Mapping[str, Value]) -> bool:
        """One item's ratings (expert -> value) go from ``old`` to ``new``: its old
        contribution is removed and its new one added, in time in the experts on the item.
        Returns whether anything changed."""
        if old == new:
            return False
        for v in new.values():
            if not self.scale.admits(v):
                raise ValueError(f"{v!r} is not on the field's scale")
        self._contribute(old, -1)
        self._contribute(new, +1)
        return True

    def _contribute(self, ratings: Mapping[str, Value], sign: int) -> None:
        if not ratings:
            return
        self.item_count += sign
        for expert in ratings:
            count = self.expert_items.get(expert, 0) + sign
            if count:
                self.expert_items[expert] = count
            else:
                del self.expert_items[expert]
        profile = profile_of(ratings.values())
        count = self.profiles.get(profile, 0) + sign
        if count:
            self.profiles[profile] = count
        else:
            del self.profiles[profile]
        for v, times in profile:
            total = self.value_counts.get(v, 0) + sign * times
            if total:
                self.value_counts[v] = total
            else:
                del self.value_counts[v]
        for (e, v), (f, w) in combinations(sorted(ratings.items()), 2):
            cells = self.pairs.setdefault((e, f), {})
            _bump(cells, (v, w), sign)
            if not cells:
                del self.pairs[(e, f)]
        m = len(ratings)
        if m < 2:
            return
        cells = self.coincidence.setdefault(m, {})
        for c, n_c in profile:
            for k, n_k in profile:
                _bump(cells, (c, k), sign * (n_c * n_k - (n_c if c == k else 0)))
        if not cells:
            del self.coincidence[m]

    # -- reading ---------------------------------------------------------------------------

    def values_seen(self) -> set[Value]:
        return set(self.value_counts)

    def ordered_values(self) -> tuple[Value, ...]:
        return self.scale.ordered(self.values_seen())

    @property
    def judgment_count(self) -> int:
        return sum(n * sum(c for _, c in p) for p, n in self.profiles.items())

    @property
    def expert_count(self) -> int:
        return len(self.expert_items)

    # -- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON- and BSON-safe data in a canonical order (no value is ever a key)."""
        return {
            "version": STATE_VERSION,
            "scale": {
                "level": self.scale.level.value,
                "values": None if self.scale.values is None else list(self.scale.values),
            },
            "item_count": self.item_count,
            "expert_items": sorted([e, n] for e, n in self.expert_items.items()),
            "profiles": [
                {"counts": [[v, c] for v, c in p], "items": n}
                for p, n in sorted(
                    self.profiles.items(), key=lambda x: [(sort_key(v), c) for v, c in x[0]]
                )
            ],
            "coincidence": [
                {"m": m, "cells": _cells(c)} for m, c in sorted(self.coincidence.items())
            ],
            "pairs": [
                {"a": a, "b": b, "cells": _cells(c)} for (a, b), c in sorted(self.pairs.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tally:
        if data.get("version") != STATE_VERSION:
            raise ValueError(f"unknown agreement state version {data.get('version')!r}")
        raw_values = data["scale"]["values"]
        tally = cls(
            Scale(
                Level(data["scale"]["level"]),
                None if raw_values is None else tuple(normalize(v) for v in raw_values),
            )
        )
        tally.item_count = int(data["item_count"])
        tally.expert_items = {e: int(n) for e, n in data["expert_items"]}
        tally.profiles = {
            tuple((normalize(v), int(c)) for v, c in d["counts"]): int(d["items"])
            for d in data["profiles"]
        }
        for profile, n in tally.profiles.items():
            for v, times in profile:
                tally.value_counts[v] = tally.value_counts.get(v, 0) + n * times
        tally.coincidence = {
            int(d["m"]): {(normalize(a), normalize(b)): int(n) for a, b, n in d["cells"]}
            for d in data["coincidence"]
        }
        tally.pairs = {
            (d["a"], d["b"]): {(normalize(a), normalize(b)): int(n) for a, b, n in d["cells"]}
            for d in data["pairs"]
        }
        return tally

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tally):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def _cells(c: Cells) -> list[list[Any]]:
    return [
        [a, b, n]
        for (a, b), n in sorted(c.items(), key=lambda x: (sort_key(x[0][0]), sort_key(x[0][1])))
    ]


class AgreementState:
    """The agreement statistics of one field with each item's ratings (see the module
    docstring): a :class:`Tally` and the ratings it was built from."""

    def __init__(self, scale: Scale) -> None:
        self.scale = scale
        self.items: dict[str, dict[str, Value]] = {}
        self.tally = Tally(scale)

    @property
    def profiles(self) -> dict[Profile, int]:
        return self.tally.profiles

    @property
    def coincidence(self) -> dict[int, Cells]:
        return self.tally.coincidence

    @property
    def pairs(self) -> dict[tuple[str, str], Cells]:
        return self.tally.pairs

    # -- updates ---------------------------------------------------------------------------

    def record(self, item: str, expert: str, value: object) -> bool:
        """Take one judgment (replacing the expert's earlier value on the item); returns whether
        the state changed."""
        v = normalize(value)
        if not self.scale.admits(v):
            raise ValueError(f"{v!r} is not on the field's scale")
        old = self.items.get(item, {})
        if old.get(expert) == v and expert in old:
            return False
        new = {**old, expert: v}
        self.tally.replace(old, new)
        self.items[item] = new
        return True

    def withdraw(self, item: str, expert: str) -> bool:
        """Remove an expert's judgment of an item; returns whether the state changed."""
        old = self.items.get(item)
        if old is None or expert not in old:
            return False
        new = {e: v for e, v in old.items() if e != expert}
        self.tally.replace(old, new)
        if new:
            self.items[item] = new
        else:
            del self.items[item]
        return True

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
        tally = state.tally
        for ratings in table.values():
            tally.item_count += 1
            for expert in ratings:
                tally.expert_items[expert] = tally.expert_items.get(expert, 0) + 1
            profile = profile_of(ratings.values())
            tally.profiles[profile] = tally.profiles.get(profile, 0) + 1
            for v, times in profile:
                tally.value_counts[v] = tally.value_counts.get(v, 0) + times
            m = len(ratings)
            if m >= 2:
                cells = tally.coincidence.setdefault(m, {})
                values = list(ratings.values())
                for i, c in enumerate(values):
                    for j, k in enumerate(values):
                        if i != j:
                            cells[(c, k)] = cells.get((c, k), 0) + 1
            for (a, va), (b, vb) in combinations(sorted(ratings.items()), 2):
                cells = tally.pairs.setdefault((a, b), {})
                cells[(va, vb)] = cells.get((va, vb), 0) + 1
        return state

    # -- reading ---------------------------------------------------------------------------

    def values_seen(self) -> set[Value]:
        return self.tally.values_seen()

    def ordered_values(self) -> tuple[Value, ...]:
        return self.tally.ordered_values()

    @property
    def judgment_count(self) -> int:
        return self.tally.judgment_count

    @property
    def item_count(self) -> int:
        return self.tally.item_count

    @property
    def expert_count(self) -> int:
        return self.tally.expert_count

    # -- serialization ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The tally's data and the items' ratings, in a canonical order."""
        return {
            **self.tally.to_dict(),
            "items": [
                {"item": item, "ratings": [[e, v] for e, v in sorted(ratings.items())]}
                for item, ratings in sorted(self.items.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgreementState:
        tally = Tally.from_dict(data)
        state = cls(tally.scale)
        state.tally = tally
        state.items = {d["item"]: {e: normalize(v) for e, v in d["ratings"]} for d in data["items"]}
        return state

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AgreementState):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]
