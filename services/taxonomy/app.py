"""Taxonomy: versioned ontologies with classes, example links, diffs and migrations."""

from __future__ import annotations

from fastapi import FastAPI

from services.taxonomy import api, store
from services.taxonomy.handlers import Taxonomy
from services.taxonomy.settings import TaxonomySettings
from shared.contracts.taxonomy import TAXONOMY
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: TaxonomySettings) -> FastAPI:
    runtime = Runtime(settings)
    taxonomy = Taxonomy(store.TaxonomyStore(runtime.db, runtime.outbox), runtime)
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=store.INDEXES,
            outbox_collections=store.OUTBOX_COLLECTIONS,
            published_topics=[TAXONOMY],
            consumed=taxonomy.consumers(),
        ),
        use_cases=[taxonomy],
        title="Quorum taxonomy",
        description="Versions ontologies (COCO-style or custom) with hierarchical classes, "
        "example links, diffs, label translation between versions and impact previews.",
        routers=[api.router],
    )
