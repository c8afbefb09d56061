"""Gold in handouts and judgments: when a project's gold is due for an expert
(``sampling.gold_due``), one of its active gold items they have never had is leased to them
as a copy of its own, an item whose id is drawn from the gold item's secret salt and the
expert (so a second copy for the same expert cannot be made, on any replica, and nobody can
tell the id from a registered item's). The copy stands in for the project's next ordinary unit
for the expert and takes its rubric and taxonomy versions, and only a gold item whose key
holds under them is served (``GoldItem.serves``; ``GoldItems.recheck`` checks keys when the
project moves to other versions): so the copy's unit looks exactly like its neighbours. Its
judgment is scored against the key at once, in the same write (``gold.scored``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from services.assignment import effective_labels, gold, sampling
from services.assignment.handlers.events import SOURCE, unit_event
from services.assignment.handlers.items import leased_copy
from services.assignment.models.gold import GoldItem, GoldVersions
from services.assignment.models.projects import Project
from services.assignment.models.work import Judgment, Lease, WorkItem
from services.assignment.stores.gold import GoldStore
from services.assignment.stores.items import ItemStore
from services.assignment.stores.secrets import ProjectSecrets
from shared.clock import Clock, now_ms
from shared.contracts.vocabulary import TaxonomyRef
from shared.contracts.work import GOLD_SCORED, WORK_LEASED, GoldScoredV1, WorkKind
from shared.events.envelope import Event, make_event
from shared.logging import get_logger

log = get_logger(__name__)

#: The namespace of gold copies' ids (uuid5, like registered items' ids).
COPY_NAMESPACE = uuid.UUID("0c7d2b7e-52a4-4d7e-9d55-3c1f4a2b9e60")


def copy_id(salt: str, expert_id: str) -> str:
    """The id of a gold item's copy for one expert: unguessable without the item's salt."""
    return str(uuid.uuid5(COPY_NAMESPACE, f"{salt}\x1f{expert_id}"))


def _ref(taxonomy: TaxonomyRef | None) -> dict[str, Any] | None:
    return None if taxonomy is None else taxonomy.model_dump(mode="json")


class GoldServing:
    def __init__(
        self,
        store: GoldStore,
        items: ItemStore,
        secrets: ProjectSecrets,
        *,
        ttl_s: float = 5.0,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.items = items
        self.secrets = secrets
        self.ttl_s = ttl_s
        self.clock = clock
        self._active: dict[tuple[str, str], tuple[float, list[GoldItem]]] = {}

    async def _active_ids(self, tenant: str, project_id: str, versions: GoldVersions) -> list[str]:
        """The project's active gold ids whose keys hold under ``versions``
        (``GoldItem.serves``), as read at most ``ttl_s`` ago."""
        key = (tenant, project_id)
        cached = self._active.get(key)
        if cached is None or time.monotonic() > cached[0]:
            found = await self.store.of_project(tenant, project_id, active=True)
            cached = (time.monotonic() + self.ttl_s, found)
            self._active[key] = cached
        return [g.gold_id for g in cached[1] if g.serves(versions.rubric, versions.taxonomy)]

    async def due(
        self, tenant: str, project: Project, expert_id: str, versions: GoldVersions
    ) -> tuple[GoldItem, str] | None:
        """The gold item to serve the expert now on a unit of ``versions`` (those of the unit
        it stands in for) and the id of their copy of it, if gold is due and one whose key
        holds under them is left for them."""
        if project.gold_rate <= 0:
            return None
        counts = await self.store.counts_of(tenant, project.project_id, expert_id)
        key = await self.secrets.key(tenant, project.project_id)
        phase = sampling.gold_phase(key, expert_id, project.project_id, counts.served)
        if not sampling.gold_due(counts.served, counts.gold, project.gold_rate, phase):
            return None
        ids = await self._active_ids(tenant, project.project_id, versions)
        gold_id = sampling.pick_gold(key, ids, counts.seen, expert_id)
        found = (
            None
            if gold_id is None
            else await self.store.salted(tenant, project.project_id, gold_id)
        )
        if found is None or not found[0].serves(versions.rubric, versions.taxonomy):
            return None  # gone (or changed since it was read)
        item, salt = found
        return item, copy_id(salt, expert_id)

    async def lease(
        self,
        tenant: str,
        project: Project,
        found: GoldItem,
        item_id: str,
        lease: Lease,
        versions: GoldVersions,
    ) -> WorkItem | None:
        """Create the expert's copy ``item_id`` of the gold item with its unit leased under
        ``lease``; None when they have had it already (the copy exists). The unit is of
        ``versions`` (its key holds under them: :meth:`due`), and the content shows that
        taxonomy version, as a registered item's of those versions does."""
        gold_id = found.gold_id
        copy = leased_copy(
            item_id,
            tenant,
            project.project_id,
            project.modality,
            {**found.content, "taxonomy": _ref(versions.taxonomy)},
            versions.rubric,
            versions.taxonomy,
            WorkKind.gold,
            lease,
            gold_id=gold_id,
        )
        unit = copy.units[0]
        event = unit_event(
            WORK_LEASED,
            tenant=tenant,
            unit_id=unit.unit_id,
            item_id=item_id,
            project_id=project.project_id,
            kind=WorkKind.gold,
            at=lease.leased_at,
            lease=lease,
        )
        if not await self.items.create(copy, [event]):
            await self.store.seen(tenant, project.project_id, lease.expert_id, gold_id)
            return None
        await self.store.count(tenant, project.project_id, lease.expert_id, gold_id)
        log.info("gold unit leased", unit_id=unit.unit_id, lease_id=lease.lease_id)
        return copy

    async def served(self, tenant: str, project: Project, expert_id: str) -> None:
        """One more ordinary unit of the project for the expert (counted for gold's rate)."""
        if project.gold_rate > 0:
            await self.store.count(tenant, project.project_id, expert_id)

    async def score(self, item: WorkItem, judgment: Judgment) -> Event[GoldScoredV1] | None:
        """The ``gold.scored`` event of a judgment on a gold copy (None: not a gold copy)."""
        if item.gold_id is None:
            return None
        found = await self.store.get(item.tenant, item.project_id, item.gold_id)
        if found is None:
            log.warning("gold item of a copy is gone; not scored", gold_id=item.gold_id)
            return None
        # matching labels (masks) is CPU work: off the event loop
        result = await asyncio.to_thread(
            gold.score,
            judgment.judged,
            effective_labels.keyed(found.key, found.content),
            tolerances=found.tolerances.rules(),
        )
        payload = GoldScoredV1(
            judgment_id=judgment.judgment_id,
            unit_id=judgment.unit_id,
            item_id=item.item_id,
            project_id=item.project_id,
            tenant=item.tenant,
            expert_id=judgment.expert_id,
            fields=result.fields,
            score=result.score,
            scored_at=judgment.submitted_at,
        )
        return make_event(GOLD_SCORED, payload, source=SOURCE, tenant=item.tenant)
