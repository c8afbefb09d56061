"""Invitations to a project's roster: ops invite an expert, the expert accepts or declines;
only the roster (accepted invitations) gets the project's work."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from services.assignment.models.experts import ExpertId
from shared.contracts.spec import Strict


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
