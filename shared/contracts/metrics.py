"""Event contracts of metrics: snapshot updates, alerts and recommendations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.contracts.vocabulary import BoundedJson, Id, Name, Severity, TenantId
from shared.contracts.work import JudgmentSubmittedV1

PRODUCER = "metrics"

METRICS = Topic("quorum.metrics", summary="Metric updates and alerts", key="project id")
PROJECTS = Topic(
    "quorum.metrics.projects",
    summary="Metrics' own topic: each judgment again, keyed by its tenant and project, so that "
    "one replica at a time owns a project's agreement state (docs/metrics.md, State and scale)",
    key="<tenant>/<project id>",
)


class MetricsUpdatedV1(Contract):
    project_id: Id
    tenant: TenantId
    window_start: datetime
    window_end: datetime
    values: dict[Name, float] = Field(
        max_length=1_000,
        description="metric name -> value, e.g. throughput_per_hour, alpha_nominal",
    )
    by_class: dict[Id, dict[Name, float]] = Field(default_factory=dict, max_length=20_000)
    at: datetime


class AlertKind(StrEnum):
    prelabel_error = "prelabel_error"
    drift = "drift"
    expert_accuracy = "expert_accuracy"
    agreement = "agreement"


class Recommendation(Contract):
    target: Id = Field(description="what to prioritise: an item id, class id or expert id")
    target_kind: Name = Field(description="item | class | expert")
    score: float
    reason: str = Field(max_length=2_000)


class MetricsAlertV1(Contract):
    alert_id: Id
    project_id: Id
    tenant: TenantId
    kind: AlertKind
    severity: Severity
    summary: str = Field(max_length=2_000)
    evidence: BoundedJson = Field(default_factory=dict)
    recommendations: list[Recommendation] = Field(default_factory=list, max_length=1_000)
    raised_at: datetime


METRICS_UPDATED: EventSpec[MetricsUpdatedV1] = EventSpec(
    type="quorum.metrics.updated.v1",
    topic=METRICS,
    payload=MetricsUpdatedV1,
    key=lambda d: d.project_id,
    subject=lambda d: d.project_id,
    producer=PRODUCER,
    consumers=("dashboards",),
    summary="New values of a project's metrics for a window.",
)
METRICS_ALERT: EventSpec[MetricsAlertV1] = EventSpec(
    type="quorum.metrics.alert.v1",
    topic=METRICS,
    payload=MetricsAlertV1,
    key=lambda d: d.project_id,
    subject=lambda d: d.alert_id,
    producer=PRODUCER,
    consumers=("assignment", "ops"),
    summary="Pre-label error, drift, expert accuracy or agreement alert, with recommended priorities.",
)

PROJECT_JUDGMENT: EventSpec[JudgmentSubmittedV1] = EventSpec(
    type="quorum.metrics.project_judgment.v1",
    topic=PROJECTS,
    payload=JudgmentSubmittedV1,
    key=lambda d: f"{d.tenant}/{d.project_id}",
    subject=lambda d: d.judgment_id,
    producer=PRODUCER,
    consumers=(PRODUCER,),
    summary="A judgment (the payload of quorum.judgment.submitted.v1, under the same event "
    "id), re-keyed by project for the replica that owns the project's agreement.",
)

EVENTS = (METRICS_UPDATED, METRICS_ALERT, PROJECT_JUDGMENT)
