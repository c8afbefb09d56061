"""The five review programs of ``make demo``, each a module with ``NAME``, ``TITLE`` and
``async def run(ctx) -> Report``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType

from deploy.demo.program import Context, Report
from deploy.demo.scenarios import (
    field_capture,
    image_edit,
    image_eval,
    multimodal_qa,
    visual_quality,
)

MODULES: list[ModuleType] = [multimodal_qa, image_eval, visual_quality, field_capture, image_edit]

SCENARIOS: dict[str, Callable[[Context], Awaitable[Report]]] = {m.NAME: m.run for m in MODULES}
TITLES: dict[str, str] = {m.NAME: m.TITLE for m in MODULES}
