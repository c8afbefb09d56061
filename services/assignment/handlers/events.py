"""The work-lifecycle events assignment publishes about a unit."""

from __future__ import annotations

from datetime import datetime

from services.assignment.models.work import Lease
from shared.contracts.spec import EventSpec
from shared.contracts.work import WorkKind, WorkUnitEventV1
from shared.events.envelope import Event, make_event

SOURCE = "/quorum/assignment"


def unit_event(
    spec: EventSpec[WorkUnitEventV1],
    *,
    tenant: str,
    unit_id: str,
    item_id: str,
    project_id: str,
    kind: WorkKind,
    at: datetime,
    lease: Lease | None = None,
    reason: str | None = None,
    traceparent: str | None = None,
) -> Event[WorkUnitEventV1]:
    """``spec``'s event about a unit; with ``lease``, its expert and deadline."""
    payload = WorkUnitEventV1(
        unit_id=unit_id,
        item_id=item_id,
        project_id=project_id,
        tenant=tenant,
        kind=kind,
        expert_id=lease.expert_id if lease else None,
        lease_expires_at=lease.expires_at if lease else None,
        reason=reason,
        at=at,
    )
    return make_event(spec, payload, source=SOURCE, tenant=tenant, traceparent=traceparent)
