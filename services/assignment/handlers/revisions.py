"""Changing a document at the revision it was read at, again on a concurrent change."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from services.assignment.errors import ChangedConcurrently

T = TypeVar("T")

#: A change lost to a concurrent one is recomputed on the newer state this many times (with
#: n writers at once, the last to win has lost n - 1 times).
ATTEMPTS = 10


async def change_at_revision(
    read: Callable[[], Awaitable[T]],
    change: Callable[[T], T],
    write: Callable[[T], Awaitable[bool]],
    what: str,
) -> T:
    """Read, change, write if nothing changed meanwhile; ``read`` raises when there is no
    such document, ``change`` when the change is refused; :class:`ChangedConcurrently` when
    every attempt lost to a concurrent change."""
    for _ in range(ATTEMPTS):
        changed = change(await read())
        if await write(changed):
            return changed
    raise ChangedConcurrently(what)
