"""Staffing a project: experts proposed for its roster and its pending work against the
roster's hours (``services/assignment/staffing.py`` has the rules)."""

from __future__ import annotations

from pydantic import BaseModel, Field


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


class DemandOut(BaseModel):
    """The project's pending units against its roster's hours; with proposals when the
    demand has outgrown the roster."""

    project_id: str
    pending_units: int = Field(description="review and adjudication units open or leased")
    seconds_per_unit: float = Field(
        description="the median time spent on the project's judgments (a default before any)"
    )
    hours_needed: float
    roster_experts: int
    roster_hours_per_week: float
    weeks_available: float = Field(
        description="until the due date (0 once passed), else the planning horizon"
    )
    hours_available: float
    weeks_to_clear: float | None = Field(
        description="at the roster's hours; null when work is pending and the roster offers none"
    )
    outgrown: bool = Field(description="more hours needed than the roster has before the date")
    proposals: list[ProposalOut] = Field(
        description="when outgrown: experts to invite, best first (else empty)"
    )
