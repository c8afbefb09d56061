"""``Idempotency-Key``: a request repeated with the same key and body gets its first answer.

A route hashes the request (:func:`request_hash`), asks :meth:`IdempotencyRecords.replay`
for an earlier outcome under the key, and after answering stores its own with
:meth:`IdempotencyRecords.remember`. The same key with another body is a 422. Records are
per tenant and kept 24 hours.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Annotated, Any

from fastapi import Header
from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from shared.clock import Clock, now_ms
from shared.errors import FieldError
from shared.http.problems import Problem
from shared.mongo import CollectionIndexes

COLLECTION = "idempotency"
TTL_S = 24 * 3600
INDEXES = CollectionIndexes(
    COLLECTION,
    (IndexModel([("created_at", ASCENDING)], expireAfterSeconds=TTL_S, name="ttl"),),
)

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="repeat a request safely: the same key and body give the first answer "
        "again (kept 24 h); the same key with another body is a 422",
    ),
]


def request_hash(body: Any) -> str:
    """A digest of a request body (JSON-like values), the same whatever the key order."""
    raw = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


class IdempotencyRecords:
    """The outcomes of keyed requests, in the service's own database."""

    def __init__(self, db: AsyncDatabase[Any], clock: Clock = now_ms) -> None:
        self.collection = db[COLLECTION]
        self.clock = clock

    async def replay(self, tenant: str, key: str, digest: str) -> dict[str, Any] | None:
        """The outcome stored for an earlier request with this key; 422 if it had another body."""
        record = await self.collection.find_one({"_id": f"{tenant}:{key}"})
        if record is None:
            return None
        if record["request_hash"] != digest:
            raise Problem(
                422,
                "Unprocessable Content",
                "this Idempotency-Key was used for a different request; use a new key",
                errors=[FieldError(field="header.idempotency-key", message="reused")],
            )
        outcome: dict[str, Any] | None = record.get("outcome")
        return outcome

    async def remember(self, tenant: str, key: str, digest: str, outcome: dict[str, Any]) -> None:
        """Store the outcome of a keyed request; the first one stored wins."""
        record = {"request_hash": digest, "created_at": self.clock(), "outcome": outcome}
        with contextlib.suppress(DuplicateKeyError):  # a concurrent twin stored its own
            await self.collection.update_one(
                {"_id": f"{tenant}:{key}"}, {"$setOnInsert": record}, upsert=True
            )
