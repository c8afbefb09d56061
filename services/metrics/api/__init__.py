"""Metrics' HTTP routes (thin: parse, authorise, call a use case)."""

from __future__ import annotations

from services.metrics.api import (
    agreement,
    alerts,
    expert_quality,
    prelabels,
    stream,
    throughput,
)

ROUTERS = [
    agreement.router,
    stream.router,
    prelabels.router,
    throughput.router,
    expert_quality.router,
    alerts.router,
]
