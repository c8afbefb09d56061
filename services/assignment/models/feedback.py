"""Guideline feedback: an expert's note on a unit about its rubric or its taxonomy version,
in ops' queue until they resolve it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id, Name, TaxonomyRef
from shared.contracts.work import FeedbackAbout, FeedbackKind, RubricRef


class FeedbackStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class FeedbackIn(Strict):
    """Idempotent by ``submission_id``: the same id again answers with the feedback it made."""

    submission_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    about: FeedbackAbout
    kind: FeedbackKind
    text: Annotated[str, StringConstraints(min_length=1, max_length=5_000, strip_whitespace=True)]
    class_ids: list[Id] = Field(default_factory=list, max_length=50)
    proposed_class: Name | None = None


class Feedback(BaseModel):
    feedback_id: str
    submission_id: str
    tenant: str
    project_id: str
    item_id: str
    unit_id: str
    expert_id: str
    about: FeedbackAbout
    kind: FeedbackKind
    text: str
    class_ids: list[str]
    proposed_class: str | None
    rubric: RubricRef
    taxonomy: TaxonomyRef | None
    submitted_at: datetime
    status: FeedbackStatus = FeedbackStatus.open
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None


class ResolveIn(Strict):
    note: Annotated[str, StringConstraints(min_length=1, max_length=2_000, strip_whitespace=True)]
