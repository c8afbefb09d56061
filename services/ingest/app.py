"""Ingest: registers media from client systems (HTTP and Kafka) and publishes the outcome."""

from __future__ import annotations

from fastapi import FastAPI

from services.ingest import api, store
from services.ingest.handlers import Ingest
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, REGISTRATION_REQUESTED
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec
from shared.taxonomy.cache import TaxonomyCache


def create_app(settings: IngestSettings) -> FastAPI:
    runtime = Runtime(settings)
    taxonomy = TaxonomyCache(runtime.db)
    ingest = Ingest(store.MediaStore(runtime.db), taxonomy, runtime)
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=store.INDEXES,
            outbox_collections=store.OUTBOX_COLLECTIONS,
            published_topics=[MEDIA],
            consumed=ingest.consumers(),
            consumed_in_batches=ingest.batch_consumers(),
            # item ids derive from (tenant, external id) and rejections from the request id:
            # a redelivered request stores and publishes nothing new without an inbox
            consumed_without_inbox=[REGISTRATION_REQUESTED],
        ),
        use_cases=[ingest],
        before_start=[taxonomy.load],
        title="Quorum ingest",
        description="Registers media (image, video, audio, text, multimodal bundles) with "
        "pre-labels from client systems, over HTTP and Kafka, and reports their review status.",
        routers=[api.router],
    )
