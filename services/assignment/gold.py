"""Gold scoring, free of I/O: an expert's answers on a gold item against its key, field by
field, as the ``gold.scored`` event carries them.

A field is scored when the key sets it: a verdict or severity that is not None, each rating
dimension the key rates, flags and labels when the key lists some (or, for the fields named
in :attr:`GoldTolerances.empty_is_answer`, always). One flag is scored of its own
(``flags.<flag>``: the answer raises it exactly when the key does) when the tolerances name
it decisive or weigh it, whatever flags the key lists. The justification is never scored.

The score is the weighted share of the fields correct (each weighs 1 unless
:attr:`GoldTolerances.weights` says otherwise), and 0 when a **decisive** field is wrong:
by default the verdict and the severity, and with the tolerances a gold item is registered
with, each of its rubric's gate and safety flags (:func:`default_decisive`). So accepting
an edit the key rejects, or missing the key's ``unsafe``, scores 0 however close the ratings.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from shared.annotation import EPSILON
from shared.annotation.geometry import iou
from shared.annotation.matching import match_labels
from shared.contracts.rubric import Answers, RubricDefinition
from shared.errors import FieldError

#: The list fields whose empty value in a key may be an answer of its own.
LIST_FIELDS = frozenset({"labels", "flags"})
#: A scored field's name, as ``GoldScore.fields``, weights and decisive fields name it:
#: ``verdict``, ``severity``, ``flags``, ``labels``, ``ratings.<dimension>`` or
#: ``flags.<flag>`` (one flag).
FIELD_PATTERN = r"^(verdict|severity|flags|labels|(ratings|flags)\.[A-Za-z0-9_][A-Za-z0-9_-]*)$"
_FIELD = re.compile(FIELD_PATTERN)
#: The fields decisive unless the tolerances say otherwise: wrong, the item scores 0.
DEFAULT_DECISIVE = frozenset({"verdict", "severity"})
#: Most a field may weigh.
MAX_WEIGHT = 100.0


def is_field_name(name: str) -> bool:
    """Whether ``name`` names a field :func:`score` may score (see :data:`FIELD_PATTERN`)."""
    return _FIELD.fullmatch(name) is not None


def _flag_of(name: str) -> str | None:
    """The flag a ``flags.<flag>`` field is about; None for any other field."""
    return name.removeprefix("flags.") if name.startswith("flags.") else None


def default_decisive(rubric: RubricDefinition) -> frozenset[str]:
    """The decisive fields of a gold item on ``rubric`` when ops name none: the verdict, the
    severity, and ``flags.<flag>`` for each of the rubric's gate flags and flags that need a
    severity (``flags.unsafe``): the safety calls a gold item is there to check."""
    safety = {f"flags.{f.name}" for f in rubric.flags if f.gate or f.requires_severity}
    return DEFAULT_DECISIVE | safety


@dataclass(frozen=True)
class GoldTolerances:
    """How close an answer must be to the key to count as correct."""

    #: points a rating may differ from the key's
    rating: int = 1
    #: rating dimension -> points, where it differs from ``rating``
    ratings: Mapping[str, int] = dataclasses.field(default_factory=dict)
    #: a geometry label matches the key's at this IoU or more
    iou_threshold: float = 0.5
    #: a segment matches the key's with its start and end this close (seconds)
    onset_tolerance_s: float = 0.5
    offset_tolerance_s: float = 0.5
    #: list fields (``labels``, ``flags``) scored even when the key's list is empty: an
    #: image with no objects, an item with no flags; otherwise an empty list is not scored
    empty_is_answer: frozenset[str] = frozenset()
    #: scored field -> weight, where not 1 (above 0, at most :data:`MAX_WEIGHT`); a weighed
    #: ``flags.<flag>`` is scored
    weights: Mapping[str, float] = dataclasses.field(default_factory=dict)
    #: fields that, wrong, score the item 0 whatever the others; a decisive ``flags.<flag>``
    #: is scored; another field the key does not score decides nothing
    decisive: frozenset[str] = DEFAULT_DECISIVE

    def __post_init__(self) -> None:
        problems = [
            name
            for name, ok in (
                ("rating", self.rating >= 0),
                ("ratings", all(v >= 0 for v in self.ratings.values())),
                ("iou_threshold", 0.0 <= self.iou_threshold <= 1.0),
                ("onset_tolerance_s", self.onset_tolerance_s >= 0),
                ("offset_tolerance_s", self.offset_tolerance_s >= 0),
                ("empty_is_answer", self.empty_is_answer <= LIST_FIELDS),
                (
                    "weights",
                    all(
                        is_field_name(k) and math.isfinite(w) and 0 < w <= MAX_WEIGHT
                        for k, w in self.weights.items()
                    ),
                ),
                ("decisive", all(is_field_name(name) for name in self.decisive)),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"out of range: {', '.join(problems)}")


@dataclass(frozen=True)
class GoldScore:
    """Per-field correctness and the score."""

    #: ``verdict``, ``ratings.<dim>``, ``severity``, ``flags``, ``flags.<flag>``,
    #: ``labels`` -> correct
    fields: dict[str, bool]
    score: float
    #: the decisive fields wrong: with one, the score is 0
    missed: tuple[str, ...] = ()


def score(answer: Answers, key: Answers, *, tolerances: GoldTolerances) -> GoldScore:
    """Each field the key sets, scored against the answer:

    * ``verdict``, ``severity``: equal;
    * ``ratings.<dim>``: the answer rates the dimension within the tolerance;
    * ``flags``: the same set of flags;
    * ``flags.<flag>`` (decisive or weighed): raised by both or by neither;
    * ``labels``: every key label matched one to one by an answer label and no answer label
      left over, matched as :func:`shared.annotation.matching.match_labels` matches them
      (same class, part and text; geometry at the IoU threshold, segments within the
      tolerances).

    The score is 0 when a decisive field is wrong, else the weighted share of the fields
    correct. Raises ValueError when the key sets no field.
    """
    fields: dict[str, bool] = {}
    if key.verdict is not None:
        fields["verdict"] = answer.verdict == key.verdict
    for dimension in sorted(key.ratings):
        limit = tolerances.ratings.get(dimension, tolerances.rating)
        given = answer.ratings.get(dimension)
        fields[f"ratings.{dimension}"] = (
            given is not None and abs(given - key.ratings[dimension]) <= limit
        )
    if key.severity is not None:
        fields["severity"] = answer.severity == key.severity
    if key.flags or "flags" in tolerances.empty_is_answer:
        fields["flags"] = set(answer.flags) == set(key.flags)
    named = tolerances.decisive | set(tolerances.weights)
    for flag in sorted(f for f in map(_flag_of, named) if f is not None):
        fields[f"flags.{flag}"] = (flag in answer.flags) == (flag in key.flags)
    if key.labels or "labels" in tolerances.empty_is_answer:
        pairs = match_labels(
            answer.labels,
            key.labels,
            iou_threshold=tolerances.iou_threshold,
            onset_tolerance_s=tolerances.onset_tolerance_s,
            offset_tolerance_s=tolerances.offset_tolerance_s,
        )
        fields["labels"] = len(pairs) == len(key.labels) == len(answer.labels)
    if not fields:
        raise ValueError("the key sets no field to score")
    missed = tuple(name for name, ok in fields.items() if not ok and name in tolerances.decisive)
    if missed:
        return GoldScore(fields, 0.0, missed)
    weights = {name: tolerances.weights.get(name, 1.0) for name in fields}
    right = sum(weights[name] for name, ok in fields.items() if ok)
    return GoldScore(fields, right / sum(weights.values()))


def _unmatched_by_itself(
    key: Answers, itself: GoldScore, tolerances: GoldTolerances
) -> list[FieldError]:
    """The fields of ``key`` that its own answers would get wrong (``itself``: the key
    scored against the key): each label whose geometry does not match itself at the IoU
    threshold (a polygon without area, a box too small to measure, a malformed or empty
    mask), or the field as a whole."""
    errors = []
    for name, right in itself.fields.items():
        if right:
            continue
        if name != "labels":
            errors.append(FieldError(field=f"key.{name}", message="the key does not match itself"))
            continue
        found = [
            FieldError(
                field=f"key.labels.{i}.geometry",
                message="this shape does not match itself (no area to overlap: a degenerate "
                "polygon, a box too small to measure, a malformed or empty mask): no answer "
                "could ever match it",
            )
            for i, label in enumerate(key.labels)
            if label.geometry is not None
            and iou(label.geometry, label.geometry) < tolerances.iou_threshold - EPSILON
        ]
        errors += found or [
            FieldError(field="key.labels", message="the key's labels do not match themselves")
        ]
    return errors


def key_errors(
    key: Answers, tolerances: GoldTolerances, *, flags: Collection[str]
) -> list[FieldError]:
    """Why ``key`` cannot score as the tolerances say (empty: it can): it must set a field
    :func:`score` scores, under the tolerances' ``empty_is_answer``, and score 1 against
    itself (a label whose shape has no area, or a malformed mask, matches nothing: not even
    the key); the IoU threshold must be above 0 (at 0 disjoint shapes match); a
    per-dimension tolerance must be for a dimension the key rates; a weight for a field the
    key scores; a ``flags.<flag>`` weighed or decisive for one of the rubric's ``flags``."""
    errors = []
    if tolerances.iou_threshold <= 0:
        errors.append(
            FieldError(
                field="tolerances.iou_threshold",
                message="must be above 0: at 0 any two shapes match, even disjoint ones",
            )
        )
    try:
        itself = score(key, key, tolerances=tolerances)
        scored = set(itself.fields)
        errors += _unmatched_by_itself(key, itself, tolerances)
    except ValueError:
        scored = set()
        errors.append(
            FieldError(
                field="key",
                message="the key sets no field to score: give a verdict, ratings, a severity, "
                "flags or labels",
            )
        )
    for dimension in sorted(set(tolerances.ratings) - set(key.ratings)):
        errors.append(
            FieldError(
                field=f"tolerances.ratings.{dimension}",
                message=f"the key does not rate {dimension!r}: a tolerance for it scores nothing",
            )
        )
    for name in sorted(tolerances.decisive):
        flag = _flag_of(name)
        if flag is not None and flag not in flags:
            errors.append(
                FieldError(
                    field="tolerances.decisive",
                    message=f"{name!r}: the rubric has no flag {flag!r}",
                )
            )
    for name in sorted(tolerances.weights):
        flag = _flag_of(name)
        if flag is not None and flag not in flags:
            message = f"the rubric has no flag {flag!r}"
        elif flag is None and name not in scored:
            message = f"the key does not score {name!r}: a weight for it counts nothing"
        else:
            continue
        errors.append(FieldError(field=f"tolerances.weights.{name}", message=message))
    return errors
