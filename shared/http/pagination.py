"""Pages of a list, and the opaque cursors that continue them."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.errors import FieldError
from shared.http.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *types: type) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor` of values of ``types``, in order; a bad
    one (not ours, another arity, a value of another type) is a 400 naming the field."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(type(v) is t for v, t in zip(values, types, strict=True))
    ):
        raise bad_cursor()
    return values


def bad_cursor() -> Problem:
    """The 400 for a cursor this API did not make (or whose values do not parse)."""
    return Problem(
        400,
        "Bad Request",
        "cursor is not one this API returned; start again without it",
        errors=[FieldError(field="query.cursor", message="invalid cursor")],
    )
