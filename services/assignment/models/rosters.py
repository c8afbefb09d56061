"""Invitations to a project's roster: ops invite an expert, the expert accepts or declines;
only the roster (accepted invitations) gets the project's work."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from services.assignment.models.experts import ExpertId
from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id
from shared.errors import FieldError


class InvitationState(StrEnum):
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    removed = "removed"


class Invitation(BaseModel):
    project_id: str
    expert_id: str
    state: InvitationState
    invited_by: str
    invited_at: datetime
    answered_at: datetime | None = None


class InvitationIn(Strict):
    expert_id: ExpertId


#: Experts one call may invite.
MAX_BATCH = 500


class InvitationBatchIn(Strict):
    """Many experts invited to a project in one call, under an id of the caller's choosing:
    the same body again under it answers the first answer; another body is a 409."""

    batch_id: Id = Field(description="your id for this call, to repeat it safely")
    expert_ids: list[ExpertId] = Field(min_length=1, max_length=MAX_BATCH)


class InvitationOutcome(BaseModel):
    """What a batch did for one expert: ``invited`` (now, or again after they declined or
    were removed), ``unchanged`` (invited or on the roster already), or ``refused`` (not
    known, or offboarded: ``errors`` says why)."""

    expert_id: str
    outcome: Literal["invited", "unchanged", "refused"]
    invitation: Invitation | None = None
    errors: list[FieldError] | None = None


class InvitationBatch(BaseModel):
    batch_id: str
    project_id: str
    invited_by: str
    at: datetime
    invited: int
    unchanged: int
    refused: int
    results: list[InvitationOutcome]
