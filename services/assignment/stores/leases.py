"""Live leases: one document per lease, ``_id`` ``<tenant>/<expert>/<slot>``, where a slot is
one of the expert's ``max_leases``. Taking a slot is an insert of that ``_id``, so an expert
never holds more leases than their capacity, on any number of replicas; an expired lease's
document is removed once its unit is back in the pool."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.withdrawals import WithdrawnLease
from services.assignment.models.work import Lease
from shared.logging import get_logger
from shared.mongo import CollectionIndexes, compound_id, keyset_after

log = get_logger(__name__)

LEASES = "leases"
#: Leases withdrawn from their expert (``services/assignment/standing.py``): ``_id``
#: ``<tenant>/<expert>/<lease id>``, why, and until when a call on the lease is told so.
WITHDRAWN = "withdrawn_leases"

INDEXES = (
    CollectionIndexes(
        LEASES,
        (
            IndexModel([("tenant", ASCENDING), ("expert_id", ASCENDING)], name="tenant_expert"),
            IndexModel([("expires_at", ASCENDING)], name="deadline"),
            IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),
        ),
    ),
    CollectionIndexes(WITHDRAWN, (IndexModel([("until", ASCENDING)], name="until"),)),
)


#: A lease the expiry sweep could not expire holds why, and is swept no more.
SET_ASIDE = "set_aside"


@dataclass(frozen=True)
class UnreadableLease:
    """A lease document this code cannot read: its ``_id`` and why."""

    key: Any
    error: str


def slot_key(tenant: str, expert_id: str, slot: int) -> str:
    return compound_id(tenant, expert_id, slot)


def _lease(doc: dict[str, Any]) -> Lease:
    return Lease.model_validate(doc)


def _withdrawn_key(tenant: str, expert_id: str, lease_id: str) -> str:
    return compound_id(tenant, expert_id, lease_id)


class LeaseStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.leases = db[LEASES]
        self.withdrawals = db[WITHDRAWN]

    async def held(self, tenant: str, expert_id: str) -> dict[int, Lease]:
        """The expert's live leases by slot."""
        cursor = self.leases.find({"tenant": tenant, "expert_id": expert_id})
        return {doc["slot"]: _lease(doc) async for doc in cursor}

    async def take(self, tenant: str, slot: int, lease: Lease) -> bool:
        """Hold ``slot`` for ``lease``; False when another lease holds it."""
        doc = {
            "_id": slot_key(tenant, lease.expert_id, slot),
            "tenant": tenant,
            "slot": slot,
            **lease.model_dump(mode="python"),
        }
        try:
            await self.leases.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get(self, tenant: str, expert_id: str, slot: int) -> Lease | None:
        doc = await self.leases.find_one({"_id": slot_key(tenant, expert_id, slot)})
        return _lease(doc) if doc else None

    async def point_at(
        self, tenant: str, expert_id: str, slot: int, lease_id: str, unit_id: str, item_id: str
    ) -> None:
        await self.leases.update_one(
            {"_id": slot_key(tenant, expert_id, slot), "lease_id": lease_id},
            {"$set": {"unit_id": unit_id, "item_id": item_id}},
        )

    async def extend(
        self, tenant: str, expert_id: str, slot: int, lease_id: str, expires_at: datetime
    ) -> bool:
        result = await self.leases.update_one(
            {"_id": slot_key(tenant, expert_id, slot), "lease_id": lease_id},
            {"$set": {"expires_at": expires_at}},
        )
        return result.matched_count == 1

    async def drop(self, tenant: str, expert_id: str, slot: int, lease_id: str) -> bool:
        result = await self.leases.delete_one(
            {"_id": slot_key(tenant, expert_id, slot), "lease_id": lease_id}
        )
        return result.deleted_count == 1

    async def expired(
        self, now: datetime, limit: int
    ) -> list[tuple[Any, str, int, Lease] | UnreadableLease]:
        """Leases past their deadline and not set aside: (``_id``, tenant, slot, lease), the
        oldest first; a document that is not a lease as this code reads it, as such."""
        cursor = (
            self.leases.find({"expires_at": {"$lte": now}, SET_ASIDE: {"$exists": False}})
            .sort("expires_at")
            .limit(limit)
        )
        found: list[tuple[Any, str, int, Lease] | UnreadableLease] = []
        async for doc in cursor:
            try:
                found.append((doc["_id"], doc["tenant"], doc["slot"], _lease(doc)))
            except (KeyError, ValidationError) as error:
                found.append(UnreadableLease(doc["_id"], f"{type(error).__name__}: {error}"))
        return found

    async def set_aside(self, key: Any, reason: str, at: datetime) -> None:
        """Leave the lease document ``key`` (its ``_id``) out of the expiry sweeps, saying
        why: it keeps its slot until ops look into it (``set_aside``)."""
        await self.leases.update_one(
            {"_id": key}, {"$set": {SET_ASIDE: {"reason": reason[:2_000], "at": at}}}
        )

    async def of_tenant(
        self,
        tenant: str,
        project_id: str | None,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 0,
    ) -> list[Lease]:
        """The tenant's live leases, soonest deadline first (then by lease id), after
        ``after`` (a deadline and lease id); at most ``limit`` (0: all)."""
        query: dict[str, Any] = {"tenant": tenant}
        if project_id is not None:
            query["project_id"] = project_id
        if after is not None:
            query = {
                "$and": [query, keyset_after([("expires_at", after[0]), ("lease_id", after[1])])]
            }
        cursor = self.leases.find(query).sort([("expires_at", ASCENDING), ("lease_id", ASCENDING)])
        found = []
        async for doc in cursor.limit(limit):
            try:
                found.append(_lease(doc))
            except ValidationError as exc:  # one bad document hides no other lease
                log.error(
                    "a lease document cannot be read: left out",
                    key=doc.get("_id"),
                    error=str(exc)[:300],
                )
        return found

    async def keep_withdrawn(self, tenant: str, withdrawn: WithdrawnLease) -> None:
        """Keep why a lease was withdrawn from its expert (until ``withdrawn.until``)."""
        key = _withdrawn_key(tenant, withdrawn.expert_id, withdrawn.lease_id)
        await self.withdrawals.replace_one(
            {"_id": key}, {"tenant": tenant, **withdrawn.model_dump(mode="python")}, upsert=True
        )

    async def withdrawn(self, tenant: str, expert_id: str, lease_id: str) -> WithdrawnLease | None:
        """Why the expert's lease ``lease_id`` was withdrawn from them; None: it was not (or
        long ago)."""
        doc = await self.withdrawals.find_one({"_id": _withdrawn_key(tenant, expert_id, lease_id)})
        return WithdrawnLease.model_validate(doc) if doc else None

    async def forget_withdrawn(self, now: datetime) -> None:
        """Forget the withdrawals kept until before ``now``."""
        await self.withdrawals.delete_many({"until": {"$lt": now}})
