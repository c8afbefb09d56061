"""The time, as stored: a use case takes a clock, so tests can set the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: What a use case asks for the current time.
Clock = Callable[[], datetime]


def now_ms() -> datetime:
    """The current UTC time at MongoDB's precision (milliseconds), so what an API returns
    and what an event carries equal what is stored."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)
