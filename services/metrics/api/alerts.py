"""A project's alerts and its active-learning priorities (docs/metrics.md "The service:
alerts, drift and priorities"): clients, ops and admin; clients never see an expert named."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from services.metrics.api.access import Watcher
from services.metrics.api.shapes import ProjectPath, not_found
from services.metrics.handlers.alerts import AlertLane, Priorities
from services.metrics.priorities import ClassPriority, ItemPriority
from services.metrics.stores.alerts import StoredAlert
from shared.contracts.metrics import AlertKind
from shared.http.pagination import Cursor, cursor_time, decode_cursor, encode_cursor
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["alerts"])

LaneDep = Annotated[AlertLane, Depends(use_case(AlertLane))]
AlertLimit = Annotated[int, Query(ge=1, le=500, description="alerts per page")]
PriorityLimit = Annotated[
    int, Query(ge=1, le=500, description="the highest ranked items, and classes, returned")
]
KindQuery = Annotated[AlertKind | None, Query(description="one kind of alert only")]
SinceQuery = Annotated[
    datetime | None, Query(description="alerts raised at or after this time (with a zone)")
]

NOT_FOUND = not_found("No alert nor data of this project in your tenant (or no such project)")


class RecommendationBody(BaseModel):
    target: str = Field(description="an item id or class id (an expert id: ops and admin only)")
    target_kind: str = Field(description="item | class | expert")
    score: float
    reason: str


class AlertBody(BaseModel):
    alert_id: str
    project_id: str
    kind: str = Field(description="prelabel_error | drift | expert_accuracy | agreement")
    severity: str = Field(description="minor | major | critical")
    summary: str
    evidence: dict[str, Any]
    recommendations: list[RecommendationBody]
    raised_at: datetime


class AlertPage(BaseModel):
    """Newest first; pass `next_cursor` back as `cursor` for the next page (null: the last)."""

    project_id: str
    items: list[AlertBody]
    next_cursor: str | None = None


class Ranks(BaseModel):
    """Each component's rank among the candidates with a positive value (ties share the best
    rank); a component missing here ranked the candidate nowhere."""

    disagreement: int | None = None
    prelabel_error: int | None = None
    uncertainty: int | None = None


class ItemPriorityBody(BaseModel):
    item_id: str
    judgments: int = Field(description="experts' latest judgments of the item with a class")
    disagreement: float | None = Field(description="normalised entropy of their classes")
    prelabel_error: float | None = Field(
        description="share of its pre-labelled classes resolved otherwise"
    )
    uncertainty: float | None = Field(description="1 - the margin of its two best confidences")
    ranks: Ranks
    priority: float = Field(description="weighted reciprocal rank fusion, in [0, 1]")


class ClassPriorityBody(BaseModel):
    class_id: str
    n: int = Field(description="resolved items pre-labelled with the class")
    errors: int = Field(description="of them, resolved otherwise")
    error_rate: float | None = Field(description="errors / n; null below 10 items")
    disagreement_items: int
    disagreement: float | None = Field(description="mean disagreement of its items")
    uncertainty_items: int
    uncertainty: float | None = Field(description="mean model uncertainty of its items")
    ranks: Ranks
    priority: float = Field(description="weighted reciprocal rank fusion, in [0, 1]")


class PrioritiesBody(BaseModel):
    project_id: str
    items: list[ItemPriorityBody] = Field(description="highest priority first, then by id")
    classes: list[ClassPriorityBody] = Field(description="highest priority first, then by id")


def _alert(a: StoredAlert) -> dict[str, Any]:
    return {
        "alert_id": a.alert_id,
        "project_id": a.project_id,
        "kind": a.kind,
        "severity": a.severity,
        "summary": a.summary,
        "evidence": a.evidence,
        "recommendations": a.recommendations,
        "raised_at": a.raised_at,
    }


def _item(p: ItemPriority) -> dict[str, Any]:
    return {
        "item_id": p.item_id,
        "judgments": p.judgments,
        "disagreement": p.disagreement,
        "prelabel_error": p.prelabel_error,
        "uncertainty": p.uncertainty,
        "ranks": dict(p.ranks),
        "priority": p.priority,
    }


def _class(p: ClassPriority) -> dict[str, Any]:
    return {
        "class_id": p.class_id,
        "n": p.n,
        "errors": p.errors,
        "error_rate": p.error_rate,
        "disagreement_items": p.disagreement_items,
        "disagreement": p.disagreement,
        "uncertainty_items": p.uncertainty_items,
        "uncertainty": p.uncertainty,
        "ranks": dict(p.ranks),
        "priority": p.priority,
    }


@router.get(
    "/projects/{project_id}/alerts",
    summary="The project's alerts, newest first",
    description="Every alert the metrics service stored for the project (pre-label systematic "
    "errors, drift of the resolved labels and of the pre-label confidences, low agreement), "
    "newest first, paged by `limit` (at most 500) and `cursor`; `kind` keeps one kind, `since` "
    "those raised at or after a time. Ops and admin see everything; clients get the same "
    "without expert alerts and without any recommendation or evidence naming an expert; "
    "experts get 403.",
    responses=NOT_FOUND,
)
async def project_alerts(
    project_id: ProjectPath,
    principal: Watcher,
    lane: LaneDep,
    kind: KindQuery = None,
    since: SinceQuery = None,
    limit: AlertLimit = 100,
    cursor: Cursor = None,
) -> AlertPage:
    after = None
    if cursor:
        raised_at, alert_id = decode_cursor(cursor, str, str)
        after = (cursor_time(raised_at), alert_id)
    found = await lane.alerts(
        principal.tenant,
        project_id,
        staff=principal.is_staff,
        kind=kind,
        since=since,
        after=after,
        limit=limit,
    )
    next_cursor = None
    if len(found) >= limit:
        last = found[-1]
        next_cursor = encode_cursor([last.raised_at.isoformat(), last.alert_id])
    return AlertPage.model_validate(
        {"project_id": project_id, "items": [_alert(a) for a in found], "next_cursor": next_cursor}
    )


@router.get(
    "/projects/{project_id}/priorities",
    summary="Active-learning priorities: the project's items and classes ranked",
    description="Items and classes ranked by disagreement among the experts' classes, "
    "pre-label error and model uncertainty, each component with its rank and the combined "
    "priority (weighted reciprocal rank fusion, k = 60, equal weights), computed on read from "
    "the project's stored items: for a client's next training round. Items resolved `reject` "
    "or `infeasible` are left out. No expert is named; experts get 403.",
    responses=NOT_FOUND,
)
async def project_priorities(
    project_id: ProjectPath,
    principal: Watcher,
    lane: LaneDep,
    limit: PriorityLimit = 50,
) -> PrioritiesBody:
    found: Priorities = await lane.priorities(principal.tenant, project_id, limit=limit)
    return PrioritiesBody.model_validate(
        {
            "project_id": project_id,
            "items": [_item(p) for p in found.items],
            "classes": [_class(p) for p in found.classes],
        }
    )
