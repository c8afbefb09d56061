"""Gold scoring, free of I/O: an expert's answers on a gold item against its key, field by
field, as the ``gold.scored`` event carries them.

A field is scored when the key sets it: a verdict or severity that is not None, each rating
dimension the key rates, flags and labels when the key lists some (or, for the fields named
in :attr:`GoldTolerances.empty_is_answer`, always). The justification is never scored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from services.assignment.agreement import match_labels
from shared.contracts.rubric import Answers
from shared.errors import FieldError

#: The list fields whose empty value in a key may be an answer of its own.
LIST_FIELDS = frozenset({"labels", "flags"})


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
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"out of range: {', '.join(problems)}")


@dataclass(frozen=True)
class GoldScore:
    """Per-field correctness and the share of fields correct."""

    #: ``verdict``, ``ratings.<dim>``, ``severity``, ``flags``, ``labels`` -> correct
    fields: dict[str, bool]
    score: float


def score(answer: Answers, key: Answers, *, tolerances: GoldTolerances) -> GoldScore:
    """Each field the key sets, scored against the answer:

    * ``verdict``, ``severity``: equal;
    * ``ratings.<dim>``: the answer rates the dimension within the tolerance;
    * ``flags``: the same set of flags;
    * ``labels``: every key label matched one to one by an answer label and no answer label
      left over, matched as :func:`services.assignment.agreement.match_labels` matches them
      (same class, part and text; geometry at the IoU threshold, segments within the
      tolerances).

    The score is the share of fields correct. Raises ValueError when the key sets no field.
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
    return GoldScore(fields, sum(fields.values()) / len(fields))


def key_errors(key: Answers, tolerances: GoldTolerances) -> list[FieldError]:
    """Why ``key`` cannot score anything (empty: it can): it must set a field :func:`score`
    scores, under the tolerances' ``empty_is_answer``; a per-dimension tolerance must be
    for a dimension the key rates."""
    errors = []
    try:
        score(key, key, tolerances=tolerances)
    except ValueError:
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
    return errors
