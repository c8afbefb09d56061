"""Invitations: one document per (project, expert), ``_id`` ``<tenant>/<project>/<expert>``;
each answer is written only from the state it answers (a conditional update)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.rosters import Invitation, InvitationState
from shared.mongo import CollectionIndexes, compound_id

INVITATIONS = "invitations"
#: Calls that invited many experts at once: ``_id`` ``<tenant>/<project>/<batch id>``, the body
#: and the answer (a repeated call is compared with the body and given the answer).
BATCHES = "invitation_batches"

INDEXES = (
    CollectionIndexes(
        INVITATIONS,
        (
            IndexModel(
                [("tenant", ASCENDING), ("expert_id", ASCENDING), ("state", ASCENDING)],
                name="tenant_expert_state",
            ),
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), ("expert_id", ASCENDING)],
                name="tenant_project_expert",
            ),
        ),
    ),
)


def _key(tenant: str, project_id: str, expert_id: str) -> str:
    return compound_id(tenant, project_id, expert_id)


def _invitation(doc: dict[str, Any]) -> Invitation:
    return Invitation.model_validate({k: v for k, v in doc.items() if k not in ("_id", "tenant")})


class RosterStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.invitations = db[INVITATIONS]
        self.batches = db[BATCHES]

    async def batch(self, tenant: str, project_id: str, batch_id: str) -> dict[str, Any] | None:
        """The body and answer of a batch of invitations made before (``body``, ``answer``)."""
        return await self.batches.find_one({"_id": _key(tenant, project_id, batch_id)})

    async def record_batch(
        self,
        tenant: str,
        project_id: str,
        batch_id: str,
        body: dict[str, Any],
        answer: dict[str, Any],
    ) -> bool:
        """Keep a batch's body and answer; False when one is kept under its id already."""
        doc = {"_id": _key(tenant, project_id, batch_id), "body": body, "answer": answer}
        try:
            await self.batches.insert_one(doc)
        except DuplicateKeyError:
            return False
        return True

    async def invite(
        self, tenant: str, project_id: str, expert_id: str, *, by: str, at: datetime
    ) -> Invitation | None:
        """A new invitation, or one answered before (declined, removed) made anew; None when
        the expert is invited or on the roster already."""
        doc = {
            "tenant": tenant,
            "project_id": project_id,
            "expert_id": expert_id,
            "state": InvitationState.invited.value,
            "invited_by": by,
            "invited_at": at,
            "answered_at": None,
        }
        key = _key(tenant, project_id, expert_id)
        current = await self.invitations.find_one({"_id": key})
        if current is None:
            try:
                await self.invitations.insert_one({"_id": key, **doc})
            except DuplicateKeyError:  # a concurrent invitation came first
                return None
            return _invitation(doc)
        if current["state"] in (InvitationState.invited, InvitationState.accepted):
            return None
        result = await self.invitations.update_one(
            {"_id": key, "state": current["state"]}, {"$set": doc}
        )
        return _invitation(doc) if result.modified_count == 1 else None

    async def answer(
        self,
        tenant: str,
        project_id: str,
        expert_id: str,
        *,
        from_states: Collection[InvitationState],
        to: InvitationState,
        at: datetime,
    ) -> Invitation | None:
        """Move the invitation from one of ``from_states`` to ``to``; None if it is in none."""
        doc = await self.invitations.find_one_and_update(
            {
                "_id": _key(tenant, project_id, expert_id),
                "state": {"$in": [s.value for s in from_states]},
            },
            {"$set": {"state": to.value, "answered_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return _invitation(doc) if doc else None

    async def get(self, tenant: str, project_id: str, expert_id: str) -> Invitation | None:
        doc = await self.invitations.find_one({"_id": _key(tenant, project_id, expert_id)})
        return _invitation(doc) if doc else None

    async def of_project(
        self, tenant: str, project_id: str, *, after: str | None = None, limit: int = 0
    ) -> list[Invitation]:
        """The project's invitations by expert id, after ``after``; at most ``limit`` (0: all)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if after is not None:
            query["expert_id"] = {"$gt": after}
        cursor = self.invitations.find(query).sort("expert_id", ASCENDING).limit(limit)
        return [_invitation(doc) async for doc in cursor]

    async def of_expert(
        self,
        tenant: str,
        expert_id: str,
        state: InvitationState | None = None,
        *,
        after: str | None = None,
        limit: int = 0,
    ) -> list[Invitation]:
        """The expert's invitations by project id, after ``after``; at most ``limit``."""
        query: dict[str, Any] = {"tenant": tenant, "expert_id": expert_id}
        if state is not None:
            query["state"] = state.value
        if after is not None:
            query["project_id"] = {"$gt": after}
        cursor = self.invitations.find(query).sort("project_id", ASCENDING).limit(limit)
        return [_invitation(doc) async for doc in cursor]

    async def on_rosters(
        self, tenant: str, pairs: Collection[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Those of the ``(project, expert)`` pairs whose expert is on the project's roster."""
        if not pairs:
            return set()
        cursor = self.invitations.find(
            {
                "_id": {"$in": [_key(tenant, p, e) for p, e in pairs]},
                "state": InvitationState.accepted.value,
            },
            {"project_id": 1, "expert_id": 1},
        )
        return {(doc["project_id"], doc["expert_id"]) async for doc in cursor}

    async def of_expert_accepted(self, tenant: str, expert_id: str) -> list[str]:
        """The projects whose roster the expert is on."""
        cursor = self.invitations.find(
            {"tenant": tenant, "expert_id": expert_id, "state": InvitationState.accepted.value},
            {"project_id": 1},
        )
        return [doc["project_id"] async for doc in cursor]
