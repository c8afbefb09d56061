"""Qualification rules, free of I/O: the ids of an expert's copies of a set's items, whether
an attempt is over, and its outcome against the set's threshold.

An attempt serves the set's items in order, one copy per item for the expert. It is over
when every item has a copy that is judged or given back; an item given back unjudged scores
0 (the assessment asks for every item), so the score is the mean over all the set's items.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from shared.contracts.spec import max_length
from shared.contracts.work import WorkUnitEventV1

#: The namespace of qualification copies' ids (uuid5, like registered items' ids).
COPY_NAMESPACE = uuid.UUID("5b0f1c4e-8a3d-4c61-9e2f-7d4a1b6c3e90")
#: Copies' items are filed under this prefix and the set id, so no project can own them
#: (project ids may not start with it).
PROJECT_PREFIX = "qualification:"
#: The longest set id: a copy's ``project_id`` (the prefix and the set id) is published in
#: events whose project ids take at most this many characters less the prefix.
SET_ID_MAX = max_length(WorkUnitEventV1, "project_id") - len(PROJECT_PREFIX)


def project_of(set_id: str) -> str:
    """Where a set's copies are filed (their ``project_id``)."""
    return f"{PROJECT_PREFIX}{set_id}"


def is_copy_project(project_id: str) -> bool:
    """Whether ``project_id`` files qualification copies (no project may take the prefix)."""
    return project_id.startswith(PROJECT_PREFIX)


def copy_id(tenant: str, set_id: str, expert_id: str, index: int) -> str:
    """The id of the expert's copy of the set's item ``index``: one copy per item and expert,
    on any replica (the copy is inserted under this id)."""
    return str(uuid.uuid5(COPY_NAMESPACE, f"{tenant}\x1f{set_id}\x1f{expert_id}\x1f{index}"))


@dataclass(frozen=True)
class Outcome:
    score: float
    passed: bool
    answered: int
    items: int


def outcome(scores: Sequence[float | None], threshold: float) -> Outcome:
    """The attempt's result from each item's score (None: given back unjudged, scores 0)."""
    if not scores:
        raise ValueError("a qualification set has at least one item")
    answered = [s for s in scores if s is not None]
    score = sum(answered) / len(scores)
    # rounding keeps a mean that is the threshold on paper (e.g. 7 of 10 at 0.7) a pass
    return Outcome(
        score=score,
        passed=round(score, 9) >= threshold,
        answered=len(answered),
        items=len(scores),
    )
