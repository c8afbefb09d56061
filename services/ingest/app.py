"""Ingest: registers media from client systems (HTTP and Kafka), follows each item's review,
and publishes the outcomes (to the other services, and to each tenant's outcome topic)."""

from __future__ import annotations

from fastapi import FastAPI

from services.ingest import api, store
from services.ingest.handlers.items import Items
from services.ingest.handlers.projects import Projects
from services.ingest.handlers.registration import Registrations
from services.ingest.handlers.review import ReviewProgress
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, REGISTRATION_REQUESTED
from shared.contracts.outcomes import OUTCOMES
from shared.contracts.taxonomy import VERSION_PUBLISHED
from shared.contracts.work import ITEM_RESOLVED, PROJECT_CHANGED, WORK_CREATED, WORK_LEASED
from shared.http.app import create_service_app
from shared.http.idempotency import IdempotencyRecords
from shared.runtime import Runtime, RuntimeSpec
from shared.taxonomy.cache import TaxonomyCache


def create_app(settings: IngestSettings) -> FastAPI:
    runtime = Runtime(settings)
    media = store.MediaStore(runtime.db, runtime.outbox)
    taxonomy = TaxonomyCache(runtime.db)
    projects = Projects(store.ProjectStore(runtime.db))
    registrations = Registrations(media, projects, taxonomy)
    review = ReviewProgress(media, projects)
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=store.INDEXES,
            outbox_collections=store.OUTBOX_COLLECTIONS,
            published_topics=[MEDIA, OUTCOMES],
            consumed={
                REGISTRATION_REQUESTED: registrations.register_request,
                PROJECT_CHANGED: review.on_project_changed,
                VERSION_PUBLISHED: taxonomy.apply,
                WORK_CREATED: review.on_work_created,
                WORK_LEASED: review.on_review_started,
                ITEM_RESOLVED: review.on_item_resolved,
            },
            consumed_in_batches={REGISTRATION_REQUESTED: registrations.register_requests},
            # item ids derive from (tenant, external id) and rejections from the request id:
            # a redelivered request stores and publishes nothing new without an inbox
            consumed_without_inbox=[REGISTRATION_REQUESTED],
        ),
        use_cases=[
            registrations,
            Items(media, projects, taxonomy),
            projects,
            IdempotencyRecords(runtime.db),
        ],
        before_start=[taxonomy.load],
        title="Quorum ingest",
        description="Registers media (image, video, audio, text, multimodal bundles) with "
        "pre-labels from client systems, over HTTP and Kafka, and reports their review status.",
        routers=[api.router],
    )
