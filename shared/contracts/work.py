"""Event contracts of assignment: projects, the work-unit lifecycle, judgments, resolutions.

Everything about one media item (work units, judgments, gold scores, the
resolution) shares the ``quorum.work`` topic and is keyed by item id, so one
partition sees an item's whole review history in order.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import Field

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.contracts.vocabulary import (
    Count,
    Id,
    Label,
    Modality,
    Name,
    Severity,
    TaxonomyRef,
    TenantId,
)

PRODUCER = "assignment"

PROJECTS = Topic(
    "quorum.projects", summary="Project configuration changes", key="tenant/project id"
)
WORK = Topic(
    "quorum.work",
    summary="Work-unit lifecycle, judgments, gold scores and resolutions",
    key="item id",
)
EXPERTS = Topic(
    "quorum.experts",
    summary="Experts' standing on projects: benched by their gold calibration, reinstated by ops",
    key="tenant/expert id",
)


class ProjectStatus(StrEnum):
    draft = "draft"
    active = "active"
    paused = "paused"
    closed = "closed"


class RubricDimension(Contract):
    name: Id
    description: str = Field("", max_length=10_000)
    scale_min: int = Field(1, ge=-1_000, le=1_000)
    scale_max: int = Field(5, ge=-1_000, le=1_000)


class AdjudicationPolicy(Contract):
    min_agreement: float = Field(
        2 / 3, ge=0, le=1, description="share of judgments that must agree to resolve by consensus"
    )
    adjudicator_skill: Name | None = Field(
        None,
        description="the skill an adjudicator holds at adjudicator_min_level (a skill id as "
        "experts' skills have, e.g. role.adjudicator); none: each required skill, or "
        "modality.<modality> when the project requires none",
    )
    max_rating_spread: int = Field(
        1, ge=0, le=1_000, description="largest spread of a dimension's ratings that agrees"
    )
    iou_threshold: float = Field(0.5, ge=0, le=1, description="boxes and polygons that match")
    onset_tolerance_s: float = Field(0.5, ge=0, le=3_600, description="time segments that match")
    offset_tolerance_s: float = Field(0.5, ge=0, le=3_600)
    escalate_flags: list[Name] = Field(
        default_factory=list, max_length=50, description="flags that always go to adjudication"
    )
    audit_rate: float = Field(
        0.0, ge=0, le=1, description="share of consensus-resolved items adjudicated anyway"
    )
    adjudicator_min_level: int = Field(
        4, ge=1, le=5, description="the level an adjudicator holds the adjudicator's skills at"
    )
    escalate_severity: Severity | None = Field(
        Severity.critical,
        description="a judgment reporting this severity or a more severe one sends the item "
        "to adjudication, even a single judge among several (null: severity never escalates)",
    )


class OverlapSpec(Contract):
    """How many distinct experts judge an item: ``k``; an agreement sample (``iaa_share`` of
    items) gets ``k_iaa``; with ``dynamic``, a disagreement adds one at a time up to ``k_max``."""

    k: int = Field(1, ge=1, le=50)
    iaa_share: float = Field(0.0, ge=0, le=1)
    k_iaa: int = Field(1, ge=1, le=50)
    dynamic: bool = False
    k_max: int = Field(1, ge=1, le=50)


class RubricRef(Contract):
    rubric_id: Id
    version: Count = Field(ge=1)


class ProjectChangedV1(Contract):
    project_id: Id
    tenant: TenantId
    name: str = Field(max_length=200)
    modality: Modality
    taxonomy: TaxonomyRef | None = None
    rubric: list[RubricDimension] = Field(default_factory=list, max_length=100)
    overlap: int = Field(1, ge=1, le=50, description="distinct experts per item")
    gold_ratio: float = Field(0.0, ge=0, le=1, description="share of work units that are gold")
    adjudication: AdjudicationPolicy = Field(default_factory=AdjudicationPolicy)
    required_skills: list[Name] = Field(default_factory=list, max_length=100)
    status: ProjectStatus
    revision: Count = Field(ge=1, description="increases with every change")
    changed_at: datetime
    # added compatibly: absent from events published before them
    rubric_ref: RubricRef | None = Field(None, description="the rubric version new units use")
    skill_levels: dict[Name, int] = Field(
        default_factory=dict, max_length=100, description="required skill -> minimum level"
    )
    overlap_policy: OverlapSpec | None = None
    lease_ttl_s: int = Field(1_800, ge=5, le=7 * 86_400)
    priority_weight: float = Field(1.0, gt=0, le=1_000)
    due_at: datetime | None = None
    lease_max_life_s: int | None = Field(
        None,
        ge=5,
        le=30 * 86_400,
        description="seconds from the handout after which heartbeats no longer extend a lease; "
        "none: 4 times lease_ttl_s",
    )


class WorkKind(StrEnum):
    review = "review"
    gold = "gold"
    adjudication = "adjudication"


class WorkUnitEventV1(Contract):
    unit_id: Id
    item_id: Id
    project_id: Id
    tenant: TenantId
    kind: WorkKind
    expert_id: Id | None = None
    lease_expires_at: datetime | None = None
    reason: str | None = Field(None, max_length=2_000)
    at: datetime


class Verdict(StrEnum):
    accept = "accept"
    correct = "correct"
    reject = "reject"
    infeasible = "infeasible"


class JudgmentSubmittedV1(Contract):
    judgment_id: Id
    unit_id: Id
    item_id: Id
    project_id: Id
    tenant: TenantId
    expert_id: Id
    kind: WorkKind
    verdict: Verdict | None = Field(
        None, description="none when the rubric offers no verdict (it rates only)"
    )
    labels: list[Label] = Field(default_factory=list, max_length=2_000)
    ratings: dict[Name, float] = Field(
        default_factory=dict, max_length=100, description="rubric dimension -> score"
    )
    severity: Severity = Severity.none
    flags: list[Name] = Field(
        default_factory=list,
        max_length=50,
        description="e.g. edge_case, rare_class, ambiguous, occlusion, safety",
    )
    justification: str = Field("", max_length=20_000)
    time_spent_s: float = Field(ge=0, le=10**7)
    taxonomy: TaxonomyRef | None = None
    submitted_at: datetime
    # added compatibly: absent from events published before it
    rubric_ref: RubricRef | None = Field(None, description="the rubric version answered")
    effective_labels: list[Label] | None = Field(
        None,
        max_length=2_000,
        description="the labels the judgment stands for: its corrected labels when given, "
        "else the item's pre-labels when it accepts them, none on reject or infeasible "
        "(absent from events published before it)",
    )


class GoldScoredV1(Contract):
    judgment_id: Id
    unit_id: Id
    item_id: Id
    project_id: Id
    tenant: TenantId
    expert_id: Id
    fields: dict[Name, bool] = Field(
        max_length=200, description="per-field correctness against the gold answer"
    )
    score: float = Field(ge=0, le=1)
    scored_at: datetime


class ExpertBenchedV1(Contract):
    tenant: TenantId
    expert_id: Id
    project_id: Id
    skills: dict[Name, float] = Field(
        min_length=1, max_length=100, description="skill -> rolling gold score below the floor"
    )
    floor: float = Field(ge=0, le=1)
    min_count: int = Field(ge=1, le=1_000, description="gold scores the floor applies after")
    benched_at: datetime


class ExpertReinstatedV1(Contract):
    tenant: TenantId
    expert_id: Id
    project_id: Id
    by: Id
    reason: str = Field(max_length=2_000)
    reinstated_at: datetime


class ExpertQualifiedV1(Contract):
    """The outcome of an expert's qualification attempt: passed grants the skill at the level."""

    tenant: TenantId
    expert_id: Id
    set_id: Id
    skill: Name
    level: int = Field(ge=1, le=5)
    score: float = Field(ge=0, le=1, description="the mean item score (unanswered items: 0)")
    threshold: float = Field(ge=0, le=1)
    passed: bool
    answered: Count
    items: Count
    finished_at: datetime


