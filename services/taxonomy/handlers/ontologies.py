"""Ontologies: created with an empty draft; read by every role of the tenant once published."""

from __future__ import annotations

import uuid

from services.taxonomy.models import Draft, Ontology, OntologyIn, OntologyRecord
from services.taxonomy.store import TaxonomyStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.http.problems import not_found
from shared.logging import get_logger

log = get_logger(__name__)


def _view(record: OntologyRecord, *, latest: int | None, draft_revision: int | None) -> Ontology:
    return Ontology(
        ontology_id=record.ontology_id,
        tenant=record.tenant,
        name=record.name,
        description=record.description,
        kind=record.kind,
        latest_version=latest,
        draft_revision=draft_revision,
        created_at=record.created_at,
    )


class Ontologies:
    def __init__(self, store: TaxonomyStore, clock: Clock = now_ms) -> None:
        self.store = store
        self.clock = clock

    async def require(self, principal: Principal, ontology_id: str) -> OntologyRecord:
        """The ontology, or 404: another tenant's, or (for readers) one never published."""
        record = await self.store.ontology(principal.tenant, ontology_id)
        if record is None or (
            not principal.is_staff
            and await self.store.latest_version(principal.tenant, ontology_id) is None
        ):
            raise not_found(f"ontology {ontology_id}")
        return record

    async def create(self, principal: Principal, body: OntologyIn) -> Ontology:
        now = self.clock()
        record = OntologyRecord(
            ontology_id=f"ont_{uuid.uuid4().hex[:16]}",
            tenant=principal.tenant,
            name=body.name,
            description=body.description,
            kind=body.kind,
            created_at=now,
            created_by=principal.subject,
        )
        await self.store.insert_ontology(record)
        draft = Draft(
            ontology_id=record.ontology_id,
            base_version=None,
            revision=1,
            classes=[],
            lineage=[],
            updated_at=now,
            updated_by=principal.subject,
        )
        await self.store.create_draft(principal.tenant, draft)
        log.info("ontology created", ontology_id=record.ontology_id)
        return _view(record, latest=None, draft_revision=1)

    async def get(self, principal: Principal, ontology_id: str) -> Ontology:
        record = await self.require(principal, ontology_id)
        latest = await self.store.latest_version(principal.tenant, ontology_id)
        draft = (
            await self.store.draft(principal.tenant, ontology_id) if principal.is_staff else None
        )
        return _view(
            record,
            latest=latest.number if latest else None,
            draft_revision=draft.revision if draft else None,
        )

    async def list(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> tuple[list[Ontology], str | None]:
        """A page of the tenant's ontologies (readers see published ones only), and where the
        next page starts (None at the end)."""
        out: list[Ontology] = []
        cursor = after
        while len(out) < limit:
            records = await self.store.list_ontologies(principal.tenant, after=cursor, limit=limit)
            if not records:
                return out, None
            ids = [r.ontology_id for r in records]
            latest = await self.store.latest_numbers(principal.tenant, ids)
            drafts = (
                await self.store.draft_revisions(principal.tenant, ids)
                if principal.is_staff
                else {}
            )
            for record in records:
                cursor = record.ontology_id
                if not principal.is_staff and record.ontology_id not in latest:
                    continue
                out.append(
                    _view(
                        record,
                        latest=latest.get(record.ontology_id),
                        draft_revision=drafts.get(record.ontology_id),
                    )
                )
                if len(out) == limit:
                    return out, cursor
            if len(records) < limit:
                return out, None
        return out, cursor
