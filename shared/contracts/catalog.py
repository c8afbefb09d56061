"""Every event contract of Quorum, in one list (the AsyncAPI document is generated from it)."""

from __future__ import annotations

from typing import Any

from shared.contracts import media, metrics, outcomes, taxonomy, work
from shared.contracts.spec import EventSpec

ALL_EVENTS: tuple[EventSpec[Any], ...] = (
    *media.EVENTS,
    *outcomes.EVENTS,
    *work.EVENTS,
    *taxonomy.EVENTS,
    *metrics.EVENTS,
)