class FeedbackAbout(StrEnum):
    rubric = "rubric"
    taxonomy = "taxonomy"


class FeedbackKind(StrEnum):
    unclear_guideline = "unclear_guideline"
    missing_class = "missing_class"
    contradictory_example = "contradictory_example"
    other = "other"


class FeedbackSubmittedV1(Contract):
    """An expert's feedback on a unit about its rubric or its taxonomy version."""

    feedback_id: Id
    tenant: TenantId
    project_id: Id
    item_id: Id
    unit_id: Id
    expert_id: Id
    about: FeedbackAbout
    kind: FeedbackKind
    text: str = Field(min_length=1, max_length=5_000)
    class_ids: list[Id] = Field(
        default_factory=list, max_length=50, description="the taxonomy classes it concerns"
    )
    proposed_class: Name | None = Field(None, description="a missing class's suggested name")
    rubric_ref: RubricRef
    taxonomy: TaxonomyRef | None = None
    submitted_at: datetime


class Resolution(StrEnum):
    consensus = "consensus"
    adjudication = "adjudication"
    single = "single"
    #: ops replaced the outcome, with a reason (``revised_by``, ``revision_reason``)
    override = "override"


class Escalation(Contract):
    """Why an item went to adjudication."""

    code: Literal["disagreement", "flag", "severity", "audit", "too_many_labels", "reopened"]
    field: Name = Field(
        description="``verdict``, ``labels.<kind>``, ``ratings.<dimension>``, "
        "``flags.<flag>``, ``severity``, ``audit``, ``labels``, or ``resolution`` (ops sent it back)"
    )
    message: str = Field(max_length=2_000)


