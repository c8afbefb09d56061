"""Work creation: each registered item of a known project gets its units, as the project's
overlap policy plans them (a stable hash of the item id and the project revision, so a replay
plans the same); a replayed registration creates nothing new."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.assignment import leasing, sampling
from services.assignment.handlers.events import unit_event
from services.assignment.models.projects import Project
from services.assignment.models.work import ItemContent, Lease, Unit, UnitState, WorkItem
from services.assignment.projects import overlap_policy
from services.assignment.stores.items import ItemStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.secrets import ProjectSecrets
from shared.clock import Clock, now_ms
from shared.contracts.media import MediaRegisteredV1
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import WORK_CREATED, RubricRef, WorkKind
from shared.events.envelope import Event
from shared.logging import get_logger

log = get_logger(__name__)


def unit_of(item: WorkItem | None, unit_id: str) -> Unit | None:
    """Unit ``<item id>~<n>`` of the item, if it has it."""
    try:
        n = leasing.unit_number(unit_id)
    except ValueError:
        return None
    if item is None or n >= len(item.units):
        return None
    unit = item.units[n]
    return unit if unit.unit_id == unit_id else None


def leased_copy(
    item_id: str,
    tenant: str,
    project_id: str,
    modality: Modality,
    content: dict[str, Any],
    rubric: RubricRef,
    taxonomy: TaxonomyRef | None,
    kind: WorkKind,
    lease: Lease,
    **mark: Any,
) -> WorkItem:
    """An item of one unit made for one expert (a gold or qualification copy), its unit
    leased to them under ``lease``; ``mark`` says what it is a copy of."""
    unit = Unit(
        n=0,
        unit_id=leasing.unit_id(item_id, 0),
        kind=kind,
        state=UnitState.leased,
        rubric=rubric,
        taxonomy=taxonomy,
        created_at=lease.leased_at,
        expert_id=lease.expert_id,
        lease_id=lease.lease_id,
        leased_at=lease.leased_at,
        expires_at=lease.expires_at,
    )
    return WorkItem(
        item_id=item_id,
        tenant=tenant,
        project_id=project_id,
        modality=modality,
        registered_at=lease.leased_at,
        units=[unit],
        judges=[lease.expert_id],
        open=0,
        planned=1,
        content=content,
        **mark,
    )


def planned_units(
    item: MediaRegisteredV1, project: Project, at: datetime, key: bytes
) -> list[Unit]:
    """The item's first review units; ``key`` is the project's (``stores/secrets.py``)."""
    plan = sampling.plan(key, item.item_id, project.revision, overlap_policy(project))
    return [
        Unit(
            n=n,
            unit_id=leasing.unit_id(item.item_id, n),
            kind=WorkKind.review,
            rubric=project.rubric,
            taxonomy=project.taxonomy,
            created_at=at,
        )
        for n in range(plan.needed)
    ]


class Items:
    def __init__(
        self,
        store: ItemStore,
        projects: ProjectStore,
        secrets: ProjectSecrets,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.secrets = secrets
        self.clock = clock

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        item = event.data
        project = await self.projects.get(item.tenant, item.project_id)
        now = self.clock()
        units = (
            planned_units(
                item, project, now, await self.secrets.key(item.tenant, project.project_id)
            )
            if project
            else []
        )
        work = WorkItem(
            item_id=item.item_id,
            tenant=item.tenant,
            project_id=item.project_id,
            modality=item.modality,
            registered_at=item.registered_at,
            units=units,
            open=len(units),
            planned=len(units),
            due_at=project.due_at if project else None,
            content=ItemContent.model_validate(
                item.model_dump(include=set(ItemContent.model_fields))
            ).shown(),
        )
        events = [
            unit_event(
                WORK_CREATED,
                tenant=item.tenant,
                unit_id=u.unit_id,
                item_id=item.item_id,
                project_id=item.project_id,
                kind=u.kind,
                at=now,
                traceparent=event.traceparent,
            )
            for u in units
        ]
        created = await self.store.create(work, events)
        if project is None:
            log.warning(
                "item of a project assignment does not know: stored without units",
                item_id=item.item_id,
                project_id=item.project_id,
            )
        log.info("item received for review", item_id=item.item_id, units=len(units), new=created)

    async def get_item(self, tenant: str, item_id: str) -> WorkItem | None:
        return await self.store.get(tenant, item_id)
