"""Experts' quality: their gold judgments, their judgments beside the resolved outcome, and the
project's Dawid-Skene estimate (docs/metrics.md "Expert quality").

* ``expert_gold``: ``_id`` ``<tenant>/<project>/<expert>`` (parts escaped,
  :func:`compound_id`): the aggregate of the expert's gold judgments in the project:
  ``correct``, ``total``; ``fields``, ``[name, correct, total]`` rows (field names may hold
  dots: never keys); ``drift``, the :class:`~services.metrics.quality.AccuracyDrift` document;
  ``last_shift``, the last shift the detector counted (or null); ``applied``, the ids of the
  last :data:`APPLIED_KEPT` judgments fed; ``revision``. Every write is a compare-and-set on
  ``revision``, retried, so two partitions feeding one expert never lose an update. Its
  ``expert_accuracy`` alerts are stored apart, with the project's (``stores.alerts``).
* ``gold_judgments``: ``_id`` ``<tenant>/<judgment>``, one per gold judgment fed, written
  after the aggregate: ``correct``, ``scored_at``, ``applied_at``. Its presence makes a
  replayed ``gold.scored`` (under any event id, however old) feed nothing; ``applied`` above
  covers a crash between the two writes. The expert's own view is computed from these.
* ``outcome_items``: ``_id`` ``<tenant>/<item>``: the item's ``project_id``; ``judgments``,
  the review judgments of the item (``judgment_id``, ``expert_id``, ``verdict``, ``class``,
  ``applied_at``), each pushed once; ``resolution`` (``revision``, ``verdict``, ``class``,
  ``resolved_at``, ``applied_at``), replaced only by a higher revision. Either may come first;
  a pair counts on read when both are there.
* ``dawid_skene``: ``_id`` ``<tenant>/<project>``: the last
  :class:`~services.metrics.dawid_skene.DawidSkeneResult` document (the warm start of the
  next), ``summary`` (per expert the estimated accuracy and judgments), ``taken`` (the
  judgments the project's judged items had taken: unchanged, nothing is recomputed) and
  ``computed_at``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.metrics.quality import MIN_COUNT, AccuracyDrift
from shared.mongo import CollectionIndexes, compound_id
from shared.outbox.entries import HIDE_OUTBOX

EXPERT_GOLD = "expert_gold"
GOLD_JUDGMENTS = "gold_judgments"
OUTCOME_ITEMS = "outcome_items"
DAWID_SKENE = "dawid_skene"

#: judgment ids kept in the aggregate: enough to cover a crash between its write and the
#: judgment's own document (a replay is caught by the latter)
APPLIED_KEPT = 1_000

INDEXES = (
    CollectionIndexes(
        EXPERT_GOLD,
        (IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),),
    ),
    CollectionIndexes(
        GOLD_JUDGMENTS,
        (
            IndexModel(
                [
                    ("tenant", ASCENDING),
                    ("project_id", ASCENDING),
                    ("expert_id", ASCENDING),
                    ("scored_at", ASCENDING),
                ],
                name="tenant_project_expert_scored",
            ),
        ),
    ),
    CollectionIndexes(
        OUTCOME_ITEMS,
        (
            IndexModel([("tenant", ASCENDING), ("project_id", ASCENDING)], name="tenant_project"),
            IndexModel(
                [("tenant", ASCENDING), ("judgments.expert_id", ASCENDING)], name="tenant_expert"
            ),
        ),
    ),
)
#: documents written before expert alerts moved to ``alerts`` may still hold an unpublished
#: alert: the relay keeps draining them
OUTBOX_COLLECTIONS = (EXPERT_GOLD,)


@dataclass
class ExpertGold:
    """An expert's gold aggregate in one project (the stored document, parsed)."""

    tenant: str
    project_id: str
    expert_id: str
    correct: int = 0
    total: int = 0
    fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    drift: AccuracyDrift = field(default_factory=AccuracyDrift)
    last_shift: dict[str, Any] | None = None
    applied: tuple[str, ...] = ()
    revision: int = 0

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ExpertGold:
        return cls(
            doc["tenant"],
            doc["project_id"],
            doc["expert_id"],
            int(doc["correct"]),
            int(doc["total"]),
            {name: (int(c), int(t)) for name, c, t in doc["fields"]},
            AccuracyDrift.from_document(doc["drift"]),
            doc.get("last_shift"),
            tuple(doc.get("applied", ())),
            int(doc["revision"]),
        )

    def state(self) -> dict[str, Any]:
        """The fields a write sets (not ``applied`` nor ``revision``)."""
        return {
            "tenant": self.tenant,
            "project_id": self.project_id,
            "expert_id": self.expert_id,
            "correct": self.correct,
            "total": self.total,
            "fields": [[name, c, t] for name, (c, t) in sorted(self.fields.items())],
            "drift": self.drift.to_document(),
            "last_shift": self.last_shift,
        }