#: The most labels an outcome carries (``item.resolved``, and so the client's item).
MAX_FINAL_LABELS = 2_000


class ItemResolvedV1(Contract):
    """An item's outcome. Labels are effective labels (corrected labels, or the pre-labels
    a judgment accepted; none on reject or infeasible); ratings are the median of the
    judgments' points per dimension (the midpoint of the two middle points for an even count,
    so 3 and 4 give 3.5), with their spread beside them."""

    item_id: Id
    project_id: Id
    tenant: TenantId
    final_labels: list[Label] = Field(default_factory=list, max_length=MAX_FINAL_LABELS)
    ratings: dict[Name, float] = Field(default_factory=dict, max_length=100)
    severity: Severity = Severity.none
    method: Resolution
    judgment_ids: list[Id] = Field(min_length=1, max_length=100, description="provenance")
    agreement: float | None = Field(
        None, ge=0, le=1, description="the lowest per-field agreement (None: one judgment)"
    )
    taxonomy: TaxonomyRef | None = None
    resolved_at: datetime
    # added compatibly: absent from events published before them
    verdict: Verdict | None = None
    judged_by: list[Id] = Field(default_factory=list, max_length=100, description="provenance")
    adjudicated_by: Id | None = None
    flags: list[Name] = Field(
        default_factory=list,
        max_length=50,
        description="the outcome's flags: the adjudicator's, or those a qualified majority of "
        "the judgments raised",
    )
    flag_counts: dict[Name, int] = Field(
        default_factory=dict,
        max_length=50,
        description="flag -> how many review judgments raised it (any judge's ``unsafe`` shows)",
    )
    rating_spread: dict[Name, float] = Field(
        default_factory=dict, max_length=100, description="dimension -> max - min of the points"
    )
    figures: dict[Name, float] = Field(
        default_factory=dict,
        max_length=200,
        description="agreement per field (``verdict``, ``labels.<kind>``, ``ratings.<dim>``)",
    )
    rubric_ref: RubricRef | None = Field(None, description="the rubric version answered")
    escalation: list[Escalation] = Field(
        default_factory=list, max_length=200, description="why it went to adjudication"
    )
    revision: int = Field(
        1,
        ge=1,
        le=10_000,
        description="1, then one more each time ops override the outcome or the item is "
        "resolved again after ops sent it back: the highest revision is the outcome",
    )
    revised_by: Id | None = Field(None, description="the ops user who overrode the outcome")
    revision_reason: str | None = Field(None, max_length=2_000)


def _work(
    type_: str, summary: str, consumers: tuple[str, ...] = ("metrics",)
) -> EventSpec[WorkUnitEventV1]:
    return EventSpec(
        type=type_,
        topic=WORK,
        payload=WorkUnitEventV1,
        key=lambda d: d.item_id,
        subject=lambda d: d.unit_id,
        producer=PRODUCER,
        consumers=consumers,
        summary=summary,
    )


