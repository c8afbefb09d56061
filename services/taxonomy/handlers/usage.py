"""How much stored work each class carries, kept from consumed events (for impact previews)."""

from __future__ import annotations

from collections import Counter

from services.taxonomy.store import TaxonomyStore
from shared.contracts.media import MediaRegisteredV1
from shared.contracts.work import ItemResolvedV1, JudgmentSubmittedV1, WorkUnitEventV1
from shared.events.envelope import Event


class Usage:
    def __init__(self, store: TaxonomyStore) -> None:
        self.store = store

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        item = event.data
        await self.store.note_item(item.item_id, item.tenant)
        if item.taxonomy is None or item.prelabels is None:
            return
        counts = Counter(label.class_id for label in item.prelabels.labels)
        await self.store.record_prelabels(
            item.item_id,
            item.tenant,
            item.taxonomy.ontology_id,
            item.taxonomy.version,
            dict(counts),
            item.registered_at,
        )

    async def on_work_created(self, event: Event[WorkUnitEventV1]) -> None:
        await self.store.open_unit(event.data.item_id, event.data.tenant, event.data.unit_id)

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        judgment = event.data
        await self.store.close_unit(judgment.item_id, judgment.tenant, judgment.unit_id)

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        await self.store.resolve_item(event.data.item_id, event.data.tenant)
