"""Experts' gold scores per skill and their benches.

* ``calibrations``: ``_id`` ``<tenant>/<expert>/<skill>``: the last scores (enough for the
  rolling window and its trend), the judgments they came from and when each was scored,
  each appended by one ``$push`` with ``$slice`` under the condition that the judgment is
  not there yet, so a retry feeds a score once; ``fed``, the scores fed since the
  calibration started (the expert's own view is cut in whole batches of them); and
  ``restarted_at``, when a reinstatement restarted it: a score from before then feeds it
  no more.
* ``gold_fed``: ``_id`` ``<tenant>/<judgment>``, written once a judgment's score is fed:
  a replayed ``gold.scored`` feeds nothing, however old (the kept judgments above are only
  the last ones) and after a reinstatement (which forgets the scores, not this).
* ``benches``: ``_id`` ``<tenant>/<project>/<expert>``: the expert gets none of the project's
  work while ``benched``; set and cleared with the ``expert.benched`` and
  ``expert.reinstated`` events (the outbox); ``lifted_at``, the last reinstatement: only a
  score scored after it benches them again.

Ids join their parts with ``shared.mongo.compound_id`` (a ``/`` in an id is escaped).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.models.gold import Bench
from shared.events.envelope import Event
from shared.mongo import CollectionIndexes, compound_id
from shared.outbox.entries import HIDE_OUTBOX, Outbox

CALIBRATIONS = "calibrations"
FED = "gold_fed"
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


_key = compound_id


class CalibrationStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox, keep: int) -> None:
        """``keep``: the scores kept per skill (the window and the trend need)."""
        self.calibrations = db[CALIBRATIONS]
        self.fed = db[FED]
        self.benches = db[BENCHES]
        self.outbox = outbox
        self.keep = keep

    async def add(
        self,
        tenant: str,
        expert_id: str,
        skills: Iterable[str],
        score: float,
        judgment_id: str,
        scored_at: datetime,
    ) -> bool:
        """The judgment's gold score, once, on each skill not restarted since ``scored_at``;
        False when it was fed before (a replay: nothing changes)."""
        fed = _key(tenant, judgment_id)
        if await self.fed.find_one({"_id": fed}, {"_id": 1}) is not None:
            return False
        for skill in dict.fromkeys(skills):
            # a DuplicateKeyError: the upsert met the document that has the score already,
            # or that was restarted after the score
            with contextlib.suppress(DuplicateKeyError):
                await self.calibrations.update_one(
                    {
                        "_id": _key(tenant, expert_id, skill),
                        "judgments": {"$ne": judgment_id},
                        "$or": [
                            {"restarted_at": {"$exists": False}},
                            {"restarted_at": {"$lt": scored_at}},
                        ],
                    },
                    {
                        "$push": {
                            "scores": {"$each": [score], "$slice": -self.keep},
                            "judgments": {"$each": [judgment_id], "$slice": -self.keep},
                            "scored_at": {"$each": [scored_at], "$slice": -self.keep},
                        },
                        "$inc": {"fed": 1},
                        "$set": {"tenant": tenant, "expert_id": expert_id, "skill": skill},
                    },
                    upsert=True,
                )
        # after the scores: a crash before this feeds again, and the kept judgments above
        # keep that from feeding twice
        with contextlib.suppress(DuplicateKeyError):
            await self.fed.insert_one({"_id": fed, "tenant": tenant, "expert_id": expert_id})
        return True

    async def scores(self, tenant: str, expert_id: str) -> dict[str, list[float]]:
        """The expert's kept scores by skill, oldest first."""
        cursor = self.calibrations.find({"tenant": tenant, "expert_id": expert_id})
        return {doc["skill"]: list(doc["scores"]) async for doc in cursor if doc.get("scores")}

    async def fed_scores(
        self, tenant: str, expert_id: str
    ) -> dict[str, tuple[list[float], list[datetime], int]]:
        """The expert's kept scores by skill (oldest first) with the times they were scored
        (of the last of them: scores kept before times were are older) and how many were fed
        since the calibration started: what the expert's own view is cut from."""
        cursor = self.calibrations.find({"tenant": tenant, "expert_id": expert_id})
        return {
            doc["skill"]: (list(doc["scores"]), list(doc.get("scored_at", [])), doc.get("fed", 0))
            async for doc in cursor
            if doc.get("scores")
        }

    async def scores_of_tenant(self, tenant: str) -> dict[str, dict[str, list[float]]]:
        """Every expert's kept scores by skill, oldest first (for staffing reports)."""
        found: dict[str, dict[str, list[float]]] = {}
        async for doc in self.calibrations.find({"tenant": tenant, "scores.0": {"$exists": True}}):
            found.setdefault(doc["expert_id"], {})[doc["skill"]] = list(doc.get("scores", []))
        return found

    async def restart(
        self, tenant: str, expert_id: str, skills: Iterable[str], at: datetime
    ) -> None:
        """Forget the expert's scores on ``skills``: their calibration starts afresh at
        ``at``. The judgments fed stay known, so a replay of one feeds nothing, and a score
        from before ``at`` arriving late feeds nothing either."""
        for skill in dict.fromkeys(skills):
            await self.calibrations.update_one(
                {"_id": _key(tenant, expert_id, skill)},
                {
                    "$set": {
                        "tenant": tenant,
                        "expert_id": expert_id,
                        "skill": skill,
                        "scores": [],
                        "scored_at": [],
                        "fed": 0,
                        "restarted_at": at,
                    }
                },
                upsert=True,
            )

    async def bench(self, bench: Bench, event: Event[Any], scored_at: datetime) -> bool:
        """Bench the expert from the project, with its event, for a score scored at
        ``scored_at``; False when they already are, or were reinstated since that score (a
        decision read before the reinstatement, or a replay of the score, benches nobody)."""
        doc = {**bench.model_dump(mode="python"), "benched": True}
        try:
            result = await self.benches.update_one(
                {
                    "_id": _key(bench.tenant, bench.project_id, bench.expert_id),
                    "benched": False,
                    "$or": [
                        {"lifted_at": {"$exists": False}},
                        {"lifted_at": {"$lt": scored_at}},
                    ],
                },
                self.outbox.with_events({"$set": doc}, [event]),
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # benched already, or reinstated since: the upsert met the bench
        self.outbox.written()
        return result.modified_count == 1 or result.upserted_id is not None

    async def benched_pairs(
        self, tenant: str, pairs: Collection[tuple[str, str]]
    ) -> set[tuple[str, str]]:
        """Those of the ``(project, expert)`` pairs whose expert is benched from the project."""
        if not pairs:
            return set()
        cursor = self.benches.find(
            {"_id": {"$in": [_key(tenant, p, e) for p, e in pairs]}, "benched": True},
            {"project_id": 1, "expert_id": 1},
        )
        return {(doc["project_id"], doc["expert_id"]) async for doc in cursor}

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

    async def lift(
        self, tenant: str, project_id: str, expert_id: str, event: Event[Any], at: datetime
    ) -> bool:
        """End the expert's bench from the project at ``at``, with its event; False when not
        benched. A score from before ``at`` benches them no more (:meth:`bench`)."""
        result = await self.benches.update_one(
            {"_id": _key(tenant, project_id, expert_id), "benched": True},
            self.outbox.with_events({"$set": {"benched": False, "lifted_at": at}}, [event]),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True
