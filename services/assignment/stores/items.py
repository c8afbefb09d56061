"""Items under review: one document per media item holding its units, who has had it and
how many units are open. Every unit change is one conditional write of that document, by
``_id`` and the unit's index, with its event (the outbox): a unit is leased once, and an
expert is added to ``judges`` in the same write, so an item never reaches them twice."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.assignment.ledger import Judged
from services.assignment.models.work import GiveBack, Judgment, Unit, UnitState, WorkItem
from shared.contracts.work import GoldScoredV1, ItemResolvedV1, WorkKind
from shared.events.envelope import Event
from shared.logging import get_logger
from shared.mongo import CollectionIndexes
from shared.outbox.entries import HIDE_OUTBOX, Outbox

log = get_logger(__name__)

ITEMS = "items"

#: The order units are handed out in within a project, ``eligibility.priority_key``'s:
#: priority, due date (items without one last: ``due_order`` is their due date or
#: :data:`UNDATED`, since MongoDB sorts a missing date first), age; items registered in the
#: same millisecond (BSON dates keep no finer) by item id, so the order is total and every
#: replica reads the same list.
ORDER = [
    ("priority", DESCENDING),
    ("due_order", ASCENDING),
    ("registered_at", ASCENDING),
    ("_id", ASCENDING),
]

#: the ``due_order`` of an item without a due date: after every date
UNDATED = datetime(9999, 12, 31, tzinfo=UTC)

INDEXES = (
    CollectionIndexes(
        ITEMS,
        (
            # the candidate refill: a project's items with open units, in handout order
            IndexModel(
                [("tenant", ASCENDING), ("project_id", ASCENDING), *ORDER],
                name="tenant_project_handout_order",
                partialFilterExpression={"open": {"$gt": 0}},
            ),
            # a metrics alert's class recommendation: pending items pre-labelled with it
            IndexModel(
                [
                    ("tenant", ASCENDING),
                    ("project_id", ASCENDING),
                    ("content.prelabels.labels.class_id", ASCENDING),
                ],
                name="tenant_project_prelabel_class",
                partialFilterExpression={"open": {"$gt": 0}},
            ),
        ),
    ),
)
OUTBOX_COLLECTIONS = (ITEMS,)


def _item(doc: dict[str, Any]) -> WorkItem:
    return WorkItem.model_validate({**doc, "item_id": doc["_id"]})


async def _readable(docs: AsyncIterator[dict[str, Any]]) -> list[WorkItem]:
    """The items of ``docs``, leaving out (and logging) a document this code cannot read: one
    bad item does not stop the handout of the others."""
    found = []
    async for doc in docs:
        try:
            found.append(_item(doc))
        except ValidationError as error:
            log.error("item set aside: it cannot be read", item_id=str(doc["_id"]), error=error)
    return found


class ItemStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.items = db[ITEMS]
        self.outbox = outbox

    async def create(self, item: WorkItem, events: list[Event[Any]]) -> bool:
        """Insert the item with its units and their events; False when it exists (a replay)."""
        doc = item.model_dump(mode="python", exclude={"item_id"})
        doc["due_order"] = item.due_at or UNDATED
        try:
            await self.items.insert_one(
                self.outbox.new_document({"_id": item.item_id, **doc}, events)
            )
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def get(self, tenant: str, item_id: str) -> WorkItem | None:
        doc = await self.items.find_one({"_id": item_id, "tenant": tenant}, HIDE_OUTBOX)
        return _item(doc) if doc else None

    async def many(self, tenant: str, item_ids: list[str]) -> dict[str, WorkItem]:
        """The items of those ids that exist, by id."""
        cursor = self.items.find({"_id": {"$in": item_ids}, "tenant": tenant}, HIDE_OUTBOX)
        return {doc["_id"]: _item(doc) async for doc in cursor}

    async def candidates(
        self, tenant: str, project_id: str, limit: int, *, without: str | None = None
    ) -> list[WorkItem]:
        """The project's items with open units, first in handout order (``without``: only
        those that expert never had)."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id, "open": {"$gt": 0}}
        if without is not None:
            query["judges"] = {"$ne": without}
        cursor = self.items.find(query, HIDE_OUTBOX).sort(ORDER).limit(limit)
        return await _readable(cursor)

    async def given_back_by(
        self, tenant: str, project_id: str, expert_id: str, limit: int
    ) -> list[WorkItem]:
        """The project's ordinary items with open units that the expert had and gave back
        (among their judges, none of their units judged or held by them), first in handout
        order: those that may return to them."""
        query: dict[str, Any] = {
            "tenant": tenant,
            "project_id": project_id,
            "open": {"$gt": 0},
            "judges": expert_id,
            "units.expert_id": {"$ne": expert_id},
            "gold_id": None,
            "qualification": None,
        }
        cursor = self.items.find(query, HIDE_OUTBOX).sort(ORDER).limit(limit)
        return await _readable(cursor)

    async def open_items(
        self, tenant: str, project_id: str, *, from_id: str | None, limit: int
    ) -> list[WorkItem]:
        """The project's ordinary items (no gold or qualification copy) with open units, by
        item id from ``from_id`` on (itself included), without their content: the stuck-work
        report's pages (not the hot path)."""
        query: dict[str, Any] = {
            "tenant": tenant,
            "project_id": project_id,
            "open": {"$gt": 0},
            "gold_id": None,
            "qualification": None,
        }
        if from_id is not None:
            query["_id"] = {"$gte": from_id}
        cursor = (
            self.items.find(query, {**HIDE_OUTBOX, "content": 0})
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [_item(doc) async for doc in cursor]

    async def tally(self, tenant: str, project_id: str) -> dict[str, Any]:
        """Counts of the project's registered items (never a gold or qualification copy: those
        are no client's items), their units by kind and state, and resolutions by method (a
        pass over the project's items: for reports, not for the hot path)."""
        counts: dict[str, Any] = {"items": 0, "units": {}, "resolved": {}}
        cursor = self.items.find(
            {"tenant": tenant, "project_id": project_id, "gold_id": None, "qualification": None},
            {"units.state": 1, "units.kind": 1, "resolution.method": 1},
        )
        async for doc in cursor:
            counts["items"] += 1
            for unit in doc.get("units", []):
                key = (unit.get("kind", "review"), unit.get("state", "open"))
                counts["units"][key] = counts["units"].get(key, 0) + 1
            method = (doc.get("resolution") or {}).get("method")
            if method:
                counts["resolved"][method] = counts["resolved"].get(method, 0) + 1
        return counts

    async def judged(
        self, tenant: str, project_id: str | None, *, experts: Iterable[str] | None = None
    ) -> list[Judged]:
        """Every judgment of the tenant's items (of one project if given; by one of
        ``experts`` if given), each with its lease's start and a gold copy's score: the
        ledger's input (a report, not the hot path)."""
        query: dict[str, Any] = {"tenant": tenant, "units.state": UnitState.done.value}
        if project_id is not None:
            query["project_id"] = project_id
        judges = None if experts is None else set(experts)
        if judges is not None:
            query["units.judgment.expert_id"] = {"$in": sorted(judges)}
        found = []
        projection = {
            "project_id": 1,
            "units.kind": 1,
            "units.leased_at": 1,
            "units.judgment": 1,
            "gold_score.score": 1,
        }
        async for doc in self.items.find(query, projection):
            gold = (doc.get("gold_score") or {}).get("score")
            for unit in doc.get("units", []):
                judgment = unit.get("judgment")
                if judgment and (judges is None or judgment["expert_id"] in judges):
                    submitted_at = judgment["submitted_at"]
                    spent = timedelta(seconds=float(judgment["time_spent_s"]))
                    found.append(
                        Judged(
                            expert_id=judgment["expert_id"],
                            project_id=doc["project_id"],
                            kind=WorkKind(unit.get("kind", "review")),
                            leased_at=unit.get("leased_at") or submitted_at - spent,
                            submitted_at=submitted_at,
                            gold_score=None if gold is None else float(gold),
                        )
                    )
        return found

    async def unit_kind(self, tenant: str, item_id: str, n: int) -> WorkKind:
        """The kind of unit ``n`` of the item (review when there is no such unit: nothing is
        then written or published about it)."""
        doc = await self.items.find_one({"_id": item_id, "tenant": tenant}, {"units.kind": 1})
        units = (doc or {}).get("units") or []
        kind = units[n].get("kind") if 0 <= n < len(units) else None
        return WorkKind(kind or WorkKind.review.value)

    async def with_judgments(self, tenant: str, project_id: str) -> AsyncIterator[WorkItem]:
        """The project's ordinary items (no gold or qualification copy) with a judgment, by
        item id, without their content: the per-judgment export (a report, streamed)."""
        query = {
            "tenant": tenant,
            "project_id": project_id,
            "units.state": UnitState.done.value,
            "gold_id": None,
            "qualification": None,
        }
        cursor = self.items.find(query, {**HIDE_OUTBOX, "content": 0}).sort("_id", ASCENDING)
        async for doc in cursor:
            yield _item(doc)

    async def handed(self, tenant: str, project_id: str | None) -> list[tuple[str, str]]:
        """``(expert, project)`` of every unit handed out (an item's judges): the ledger's
        units."""
        query: dict[str, Any] = {"tenant": tenant, "judges.0": {"$exists": True}}
        if project_id is not None:
            query["project_id"] = project_id
        cursor = self.items.find(query, {"project_id": 1, "judges": 1})
        return [(e, doc["project_id"]) async for doc in cursor for e in doc.get("judges", [])]

    async def claim(
        self,
        tenant: str,
        item_id: str,
        n: int,
        *,
        expert_id: str,
        lease_id: str,
        leased_at: datetime,
        expires_at: datetime,
        event: Event[Any],
        again: bool = False,
    ) -> WorkItem | None:
        """Lease unit ``n`` of the item to the expert if it is open and the expert has never
        had the item; the item after the write, or None. ``again``: an ordinary item the
        expert had and gave back instead (among its judges, none of its units judged or held
        by them), returning to them; so an expert still judges an item once at most."""
        unit = f"units.{n}"
        had: dict[str, Any] = (
            {
                "judges": expert_id,
                "units.expert_id": {"$ne": expert_id},
                "gold_id": None,
                "qualification": None,
            }
            if again
            else {"judges": {"$ne": expert_id}}
        )
        doc = await self.items.find_one_and_update(
            {
                "_id": item_id,
                "tenant": tenant,
                f"{unit}.state": UnitState.open.value,
                **had,
            },
            self.outbox.with_events(
                {
                    "$set": {
                        f"{unit}.state": UnitState.leased.value,
                        f"{unit}.expert_id": expert_id,
                        f"{unit}.lease_id": lease_id,
                        f"{unit}.leased_at": leased_at,
                        f"{unit}.expires_at": expires_at,
                    },
                    "$addToSet": {"judges": expert_id},
                    "$inc": {"open": -1},
                },
                [event],
            ),
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        self.outbox.written()
        return _item(doc)

    async def submit(
        self,
        tenant: str,
        item_id: str,
        n: int,
        judgment: Judgment,
        lease_id: str,
        events: list[Event[Any]],
        gold_score: GoldScoredV1 | None = None,
    ) -> WorkItem | None:
        """Record the judgment on unit ``n`` (done), and a gold copy's score, if ``lease_id``
        still holds it; the item after the write, or None."""
        scored = {} if gold_score is None else {"gold_score": gold_score.model_dump(mode="python")}
        unit = f"units.{n}"
        doc = await self.items.find_one_and_update(
            {
                "_id": item_id,
                "tenant": tenant,
                f"{unit}.lease_id": lease_id,
                f"{unit}.state": UnitState.leased.value,
            },
            self.outbox.with_events(
                {
                    "$set": {
                        f"{unit}.state": UnitState.done.value,
                        f"{unit}.judgment": {
                            **judgment.model_dump(mode="json"),
                            "submitted_at": judgment.submitted_at,
                        },
                        f"{unit}.expires_at": None,
                        **scored,
                    }
                },
                events,
            ),
            projection=HIDE_OUTBOX,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        self.outbox.written()
        return _item(doc)

    async def add_unit(
        self,
        tenant: str,
        item_id: str,
        unit: Unit,
        event: Event[Any],
        *,
        because: str | None = None,
    ) -> bool:
        """Append ``unit`` (number ``unit.n``) if the item has exactly ``unit.n`` units still,
        so two replicas deciding at once add one; ``because`` (an alert id): only if no unit
        was added for it before, so a replayed alert adds none."""
        query: dict[str, Any] = {
            "_id": item_id,
            "tenant": tenant,
            f"units.{unit.n}": {"$exists": False},
        }
        push: dict[str, Any] = {"units": unit.model_dump(mode="python")}
        if because is not None:
            query["alerts"] = {"$ne": because}
            push["alerts"] = because
        result = await self.items.update_one(
            query,
            self.outbox.with_events({"$push": push, "$inc": {"open": 1}}, [event]),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True

    async def prioritise(self, tenant: str, project_id: str, item_id: str, priority: float) -> bool:
        """Raise the item's priority to ``priority`` (never lower it); False: no such item."""
        result = await self.items.update_one(
            {"_id": item_id, "tenant": tenant, "project_id": project_id},
            {"$max": {"priority": priority}},
        )
        return result.matched_count == 1

    async def prioritise_class(
        self, tenant: str, project_id: str, class_id: str, priority: float
    ) -> int:
        """Raise to ``priority`` the project's items with open units whose pre-labels have
        ``class_id``; how many items that matched."""
        result = await self.items.update_many(
            {
                "tenant": tenant,
                "project_id": project_id,
                "open": {"$gt": 0},
                "content.prelabels.labels.class_id": class_id,
            },
            {"$max": {"priority": priority}},
        )
        return result.matched_count

    async def resolve(
        self, tenant: str, item_id: str, resolution: ItemResolvedV1, event: Event[Any]
    ) -> bool:
        """Record how the item was settled, once."""
        result = await self.items.update_one(
            {"_id": item_id, "tenant": tenant, "resolution": None},
            self.outbox.with_events(
                {"$set": {"resolution": _resolution_doc(resolution)}},
                [event],
            ),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True

    def _revisable(self, item: WorkItem) -> dict[str, Any]:
        """The item as read: resolved, with as many earlier outcomes and units as then."""
        return {
            "_id": item.item_id,
            "tenant": item.tenant,
            "resolution": {"$ne": None},
            f"earlier_resolutions.{len(item.earlier_resolutions)}": {"$exists": False},
            f"units.{len(item.units)}": {"$exists": False},
        }

    async def override(self, item: WorkItem, resolution: ItemResolvedV1, event: Event[Any]) -> bool:
        """Replace the outcome of ``item`` as read with ``resolution``, keeping the one it
        had; False when the item changed since (another revision, a unit added)."""
        assert item.resolution is not None
        result = await self.items.update_one(
            self._revisable(item),
            self.outbox.with_events(
                {
                    "$push": {"earlier_resolutions": _resolution_doc(item.resolution)},
                    "$set": {"resolution": _resolution_doc(resolution)},
                },
                [event],
            ),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True

    async def send_back(self, item: WorkItem, unit: Unit, event: Event[Any]) -> bool:
        """Send ``item`` as read back for review: its outcome is kept among the earlier
        ones, and ``unit`` added; False when the item changed since."""
        assert item.resolution is not None
        result = await self.items.update_one(
            self._revisable(item),
            self.outbox.with_events(
                {
                    "$push": {
                        "earlier_resolutions": _resolution_doc(item.resolution),
                        "units": unit.model_dump(mode="python"),
                    },
                    "$set": {"resolution": None},
                    "$inc": {"open": 1},
                },
                [event],
            ),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True

    async def extend(
        self, tenant: str, item_id: str, n: int, lease_id: str, expires_at: datetime
    ) -> bool:
        """Move the deadline of unit ``n`` if ``lease_id`` still holds it."""
        unit = f"units.{n}"
        result = await self.items.update_one(
            {"_id": item_id, "tenant": tenant, f"{unit}.lease_id": lease_id},
            {"$set": {f"{unit}.expires_at": expires_at}},
        )
        return result.matched_count == 1

    async def reopen(
        self,
        tenant: str,
        item_id: str,
        n: int,
        lease_id: str,
        events: list[Event[Any]],
        given_back: GiveBack | None = None,
    ) -> bool:
        """Return unit ``n`` to the pool (released or expired) if ``lease_id`` still holds it;
        the expert stays among the item's judges, and ``given_back`` records how they gave
        it back. Never a gold or qualification copy's unit (see close)."""
        unit = f"units.{n}"
        recorded = {} if given_back is None else {"$push": {"given_back": given_back.model_dump()}}
        result = await self.items.update_one(
            {
                "_id": item_id,
                "tenant": tenant,
                "gold_id": None,
                "qualification": None,
                f"{unit}.lease_id": lease_id,
                f"{unit}.state": UnitState.leased.value,
            },
            self.outbox.with_events(
                {
                    "$set": {
                        f"{unit}.state": UnitState.open.value,
                        f"{unit}.expert_id": None,
                        f"{unit}.lease_id": None,
                        f"{unit}.leased_at": None,
                        f"{unit}.expires_at": None,
                    },
                    "$inc": {"open": 1},
                    **recorded,
                },
                events,
            ),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True

    async def close(
        self, tenant: str, item_id: str, n: int, lease_id: str, events: list[Event[Any]]
    ) -> bool:
        """Close a gold or qualification copy's unit given back unjudged (released or
        expired) if ``lease_id`` still holds it: the copy is its expert's alone, so nobody
        else may take it."""
        unit = f"units.{n}"
        result = await self.items.update_one(
            {
                "_id": item_id,
                "tenant": tenant,
                "$or": [{"gold_id": {"$ne": None}}, {"qualification": {"$ne": None}}],
                f"{unit}.lease_id": lease_id,
                f"{unit}.state": UnitState.leased.value,
            },
            self.outbox.with_events(
                {"$set": {f"{unit}.state": UnitState.closed.value, f"{unit}.expires_at": None}},
                events,
            ),
        )
        if result.modified_count != 1:
            return False
        self.outbox.written()
        return True


def _resolution_doc(resolution: ItemResolvedV1) -> dict[str, Any]:
    """An outcome as stored on its item (its time as a date, not a string)."""
    return {**resolution.model_dump(mode="json"), "resolved_at": resolution.resolved_at}
