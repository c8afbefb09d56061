"""Experts' gold scores per skill and their benches.

* ``calibrations``: ``_id`` ``<tenant>/<expert>/<skill>``: the last scores (enough for the
  rolling window and its trend) and the judgments they came from, each appended by one
  ``$push`` with ``$slice`` under the condition that the judgment is not there yet, so a
  retry feeds a score once.
* ``benches``: ``_id`` ``<tenant>/<project>/<expert>``: the expert gets none of the project's
  work while ``benched``; set and cleared with the ``expert.benched`` and
  ``expert.reinstated`` events (the outbox).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.gold import Bench
from shared.events.envelope import Event
from shared.mongo import CollectionIndexes
from shared.outbox.entries import HIDE_OUTBOX, Outbox

CALIBRATIONS = "calibrations"
BENCHES = "benches"

INDEXES = (
    CollectionIndexes(
        CALIBRATIONS,
        (IndexModel([("tenant", ASCENDING), ("expert_id", ASCENDING)], name="tenant_expert"),),
    ),
    CollectionIndexes(
        BENCHES,
        (
            IndexModel([("tenant", ASCENDING), ("expert_id", ASCENDING)], name="tenant_expert"),
            IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),
        ),
    ),
)
OUTBOX_COLLECTIONS = (BENCHES,)


def _key(*parts: str) -> str:
    return "/".join(parts)


class CalibrationStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox, keep: int) -> None:
        """``keep``: the scores kept per skill (the window and the trend need)."""
        self.calibrations = db[CALIBRATIONS]
        self.benches = db[BENCHES]
        self.outbox = outbox
        self.keep = keep

    async def add(
        self, tenant: str, expert_id: str, skills: Iterable[str], score: float, judgment_id: str
    ) -> None:
        """The judgment's gold score, once, on each skill."""
        for skill in dict.fromkeys(skills):
            # a DuplicateKeyError: the upsert met the document that has the score already
            with contextlib.suppress(DuplicateKeyError):
                await self.calibrations.update_one(
                    {"_id": _key(tenant, expert_id, skill), "judgments": {"$ne": judgment_id}},
                    {
                        "$push": {
                            "scores": {"$each": [score], "$slice": -self.keep},
                            "judgments": {"$each": [judgment_id], "$slice": -self.keep},
                        },
                        "$set": {"tenant": tenant, "expert_id": expert_id, "skill": skill},
                    },
                    upsert=True,
                )

    async def scores(self, tenant: str, expert_id: str) -> dict[str, list[float]]:
        """The expert's kept scores by skill, oldest first."""
        cursor = self.calibrations.find({"tenant": tenant, "expert_id": expert_id})
        return {doc["skill"]: list(doc.get("scores", [])) async for doc in cursor}

    async def scores_of_tenant(self, tenant: str) -> dict[str, dict[str, list[float]]]:
        """Every expert's kept scores by skill, oldest first (for staffing reports)."""
        found: dict[str, dict[str, list[float]]] = {}
        async for doc in self.calibrations.find({"tenant": tenant}):
            found.setdefault(doc["expert_id"], {})[doc["skill"]] = list(doc.get("scores", []))
        return found

    async def restart(self, tenant: str, expert_id: str, skills: Iterable[str]) -> None:
        """Forget the expert's scores on ``skills``: their calibration starts afresh."""
        keys = [_key(tenant, expert_id, skill) for skill in skills]
        if keys:
            await self.calibrations.delete_many({"_id": {"$in": keys}})

    async def bench(self, bench: Bench, event: Event[Any]) -> bool:
        """Bench the expert from the project, with its event; False when they already are."""
        doc = {**bench.model_dump(mode="python"), "benched": True}
        try:
            result = await self.benches.update_one(
                {"_id": _key(bench.tenant, bench.project_id, bench.expert_id), "benched": False},
                self.outbox.with_events({"$set": doc}, [event]),
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # benched already: the upsert met the existing bench
        self.outbox.written()
        return result.modified_count == 1 or result.upserted_id is not None

    async def benched_from(self, tenant: str, expert_id: str) -> set[str]:
        """The projects the expert is benched from."""
        cursor = self.benches.find(
            {"tenant": tenant, "expert_id": expert_id, "benched": True}, {"project_id": 1}
        )
        return {doc["project_id"] async for doc in cursor}

    async def benches_of(
        self, tenant: str, project_id: str, *, after: str | None, limit: int
    ) -> list[Bench]:
        """The project's benched experts, in id order after ``after``; at most ``limit``."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id, "benched": True}
        if after is not None:
            query["expert_id"] = {"$gt": after}
        cursor = self.benches.find(query, HIDE_OUTBOX).sort("expert_id", ASCENDING).limit(limit)
        return [Bench.model_validate(doc) async for doc in cursor]

    async def lift(self, tenant: str, project_id: str, expert_id: str, event: Event[Any]) -> bool:
        """End the expert's bench from the project, with its event; False when not benched."""
        result = await self.benches.update_one(
            {"_id": _key(tenant, project_id, expert_id), "benched": True},
            self.outbox.with_events({"$set": {"benched": False}}, [event]),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True
