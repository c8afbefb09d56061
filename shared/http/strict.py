"""Unknown fields of a request body read into a tolerant contract.

Event contracts ignore fields they do not know (tolerant readers). A person typing a body
wants to hear of a misspelt key instead: these are the keys of the raw JSON that the model
it was read into does not have, nested models and lists included."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from shared.errors import FieldError


def unknown_fields(raw: Any, parsed: Any, where: str = "body") -> list[FieldError]:
    """Every key of ``raw`` (parsed JSON) that ``parsed`` (what it was read into) lacks."""
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
