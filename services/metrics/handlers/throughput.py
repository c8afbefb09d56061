"""Throughput for operations (issue 22 §8): the lifecycle of each work unit and item is kept
from the events (``stores.throughput``, idempotent writes), and a project's figures over a
window are computed on read (docs/metrics.md, "The service: throughput for operations").

A read costs O(units and items with an event in the window + units not submitted yet)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from services.metrics.errors import NotFound
from services.metrics.stores.throughput import ThroughputStore
from services.metrics.throughput import (
    SERIES,
    Depth,
    Judged,
    SkillDepth,
    TimeSpent,
    TimeToResolution,
    TimeWindow,
    depth_by_skill,
    judgments_in,
    lease_outcomes,
    per_minute,
    queue_depth,
    resolution_times,
    time_spent,
    time_to_resolution,
)
from shared.contracts.media import MediaRegisteredV1
from shared.contracts.work import (
    ItemResolvedV1,
    JudgmentSubmittedV1,
    ProjectChangedV1,
    WorkUnitEventV1,
)
from shared.events.envelope import Event


class Window(StrEnum):
    """The windows a read may cover, ending now."""

    hour = "1h"
    day = "24h"
    week = "7d"

    @property
    def length(self) -> timedelta:
        return {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}[
            self.value
        ]


@dataclass(frozen=True)
class ExpertThroughput:
    expert_id: str
    judgments: int
    per_hour: float
    time_spent: TimeSpent


@dataclass(frozen=True)
class ProjectThroughput:
    window: Window
    span: TimeWindow
    totals: dict[str, int]
    series: list[dict[str, Any]]
    depth: list[Depth]
    oldest_queued_at: datetime | None
    leases: dict[str, int]
    resolution: TimeToResolution
    unregistered: int
    judgments: TimeSpent
    experts: list[ExpertThroughput]


def _judged(j: JudgmentSubmittedV1) -> Judged:
    return Judged(j.judgment_id, j.expert_id, j.submitted_at, j.time_spent_s)


@dataclass(frozen=True)
class ProjectQueue:
    project_id: str
    queued: int
    leased: int
    oldest_queued_at: datetime | None


@dataclass(frozen=True)
class TenantQueue:
    projects: list[ProjectQueue]
    skills: list[SkillDepth]


class Throughput:
    def __init__(self, store: ThroughputStore) -> None:
        self.store = store

    # -- events: each an idempotent write of one unit's or item's document ------------------

    async def _unit(self, event: Event[WorkUnitEventV1], what: str) -> None:
        u = event.data
        await self.store.unit_event(
            u.tenant, u.project_id, u.unit_id, u.item_id, u.kind.value, what=what, at=u.at
        )

    async def on_work_created(self, event: Event[WorkUnitEventV1]) -> None:
        await self._unit(event, "created")

    async def on_work_leased(self, event: Event[WorkUnitEventV1]) -> None:
        await self._unit(event, "leased")

    async def on_work_released(self, event: Event[WorkUnitEventV1]) -> None:
        await self._unit(event, "released")

    async def on_work_expired(self, event: Event[WorkUnitEventV1]) -> None:
        await self._unit(event, "expired")

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        j = event.data
        await self.store.judged(
            j.tenant, j.project_id, j.unit_id, j.item_id, j.kind.value, _judged(j)
        )

    async def on_judgments_submitted(self, events: Sequence[Event[JudgmentSubmittedV1]]) -> None:
        """:meth:`on_judgment_submitted` for a batch, in one round trip."""
        await self.store.judged_many(
            [
                (
                    e.data.tenant,
                    e.data.project_id,
                    e.data.unit_id,
                    e.data.item_id,
                    e.data.kind.value,
                    _judged(e.data),
                )
                for e in events
            ]
        )

    async def on_project_changed(self, event: Event[ProjectChangedV1]) -> None:
        p = event.data
        await self.store.project_changed(p.tenant, p.project_id, p.revision, p.required_skills)

    async def queue(self, tenant: str) -> TenantQueue:
        """The tenant's queue now: per project and per required skill."""
        open_units = await self.store.open_units_of_tenant(tenant)
        skills = await self.store.skills_of(tenant)
        projects = []
        for project_id, units in sorted(open_units.items()):
            queued = [u for u in units if u.queued_now]
            leased = sum(u.leased_now for u in units)
            if queued or leased:
                oldest = min((u.created_at for u in queued if u.created_at), default=None)
                projects.append(ProjectQueue(project_id, len(queued), leased, oldest))
        return TenantQueue(projects, depth_by_skill(open_units, skills))

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        m = event.data
        await self.store.registered(m.tenant, m.project_id, m.item_id, m.registered_at)

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        r = event.data
        await self.store.resolved(r.tenant, r.project_id, r.item_id, r.resolved_at)

    # -- the read -----------------------------------------------------------------------------

    async def project(
        self, tenant: str, project_id: str, window: Window, *, now: datetime | None = None
    ) -> ProjectThroughput:
        """The project's throughput over the window ending ``now``. NotFound when the tenant
        has no event of the project."""
        end = now or datetime.now(UTC)
        span = TimeWindow(end - window.length, end)
        units = await self.store.units_since(tenant, project_id, span.start)
        items = await self.store.items_since(tenant, project_id, span.start)
        open_units = await self.store.open_units(tenant, project_id)
        if not (units or items or open_units) and not await self.store.has_project(
            tenant, project_id
        ):
            raise NotFound(f"project {project_id}")
        series = per_minute(span, units, items)
        totals = {k: sum(row[k] for row in series) for k in SERIES}
        times, unregistered = resolution_times(span, items)
        judgments = judgments_in(span, units)
        return ProjectThroughput(
            window=window,
            span=span,
            totals=totals,
            series=series,
            depth=queue_depth(open_units),
            oldest_queued_at=min(
                (u.created_at for u in open_units if u.queued_now and u.created_at), default=None
            ),
            leases=lease_outcomes(span, units),
            resolution=time_to_resolution(times),
            unregistered=unregistered,
            judgments=time_spent(judgments),
            experts=_experts(judgments, span.hours),
        )


def _experts(judgments: Sequence[Judged], hours: float) -> list[ExpertThroughput]:
    by_expert: dict[str, list[Judged]] = {}
    for j in judgments:
        by_expert.setdefault(j.expert_id, []).append(j)
    return [
        ExpertThroughput(expert, len(js), len(js) / hours, time_spent(js))
        for expert, js in sorted(by_expert.items())
    ]
