"""A failing field and why: what rule modules return, what problem+json and rejection events
carry. Free of I/O, so pure rule modules can use it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. body.parts.0.width")
    message: str


def differences(first: Any, again: Any, at: str = "body") -> list[FieldError]:
    """Where a request sent again under an id differs from the first one sent under it (both
    JSON-like): each field whose value differs, with the first's value; a list of another
    length as a whole."""
    if isinstance(first, Mapping) and isinstance(again, Mapping):
        keys = [*first, *(k for k in again if k not in first)]
        return [e for k in keys for e in differences(first.get(k), again.get(k), f"{at}.{k}")]
    if isinstance(first, list) and isinstance(again, list) and len(first) == len(again):
        return [
            e
            for i, (a, b) in enumerate(zip(first, again, strict=True))
            for e in differences(a, b, f"{at}.{i}")
        ]
    if first == again:
        return []
    shown = json.dumps(first, default=str, ensure_ascii=False)
    shown = shown if len(shown) <= 200 else shown[:199] + "…"
    return [FieldError(field=at, message=f"differs from the first request with this id: {shown}")]
