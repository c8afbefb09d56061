"""The alert lane's state (docs/metrics.md "The service: alerts, drift and priorities").

* ``alert_projects``: ``_id`` ``<tenant>/<project>`` (parts escaped, :func:`compound_id`): the
  project's change marker. ``changes`` grows by one with every event that may change what the
  lane finds (a pre-label kept, an outcome kept, a judgment taken); ``dirty`` is true from
  such an event until an evaluation that read every change up to ``changes`` clears it (the
  clear is conditional on ``changes``: an event during the evaluation leaves it dirty);
  ``evaluated`` (the ``changes`` last evaluated), ``changed_at`` (the last change),
  ``dirty_since`` (the first change not evaluated), ``evaluated_at``, ``claimed_until`` (the
  replica evaluating it holds it until then) and ``open``: ``[subject, alert id]`` of each
  alert the last evaluation still found (an open episode: not published again while it
  lasts). The dirty projects are found through a partial index on ``dirty``: a pass costs
  the changed projects, not all.
* ``alerts``: ``_id`` ``<tenant>/<alert id>``, one per alert published: ``alert_id``,
  ``tenant``, ``project_id``, ``kind``, ``severity``, ``summary``, ``evidence``,
  ``recommendations``, ``raised_at``. Inserted with its ``quorum.metrics.alert.v1`` event in
  the outbox of the same document (one write): a second insert of the same id fails, so an
  alert is published at most once whatever evaluates it again.

The lane also reads, without writing, ``item_prelabels`` (``stores.prelabels``); it reads the
judged items through ``stores.judged_items``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.metrics.stores.prelabels import ITEM_PRELABELS, Prelabelled, Resolved
from shared.contracts.metrics import MetricsAlertV1
from shared.events.envelope import Event
from shared.mongo import CollectionIndexes, compound_id, keyset_after
from shared.outbox.entries import HIDE_OUTBOX, Outbox

ALERTS = "alerts"
ALERT_PROJECTS = "alert_projects"

INDEXES = (
    CollectionIndexes(
        ALERTS,
        (
            IndexModel(
                [
                    ("tenant", ASCENDING),
                    ("project_id", ASCENDING),
                    ("raised_at", DESCENDING),
                    ("alert_id", DESCENDING),
                ],
                name="tenant_project_raised",
            ),
        ),
    ),
    CollectionIndexes(
        ALERT_PROJECTS,
        (
            IndexModel(
                [("dirty", ASCENDING)],
                name="dirty",
                partialFilterExpression={"dirty": True},
            ),
        ),
    ),
)
#: alerts are written with their event
OUTBOX_COLLECTIONS = (ALERTS,)


@dataclass(frozen=True)
class ProjectItem:
    """An item of ``item_prelabels``: its pre-labels (None when registered without) and its
    outcome (None until resolved)."""

    item_id: str
    prelabels: Prelabelled | None
    resolution: Resolved | None


@dataclass(frozen=True)
class Changed:
    """A dirty project and the count of changes it had when it was read."""

    tenant: str
    project_id: str
    changes: int


@dataclass(frozen=True)
class StoredAlert:
    alert_id: str
    project_id: str
    kind: str
    severity: str
    summary: str
    evidence: dict[str, Any]
    recommendations: list[dict[str, Any]]
    raised_at: datetime


def _alert_of(doc: dict[str, Any]) -> StoredAlert:
    return StoredAlert(
        doc["alert_id"],
        doc["project_id"],
        doc["kind"],
        doc["severity"],
        doc["summary"],
        doc.get("evidence") or {},
        list(doc.get("recommendations") or []),
        doc["raised_at"],
    )


class AlertStore:
    def __init__(self, db: AsyncDatabase[Any], outbox: Outbox) -> None:
        self.alerts = db[ALERTS]
        self.projects = db[ALERT_PROJECTS]
        self.prelabel_items = db[ITEM_PRELABELS]
        self.outbox = outbox

    # -- change markers -----------------------------------------------------------------

    async def changed(self, tenant: str, project_id: str, at: datetime) -> None:
        """Mark the project changed (one small upsert)."""
        for _ in range(2):  # two first writers: the loser updates
            try:
                await self.projects.update_one(
                    {"_id": compound_id(tenant, project_id)},
                    {
                        "$inc": {"changes": 1},
                        "$set": {"dirty": True, "changed_at": at},
                        "$min": {"dirty_since": at},
                        "$setOnInsert": {
                            "tenant": tenant,
                            "project_id": project_id,
                            "evaluated": 0,
                            "claimed_until": None,
                            "open": [],
                        },
                    },
                    upsert=True,
                )
                return
            except DuplicateKeyError:
                continue

    async def dirty(
        self, now: datetime, *, quiet: timedelta = timedelta(0), wait: timedelta | None = None
    ) -> list[Changed]:
        """The projects changed since their last evaluation, not held by another replica, and
        either without a change for ``quiet`` or changed for ``wait`` (``None``: any time), in
        tenant and project order."""
        cursor = self.projects.find(
            {"dirty": True},
            {
                "tenant": 1,
                "project_id": 1,
                "changes": 1,
                "claimed_until": 1,
                "changed_at": 1,
                "dirty_since": 1,
            },
        )
        found = [
            Changed(doc["tenant"], doc["project_id"], int(doc["changes"]))
            async for doc in cursor
            if (doc.get("claimed_until") is None or doc["claimed_until"] <= now)
            and (
                doc["changed_at"] <= now - quiet
                or (wait is not None and doc.get("dirty_since", now) <= now - wait)
            )
        ]
        return sorted(found, key=lambda c: (c.tenant, c.project_id))

    async def claim(
        self, tenant: str, project_id: str, now: datetime, hold: timedelta
    ) -> int | None:
        """Hold the dirty project until ``now + hold``; its ``changes`` then, or None when it
        is not dirty any more or another replica holds it."""
        doc = await self.projects.find_one_and_update(
            {
                "_id": compound_id(tenant, project_id),
                "dirty": True,
                "$or": [{"claimed_until": None}, {"claimed_until": {"$lte": now}}],
            },
            {"$set": {"claimed_until": now + hold}},
            projection={"changes": 1},
            return_document=ReturnDocument.AFTER,
        )
        return None if doc is None else int(doc["changes"])

    async def evaluated(self, tenant: str, project_id: str, changes: int, at: datetime) -> None:
        """The evaluation read every change up to ``changes``: clear ``dirty`` unless another
        came since; release the hold either way."""
        key = compound_id(tenant, project_id)
        await self.projects.update_one(
            {"_id": key, "changes": changes},
            {
                "$set": {"dirty": False, "evaluated": changes, "evaluated_at": at},
                "$unset": {"dirty_since": ""},
            },
        )
        await self.release(tenant, project_id)

    async def release(self, tenant: str, project_id: str) -> None:
        await self.projects.update_one(
            {"_id": compound_id(tenant, project_id)}, {"$set": {"claimed_until": None}}
        )

    async def open_alerts(self, tenant: str, project_id: str) -> dict[str, str]:
        """Subject -> alert id of the alerts the project's last evaluation found."""
        doc = await self.projects.find_one({"_id": compound_id(tenant, project_id)}, {"open": 1})
        return {subject: alert_id for subject, alert_id in (doc or {}).get("open") or []}

    async def keep_open(self, tenant: str, project_id: str, found: dict[str, str]) -> None:
        """The alerts this evaluation found (the others' episodes are over)."""
        await self.projects.update_one(
            {"_id": compound_id(tenant, project_id)},
            {"$set": {"open": [[s, a] for s, a in sorted(found.items())]}},
        )

    # -- alerts -------------------------------------------------------------------------

    async def publish(self, alert: MetricsAlertV1, event: Event[Any]) -> bool:
        """Store the alert with its event (the outbox), once per alert id; False when it was
        stored (so published) before."""
        body = alert.model_dump(mode="json")
        doc = {
            "_id": compound_id(alert.tenant, alert.alert_id),
            "alert_id": alert.alert_id,
            "tenant": alert.tenant,
            "project_id": alert.project_id,
            "kind": alert.kind.value,
            "severity": alert.severity.value,
            "summary": alert.summary,
            "evidence": body["evidence"],
            "recommendations": body["recommendations"],
            "raised_at": alert.raised_at,
        }
        try:
            await self.alerts.insert_one(self.outbox.new_document(doc, [event]))
        except DuplicateKeyError:
            return False
        self.outbox.written()
        return True

    async def is_published(self, tenant: str, alert_id: str) -> bool:
        found = await self.alerts.find_one({"_id": compound_id(tenant, alert_id)}, {"_id": 1})
        return found is not None

    async def of_project(
        self,
        tenant: str,
        project_id: str,
        *,
        kinds: Sequence[str] | None,
        since: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[StoredAlert]:
        """The project's alerts (of ``kinds``, raised at or after ``since``, when given),
        newest first (then by id, descending), after the keyset ``after``."""
        query: dict[str, Any] = {"tenant": tenant, "project_id": project_id}
        if kinds is not None:
            query["kind"] = {"$in": list(kinds)}
        if since is not None:
            query["raised_at"] = {"$gte": since}
        if after is not None:
            query.update(
                keyset_after([("raised_at", after[0]), ("alert_id", after[1])], descending=True)
            )
        cursor = (
            self.alerts.find(query, HIDE_OUTBOX)
            .sort([("raised_at", DESCENDING), ("alert_id", DESCENDING)])
            .limit(limit)
        )
        return [_alert_of(doc) async for doc in cursor]

    # -- what the lane and the priorities read ----------------------------------------------

    async def project_items(self, tenant: str, project_id: str) -> list[ProjectItem]:
        """Every item of the project in ``item_prelabels``."""
        cursor = self.prelabel_items.find(
            {"tenant": tenant, "project_id": project_id},
            {"item_id": 1, "prelabels": 1, "resolution": 1},
        )
        out = []
        async for doc in cursor:
            p, r = doc.get("prelabels"), doc.get("resolution")
            out.append(
                ProjectItem(
                    doc["item_id"],
                    None
                    if p is None
                    else Prelabelled(
                        p["model"],
                        p["version"],
                        tuple((v["class_id"], v["confidence"]) for v in p["labels"]),
                    ),
                    None
                    if r is None
                    else Resolved(
                        r["revision"], r["verdict"], tuple(r["classes"]), r["resolved_at"]
                    ),
                )
            )
        return out

    async def has_project(self, tenant: str, project_id: str) -> bool:
        """Whether the tenant's project has an alert, a change marker or a pre-labelled item
        (its judged items are ``stores.judged_items``')."""
        query = {"tenant": tenant, "project_id": project_id}
        if await self.alerts.find_one(query, {"_id": 1}):
            return True
        marker = await self.projects.find_one({"_id": compound_id(tenant, project_id)}, {"_id": 1})
        return (
            marker is not None or await self.prelabel_items.find_one(query, {"_id": 1}) is not None
        )
