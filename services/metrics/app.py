"""Metrics: streams agreement, accuracy, pre-label error, drift and throughput updates.

First slice: agreement per project and field. ``judgment.submitted`` is recorded per item
(``stores.ratings``, once per judgment) and the figures are computed on read
(``handlers.agreement``, ``api.agreement``); the other capabilities arrive with issue 22.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics import api
from services.metrics.api.problems import PROBLEMS
from services.metrics.handlers.agreement import Agreement
from services.metrics.handlers.live import Changes, LiveAgreement, StreamTiming
from services.metrics.handlers.prelabels import Prelabels
from services.metrics.settings import MetricsSettings
from services.metrics.stores import prelabels, ratings
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.metrics import METRICS
from shared.contracts.work import ITEM_RESOLVED, JUDGMENT_SUBMITTED
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: MetricsSettings) -> FastAPI:
    runtime = Runtime(settings)
    # in-process: the consumer tells this replica's stream subscribers (handlers.live)
    changes = Changes()
    agreement = Agreement(ratings.RatingStore(runtime.db), applied=changes.notify)
    live = LiveAgreement(
        agreement,
        changes,
        StreamTiming(
            heartbeat_seconds=settings.stream_heartbeat_seconds,
            coalesce_seconds=settings.stream_coalesce_seconds,
            max_seconds=settings.stream_max_seconds,
        ),
    )
    prelabelled = Prelabels(prelabels.PrelabelStore(runtime.db))
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=(*ratings.INDEXES, *prelabels.INDEXES),
            published_topics=[METRICS],
            consumed={
                # the inbox skips a redelivered event; the store skips a judgment applied
                # before under another event id
                JUDGMENT_SUBMITTED: agreement.on_judgment_submitted,
                # pre-labels are written once; an outcome only over a lower revision
                MEDIA_REGISTERED: prelabelled.on_media_registered,
                ITEM_RESOLVED: prelabelled.on_item_resolved,
            },
        ),
        use_cases=[agreement, live, prelabelled],
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput "
        "updates. Today: agreement per project and field, computed from the judgments "
        "submitted (`quorum.judgment.submitted.v1`); pre-label systematic errors and "
        "calibration per model version, from the pre-labels registered "
        "(`quorum.media.registered.v1`) and the outcomes (`quorum.item.resolved.v1`).",
        routers=api.ROUTERS,
        problems=PROBLEMS,
    )
