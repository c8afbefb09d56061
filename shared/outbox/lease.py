"""A lease among a service's replicas: one holder at a time, expiring if the holder dies."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pymongo
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from shared.logging import get_logger

log = get_logger(__name__)

#: How long a best-effort write at shutdown may take (releasing a lease, closing a record):
#: with MongoDB unreachable, a stop must not wait for the driver's server selection.
SHUTDOWN_WRITE_S = 1.0


class Lease:
    """A lease in the ``locks`` collection: one holder at a time among a service's replicas."""

    def __init__(self, db: AsyncDatabase[Any], lock_id: str, seconds: float) -> None:
        self.db = db
        self.lock_id = lock_id
        self.length = timedelta(seconds=seconds)
        self.owner = f"{os.uname().nodename}:{os.getpid()}:{id(self):x}"
        self._until: datetime | None = None

    async def hold(self) -> bool:
        """Take or renew the lease; False while another holder has it."""
        now = datetime.now(UTC)
        if self._until is not None and now < self._until - self.length / 2:
            return True
        until = now + self.length
        try:
            await self.db["locks"].find_one_and_update(
                {"_id": self.lock_id, "$or": [{"owner": self.owner}, {"until": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "until": until}},
                upsert=True,
            )
        except DuplicateKeyError:
            self._until = None
            return False
        self._until = until
        return True

    async def release(self) -> None:
        if self._until is None:
            return
        try:
            with pymongo.timeout(SHUTDOWN_WRITE_S):  # best effort: it expires by itself
                await self.db["locks"].update_one(
                    {"_id": self.lock_id, "owner": self.owner},
                    {"$set": {"until": datetime.now(UTC)}},
                )
        except PyMongoError:
            log.warning("could not release a lease; it expires by itself", lock=self.lock_id)
        self._until = None
