"""Experts' documents: one per expert of a tenant, ``_id`` ``<tenant>/<expert id>``, changed
only at the revision it was read at (optimistic concurrency), so two ops editing one expert
never lose either change silently."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.eligibility import VettingState
from services.assignment.models.experts import Expert
from shared.mongo import CollectionIndexes, compound_id

EXPERTS = "experts"
#: The field of an expert's document holding the body that onboarded them.
ONBOARDING = "onboarding"

INDEXES = (
    CollectionIndexes(
        EXPERTS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("state", ASCENDING), ("expert_id", ASCENDING)],
                name="tenant_state_expert",
            ),
            IndexModel([("tenant", ASCENDING), ("expert_id", ASCENDING)], name="tenant_expert"),
        ),
    ),
)


class ExpertExists(Exception):
    """An expert of that id is already known to the tenant."""


def _key(tenant: str, expert_id: str) -> str:
    return compound_id(tenant, expert_id)


def _expert(doc: dict[str, Any]) -> Expert:
    return Expert.model_validate({k: v for k, v in doc.items() if k != "_id"})


class ExpertStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.experts = db[EXPERTS]

    async def insert(self, expert: Expert, onboarding: dict[str, Any] | None = None) -> None:
        """Store a new expert with the body that onboarded them (what a repeated onboarding
        is compared with); :class:`ExpertExists` when the id is taken."""
        doc = {"_id": _key(expert.tenant, expert.expert_id), **expert.model_dump(mode="python")}
        if onboarding is not None:
            doc[ONBOARDING] = onboarding
        try:
            await self.experts.insert_one(doc)
        except DuplicateKeyError as exc:
            raise ExpertExists(expert.expert_id) from exc

    async def onboarding(self, tenant: str, expert_id: str) -> dict[str, Any] | None:
        """The body that onboarded the expert; None for an expert stored without one."""
        doc = await self.experts.find_one({"_id": _key(tenant, expert_id)}, {ONBOARDING: 1})
        found = doc.get(ONBOARDING) if doc else None
        return found if isinstance(found, dict) else None

    async def get(self, tenant: str, expert_id: str) -> Expert | None:
        doc = await self.experts.find_one({"_id": _key(tenant, expert_id)})
        return _expert(doc) if doc else None

    async def many(self, tenant: str, expert_ids: list[str]) -> dict[str, Expert]:
        """The tenant's experts of those ids that exist, by id."""
        if not expert_ids:
            return {}
        keys = [_key(tenant, e) for e in expert_ids]
        cursor = self.experts.find({"_id": {"$in": keys}}, {ONBOARDING: 0})
        return {doc["expert_id"]: _expert(doc) async for doc in cursor}

    async def page(
        self, tenant: str, *, state: VettingState | None, after: str | None, limit: int
    ) -> list[Expert]:
        """The tenant's experts in id order, after ``after``, in ``state`` if given."""
        query: dict[str, Any] = {"tenant": tenant}
        if state is not None:
            query["state"] = state.value
        if after is not None:
            query["expert_id"] = {"$gt": after}
        cursor = self.experts.find(query).sort("expert_id", ASCENDING).limit(limit)
        return [_expert(doc) async for doc in cursor]

    async def replace(self, expert: Expert) -> bool:
        """Store ``expert`` as revision ``expert.revision + 1`` if the stored one is still at
        ``expert.revision``; False when it changed meanwhile."""
        doc = expert.model_dump(mode="python")
        doc["revision"] = expert.revision + 1
        # $set, not a replacement: the onboarding body stays
        result = await self.experts.update_one(
            {"_id": _key(expert.tenant, expert.expert_id), "revision": expert.revision},
            {"$set": doc},
        )
        return result.modified_count == 1
