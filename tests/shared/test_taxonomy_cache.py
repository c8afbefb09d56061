"""The translation helper other services use: versions cached from events in their own
database (real MongoDB-compatible server), reloaded at start-up, translated locally."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.contracts.taxonomy import (
    VERSION_PUBLISHED,
    MappingEntry,
)
from shared.events.envelope import make_event
from shared.taxonomy.cache import TaxonomyCache
from shared.taxonomy.translation import UnknownVersion
from tests.taxonomy_versions import version

pytestmark = pytest.mark.integration


async def test_cached_versions_survive_a_restart_and_translate(
    mongo_client: AsyncMongoClient[Any],
) -> None:
    db = mongo_client[f"t_cache_{uuid.uuid4().hex[:8]}"]
    try:
        cache = TaxonomyCache(db)
        v1 = version(1, ["dog", "wolf", "bird"], [])
        v2 = version(
            2,
            ["canine", "songbird", "raptor"],
            [
                MappingEntry(
                    kind="merged", from_class_ids=["dog", "wolf"], to_class_ids=["canine"]
                ),
                MappingEntry(
                    kind="split", from_class_ids=["bird"], to_class_ids=["songbird", "raptor"]
                ),
            ],
        )
        for payload in (v1, v2, v2):  # a redelivered event stores nothing new
            await cache.apply(make_event(VERSION_PUBLISHED, payload, source="/t", tenant="acme"))
        assert await db[TaxonomyCache.COLLECTION].count_documents({}) == 2

        restarted = TaxonomyCache(db)
        await restarted.load()
        versions = restarted.ontology("acme", "animals")
        assert versions is not None and versions.latest is not None
        assert versions.latest.version == 2
        assert versions.translate("wolf", 1, 2).class_id == "canine"
        assert "split into songbird, raptor" in (versions.translate("bird", 1, 2).reason or "")
        assert versions.translate("raptor", 2, 1).class_id == "bird"
        assert restarted.ontology("other-tenant", "animals") is None
        with pytest.raises(UnknownVersion):
            versions.translate("dog", 1, 3)
    finally:
        await mongo_client.drop_database(db.name)
