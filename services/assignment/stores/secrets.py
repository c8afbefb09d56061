"""Each project's secret: the key of its draws (which units are gold, audited or in the
agreement sample) and of its judges' pseudonyms. Generated on first use, stored once, never
changed, and never in a response, an event or a log: a replay or another replica reads the same
key and makes the same draws, and nobody without it can predict them from the ids they see.

``_id`` ``{tenant, project}`` (a sub-document: no separator to collide on)."""

from __future__ import annotations

import secrets
from typing import Any

from bson import Binary
from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.sampling import MAX_KEY_BYTES
from shared.clock import Clock, now_ms

SECRETS = "project_secrets"
#: 256 bits
KEY_BYTES = 32
assert KEY_BYTES <= MAX_KEY_BYTES


class ProjectSecrets:
    def __init__(self, db: AsyncDatabase[Any], clock: Clock = now_ms) -> None:
        self.secrets = db[SECRETS]
        self.clock = clock
        # a key never changes once stored, so a replica may keep what it read
        self._known: dict[tuple[str, str], bytes] = {}

    async def key(self, tenant: str, project_id: str) -> bytes:
        """The project's key, made and stored by whichever replica asks first."""
        known = self._known.get((tenant, project_id))
        if known is not None:
            return known
        _id = {"tenant": tenant, "project": project_id}
        fresh = {"key": Binary(secrets.token_bytes(KEY_BYTES)), "created_at": self.clock()}
        try:
            doc = await self.secrets.find_one_and_update(
                {"_id": _id},
                {"$setOnInsert": fresh},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:  # another replica inserted it in the meantime
            doc = await self.secrets.find_one({"_id": _id})
        assert doc is not None
        key = bytes(doc["key"])
        self._known[(tenant, project_id)] = key
        return key
