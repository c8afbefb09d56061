"""Projects: what is reviewed (modality, taxonomy version), against which rubric version,
by whom (required skills) and how (overlap, gold, adjudication, calibration, leases)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, Field, StringConstraints

from services.assignment import calibration, leasing, qualification
from services.assignment.models.experts import Level, SkillId
from services.assignment.models.rubrics import RubricId
from shared.contracts.spec import Strict
from shared.contracts.vocabulary import Id, Modality, TaxonomyRef
from shared.contracts.work import AdjudicationPolicy, OverlapSpec, ProjectStatus, RubricRef

ProjectName = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Share = Annotated[float, Field(ge=0, le=1)]


class CalibrationPolicy(Strict):
    floor: Share = Field(0.7, description="below this rolling gold score an expert is benched")
    min_count: int = Field(
        5,
        ge=1,
        le=100,
        description="gold scores before the floor applies: at most the calibration window "
        f"({calibration.DEFAULT_WINDOW} scores), as more are never reached",
    )


class OverlapIn(Strict):
    k: int = Field(1, ge=1, le=50, description="distinct experts per item")
    iaa_share: Share = Field(0.0, description="share of items in the agreement sample")
    k_iaa: int | None = Field(None, ge=1, le=50, description="experts per sampled item (k)")
    dynamic: bool = Field(False, description="add judgments one at a time on disagreement")
    k_max: int | None = Field(None, ge=1, le=50, description="most experts dynamic adds up to (k)")

    def resolved(self) -> OverlapSpec:
        return OverlapSpec(
            k=self.k,
            iaa_share=self.iaa_share,
            k_iaa=self.k if self.k_iaa is None else self.k_iaa,
            dynamic=self.dynamic,
            k_max=self.k if self.k_max is None else self.k_max,
        )


class RubricChoice(Strict):
    rubric_id: RubricId
    version: int | None = Field(None, ge=1, description="a version; none: the latest now")


class ProjectSettings(Strict):
    """What ops set on a project (all of it but its id and status)."""

    name: ProjectName
    modality: Modality
    taxonomy: TaxonomyRef | None = None
    rubric: RubricChoice
    required_skills: dict[SkillId, Level] = Field(default_factory=dict, max_length=50)
    overlap: OverlapIn = Field(default_factory=OverlapIn)
    gold_rate: Share = 0.0
    adjudication: AdjudicationPolicy = Field(default_factory=AdjudicationPolicy)
    calibration: CalibrationPolicy = Field(default_factory=CalibrationPolicy)
    lease_ttl_s: int = Field(
        leasing.DEFAULT_TTL_S,
        ge=leasing.MIN_TTL_S,
        le=leasing.MAX_TTL_S,
        description="seconds a lease lasts",
    )
    lease_max_life_s: int | None = Field(
        None,
        ge=5,
        le=leasing.MAX_LIFE_LIMIT_S,
        description="seconds from the handout after which heartbeats no longer extend a lease "
        f"(at least the lease TTL); none: {leasing.MAX_LIFE_PER_TTL} times the lease TTL",
    )
    priority_weight: float = Field(1.0, gt=0, le=1_000, description="share of handouts")
    due_at: AwareDatetime | None = None


def _not_reserved(project_id: str) -> str:
    if qualification.is_copy_project(project_id):
        raise ValueError(f"project ids may not start with {qualification.PROJECT_PREFIX!r}")
    return project_id


class ProjectIn(ProjectSettings):
    project_id: Annotated[Id, AfterValidator(_not_reserved)]


class ProjectPatch(Strict):
    """Fields to change; the others keep their values."""

    name: ProjectName | None = None
    taxonomy: TaxonomyRef | None = None
    rubric: RubricChoice | None = None
    required_skills: dict[SkillId, Level] | None = Field(None, max_length=50)
    overlap: OverlapIn | None = None
    gold_rate: Share | None = None
    adjudication: AdjudicationPolicy | None = None
    calibration: CalibrationPolicy | None = None
    lease_ttl_s: int | None = Field(None, ge=leasing.MIN_TTL_S, le=leasing.MAX_TTL_S)
    lease_max_life_s: int | None = Field(
        None, ge=5, le=leasing.MAX_LIFE_LIMIT_S, description="null: back to the default"
    )
    priority_weight: float | None = Field(None, gt=0, le=1_000)
    due_at: AwareDatetime | None = None


class StatusIn(Strict):
    status: ProjectStatus
    reason: str = Field("", max_length=2_000)


class Project(BaseModel):
    project_id: str
    tenant: str
    name: str
    modality: Modality
    taxonomy: TaxonomyRef | None
    rubric: RubricRef = Field(description="the rubric version new units use")
    required_skills: dict[str, int]
    overlap: OverlapSpec
    gold_rate: float
    adjudication: AdjudicationPolicy
    calibration: CalibrationPolicy
    lease_ttl_s: int
    #: None: ``leasing.MAX_LIFE_PER_TTL`` TTLs (projects stored before it had none)
    lease_max_life_s: int | None = None
    priority_weight: float
    due_at: datetime | None
    status: ProjectStatus
    revision: int
    created_at: datetime
    changed_at: datetime
    changed_by: str


class UnitCounts(BaseModel):
    open: int = 0
    leased: int = 0
    done: int = 0


class Progress(BaseModel):
    """A project's progress as its client sees it: counts only, never who."""

    project_id: str
    status: ProjectStatus
    items: int
    units: UnitCounts
    adjudication_units: UnitCounts
    resolved: dict[str, int] = Field(description="resolved items by method")
    unresolved: int