@dataclass(frozen=True)
class GoldJudgment:
    judgment_id: str
    correct: bool
    fields: dict[str, bool]
    scored_at: datetime


@dataclass(frozen=True)
class Pair:
    """An expert's review judgment of a resolved item beside the outcome. ``known_at``: when
    both were applied (the later of the two)."""

    judgment_id: str
    expert_id: str
    verdict: str | None
    class_id: str | None
    resolved_verdict: str | None
    resolved_class: str | None
    known_at: datetime


def _keep_judgment(
    tenant: str, project_id: str, item_id: str, judgment: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The filter and update (an upsert) that push the judgment beside its item unless it
    is there already."""
    return (
        {
            "_id": compound_id(tenant, item_id),
            "judgments.judgment_id": {"$ne": judgment["judgment_id"]},
        },
        {
            "$push": {"judgments": judgment},
            "$setOnInsert": {
                "tenant": tenant,
                "project_id": project_id,
                "item_id": item_id,
                "resolution": None,
            },
        },
    )


class ExpertQualityStore:
    def __init__(self, db: AsyncDatabase[Any], *, drift_min_count: int = MIN_COUNT) -> None:
        #: a new expert's drift detector alerts once it holds this many outcomes
        self.drift_min_count = drift_min_count
        self.experts = db[EXPERT_GOLD]
        self.golds = db[GOLD_JUDGMENTS]
        self.items = db[OUTCOME_ITEMS]
        self.estimates = db[DAWID_SKENE]

    # -- gold ---------------------------------------------------------------------------

    async def gold_fed(self, tenant: str, judgment_id: str) -> bool:
        found = await self.golds.find_one({"_id": compound_id(tenant, judgment_id)}, {"_id": 1})
        return found is not None

    async def expert_gold(self, tenant: str, project_id: str, expert_id: str) -> ExpertGold:
        doc = await self.experts.find_one(
            {"_id": compound_id(tenant, project_id, expert_id)}, HIDE_OUTBOX
        )
        if doc is None:
            fresh = AccuracyDrift(min_count=self.drift_min_count)
            return ExpertGold(tenant, project_id, expert_id, drift=fresh)
        return ExpertGold.of(doc)

    async def store_gold(self, gold: ExpertGold, judgment_id: str) -> bool:
        """Store the aggregate ``gold`` (read at ``gold.revision``, then fed ``judgment_id``);
        False when another write came first (read again and retry)."""
        key = compound_id(gold.tenant, gold.project_id, gold.expert_id)
        applied = [*gold.applied, judgment_id][-APPLIED_KEPT:]
        if gold.revision == 0:
            try:
                await self.experts.insert_one(
                    {"_id": key, **gold.state(), "applied": applied, "revision": 1}
                )
            except DuplicateKeyError:
                return False
            return True
        done = await self.experts.update_one(
            {"_id": key, "revision": gold.revision},
            {
                "$set": gold.state(),
                "$push": {"applied": {"$each": [judgment_id], "$slice": -APPLIED_KEPT}},
                "$inc": {"revision": 1},
            },
        )
        return bool(done.modified_count)

    async def record_gold(
        self, gold: ExpertGold, judgment: GoldJudgment, applied_at: datetime
    ) -> None:
        """The judgment's own document, after the aggregate took it (written once)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.golds.insert_one(
                {
                    "_id": compound_id(gold.tenant, judgment.judgment_id),
                    "tenant": gold.tenant,
                    "project_id": gold.project_id,
                    "expert_id": gold.expert_id,
                    "judgment_id": judgment.judgment_id,
                    "correct": judgment.correct,
                    "scored_at": judgment.scored_at,
                    "applied_at": applied_at,
                }
            )

    async def golds_of_project(self, tenant: str, project_id: str) -> list[ExpertGold]:
        cursor = self.experts.find({"tenant": tenant, "project_id": project_id}, HIDE_OUTBOX)
        return [ExpertGold.of(doc) async for doc in cursor]

    async def gold_outcomes(
        self, tenant: str, project_id: str, expert_id: str, *, before: datetime
    ) -> list[bool]:
        """The expert's gold outcomes scored and applied before ``before``, in
        ``(scored_at, judgment id)`` order."""
        cursor = self.golds.find(
            {
                "tenant": tenant,
                "project_id": project_id,
                "expert_id": expert_id,
                "scored_at": {"$lt": before},
                "applied_at": {"$lt": before},
            },
            {"correct": 1},
        ).sort([("scored_at", ASCENDING), ("judgment_id", ASCENDING)])
        return [bool(doc["correct"]) async for doc in cursor]

    async def gold_history(
        self, tenant: str, project_id: str, *, since: datetime
    ) -> dict[str, list[tuple[datetime, bool]]]:
        """Per expert, the gold outcomes scored since ``since``: ``(scored_at, correct)``."""
        out: dict[str, list[tuple[datetime, bool]]] = {}
        cursor = self.golds.find(
            {"tenant": tenant, "project_id": project_id, "scored_at": {"$gte": since}},
            {"expert_id": 1, "scored_at": 1, "correct": 1},
        )
        async for doc in cursor:
            out.setdefault(doc["expert_id"], []).append((doc["scored_at"], bool(doc["correct"])))
        return out

    # -- judgments beside the outcome ---------------------------------------------------

    async def judged(
        self, tenant: str, project_id: str, item_id: str, judgment: dict[str, Any]
    ) -> bool:
        """Keep a review judgment of the item once; False when it was kept before."""
        key = compound_id(tenant, item_id)
        while True:
            try:
                done = await self.items.update_one(
                    *_keep_judgment(tenant, project_id, item_id, judgment), upsert=True
                )
                return bool(done.modified_count or done.upserted_id is not None)
            except DuplicateKeyError:
                held = await self.items.find_one(
                    {"_id": key, "judgments.judgment_id": judgment["judgment_id"]}, {"_id": 1}
                )
                if held is not None:
                    return False  # else inserted meanwhile by another judgment: again

    async def judged_many(self, judgments: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        """:meth:`judged` for a run (tenant, project, item, judgment) in one bulk write; the
        writes the server refused (two new items' upserts racing) are done one by one."""
        if not judgments:
            return
        writes = [UpdateOne(*_keep_judgment(*judgment), upsert=True) for judgment in judgments]
        try:
            await self.items.bulk_write(writes, ordered=False)
        except BulkWriteError as e:
            for error in e.details.get("writeErrors", []):
                await self.judged(*judgments[error["index"]])

    async def resolved(
        self, tenant: str, project_id: str, item_id: str, resolution: dict[str, Any]
    ) -> bool:
        """Keep the item's outcome when its revision is higher than the one held."""
        key = compound_id(tenant, item_id)
        revision = resolution["revision"]
        while True:
            try:
                done = await self.items.update_one(
                    {
                        "_id": key,
                        "$or": [
                            {"resolution": None},
                            {"resolution.revision": {"$lt": revision}},
                        ],
                    },
                    {
                        "$set": {"resolution": resolution},
                        "$setOnInsert": {
                            "tenant": tenant,
                            "project_id": project_id,
                            "item_id": item_id,
                            "judgments": [],
                        },
                    },
                    upsert=True,
                )
                return bool(done.modified_count or done.upserted_id is not None)
            except DuplicateKeyError:
                held = await self.items.find_one({"_id": key}, {"resolution.revision": 1})
                known = ((held or {}).get("resolution") or {}).get("revision")
                if known is not None and known >= revision:
                    return False

    async def pairs(
        self, tenant: str, *, project_id: str, expert_id: str | None = None
    ) -> AsyncIterator[Pair]:
        """Every review judgment of a resolved item of the project (of ``expert_id`` only,
        when given) beside the item's outcome."""
        query: dict[str, Any] = {
            "tenant": tenant,
            "project_id": project_id,
            "resolution": {"$ne": None},
        }
        if expert_id is not None:
            query["judgments.expert_id"] = expert_id
        async for doc in self.items.find(query, {"judgments": 1, "resolution": 1}):
            r = doc["resolution"]
            for j in doc["judgments"]:
                if expert_id is not None and j["expert_id"] != expert_id:
                    continue
                yield Pair(
                    j["judgment_id"],
                    j["expert_id"],
                    j["verdict"],
                    j["class"],
                    r["verdict"],
                    r["class"],
                    max(j["applied_at"], r["applied_at"]),
                )

    async def has_outcomes(self, tenant: str, project_id: str) -> bool:
        found = await self.items.find_one({"tenant": tenant, "project_id": project_id}, {"_id": 1})
        return found is not None

    # -- Dawid-Skene ---------------------------------------------------------------------

    async def estimate(self, tenant: str, project_id: str) -> dict[str, Any] | None:
        return await self.estimates.find_one({"_id": compound_id(tenant, project_id)})

    async def summary(self, tenant: str, project_id: str) -> dict[str, Any] | None:
        return await self.estimates.find_one(
            {"_id": compound_id(tenant, project_id)},
            {"summary": 1, "computed_at": 1, "reason": 1, "converged": 1, "taken": 1},
        )

    async def store_estimate(
        self,
        tenant: str,
        project_id: str,
        result: dict[str, Any],
        summary: list[dict[str, Any]],
        taken: int,
        computed_at: datetime,
    ) -> None:
        await self.estimates.replace_one(
            {"_id": compound_id(tenant, project_id)},
            {
                "tenant": tenant,
                "project_id": project_id,
                "result": result,
                "summary": summary,
                "reason": result.get("reason"),
                "converged": result.get("converged"),
                "taken": taken,
                "computed_at": computed_at,
            },
            upsert=True,
        )
