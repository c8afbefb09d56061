"""Following each item's review from assignment's events: queued, in review, resolved, or not
reviewed when its project closes first; the client is told each outcome on its tenant's
``quorum.outcomes.<tenant>``, by the write that stores it."""

from __future__ import annotations

from typing import Any

from services.ingest.handlers.projects import Projects
from services.ingest.models import NotReviewedInfo, ResolutionInfo
from services.ingest.store import MediaStore
from shared.contracts.outcomes import (
    OUTCOME_NOT_REVIEWED,
    OUTCOME_RESOLVED,
    ItemNotReviewedOutcomeV1,
    ItemResolution,
    ItemResolvedOutcomeV1,
    NotReviewedReason,
)
from shared.contracts.work import ItemResolvedV1, ProjectChangedV1, ProjectStatus, WorkUnitEventV1
from shared.events.envelope import Event, make_event
from shared.events.trace import child_traceparent
from shared.logging import get_logger

log = get_logger(__name__)
SOURCE = "/quorum/ingest"
#: items of a closing project marked per write
CLOSE_PAGE = 500


class ReviewProgress:
    def __init__(self, store: MediaStore, projects: Projects) -> None:
        self.store = store
        self.projects = projects

    async def on_review_started(self, event: Event[WorkUnitEventV1]) -> None:
        """Work was created or leased for the item: a queued item is in review."""
        unit = event.data
        await self.store.mark_in_review(unit.tenant, unit.item_id, unit.at)

    async def on_work_created(self, event: Event[WorkUnitEventV1]) -> None:
        """Work was created for the item: in review, unless its project is closed by now. An
        item registered as its project closed (a registration checks a project read up to
        ``PROJECT_CACHE_S`` before) can be stored after the close marked the project's items:
        its first unit finds the project closed and marks it, and its client is told, as the
        close would have (read from the store, not the cache: never stale)."""
        await self.on_review_started(event)
        unit = event.data
        project = await self.projects.get(unit.tenant, unit.project_id)
        if project is not None and project.status is ProjectStatus.closed:
            await self.close_unresolved(project, child_traceparent(event.traceparent))

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        """The item's outcome (or ops' revision of it), stored with its client's outcome event;
        a redelivery, or an older revision, changes and publishes nothing."""
        resolved = event.data
        item = await self.store.get(resolved.tenant, resolved.item_id)
        if item is None:
            return
        info = ResolutionInfo.of(resolved)
        outcome = ItemResolvedOutcomeV1(
            item_id=item.item_id,
            tenant=item.tenant,
            external_id=item.external_id,
            project_id=item.project_id,
            final_labels=resolved.final_labels,
            resolution=ItemResolution.model_validate(info.model_dump()),
        )
        told = make_event(
            OUTCOME_RESOLVED,
            outcome,
            source=SOURCE,
            tenant=item.tenant,
            traceparent=child_traceparent(event.traceparent),
        )
        await self.store.mark_resolved(resolved, [told])

    async def on_project_changed(self, event: Event[ProjectChangedV1]) -> None:
        """Keep the project; once it is closed, its items not yet resolved will not be
        reviewed: each is marked so, with the reason, and its client told. A replay marks and
        tells nothing twice (only unresolved items are marked, each by its own write)."""
        await self.projects.on_project_changed(event)
        changed = event.data
        project = await self.projects.get(changed.tenant, changed.project_id)
        if project is not None and project.status is ProjectStatus.closed:
            await self.close_unresolved(project, child_traceparent(event.traceparent))

    async def close_unresolved(self, project: ProjectChangedV1, traceparent: str | None) -> int:
        info = NotReviewedInfo(
            reason=NotReviewedReason.project_closed,
            message=f"project {project.project_id} was closed (revision {project.revision}) "
            "before the item was reviewed: it will not be reviewed",
            project_revision=project.revision,
            at=project.changed_at,
        )
        marked, after = 0, None
        while page := await self.store.unresolved(
            project.tenant, project.project_id, after=after, limit=CLOSE_PAGE
        ):
            events: dict[str, list[Event[Any]]] = {}
            for item_id, external_id in page:
                outcome = ItemNotReviewedOutcomeV1(
                    item_id=item_id,
                    tenant=project.tenant,
                    external_id=external_id,
                    project_id=project.project_id,
                    reason=info.reason,
                    message=info.message,
                    project_revision=info.project_revision,
                    not_reviewed_at=info.at,
                )
                events[item_id] = [
                    make_event(
                        OUTCOME_NOT_REVIEWED,
                        outcome,
                        source=SOURCE,
                        tenant=project.tenant,
                        traceparent=traceparent,
                    )
                ]
            marked += await self.store.mark_not_reviewed(project.tenant, info, events)
            after = page[-1][0]
        if marked:
            log.info(
                "items of a closed project will not be reviewed",
                project_id=project.project_id,
                count=marked,
            )
        return marked