PROJECT_CHANGED: EventSpec[ProjectChangedV1] = EventSpec(
    type="quorum.project.changed.v1",
    topic=PROJECTS,
    payload=ProjectChangedV1,
    # two tenants may name a project alike: the key tells their projects apart
    key=lambda d: f"{d.tenant}/{d.project_id}",
    subject=lambda d: d.project_id,
    producer=PRODUCER,
    # assignment reads its own: each change checks the project's gold keys against its versions
    consumers=("ingest", "metrics", "assignment"),
    summary="A project was created or changed: its full configuration and status.",
)
WORK_CREATED = _work(
    "quorum.work.created.v1",
    "A work unit was created for an item.",
    ("metrics", "taxonomy", "ingest"),
)
WORK_LEASED = _work(
    "quorum.work.leased.v1", "A work unit was leased to an expert.", ("metrics", "ingest")
)
WORK_RELEASED = _work("quorum.work.released.v1", "An expert released a lease unfinished.")
WORK_EXPIRED = _work("quorum.work.expired.v1", "A lease expired; the unit is back in the pool.")
JUDGMENT_SUBMITTED: EventSpec[JudgmentSubmittedV1] = EventSpec(
    type="quorum.judgment.submitted.v1",
    topic=WORK,
    payload=JudgmentSubmittedV1,
    key=lambda d: d.item_id,
    subject=lambda d: d.judgment_id,
    producer=PRODUCER,
    consumers=("metrics", "taxonomy", "assignment"),
    summary="An expert submitted a verdict with labels, ratings, severity, flags and justification.",
)
FEEDBACK_SUBMITTED: EventSpec[FeedbackSubmittedV1] = EventSpec(
    type="quorum.feedback.submitted.v1",
    topic=WORK,
    payload=FeedbackSubmittedV1,
    key=lambda d: d.item_id,
    subject=lambda d: d.feedback_id,
    producer=PRODUCER,
    consumers=("taxonomy", "ops"),
    summary="An expert flagged a unit's guideline: unclear, a missing class, a contradictory "
    "example; about the taxonomy, it becomes a candidate there.",
)
GOLD_SCORED: EventSpec[GoldScoredV1] = EventSpec(
    type="quorum.gold.scored.v1",
    topic=WORK,
    payload=GoldScoredV1,
    key=lambda d: d.item_id,
    subject=lambda d: d.judgment_id,
    producer=PRODUCER,
    consumers=("metrics", "assignment"),
    summary="A gold judgment was scored field by field.",
)
ITEM_RESOLVED: EventSpec[ItemResolvedV1] = EventSpec(
    type="quorum.item.resolved.v1",
    topic=WORK,
    payload=ItemResolvedV1,
    key=lambda d: d.item_id,
    subject=lambda d: d.item_id,
    producer=PRODUCER,
    consumers=("ingest", "metrics", "taxonomy"),
    summary="An item's final labels were decided, by consensus or adjudication.",
)

EXPERT_BENCHED: EventSpec[ExpertBenchedV1] = EventSpec(
    type="quorum.expert.benched.v1",
    topic=EXPERTS,
    payload=ExpertBenchedV1,
    key=lambda d: f"{d.tenant}/{d.expert_id}",
    subject=lambda d: d.expert_id,
    producer=PRODUCER,
    consumers=("ops", "metrics"),
    summary="An expert's gold calibration fell below a project's floor: they get none of its "
    "work until ops reinstate them.",
)
EXPERT_REINSTATED: EventSpec[ExpertReinstatedV1] = EventSpec(
    type="quorum.expert.reinstated.v1",
    topic=EXPERTS,
    payload=ExpertReinstatedV1,
    key=lambda d: f"{d.tenant}/{d.expert_id}",
    subject=lambda d: d.expert_id,
    producer=PRODUCER,
    consumers=("ops", "metrics"),
    summary="Ops lifted a bench: the expert gets the project's work again, calibrated afresh.",
)
EXPERT_QUALIFIED: EventSpec[ExpertQualifiedV1] = EventSpec(
    type="quorum.expert.qualified.v1",
    topic=EXPERTS,
    payload=ExpertQualifiedV1,
    key=lambda d: f"{d.tenant}/{d.expert_id}",
    subject=lambda d: d.expert_id,
    producer=PRODUCER,
    consumers=("ops", "metrics"),
    summary="An expert finished a qualification set: passed (the skill is granted at the "
    "set's level) or not, with the score.",
)

EVENTS = (
    PROJECT_CHANGED,
    WORK_CREATED,
    WORK_LEASED,
    WORK_RELEASED,
    WORK_EXPIRED,
    JUDGMENT_SUBMITTED,
    GOLD_SCORED,
    ITEM_RESOLVED,
    EXPERT_BENCHED,
    EXPERT_REINSTATED,
    EXPERT_QUALIFIED,
    FEEDBACK_SUBMITTED,
)
