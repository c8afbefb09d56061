"""Taxonomy: versioned ontologies with classes, example links, diffs and migrations."""

from __future__ import annotations

from fastapi import FastAPI

from services.taxonomy import api, store
from services.taxonomy.handlers.candidates import Candidates
from services.taxonomy.handlers.drafts import Drafts
from services.taxonomy.handlers.examples import Examples
from services.taxonomy.handlers.impact import Impacts
from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.handlers.usage import Usage
from services.taxonomy.handlers.versions import Versions
from services.taxonomy.settings import TaxonomySettings
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.taxonomy import TAXONOMY
from shared.contracts.work import (
    FEEDBACK_SUBMITTED,
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    WORK_CREATED,
)
from shared.http.app import create_service_app
from shared.kafka.consumer import in_turn
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: TaxonomySettings) -> FastAPI:
    runtime = Runtime(settings)
    taxonomy = store.TaxonomyStore(runtime.db, runtime.outbox)
    ontologies = Ontologies(taxonomy)
    drafts = Drafts(taxonomy, ontologies)
    versions = Versions(taxonomy, ontologies, drafts)
    examples = Examples(taxonomy, ontologies, versions)
    candidates = Candidates(taxonomy, ontologies, examples)
    usage = Usage(taxonomy)
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=store.INDEXES,
            outbox_collections=store.OUTBOX_COLLECTIONS,
            published_topics=[TAXONOMY],
            consumed={
                JUDGMENT_SUBMITTED: in_turn(
                    usage.on_judgment_submitted, candidates.on_judgment_submitted
                ),
                MEDIA_REGISTERED: usage.on_media_registered,
                WORK_CREATED: usage.on_work_created,
                ITEM_RESOLVED: usage.on_item_resolved,
                FEEDBACK_SUBMITTED: candidates.on_feedback_submitted,
            },
        ),
        use_cases=[
            ontologies,
            drafts,
            Impacts(taxonomy, drafts),
            versions,
            examples,
            candidates,
        ],
        title="Quorum taxonomy",
        description="Versions ontologies (COCO-style or custom) with hierarchical classes, "
        "example links, diffs, label translation between versions and impact previews.",
        routers=[api.router],
        problems=api.PROBLEMS,
    )
