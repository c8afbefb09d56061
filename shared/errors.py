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


def unknown_fields(raw: Any, parsed: Any, where: str = "body") -> list[FieldError]:
    """Every key of ``raw`` (parsed JSON) that ``parsed`` (what it was read into) lacks,
    nested models and lists included.

    Event contracts ignore fields they do not know (tolerant readers). A person typing a
    body wants to hear of a misspelt key instead: a use case reading a body into a tolerant
    contract names these."""
    if isinstance(parsed, BaseModel) and isinstance(raw, dict):
        fields = type(parsed).model_fields
        by_name = {(f.alias or name): name for name, f in fields.items()}
        errors = []
        for key, value in raw.items():
            name = by_name.get(key)
            if name is None:
                errors.append(FieldError(field=f"{where}.{key}", message="unknown field"))
            else:
                errors.extend(unknown_fields(value, getattr(parsed, name), f"{where}.{key}"))
        return errors
    if isinstance(parsed, list | tuple) and isinstance(raw, list):
        return [
            error
            for index, (item, model) in enumerate(zip(raw, parsed, strict=False))
            for error in unknown_fields(item, model, f"{where}.{index}")
        ]
    if isinstance(parsed, dict) and isinstance(raw, dict):
        values = {str(k): v for k, v in parsed.items()}
        return [
            error
            for key, item in raw.items()
            if str(key) in values
            for error in unknown_fields(item, values[str(key)], f"{where}.{key}")
        ]
    return []
