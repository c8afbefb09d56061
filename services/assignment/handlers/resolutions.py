"""After a judgment: what the item needs (``resolution.next_step``), done once whichever
replica gets there first: one more review unit, an adjudication unit, or the item resolved
and published as ``item.resolved``."""

from __future__ import annotations

import asyncio

from services.assignment import leasing, resolution, sampling
from services.assignment.handlers.events import SOURCE, unit_event
from services.assignment.handlers.forms import RubricForms
from services.assignment.models.work import Unit, WorkItem
from services.assignment.stores.items import ItemStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.secrets import ProjectSecrets
from shared.clock import Clock, now_ms
from shared.contracts.work import (
    ITEM_RESOLVED,
    WORK_CREATED,
    Escalation,
    JudgmentSubmittedV1,
    WorkKind,
    WorkUnitEventV1,
)
from shared.events.envelope import Event, make_event
from shared.logging import get_logger

log = get_logger(__name__)


class Resolutions:
    def __init__(
        self,
        items: ItemStore,
        projects: ProjectStore,
        forms: RubricForms,
        secrets: ProjectSecrets,
        clock: Clock = now_ms,
    ) -> None:
        self.items = items
        self.projects = projects
        self.forms = forms
        self.secrets = secrets
        self.clock = clock

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        """The published judgment again: take the step its item needs if the replica that
        stored it stopped before (after_judgment is done once, so a second call is a no-op).
        Gold copies' judgments feed calibration instead (``gold.scored``)."""
        item = await self.items.get(event.data.tenant, event.data.item_id)
        if item is not None and item.gold_id is None and item.qualification is None:
            await self.after_judgment(item)

    async def after_judgment(self, item: WorkItem) -> None:
        """Take the step ``item`` (as the judgment's write left it) needs now."""
        if not resolution.awaits_step(item):  # units still out, or settled already
            return
        tenant, item_id = item.tenant, item.item_id
        project = await self.projects.get(tenant, item.project_id)
        if project is None:
            return
        now = self.clock()
        # the rubric version the item's units were made with, not the project's now
        form = await self.forms.get(tenant, item.units[0].rubric)
        key = await self.secrets.key(tenant, item.project_id)
        # comparing the judgments (masks, polygons) is CPU work: off the event loop
        step = await asyncio.to_thread(
            resolution.next_step, item, project, form, now, sampling.audit_draw(key, item_id)
        )
        if isinstance(step, resolution.Resolve):
            event = make_event(ITEM_RESOLVED, step.resolution, source=SOURCE, tenant=tenant)
            if await self.items.resolve(tenant, item_id, step.resolution, event):
                log.info("item resolved", item_id=item_id, method=step.resolution.method.value)
        elif isinstance(step, resolution.AddReview):
            await self.add(item, WorkKind.review)
        elif isinstance(step, resolution.Adjudicate):
            reasons = resolution.escalation(step.reasons)
            if await self.add(item, WorkKind.adjudication, escalation=reasons):
                log.info(
                    "item sent to adjudication",
                    item_id=item_id,
                    reasons="; ".join(r.message for r in reasons),
                )

    async def add(
        self,
        item: WorkItem,
        kind: WorkKind,
        *,
        because: str | None = None,
        escalation: list[Escalation] | None = None,
    ) -> bool:
        """One more unit of ``kind`` on the item as read (see ``ItemStore.add_unit``); an
        adjudication unit records why (``escalation``)."""
        unit, event = self.unit(item, kind, escalation=escalation)
        return await self.items.add_unit(item.tenant, item.item_id, unit, event, because=because)

    def unit(
        self, item: WorkItem, kind: WorkKind, *, escalation: list[Escalation] | None = None
    ) -> tuple[Unit, Event[WorkUnitEventV1]]:
        """The item's next unit of ``kind`` (the rubric and taxonomy versions of its last)
        and its ``work.created`` event."""
        n = len(item.units)
        last = item.units[-1]
        unit = Unit(
            n=n,
            unit_id=leasing.unit_id(item.item_id, n),
            kind=kind,
            rubric=last.rubric,
            taxonomy=last.taxonomy,
            created_at=self.clock(),
            escalation=escalation,
        )
        event = unit_event(
            WORK_CREATED,
            tenant=item.tenant,
            unit_id=unit.unit_id,
            item_id=item.item_id,
            project_id=item.project_id,
            kind=kind,
            at=unit.created_at,
        )
        return unit, event
