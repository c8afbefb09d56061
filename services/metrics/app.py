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
from services.metrics.settings import MetricsSettings
from services.metrics.stores import ratings
from shared.contracts.metrics import METRICS
from shared.contracts.work import JUDGMENT_SUBMITTED
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: MetricsSettings) -> FastAPI:
    runtime = Runtime(settings)
    agreement = Agreement(ratings.RatingStore(runtime.db))
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=(*ratings.INDEXES,),
            published_topics=[METRICS],
            consumed={
                # the inbox skips a redelivered event; the store skips a judgment applied
                # before under another event id
                JUDGMENT_SUBMITTED: agreement.on_judgment_submitted,
            },
        ),
        use_cases=[agreement],
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput "
        "updates. Today: agreement per project and field, computed from the judgments "
        "submitted (`quorum.judgment.submitted.v1`).",
        routers=api.ROUTERS,
        problems=PROBLEMS,
    )
