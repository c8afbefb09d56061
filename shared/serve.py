"""Process entrypoint shared by the services: logging, then uvicorn."""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI
from pydantic import ValidationError

from shared.logging import configure_logging
from shared.settings import ServiceSettings

S = TypeVar("S", bound=ServiceSettings)


def tune_gc(gen0_threshold: int) -> None:
    """Collect the young generation less often (``0`` keeps Python's threshold).

    A service allocates thousands of short-lived objects per batch of events; with
    Python's default threshold (700) the collector runs often enough to cost a large share of
    its CPU (docs/benchmarks.md has the measurement). Cycles are still collected
    (``tests/shared/test_gc.py``).
    """
    if gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


def serve(create_app: Callable[[S], FastAPI], settings_class: type[S]) -> None:
    """Read the settings from the environment (or say what is wrong and exit), then serve."""
    try:
        settings = settings_class()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        sys.stderr.write(f"quorum-{settings_class.service_name}: cannot start: {problems}\n")
        raise SystemExit(2) from None
    configure_logging(settings.service_name, level=settings.log_level, json=settings.json_logs)
    app = create_app(settings)
    tune_gc(settings.gc_gen0_threshold)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,  # structlog owns logging
        access_log=False,
        proxy_headers=True,
    )
