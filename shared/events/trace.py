"""W3C trace context and event ids."""

from __future__ import annotations

import os
import uuid


def new_traceparent() -> str:
    """A fresh W3C traceparent (version 00, sampled)."""
    ids = os.urandom(24).hex()
    return f"00-{ids[:32]}-{ids[32:]}-01"


def new_event_id() -> str:
    """A random (version 4) UUID in its text form."""
    return str(uuid.uuid4())


def child_traceparent(parent: str | None) -> str:
    """Continue a W3C trace: same trace id, new span id; a fresh trace if there is none."""
    trace = trace_id_of(parent)
    if trace is None:
        return new_traceparent()
    return f"00-{trace}-{os.urandom(8).hex()}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    parts = traceparent.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    trace = parts[1].lower()
    if not all(c in "0123456789abcdef" for c in trace) or trace == "0" * 32:
        return None
    return trace
