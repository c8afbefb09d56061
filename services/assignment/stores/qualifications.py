"""Qualification sets and experts' attempts at them.

* ``qualification_sets``: ``_id`` ``<tenant>/<set id>``, the set with its items and keys.
* ``qualification_attempts``: ``_id`` ``<tenant>/<expert>/<set id>`` (one attempt per expert
  and set): where the handout is in the set (``next``, moved by ``$max`` only) and, once it
  is over, the outcome, written once (from ``open``) with its ``expert.qualified`` event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.qualifications import Attempt, AttemptState, QualificationSet
from shared.events.envelope import Event
from shared.mongo import CollectionIndexes, compound_id, keyset_after
from shared.outbox.entries import HIDE_OUTBOX, Outbox

SETS = "qualification_sets"
ATTEMPTS = "qualification_attempts"

INDEXES = (
    CollectionIndexes(
        SETS, (IndexModel([("tenant", ASCENDING), ("set_id", ASCENDING)], name="tenant_set"),)
    ),
    CollectionIndexes(
        ATTEMPTS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("expert_id", ASCENDING), ("enrolled_at", ASCENDING)],
                name="tenant_expert_enrolled",
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (ATTEMPTS,)


def _key(*parts: str) -> str:
    return compound_id(*parts)


class QualificationStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.sets = db[SETS]
        self.attempts = db[ATTEMPTS]
        self.outbox = outbox

    async def create_set(self, found: QualificationSet) -> bool:
        """Store a new set; False when the tenant has one of that id."""
        doc = {"_id": _key(found.tenant, found.set_id), **found.model_dump(mode="python")}
        try:
            await self.sets.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def get_set(self, tenant: str, set_id: str) -> QualificationSet | None:
        doc = await self.sets.find_one({"_id": _key(tenant, set_id)})
        return QualificationSet.model_validate(doc) if doc else None

    async def sets_of(
        self, tenant: str, *, after: str | None = None, limit: int = 0
    ) -> list[QualificationSet]:
        """The tenant's sets by id, after ``after``; at most ``limit`` (0: all)."""
        query: dict[str, Any] = {"tenant": tenant}
        if after is not None:
            query["set_id"] = {"$gt": after}
        cursor = self.sets.find(query).sort("set_id", ASCENDING).limit(limit)
        return [QualificationSet.model_validate(doc) async for doc in cursor]

    async def set_active(self, tenant: str, set_id: str, active: bool) -> bool:
        result = await self.sets.update_one(
            {"_id": _key(tenant, set_id)}, {"$set": {"active": active}}
        )
        return result.matched_count == 1

    async def enrol(self, attempt: Attempt) -> bool:
        """Store a new attempt; False when the expert has one at the set already."""
        doc = {
            "_id": _key(attempt.tenant, attempt.expert_id, attempt.set_id),
            **attempt.model_dump(mode="python"),
        }
        try:
            await self.attempts.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def attempt(self, tenant: str, expert_id: str, set_id: str) -> Attempt | None:
        doc = await self.attempts.find_one({"_id": _key(tenant, expert_id, set_id)}, HIDE_OUTBOX)
        return Attempt.model_validate(doc) if doc else None

    async def attempts_of(
        self,
        tenant: str,
        expert_id: str,
        state: AttemptState | None = None,
        *,
        after: tuple[datetime, str] | None = None,
        limit: int = 0,
    ) -> list[Attempt]:
        """The expert's attempts, oldest enrolment first, after ``after`` (an enrolment time
        and set id); at most ``limit`` (0: all)."""
        query: dict[str, Any] = {"tenant": tenant, "expert_id": expert_id}
        if state is not None:
            query["state"] = state.value
        if after is not None:
            position = [("enrolled_at", after[0]), ("set_id", after[1])]
            query = {"$and": [query, keyset_after(position)]}
        cursor = self.attempts.find(query, HIDE_OUTBOX).sort(
            [("enrolled_at", ASCENDING), ("set_id", ASCENDING)]
        )
        return [Attempt.model_validate(doc) async for doc in cursor.limit(limit)]

    async def advance(self, tenant: str, expert_id: str, set_id: str, next_index: int) -> None:
        """The handout is at item ``next_index`` at least (never moves back)."""
        await self.attempts.update_one(
            {"_id": _key(tenant, expert_id, set_id)}, {"$max": {"next": next_index}}
        )

    async def finish(self, attempt: Attempt, event: Event[Any]) -> bool:
        """Write the finished attempt's outcome with its event, once: False when it was
        written already (by another replica or an earlier try)."""
        outcome = attempt.model_dump(
            mode="python", include={"state", "score", "answered", "finished_at"}
        )
        result = await self.attempts.update_one(
            {
                "_id": _key(attempt.tenant, attempt.expert_id, attempt.set_id),
                "state": AttemptState.open.value,
            },
            self.outbox.with_events({"$set": outcome}, [event]),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True
