"""Units, leases and a lease's lifetime, free of I/O: unit ids (``<item id>~<n>``), lease
ids (``<slot>-<random>``), a lease's TTL (how far a handout or a heartbeat sets its
deadline) and its maximum life (how long after it was leased no heartbeat can keep it),
and the deadline a handout or a heartbeat sets."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.errors import FieldError

#: The lease TTL of a project that sets none, and of a qualification copy's lease.
DEFAULT_TTL_S = 1_800
#: The shortest and the longest lease TTL a project may set.
MIN_TTL_S = 5
MAX_TTL_S = 7 * 86_400
#: A project that sets no maximum life gives its leases this many TTLs from the handout.
MAX_LIFE_PER_TTL = 4
#: The longest maximum life a project may set (4 TTLs of the longest TTL fit in it).
MAX_LIFE_LIMIT_S = 30 * 86_400
#: How long a call on a lease withdrawn from its expert is told why (then: expired).
WITHDRAWAL_KEPT_S = 86_400
#: Between an item id and a unit's number in the unit's id.
UNIT_SEPARATOR = "~"


def unit_id(item_id: str, n: int) -> str:
    """The id of unit ``n`` of item ``item_id``: ``<item id>~<n>``."""
    return f"{item_id}{UNIT_SEPARATOR}{n}"


def item_of(unit_id: str) -> str:
    """The id of the item a unit id names (what precedes its last ``~``)."""
    return unit_id.rpartition(UNIT_SEPARATOR)[0]


def unit_number(unit_id: str) -> int:
    """The number a unit id names (what follows its last ``~``); ValueError for an id not
    of the form ``<item id>~<n>``."""
    _, separator, number = unit_id.rpartition(UNIT_SEPARATOR)
    if not (separator and number.isascii() and number.isdigit()):
        raise ValueError(f"not a unit id: {unit_id!r}")
    return int(number)


def lease_id(slot: int) -> str:
    """A new lease id for a lease held in ``slot``: ``<slot>-<random>``."""
    return f"{slot}-{uuid.uuid4().hex}"


def slot_of(lease_id: str) -> int | None:
    """The slot a lease id names (``<slot>-<random>``), or None for an id not ours (one
    of ASCII digits only: ``int`` refuses some other digits, such as ``²``)."""
    head, _, rest = lease_id.partition("-")
    return int(head) if head.isascii() and head.isdigit() and rest and len(head) <= 2 else None


def deadline(start: datetime, seconds: float) -> datetime:
    """``seconds`` after ``start``: a lease's first deadline from its handout (its TTL), how
    long a withdrawal is kept."""
    return start + timedelta(seconds=seconds)


@dataclass(frozen=True)
class LeaseLife:
    ttl_s: int
    max_life_s: int


def lease_life(ttl_s: int | None, max_life_s: int | None) -> LeaseLife:
    """The life of a project's leases: its TTL (the default without one) and its maximum
    life (``MAX_LIFE_PER_TTL`` TTLs without one)."""
    ttl = DEFAULT_TTL_S if ttl_s is None else ttl_s
    return LeaseLife(ttl, MAX_LIFE_PER_TTL * ttl if max_life_s is None else max_life_s)


def extended(
    life: LeaseLife, leased_at: datetime, expires_at: datetime, now: datetime
) -> datetime | None:
    """The deadline a heartbeat at ``now`` moves a lease to: a TTL from now, but never past
    its maximum life from ``leased_at``; None when the lease is at that cap already (no
    heartbeat moves it further)."""
    cap = deadline(leased_at, life.max_life_s)
    wanted = deadline(now, life.ttl_s)
    if wanted <= cap:
        return wanted
    return None if expires_at >= cap else cap


def life_errors(ttl_s: int, max_life_s: int | None, *, where: str = "body") -> list[FieldError]:
    """A maximum life shorter than the TTL contradicts it (the handout's first deadline
    would be past it)."""
    if max_life_s is None or max_life_s >= ttl_s:
        return []
    return [
        FieldError(
            field=f"{where}.lease_max_life_s",
            message=f"a lease's maximum life ({max_life_s} s) is shorter than the lease TTL "
            f"({ttl_s} s): set it to the TTL or more, or leave it unset ({MAX_LIFE_PER_TTL} "
            "TTLs)",
        )
    ]
