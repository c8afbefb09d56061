"""The published taxonomy versions a service consumed, in its own database and in memory."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.taxonomy import VersionPublishedV1
from shared.events.envelope import Event
from shared.taxonomy.translation import OntologyVersions


class TaxonomyCache:
    """Published versions a service consumed, kept in its own database and in memory.

    Feed it ``version_published`` events with :meth:`apply` (idempotent: the same
    version applied twice stores one copy) and call :meth:`load` at start-up.
    """

    COLLECTION = "taxonomy_versions"

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db[self.COLLECTION]
        self._ontologies: dict[tuple[str, str], OntologyVersions] = {}

    async def load(self) -> None:
        async for doc in self.collection.find({}, {"_id": 0}):
            self._remember(VersionPublishedV1.model_validate(doc["snapshot"]))

    async def apply(self, event: Event[VersionPublishedV1]) -> None:
        await self.store(event.data)

    async def store(self, version: VersionPublishedV1) -> None:
        key = f"{version.tenant}/{version.ontology_id}/{version.version}"
        await self.collection.replace_one(
            {"_id": key},
            {"_id": key, "snapshot": version.model_dump(mode="json")},
            upsert=True,
        )
        self._remember(version)

    def _remember(self, version: VersionPublishedV1) -> None:
        key = (version.tenant, version.ontology_id)
        self._ontologies.setdefault(key, OntologyVersions()).add(version)

    def ontology(self, tenant: str, ontology_id: str) -> OntologyVersions | None:
        return self._ontologies.get((tenant, ontology_id))

    def version(self, tenant: str, ontology_id: str, number: int) -> VersionPublishedV1 | None:
        versions = self.ontology(tenant, ontology_id)
        return versions.get(number) if versions else None

    async def fetch(self, tenant: str, ontology_id: str, number: int) -> VersionPublishedV1 | None:
        """A version from memory, else from the database: another replica of the service may
        have consumed it (published versions never change, so what is cached stays true)."""
        found = self.version(tenant, ontology_id, number)
        if found is None:
            doc = await self.collection.find_one({"_id": f"{tenant}/{ontology_id}/{number}"})
            if doc is not None:
                found = VersionPublishedV1.model_validate(doc["snapshot"])
                self._remember(found)
        return found
