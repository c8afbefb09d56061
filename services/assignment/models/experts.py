"""Experts: profile, skills with their proofs, capacity, vetting state and audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from services.assignment.eligibility import MAX_LEVEL, MIN_LEVEL, VettingState, skill_id_errors
from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id

#: An expert's id is the ``sub`` of their tokens.
ExpertId = Id
Level = Annotated[int, Field(ge=MIN_LEVEL, le=MAX_LEVEL, description="1 (novice) to 5")]
#: A BCP 47 language tag (``en``, ``ja``, ``pt-BR``).
Language = Annotated[
    str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$", max_length=35)
]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2_000, strip_whitespace=True)]
DisplayName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


def _known_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
    return name


def _skill_id(value: str) -> str:
    errors = skill_id_errors(value)
    if errors:
        raise ValueError("; ".join(errors))
    return value


Timezone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_known_timezone)]
SkillId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256),
    AfterValidator(_skill_id),
]


class Capacity(BaseModel):
    max_leases: int = Field(3, ge=1, le=50, description="units an expert may hold at once")
    hours_per_week: float = Field(20, ge=0, le=168)


class SkillProof(BaseModel):
    """How a skill level was established: a qualification result or an ops attestation."""

    method: Literal["qualification", "attestation"]
    at: datetime
    by: str = Field(description="who attested, or the qualification set that was passed")
    note: str | None = None
    score: float | None = Field(None, ge=0, le=1, description="the qualification score")


class Skill(BaseModel):
    skill: SkillId
    level: Level
    verified: SkillProof


class StateChange(BaseModel):
    """One entry of an expert's audit trail."""

    from_state: VettingState | None
    to_state: VettingState
    by: str
    at: datetime
    reason: str


class Expert(BaseModel):
    expert_id: ExpertId
    tenant: str
    display_name: str
    languages: list[Language]
    timezone: str
    capacity: Capacity
    skills: list[Skill]
    state: VettingState
    history: list[StateChange]
    revision: int
    created_at: datetime


class SkillIn(Strict):
    """A skill an expert is onboarded with, at a level, and its proof: ops' attestation."""

    skill: SkillId
    level: Level
    note: Reason = Field(description="why ops vouch for it: the proof, e.g. a certificate")


#: The vetting states an expert may be onboarded in (the moves to it are recorded).
OnboardingState = Literal["invited", "vetting", "vetted"]


class ExpertIn(Strict):
    """An onboarding: the profile, skills with their proof, and the vetting state, in one
    call. The same body again for the expert id is the same onboarding (200); another body
    for it is a 409 naming what differs."""

    expert_id: ExpertId = Field(description="the `sub` of the expert's tokens")
    display_name: DisplayName
    languages: list[Language] = Field(default_factory=list, max_length=20)
    timezone: Timezone = "UTC"
    capacity: Capacity = Field(default_factory=Capacity)
    skills: list[SkillIn] = Field(
        default_factory=list, max_length=50, description="attested at onboarding, each once"
    )
    state: OnboardingState = Field(
        "invited",
        description="invited (the default), or vetting or vetted: each move from invited "
        "is recorded with `reason`",
    )
    reason: Reason | None = Field(None, description="why; required beyond invited")


class ExpertPatch(Strict):
    display_name: DisplayName | None = None
    languages: list[Language] | None = Field(None, max_length=20)
    timezone: Timezone | None = None
    capacity: Capacity | None = None


class StateChangeIn(Strict):
    state: VettingState
    reason: Reason


class AttestationIn(Strict):
    """Ops vouch for a skill at a level (without a qualification)."""

    level: Level
    note: Reason
