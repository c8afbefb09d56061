"""The scale a field is rated on: its level of measurement and its ordered values.

Values are strings (verdicts, severities, class names, flags) or numbers (rating scores;
integers are kept as floats so that ``3`` and ``3.0`` are one value). A *closed* scale lists
every value in order (severity: none < minor < major < critical; a rubric dimension: 1..5);
the figures then use the full scale even where some values were never given, which matters
for Gwet's chance agreement and for the positions weighted kappas use. An *open* scale
(``values=None``) takes the values it meets and orders them by value (numbers) or by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

Value = str | float
Floats = npt.NDArray[np.float64]


class Level(StrEnum):
    """Stevens' levels of measurement, each admitting the ones before it."""

    nominal = "nominal"
    ordinal = "ordinal"
    interval = "interval"
    ratio = "ratio"


LEVELS: tuple[Level, ...] = (Level.nominal, Level.ordinal, Level.interval, Level.ratio)


def normalize(value: object) -> Value:
    """A judgment's value as the state keys it: numbers as float, strings as they are."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        number = float(value)
        if not np.isfinite(number):
            raise ValueError(f"a rating must be finite, got {value!r}")
        return number
    if isinstance(value, str):
        return value
    raise TypeError(f"a judgment's value is a string or a number, got {type(value).__name__}")


def sort_key(value: Value) -> tuple[int, float, str]:
    """Numbers before strings, numbers by value, strings by name: a total, stable order."""
    if isinstance(value, str):
        return (1, 0.0, value)
    return (0, value, "")


@dataclass(frozen=True)
class Scale:
    level: Level = Level.nominal
    values: tuple[Value, ...] | None = None

    def __post_init__(self) -> None:
        if self.values is not None:
            values = tuple(normalize(v) for v in self.values)
            if len(set(values)) != len(values):
                raise ValueError("a scale lists each value once")
            object.__setattr__(self, "values", values)
        numeric_level = self.level in (Level.interval, Level.ratio)
        if numeric_level and any(isinstance(v, str) for v in self.values or ()):
            raise ValueError(f"an {self.level} scale has numeric values")

    @property
    def closed(self) -> bool:
        return self.values is not None

    def admits(self, value: Value) -> bool:
        return self.values is None or value in self.values

    def ordered(self, seen: set[Value]) -> tuple[Value, ...]:
        """The full ordered scale: the closed scale's values, or the values seen, sorted."""
        if self.values is not None:
            return self.values
        return tuple(sorted(seen, key=sort_key))

    def levels(self, values: tuple[Value, ...]) -> tuple[Level, ...]:
        """The levels this field's figures are computed at: its own and every level below it.
        Interval and ratio need numbers, ratio non-negative ones."""
        numeric = all(not isinstance(v, str) for v in values)
        out: list[Level] = []
        for level in LEVELS[: LEVELS.index(self.level) + 1]:
            if level in (Level.interval, Level.ratio) and not numeric:
                continue
            out.append(level)
        return tuple(out)


def numeric_positions(values: tuple[Value, ...]) -> Floats:
    """The numbers irrCAC's weights use: the values themselves when all are numbers, else the
    positions 1..q."""
    if values and all(not isinstance(v, str) for v in values):
        return np.array([float(v) for v in values], dtype=np.float64)
    return np.arange(1, len(values) + 1, dtype=np.float64)


def gwet_weights(kind: str, values: tuple[Value, ...]) -> Floats:
    """Agreement weights (1 on the diagonal) exactly as irrCAC's ``Weights`` defines them:
    ``identity``; ``linear`` ``1 - |x_k - x_l| / (x_max - x_min)``; ``quadratic``
    ``1 - ((x_k - x_l) / (x_max - x_min))^2`` with x the numeric values (positions for
    non-numeric scales); ``ordinal`` ``1 - C(|k - l| + 1, 2) / max`` on positions."""
    q = len(values)
    if kind == "identity":
        return np.eye(q)
    x = numeric_positions(values)
    span = float(x.max() - x.min()) if q else 0.0
    diff = x[:, None] - x[None, :]
    if kind == "linear":
        return np.asarray(1.0 - np.abs(diff) / span, dtype=np.float64)
    if kind == "quadratic":
        return np.asarray(1.0 - (diff / span) ** 2, dtype=np.float64)
    if kind == "ordinal":
        k = np.arange(q, dtype=np.float64)
        steps = np.abs(k[:, None] - k[None, :]) + 1.0
        w = steps * (steps - 1.0) / 2.0
        return np.asarray(1.0 - w / w.max(), dtype=np.float64)
    raise ValueError(f"unknown weights {kind!r}")
