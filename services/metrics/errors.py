"""Metrics' domain errors: what a use case refuses, named for the domain. Handlers raise them;
the one mapping at the HTTP edge (``services.metrics.api.problems.PROBLEMS``) answers each.
Nothing here imports ``shared.http``."""

from __future__ import annotations


class MetricsError(Exception):
    """A refusal of one of metrics' use cases (each kind answered at the edge)."""


class NotFound(MetricsError):
    """``what`` (``project p-1``) has nothing of the caller's tenant: absent, without
    judgments yet, or another tenant's (the same answer)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist")
        self.what = what
