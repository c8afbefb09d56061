"""Before publishing: what the draft's changes would touch, class by class."""

from __future__ import annotations

from services.taxonomy import ontology
from services.taxonomy.handlers.drafts import Drafts
from services.taxonomy.models import ClassImpact, ClassUsage, Impact
from services.taxonomy.store import TaxonomyStore
from shared.auth.principal import Principal


class Impacts:
    def __init__(self, store: TaxonomyStore, drafts: Drafts) -> None:
        self.store = store
        self.drafts = drafts

    async def of_draft(self, principal: Principal, ontology_id: str) -> Impact:
        """Example links, open work items and pre-labels per class the draft changes."""
        draft = await self.drafts.get(principal, ontology_id)
        before = await self.drafts.base_classes(principal, ontology_id, draft.base_version)
        changes = ontology.diff(before, draft.classes, draft.lineage)
        names = {c.id: c.name for c in before}
        kinds: dict[str, list[str]] = {}
        for change in changes:
            if change.kind == "added":
                continue
            for cid in change.from_class_ids:
                kinds.setdefault(cid, []).append(change.kind)
        ids = sorted(kinds)
        tenant = principal.tenant
        links = await self.store.link_counts(tenant, ontology_id, ids) if ids else {}
        usage = await self.store.usage_of(tenant, ontology_id, ids) if ids else {}
        classes = [
            ClassImpact(
                class_id=cid,
                name=names.get(cid, cid),
                changes=kinds[cid],
                example_links=links.get(cid, 0),
                open_work_items=usage.get(cid, ClassUsage()).open_work_items,
                prelabels=usage.get(cid, ClassUsage()).prelabels,
            )
            for cid in ids
        ]
        return Impact(
            ontology_id=ontology_id,
            base_version=draft.base_version,
            draft_revision=draft.revision,
            classes=classes,
            totals={
                "classes": len(classes),
                "example_links": sum(c.example_links for c in classes),
                "open_work_items": sum(c.open_work_items for c in classes),
                "prelabels": sum(c.prelabels for c in classes),
            },
        )
