"""Pages of a list, and the opaque cursors that continue them.

Every list endpoint pages the same way: ``?limit=&cursor=`` in, ``{items, next_cursor}`` out
(:class:`Page`); ``next_cursor`` is null on the last page, else passed back as ``cursor`` for
the next one. A cursor holds the sort key of the last item of its page (:func:`page_of`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shared.errors import FieldError
from shared.http.problems import Problem

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


#: The query parameters of a list: how many items a page holds, and where it starts.
Limit = Annotated[int, Query(ge=1, le=200, description="items per page")]
Cursor = Annotated[
    str | None,
    Query(max_length=1024, description="`next_cursor` of the page before; none: the first page"),
]


def page_of(items: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]) -> Page[T]:
    """The page of ``items`` read after the cursor (at most ``limit``): a full page has a
    cursor holding ``key`` of its last item, the next starts after it (and may be empty)."""
    full = len(items) >= limit and bool(items)
    return Page(items=list(items), next_cursor=encode_cursor(key(items[-1])) if full else None)


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


def cursor_time(value: str) -> datetime:
    """A time a cursor holds (as :func:`encode_cursor` writes a datetime); else a 400."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise bad_cursor() from None
    if moment.tzinfo is None:
        raise bad_cursor()
    return moment


def bad_cursor() -> Problem:
    """The 400 for a cursor this API did not make (or whose values do not parse)."""
    return Problem(
        400,
        "Bad Request",
        "cursor is not one this API returned; start again without it",
        errors=[FieldError(field="query.cursor", message="invalid cursor")],
    )
