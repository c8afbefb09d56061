"""Guideline feedback: ``_id`` ``<tenant>/<expert>/<submission id>`` (so a retried submission
finds the feedback it made), stored with its ``feedback.submitted`` event (the outbox)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.feedback import Feedback, FeedbackStatus
from shared.events.envelope import Event
from shared.mongo import CollectionIndexes, compound_id, keyset_after
from shared.outbox.entries import HIDE_OUTBOX, Outbox

FEEDBACK = "feedback"
#: Where a page of feedback starts: after this submission time and feedback id.
Position = tuple[datetime, str]

INDEXES = (
    CollectionIndexes(
        FEEDBACK,
        (
            IndexModel([("tenant", ASCENDING), ("feedback_id", ASCENDING)], name="tenant_id"),
            IndexModel(
                [("tenant", ASCENDING), ("status", ASCENDING), ("submitted_at", ASCENDING)],
                name="tenant_queue",
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (FEEDBACK,)


def _key(feedback: Feedback) -> str:
    return compound_id(feedback.tenant, feedback.expert_id, feedback.submission_id)


class FeedbackStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.feedback = db[FEEDBACK]
        self.outbox = outbox

    async def create(self, feedback: Feedback, event: Event[Any]) -> Feedback:
        """Store the feedback with its event; the one stored before under the same expert and
        submission id, if there is one."""
        doc = {"_id": _key(feedback), **feedback.model_dump(mode="python")}
        try:
            await self.feedback.insert_one(self.outbox.new_document(doc, [event]))
        except DuplicateKeyError:
            found = await self.feedback.find_one({"_id": _key(feedback)}, HIDE_OUTBOX)
            assert found is not None  # never deleted
            return Feedback.model_validate(found)
        self.outbox.written()
        return feedback

    async def submitted(self, tenant: str, expert_id: str, submission_id: str) -> Feedback | None:
        """The expert's feedback stored under ``submission_id``, if any."""
        found = await self.feedback.find_one(
            {"_id": compound_id(tenant, expert_id, submission_id)}, HIDE_OUTBOX
        )
        return Feedback.model_validate(found) if found else None

    async def queue(
        self,
        tenant: str,
        status: FeedbackStatus | None,
        project_id: str | None,
        *,
        after: Position | None,
        limit: int,
    ) -> list[Feedback]:
        """The tenant's feedback, oldest first, after ``after``."""
        query: dict[str, Any] = {"tenant": tenant}
        if status is not None:
            query["status"] = status.value
        if project_id is not None:
            query["project_id"] = project_id
        return await self._oldest_first(query, after, limit)

    async def of_expert(
        self, tenant: str, expert_id: str, *, after: Position | None, limit: int
    ) -> list[Feedback]:
        """An expert's feedback, oldest first, after ``after``."""
        return await self._oldest_first({"tenant": tenant, "expert_id": expert_id}, after, limit)

    async def _oldest_first(
        self, query: dict[str, Any], after: Position | None, limit: int
    ) -> list[Feedback]:
        if after is not None:
            moment, feedback_id = after
            position = [("submitted_at", moment), ("feedback_id", feedback_id)]
            query = {"$and": [query, keyset_after(position)]}
        cursor = self.feedback.find(query, HIDE_OUTBOX).sort(
            [("submitted_at", ASCENDING), ("feedback_id", ASCENDING)]
        )
        return [Feedback.model_validate(doc) async for doc in cursor.limit(limit)]

    async def resolve(
        self, tenant: str, feedback_id: str, by: str, at: datetime, note: str
    ) -> Feedback | None:
        """Resolve open feedback; None when there is no such open feedback."""
        doc = await self.feedback.find_one_and_update(
            {"tenant": tenant, "feedback_id": feedback_id, "status": FeedbackStatus.open.value},
            {
                "$set": {
                    "status": FeedbackStatus.resolved.value,
                    "resolved_by": by,
                    "resolved_at": at,
                    "note": note,
                }
            },
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
        return Feedback.model_validate(doc) if doc else None

    async def get(self, tenant: str, feedback_id: str) -> Feedback | None:
        doc = await self.feedback.find_one(
            {"tenant": tenant, "feedback_id": feedback_id}, HIDE_OUTBOX
        )
        return Feedback.model_validate(doc) if doc else None
