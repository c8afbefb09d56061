"""Staffing a project: experts proposed for its roster, its pending work against the
roster's hours, and the open units nobody on the roster may take
(``services/assignment/staffing.py`` has the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.assignment.staffing import ProposalWhy, StuckReason


class ProposalOut(BaseModel):
    """An expert ops may invite, with what the invitation is weighed on."""

    expert_id: str
    display_name: str
    calibration: float | None = Field(
        description="the lowest rolling gold mean among the project's required skills; null: "
        "no gold score yet (proposed after the proven experts)"
    )
    spare_leases: int = Field(description="units they may take on beyond those they hold")
    hours_per_week: float
    skills: dict[str, int] = Field(description="their levels of the project's required skills")
    adjudicates: bool = Field(
        description="they hold the adjudicator's skills at the adjudicator's level too"
    )
    unblocks: int = Field(
        description="the project's blocked units (stuck, returning to nobody) they could take "
        "once on the roster; those who could take the most come first"
    )
    why: list[ProposalWhy] = Field(description="why they are proposed")


class DemandOut(BaseModel):
    """The project's pending units against its roster's hours; with proposals when the
    demand has outgrown the roster."""

    project_id: str
    pending_units: int = Field(description="review and adjudication units open or leased")
    seconds_per_unit: float = Field(
        description="the median time spent on the project's judgments, each its share of "
        "its expert's time (units held side by side count once; a default before any)"
    )
    hours_needed: float
    roster_experts: int
    roster_hours_per_week: float
    weeks_available: float = Field(
        description="until the due date (0 once passed), else the planning horizon"
    )
    hours_available: float
    weeks_to_clear: float | None = Field(
        description="at the roster's hours; null when the roster never clears the work: work "
        "is pending and it offers no hours, or the work is blocked"
    )
    stuck_units: int = Field(
        description="pending units nobody on the roster may ever take, returning to nobody "
        "(GET /v1/projects/{id}/stuck lists them)"
    )
    returning_units: int = Field(
        description="stuck units that return to a roster member who gave them back"
    )
    blocked: bool = Field(description="stuck_units > 0: no number of hours clears the work")
    outgrown: bool = Field(
        description="more hours needed than the roster has before the date, or blocked"
    )
    proposals: list[ProposalOut] = Field(
        description="when outgrown: experts to invite, best first (else empty)"
    )


class StuckUnitOut(BaseModel):
    """An open unit nobody on the project's roster may ever take, and why."""

    unit_id: str
    item_id: str
    kind: Literal["review", "adjudication"]
    created_at: datetime
    reason: StuckReason
    detail: str = Field(description="the reason in words, and what unblocks it")
    needs: dict[str, int] = Field(
        description="the level of each skill whoever takes it must hold (for an adjudication "
        "unit, the adjudicator's skills at the adjudicator's level too)"
    )
    returns_to: str | None = Field(
        description="the roster member who gave it back and is handed it again when they ask "
        "for work; null: it waits for the roster to change"
    )
