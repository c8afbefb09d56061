"""One document per work unit and per item: what throughput is computed from.

* ``unit_lifecycle``: ``_id`` ``<tenant>/<unit>`` (parts escaped, :func:`compound_id`), with
  ``tenant``, ``project_id``, ``unit_id``, ``item_id``, ``kind``; ``created_at`` (``$min``);
  ``leases``, ``releases``, ``expiries``: the sets of those events' times (``$addToSet``: an
  event counts once however often it is delivered, under any event id); ``leased_at``, the
  latest lease (``$max``); ``judgments``: ``{judgment_id, expert_id, submitted_at,
  time_spent_s}``, each judgment id once; ``submitted_at``, the first judgment's (``$min``).
* ``item_lifecycle``: ``_id`` ``<tenant>/<item>``, with ``tenant``, ``project_id``,
  ``item_id``; ``registered_at`` and ``resolved_at`` (the first resolution), both ``$min``.

Every write is idempotent and commutative (``$min``, ``$max``, ``$addToSet``, a push guarded
by the judgment id): a replay, a redelivery under a new event id, events in any order, and
several replicas writing one document give the same document. Nothing is a bare ``$inc``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, IndexModel, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from services.metrics.throughput import ItemLifecycle, Judged, UnitLifecycle
from shared.mongo import CollectionIndexes, compound_id

UNIT_LIFECYCLE = "unit_lifecycle"
ITEM_LIFECYCLE = "item_lifecycle"
#: per project, the skills its configuration requires (``project.changed``, latest revision)
PROJECT_SKILLS = "project_skills"


def _by_project(field: str) -> IndexModel:
    return IndexModel(
        [("tenant", ASCENDING), ("project_id", ASCENDING), (field, ASCENDING)],
        name=f"tenant_project_{field.replace('.', '_')}",
    )


INDEXES = (
    # the window's units: each branch of the read's $or has its index; the open units (queue
    # depth) are those without submitted_at
    CollectionIndexes(
        UNIT_LIFECYCLE,
        (
            _by_project("created_at"),
            _by_project("leased_at"),
            _by_project("judgments.submitted_at"),
            _by_project("submitted_at"),
        ),
    ),
    CollectionIndexes(ITEM_LIFECYCLE, (_by_project("registered_at"), _by_project("resolved_at"))),
    CollectionIndexes(PROJECT_SKILLS, (IndexModel([("tenant", ASCENDING)], name="tenant"),)),
)


def _judged(document: dict[str, Any]) -> Judged:
    return Judged(
        document["judgment_id"],
        document["expert_id"],
        document["submitted_at"],
        float(document["time_spent_s"]),
    )


def _unit(doc: dict[str, Any]) -> UnitLifecycle:
    return UnitLifecycle(
        doc["unit_id"],
        doc.get("kind"),
        doc.get("created_at"),
        tuple(sorted(doc.get("leases", ()))),
        tuple(sorted(doc.get("releases", ()))),
        tuple(sorted(doc.get("expiries", ()))),
        tuple(_judged(j) for j in doc.get("judgments", ())),
    )


def _item(doc: dict[str, Any]) -> ItemLifecycle:
    return ItemLifecycle(doc["item_id"], doc.get("registered_at"), doc.get("resolved_at"))


async def _upsert(
    collection: AsyncCollection[Any], key: str, update: dict[str, Any], owner: dict[str, Any]
) -> None:
    """An idempotent update of the document, created if absent (two first writers: the loser
    of the insert updates)."""
    update = {**update, "$setOnInsert": owner}
    try:
        await collection.update_one({"_id": key}, update, upsert=True)
    except DuplicateKeyError:
        await collection.update_one({"_id": key}, update, upsert=True)  # it exists now


class ThroughputStore:
    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.units = db[UNIT_LIFECYCLE]
        self.items = db[ITEM_LIFECYCLE]
        self.skills = db[PROJECT_SKILLS]

    # -- writes: one idempotent update each ----------------------------------------------

    @staticmethod
    def _unit_owner(
        tenant: str, project_id: str, unit_id: str, item_id: str, kind: str
    ) -> dict[str, Any]:
        return {
            "tenant": tenant,
            "project_id": project_id,
            "unit_id": unit_id,
            "item_id": item_id,
            "kind": kind,
        }

    async def unit_event(
        self,
        tenant: str,
        project_id: str,
        unit_id: str,
        item_id: str,
        kind: str,
        *,
        what: str,
        at: datetime,
    ) -> None:
        """A unit was ``created``, ``leased``, ``released`` or ``expired`` at ``at``."""
        update: dict[str, Any]
        if what == "created":
            update = {"$min": {"created_at": at}}
        elif what == "leased":
            update = {"$addToSet": {"leases": at}, "$max": {"leased_at": at}}
        elif what == "released":
            update = {"$addToSet": {"releases": at}}
        elif what == "expired":
            update = {"$addToSet": {"expiries": at}}
        else:
            raise ValueError(f"no unit event {what!r}")
        owner = self._unit_owner(tenant, project_id, unit_id, item_id, kind)
        await _upsert(self.units, compound_id(tenant, unit_id), update, owner)

    @staticmethod
    def _judgment_update(
        tenant: str, project_id: str, unit_id: str, item_id: str, kind: str, judged: Judged
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The filter and update that add the judgment unless its id is there already."""
        document = {
            "judgment_id": judged.judgment_id,
            "expert_id": judged.expert_id,
            "submitted_at": judged.submitted_at,
            "time_spent_s": judged.time_spent_s,
        }
        return (
            {
                "_id": compound_id(tenant, unit_id),
                "judgments.judgment_id": {"$ne": judged.judgment_id},
            },
            {
                "$push": {"judgments": document},
                "$min": {"submitted_at": judged.submitted_at},
                "$setOnInsert": ThroughputStore._unit_owner(
                    tenant, project_id, unit_id, item_id, kind
                ),
            },
        )

    async def judged(
        self, tenant: str, project_id: str, unit_id: str, item_id: str, kind: str, judged: Judged
    ) -> None:
        """Add the unit's judgment, once per judgment id."""
        query, update = self._judgment_update(tenant, project_id, unit_id, item_id, kind, judged)
        held = {"_id": query["_id"], "judgments.judgment_id": judged.judgment_id}
        for attempt in range(2):
            try:
                await self.units.update_one(query, update, upsert=True)
                return
            except DuplicateKeyError:
                # the unit holds the judgment already (the guard failed the match), or another
                # writer inserted the unit meanwhile: then the update applies on the retry
                if await self.units.find_one(held, {"_id": 1}) is not None:
                    return
                if attempt:
                    raise

    async def judged_many(
        self, judgments: Sequence[tuple[str, str, str, str, str, Judged]]
    ) -> None:
        """:meth:`judged` for many judgments in one round trip (``(tenant, project_id,
        unit_id, item_id, kind, judged)`` each); those the bulk write could not take (a
        judgment already held, two first writers) are taken one by one."""
        if not judgments:
            return
        operations = [UpdateOne(*self._judgment_update(*j), upsert=True) for j in judgments]
        try:
            await self.units.bulk_write(operations, ordered=False)
        except BulkWriteError as exc:
            failed = {error["index"] for error in exc.details.get("writeErrors", ())}
            if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", ())):
                raise
            for index in sorted(failed):
                await self.judged(*judgments[index])

    async def registered(self, tenant: str, project_id: str, item_id: str, at: datetime) -> None:
        await _upsert(
            self.items,
            compound_id(tenant, item_id),
            {"$min": {"registered_at": at}},
            {"tenant": tenant, "project_id": project_id, "item_id": item_id},
        )

    async def resolved(self, tenant: str, project_id: str, item_id: str, at: datetime) -> None:
        """The item's first resolution counts (a later revision keeps ``resolved_at``)."""
        await _upsert(
            self.items,
            compound_id(tenant, item_id),
            {"$min": {"resolved_at": at}},
            {"tenant": tenant, "project_id": project_id, "item_id": item_id},
        )

    # -- reads ----------------------------------------------------------------------------

    async def units_since(
        self, tenant: str, project_id: str, start: datetime
    ) -> list[UnitLifecycle]:
        """The project's units created, leased or judged at or after ``start``."""
        query = {
            "tenant": tenant,
            "project_id": project_id,
            "$or": [
                {"created_at": {"$gte": start}},
                {"leased_at": {"$gte": start}},
                {"judgments.submitted_at": {"$gte": start}},
            ],
        }
        return [_unit(doc) async for doc in self.units.find(query)]

    async def open_units(self, tenant: str, project_id: str) -> list[UnitLifecycle]:
        """The project's units without a judgment (queued or leased now, whenever created)."""
        query = {"tenant": tenant, "project_id": project_id, "submitted_at": None}
        return [_unit(doc) async for doc in self.units.find(query)]

    async def items_since(
        self, tenant: str, project_id: str, start: datetime
    ) -> list[ItemLifecycle]:
        """The project's items registered or resolved at or after ``start``."""
        query = {
            "tenant": tenant,
            "project_id": project_id,
            "$or": [{"registered_at": {"$gte": start}}, {"resolved_at": {"$gte": start}}],
        }
        return [_item(doc) async for doc in self.items.find(query)]

    async def project_changed(
        self, tenant: str, project_id: str, revision: int, skills: list[str]
    ) -> None:
        """The project's required skills, when ``revision`` is later than the one held."""
        # a DuplicateKeyError: a later revision is held
        with contextlib.suppress(DuplicateKeyError):
            await self.skills.update_one(
                {"_id": compound_id(tenant, project_id), "revision": {"$lt": revision}},
                {
                    "$set": {
                        "tenant": tenant,
                        "project_id": project_id,
                        "revision": revision,
                        "skills": sorted(set(skills)),
                    }
                },
                upsert=True,
            )

    async def skills_of(self, tenant: str) -> dict[str, list[str]]:
        """The tenant's projects' required skills, by project."""
        return {
            doc["project_id"]: list(doc["skills"])
            async for doc in self.skills.find({"tenant": tenant}, {"project_id": 1, "skills": 1})
        }

    async def open_units_of_tenant(self, tenant: str) -> dict[str, list[UnitLifecycle]]:
        """The tenant's units without a judgment, by project."""
        out: dict[str, list[UnitLifecycle]] = {}
        async for doc in self.units.find({"tenant": tenant, "submitted_at": None}):
            out.setdefault(doc["project_id"], []).append(_unit(doc))
        return out

    async def has_project(self, tenant: str, project_id: str) -> bool:
        """Whether any unit or item of the tenant's project is known."""
        query = {"tenant": tenant, "project_id": project_id}
        return (
            await self.units.find_one(query, {"_id": 1}) is not None
            or await self.items.find_one(query, {"_id": 1}) is not None
        )
