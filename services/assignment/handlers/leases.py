"""Leases: an expert extends (heartbeat) or releases their own, ops list and force-release
them, and expiry returns a unit to the pool with ``work.expired`` within seconds of its
deadline, whether or not anyone calls (a loop each replica runs; a lease is expired once,
whichever replica gets there first)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from services.assignment import qualification
from services.assignment.handlers.events import unit_event
from services.assignment.models.work import GiveBack, GiveBackHow, Lease, ReleaseIn
from services.assignment.stores.items import ItemStore
from services.assignment.stores.leases import LeaseStore
from services.assignment.stores.projects import ProjectStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.spec import EventSpec
from shared.contracts.work import WORK_EXPIRED, WORK_RELEASED, WorkKind, WorkUnitEventV1
from shared.http.problems import Problem, not_found
from shared.logging import get_logger
from shared.outages import OUTAGES

log = get_logger(__name__)


def slot_of(lease_id: str) -> int | None:
    """The slot a lease id names (``<slot>-<random>``), or None for an id not ours."""
    head, _, rest = lease_id.partition("-")
    return int(head) if head.isdigit() and rest and len(head) <= 2 else None


def unit_number(unit_id: str) -> int:
    return int(unit_id.rpartition("~")[2])


def lease_expired(lease_id: str) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"lease {lease_id} has expired (or was released): the unit went back to the pool; "
        "ask for new work",
    )


class Leases:
    def __init__(
        self,
        leases: LeaseStore,
        items: ItemStore,
        projects: ProjectStore,
        *,
        sweep_interval_s: float = 1.0,
        clock: Clock = now_ms,
    ) -> None:
        self.leases = leases
        self.items = items
        self.projects = projects
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock

    async def live(self, principal: Principal, lease_id: str, expert_id: str) -> tuple[int, Lease]:
        """The live lease of the expert, or a 409 saying it expired (404: never theirs)."""
        slot = slot_of(lease_id)
        lease = None if slot is None else await self.leases.get(principal.tenant, expert_id, slot)
        if slot is None or lease is None or lease.lease_id != lease_id:
            raise lease_expired(lease_id) if slot is not None else not_found(f"lease {lease_id}")
        if lease.expires_at <= self.clock():
            raise lease_expired(lease_id)
        return slot, lease

    async def heartbeat(self, principal: Principal, lease_id: str) -> Lease:
        slot, lease = await self.live(principal, lease_id, principal.subject)
        project = await self.projects.get(principal.tenant, lease.project_id)
        ttl = project.lease_ttl_s if project else 1_800
        expires = self.clock() + timedelta(seconds=ttl)
        assert lease.item_id is not None and lease.unit_id is not None
        extended = await self.items.extend(
            principal.tenant, lease.item_id, unit_number(lease.unit_id), lease_id, expires
        )
        if not extended or not await self.leases.extend(
            principal.tenant, principal.subject, slot, lease_id, expires
        ):
            raise lease_expired(lease_id)
        return lease.model_copy(update={"expires_at": expires})

    async def release(
        self, principal: Principal, lease_id: str, body: ReleaseIn, *, expert_id: str | None = None
    ) -> Lease:
        """The expert's own lease, or (ops, ``expert_id``) anyone's, back to the pool."""
        holder = expert_id or principal.subject
        slot, lease = await self.live(principal, lease_id, holder)
        reason = f"{body.reason}: {body.note}" if body.note else body.reason
        if expert_id is not None:
            reason = f"released by {principal.subject}: {reason}"
        await self._reopen(principal.tenant, slot, lease, WORK_RELEASED, reason, body.reason)
        return lease

    async def of_tenant(
        self,
        principal: Principal,
        project_id: str | None,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Lease]:
        """The tenant's live leases, soonest deadline first, after ``after``."""
        return await self.leases.of_tenant(principal.tenant, project_id, after=after, limit=limit)

    async def expire_due(self, limit: int = 500) -> int:
        """Return every lease past its deadline to the pool; how many were expired."""
        expired = 0
        for tenant, slot, lease in await self.leases.expired(self.clock(), limit):
            if await self._reopen(tenant, slot, lease, WORK_EXPIRED, "lease expired", "expired"):
                expired += 1
        return expired

    async def run_expiry(self) -> None:
        """Expire due leases every ``sweep_interval_s``, through outages, until cancelled."""
        while True:
            try:
                if await self.expire_due():
                    continue  # a full page: there may be more
            except OUTAGES as exc:
                log.warning("infrastructure unavailable; retrying", error=str(exc))
            await asyncio.sleep(self.sweep_interval_s)

    async def _reopen(
        self,
        tenant: str,
        slot: int,
        lease: Lease,
        spec: EventSpec[WorkUnitEventV1],
        reason: str,
        how: GiveBackHow,
    ) -> bool:
        """Return the lease's unit to the pool (a gold or qualification copy's: closed),
        recording on the item that its expert gave it back, ``how``."""
        now = self.clock()
        reopened = False
        if lease.unit_id is not None and lease.item_id is not None:
            event = unit_event(
                spec,
                tenant=tenant,
                unit_id=lease.unit_id,
                item_id=lease.item_id,
                project_id=lease.project_id,
                kind=WorkKind.review,
                at=now,
                lease=lease,
                reason=reason,
            )
            n = unit_number(lease.unit_id)
            # a qualification unit is an assessment, not the project's work: no work events
            events = [] if qualification.is_copy_project(lease.project_id) else [event]
            given_back = GiveBack(expert_id=lease.expert_id, at=now, how=how)
            reopened = await self.items.reopen(
                tenant, lease.item_id, n, lease.lease_id, events, given_back
            ) or await self.items.close(tenant, lease.item_id, n, lease.lease_id, events)
        await self.leases.drop(tenant, lease.expert_id, slot, lease.lease_id)
        if reopened:
            log.info(
                "unit back in the pool",
                unit_id=lease.unit_id,
                lease_id=lease.lease_id,
                reason=reason,
                held_s=round((now - lease.leased_at).total_seconds(), 3),
            )
        return reopened
