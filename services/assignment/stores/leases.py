"""Live leases: one document per lease, ``_id`` ``<tenant>/<expert>/<slot>``, where a slot is
one of the expert's ``max_leases``. Taking a slot is an insert of that ``_id``, so an expert
never holds more leases than their capacity, on any number of replicas; an expired lease's
document is removed once its unit is back in the pool."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.work import Lease
from shared.mongo import CollectionIndexes, keyset_after

LEASES = "leases"

INDEXES = (
    CollectionIndexes(
        LEASES,
        (
            IndexModel([("tenant", ASCENDING), ("expert_id", ASCENDING)], name="tenant_expert"),
            IndexModel([("expires_at", ASCENDING)], name="deadline"),
            IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),
        ),
    ),
)


def slot_key(tenant: str, expert_id: str, slot: int) -> str:
    return f"{tenant}/{expert_id}/{slot}"


def _lease(doc: dict[str, Any]) -> Lease:
    return Lease.model_validate(doc)


class LeaseStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.leases = db[LEASES]

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

    async def expired(self, now: datetime, limit: int) -> list[tuple[str, int, Lease]]:
        """Leases past their deadline: (tenant, slot, lease), the oldest first."""
        cursor = self.leases.find({"expires_at": {"$lte": now}}).sort("expires_at").limit(limit)
        return [(doc["tenant"], doc["slot"], _lease(doc)) async for doc in cursor]

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
        return [_lease(doc) async for doc in cursor.limit(limit)]
