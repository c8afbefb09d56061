"""Metrics: streams agreement, accuracy, pre-label error, drift and throughput updates.

Skeleton: the service starts, owns its database and topics, and answers health
checks; its capabilities arrive with their own issues.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.metrics.settings import MetricsSettings
from shared.contracts.metrics import METRICS
from shared.http.app import create_service_app
from shared.runtime import Runtime, RuntimeSpec


def create_app(settings: MetricsSettings) -> FastAPI:
    return create_service_app(
        settings,
        runtime=Runtime(settings),
        spec=RuntimeSpec(published_topics=[METRICS]),
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput updates.",
    )
