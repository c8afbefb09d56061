"""A project's throughput (docs/metrics.md, "The service: throughput for operations"):
clients, ops and admin; the per-expert part for ops and admin only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from services.metrics.api.access import Staff, Watcher
from services.metrics.api.shapes import ProjectPath, Rate, not_found
from services.metrics.figures import proportion
from services.metrics.handlers.throughput import ProjectThroughput, Throughput, Window
from services.metrics.throughput import TimeSpent
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["throughput"])

ThroughputDep = Annotated[Throughput, Depends(use_case(Throughput))]
WindowQuery = Annotated[
    Window, Query(description="the window the figures cover, ending now: 1h, 24h or 7d")
]

NOT_FOUND = not_found("No event of this project in your tenant (or no such project)")


class Counts(BaseModel):
    registered: int = Field(description="items registered (`media.registered`)")
    queued: int = Field(description="work units created (`work.created`)")
    leased: int = Field(description="leases handed out (`work.leased`)")
    submitted: int = Field(description="judgments submitted (`judgment.submitted`)")
    resolved: int = Field(description="items resolved for the first time (`item.resolved`)")


class Minute(Counts):
    minute: datetime = Field(description="the minute's start (UTC)")


class KindDepth(BaseModel):
    kind: str = Field(description="the unit kind: review, gold or adjudication")
    queued: int = Field(description="created, not submitted, not leased now")
    leased: int = Field(description="not submitted, latest lease later than its latest end")


class Queue(BaseModel):
    """The queue now, whatever the window: work events carry no skill, so the depth is by
    unit kind."""

    queued: int = Field(description="units created and neither submitted nor leased now")
    leased: int = Field(description="units leased now and not submitted")
    oldest_queued_at: datetime | None = Field(description="creation of the oldest queued unit")
    by_kind: list[KindDepth]


class Leases(BaseModel):
    """The leases handed out in the window, by how each ended: the earliest of the unit's
    first judgment, a release, an expiry (at or after it) and its next lease."""

    leases: int
    submitted: int = Field(description="ended by the unit's judgment")
    released: int = Field(description="released unfinished by the expert")
    expired: int = Field(description="expired")
    replaced: int = Field(description="followed by another lease with no end event between")
    open: int = Field(description="not ended yet")
    expiry_rate: Rate = Field(description="expired / (submitted + released + expired)")


class Resolution(BaseModel):
    """`resolved_at - registered_at` of the items first resolved in the window, from a
    DDSketch: each quantile within `relative_accuracy` (1 %) of the exact one."""

    n: int
    p50: float | None = Field(description="seconds")
    p90: float | None = Field(description="seconds")
    p99: float | None = Field(description="seconds")
    mean: float | None = Field(description="seconds, exact")
    minimum: float | None
    maximum: float | None
    relative_accuracy: float
    unregistered: int = Field(
        description="items resolved in the window whose registration was not seen: left out"
    )
    reason: str | None = None


class Spent(BaseModel):
    n: int = Field(description="judgments")
    median: float | None = Field(description="seconds of `time_spent_s`")
    mean: float | None = Field(description="seconds of `time_spent_s`")


class Expert(BaseModel):
    expert_id: str
    judgments: int = Field(description="judgments submitted in the window")
    per_hour: float = Field(description="judgments / the window's hours")
    time_spent_s: Spent


class ProjectThroughputBody(BaseModel):
    project_id: str
    window: Window
    start: datetime = Field(description="the window is [start, end)")
    end: datetime
    totals: Counts
    per_minute: list[Minute] = Field(description="minutes with an event, oldest first")
    queue: Queue
    leases: Leases
    time_to_resolution: Resolution
    judgments: Spent = Field(description="time per judgment over the window's judgments")
    experts: list[Expert] | None = Field(
        description="per expert (by id); null for clients, who are not told experts' ids"
    )


def _spent(t: TimeSpent) -> dict[str, Any]:
    return {"n": t.n, "median": t.median, "mean": t.mean}


def _body(project_id: str, t: ProjectThroughput, *, experts: bool) -> dict[str, Any]:
    leases = t.leases
    ended = leases["submitted"] + leases["released"] + leases["expired"]
    rate = proportion(leases["expired"], ended)
    r = t.resolution
    return {
        "project_id": project_id,
        "window": t.window,
        "start": t.span.start,
        "end": t.span.end,
        "totals": t.totals,
        "per_minute": t.series,
        "queue": {
            "queued": sum(d.queued for d in t.depth),
            "leased": sum(d.leased for d in t.depth),
            "oldest_queued_at": t.oldest_queued_at,
            "by_kind": [{"kind": d.kind, "queued": d.queued, "leased": d.leased} for d in t.depth],
        },
        "leases": {
            **leases,
            "expiry_rate": {
                "value": rate.value,
                "successes": rate.successes,
                "n": rate.n,
                "ci": None if rate.ci is None else [rate.ci.low, rate.ci.high],
                "reason": rate.reason,
            },
        },
        "time_to_resolution": {
            "n": r.n,
            "p50": r.value(0.5),
            "p90": r.value(0.9),
            "p99": r.value(0.99),
            "mean": r.mean,
            "minimum": r.minimum,
            "maximum": r.maximum,
            "relative_accuracy": r.relative_accuracy,
            "unregistered": t.unregistered,
            "reason": r.reason,
        },
        "judgments": _spent(t.judgments),
        "experts": [
            {
                "expert_id": e.expert_id,
                "judgments": e.judgments,
                "per_hour": e.per_hour,
                "time_spent_s": _spent(e.time_spent),
            }
            for e in t.experts
        ]
        if experts
        else None,
    }


@router.get(
    "/projects/{project_id}/throughput",
    summary="The project's throughput over a window: per-minute series, queue, leases, "
    "time to resolution and time per judgment",
    description="Over the window ending now (1h, 24h or 7d; 24h by default): items registered, "
    "units queued, leases handed out, judgments submitted and items resolved, in total and "
    "per minute; the queue now by unit kind (work events carry no skill); how the window's "
    "leases ended and the lease expiry rate; the time from registration to first resolution "
    "(p50 / p90 / p99 from a DDSketch, within 1 %); the time per judgment (median, mean), and "
    "for ops and admin the same per expert. Clients get `experts: null`; experts get 403.",
    responses=NOT_FOUND,
)
async def project_throughput(
    project_id: ProjectPath,
    principal: Watcher,
    throughput: ThroughputDep,
    window: WindowQuery = Window.day,
) -> ProjectThroughputBody:
    figures = await throughput.project(principal.tenant, project_id, window)
    return ProjectThroughputBody.model_validate(
        _body(project_id, figures, experts=principal.is_staff)
    )


class ProjectQueueOut(BaseModel):
    project_id: str
    queued: int = Field(description="units created, without a judgment, not leased now")
    leased: int = Field(description="units leased now, without a judgment")
    oldest_queued_at: datetime | None


class SkillQueueOut(BaseModel):
    skill: str = Field(
        description="a skill the projects require; `(any)`: projects that require none; "
        "`(unknown)`: projects whose configuration metrics has not seen"
    )
    queued: int = Field(description="queued units of the projects that require it")
    leased: int
    projects: int = Field(description="projects with units queued or leased that require it")


class TenantQueueOut(BaseModel):
    projects: list[ProjectQueueOut]
    skills: list[SkillQueueOut] = Field(
        description="a unit counts under each skill its project requires (an expert needs "
        "all of them to take it)"
    )


@router.get(
    "/queue",
    summary="Your tenant's queue now: depth per project and per required skill",
    description="Units without a judgment, queued (not leased now) and leased now, per "
    "project with the oldest queued unit's creation, and per skill the projects require "
    "(from `quorum.project.changed.v1`, the latest revision). Computed on read from the "
    "units' lifecycle documents (O(open units of the tenant)). Ops and admin.",
)
async def tenant_queue(principal: Staff, throughput: ThroughputDep) -> TenantQueueOut:
    queue = await throughput.queue(principal.tenant)
    return TenantQueueOut.model_validate(
        {
            "projects": [vars(p) for p in queue.projects],
            "skills": [vars(s) for s in queue.skills],
        }
    )
