"""Qualification: the screening assessment. A set per skill and level of items with known
answers; an expert's attempt at it, served as ordinary units; its outcome and, once it is
over, each answer next to the key (this is training: nothing about it is hidden)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, Field

from services.assignment import qualification
from services.assignment.models.experts import Level, SkillId
from services.assignment.models.gold import KeyedContentIn, TolerancesIn
from shared.contracts.rubric import Answers
from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id, Modality, Name, TaxonomyRef
from shared.contracts.work import RubricRef

#: Items a set holds at most (an attempt is read whole when it is scored).
MAX_ITEMS = 200
#: A set's id: short enough that its copies' project id (``qualification:<set id>``) fits
#: the events.
SetId = Annotated[
    Id,
    Field(
        max_length=qualification.SET_ID_MAX,
        description=f"at most {qualification.SET_ID_MAX} characters: the set's copies are "
        f"filed under project {qualification.PROJECT_PREFIX}<set id>",
    ),
]


class QualificationSetIn(Strict):
    set_id: SetId
    name: Name
    skill: SkillId = Field(description="the skill a pass grants")
    level: Level = Field(description="the level a pass grants")
    modality: Modality
    rubric: RubricRef = Field(description="the rubric version the items are answered on")
    taxonomy: TaxonomyRef | None = Field(None, description="the classes corrected labels use")
    threshold: float = Field(ge=0, le=1, description="the mean item score a pass needs")
    items: list[KeyedContentIn] = Field(min_length=1, max_length=MAX_ITEMS)


class QualificationItem(BaseModel):
    #: what the expert is shown, in the shape of a registered item's content
    content: dict[str, Any]
    key: Answers
    tolerances: TolerancesIn


class QualificationSet(BaseModel):
    set_id: str
    tenant: str
    name: str
    skill: str
    level: int
    modality: Modality
    rubric: RubricRef
    taxonomy: TaxonomyRef | None
    threshold: float
    items: list[QualificationItem]
    active: bool = True
    created_at: datetime
    created_by: str


class QualificationSetSummary(BaseModel):
    """A set as listed: everything but its items (and their keys)."""

    set_id: str
    name: str
    skill: str
    level: int
    modality: Modality
    rubric: RubricRef
    threshold: float
    items: int
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, found: QualificationSet) -> QualificationSetSummary:
        return cls.model_validate({**found.model_dump(), "items": len(found.items)})


class QualificationPatch(Strict):
    active: bool = Field(description="false: retired, no new attempts")


class AttemptState(StrEnum):
    open = "open"
    passed = "passed"
    failed = "failed"


class EnrolIn(Strict):
    set_id: SetId


class Attempt(BaseModel):
    """An expert's attempt at a set: its items are handed out in order, one copy each."""

    tenant: str
    set_id: str
    expert_id: str
    skill: str
    level: int
    items: int
    state: AttemptState = AttemptState.open
    #: the index of the next item to hand out
    next: int = 0
    score: float | None = None
    answered: int | None = None
    enrolled_at: datetime
    enrolled_by: str
    finished_at: datetime | None = None


class ItemReview(BaseModel):
    """One item of a finished attempt: what was shown, the expert's answers and the key."""

    index: int
    content: dict[str, Any]
    answers: Answers | None = Field(description="null: given back unjudged (scored 0)")
    key: Answers
    score: float
    fields: dict[str, bool] = Field(description="each field the key sets -> correct")


class AttemptReview(BaseModel):
    attempt: Attempt
    items: list[ItemReview] = Field(
        description="each answer next to the key, in the set's order, once the attempt is "
        "over (empty before)"
    )
