"""How metrics' domain errors (``services.metrics.errors``) are answered: the one place that
decides what a caller learns from a refusal. The app installs :data:`PROBLEMS`."""

from __future__ import annotations

from services.metrics.errors import NotFound
from shared.http.problems import Translation, not_found

PROBLEMS: dict[type[Exception], Translation] = {
    NotFound: lambda exc: not_found(exc.what),
}
