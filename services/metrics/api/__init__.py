"""Metrics' HTTP routes (thin: parse, authorise, call a use case)."""

from __future__ import annotations

from services.metrics.api import agreement, prelabels, stream

ROUTERS = [agreement.router, stream.router, prelabels.router]
