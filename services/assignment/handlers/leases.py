"""Leases: an expert extends (heartbeat) or releases their own, ops list and force-release
them, and expiry returns a unit to the pool with ``work.expired`` within seconds of its
deadline, whether or not anyone calls (a loop each replica runs; a lease is expired once,
whichever replica gets there first)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from services.assignment import leasing, qualification, standing
from services.assignment.errors import (
    LeaseAtMaxLife,
    LeaseWithdrawn,
    NoLiveLease,
    UnitNotHeld,
)
from services.assignment.handlers.events import unit_event
from services.assignment.models.withdrawals import WithdrawnLease
from services.assignment.models.work import (
    GiveBack,
    GiveBackHow,
    Lease,
    ReleaseIn,
    release_reason,
)
from services.assignment.stores.gold import GoldStore
from services.assignment.stores.items import ItemStore
from services.assignment.stores.leases import LeaseStore, UnreadableLease
from services.assignment.stores.projects import ProjectStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.spec import EventSpec
from shared.contracts.work import WORK_EXPIRED, WORK_RELEASED, WorkKind, WorkUnitEventV1
from shared.logging import get_logger
from shared.outages import OUTAGES

log = get_logger(__name__)


def lease_expired(lease_id: str) -> UnitNotHeld:
    """The one refusal of a lease the caller does not hold live (expired, given back, never
    theirs, no such id), whatever its unit is."""
    return UnitNotHeld(field="path.lease_id", lease_id=lease_id)


async def lease_ended(
    leases: LeaseStore, tenant: str, expert_id: str, lease_id: str, *, field: str
) -> Exception:
    """The refusal of a lease the expert does not hold live: :class:`LeaseWithdrawn`, saying
    why, if it was withdrawn from them (their standing changed), else :func:`lease_expired`.
    Read from the expert's own lease alone, whatever its unit is."""
    withdrawn = (
        None
        if leasing.slot_of(lease_id) is None
        else await leases.withdrawn(tenant, expert_id, lease_id)
    )
    if withdrawn is None:
        ended = lease_expired(lease_id)
        ended.field = field
        return ended
    return LeaseWithdrawn(
        field=field, lease_id=lease_id, project_id=withdrawn.project_id, why=withdrawn.why
    )


class Leases:
    def __init__(
        self,
        leases: LeaseStore,
        items: ItemStore,
        projects: ProjectStore,
        *,
        gold: GoldStore | None = None,
        sweep_interval_s: float = 1.0,
        clock: Clock = now_ms,
    ) -> None:
        self.leases = leases
        self.items = items
        self.projects = projects
        self.gold = gold
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock

    async def live(self, principal: Principal, lease_id: str, expert_id: str) -> tuple[int, Lease]:
        """The live lease of the expert, or :func:`lease_ended` (withdrawn, and why; else
        :func:`lease_expired`, whatever the reason)."""
        slot = leasing.slot_of(lease_id)
        lease = None if slot is None else await self.leases.get(principal.tenant, expert_id, slot)
        if slot is None or lease is None or lease.lease_id != lease_id:
            raise await lease_ended(
                self.leases, principal.tenant, expert_id, lease_id, field="path.lease_id"
            )
        if lease.expires_at <= self.clock():
            raise lease_expired(lease_id)
        return slot, lease

    async def heartbeat(self, principal: Principal, lease_id: str) -> Lease:
        """Move the lease's deadline a TTL from now, never past its maximum life from the
        handout (:class:`LeaseAtMaxLife` once it is there)."""
        slot, lease = await self.live(principal, lease_id, principal.subject)
        project = await self.projects.get(principal.tenant, lease.project_id)
        life = (
            leasing.lease_life(project.lease_ttl_s, project.lease_max_life_s)
            if project
            else leasing.lease_life(None, None)  # a qualification copy's
        )
        expires = leasing.extended(life, lease.leased_at, lease.expires_at, self.clock())
        if expires is None:
            raise LeaseAtMaxLife(
                lease_id=lease_id,
                leased_at=lease.leased_at,
                expires_at=lease.expires_at,
                max_life_s=life.max_life_s,
            )
        assert lease.item_id is not None and lease.unit_id is not None
        extended = await self.items.extend(
            principal.tenant, lease.item_id, leasing.unit_number(lease.unit_id), lease_id, expires
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
        try:
            slot, lease = await self.live(principal, lease_id, holder)
        except UnitNotHeld:
            if expert_id is None:
                raise
            # ops are told plainly: a unit's secrecy is kept from experts, not from ops
            raise NoLiveLease(expert_id=expert_id, lease_id=lease_id) from None
        released_by = principal.subject if expert_id is not None else None
        reason = release_reason(body.reason, body.note, released_by)
        await self._reopen(principal.tenant, slot, lease, WORK_RELEASED, reason, body.reason)
        return lease

    async def withdraw(self, tenant: str, lease: Lease, why: standing.Withdrawal) -> bool:
        """Release a lease its expert no longer stands for (``work.released``, its reason
        saying why) and keep why (``leasing.WITHDRAWAL_KEPT_S``), so a heartbeat, release or
        submission on it is told; False when the lease had ended already (or is still being
        claimed: it has no unit yet)."""
        slot = leasing.slot_of(lease.lease_id)
        if slot is None or lease.unit_id is None:
            return False
        reason = standing.event_reason(why)
        if not await self._reopen(tenant, slot, lease, WORK_RELEASED, reason, "withdrawn"):
            return False
        now = self.clock()
        withdrawn = WithdrawnLease(
            lease_id=lease.lease_id,
            expert_id=lease.expert_id,
            project_id=lease.project_id,
            why=why,
            at=now,
            until=leasing.deadline(now, leasing.WITHDRAWAL_KEPT_S),
        )
        await self.leases.keep_withdrawn(tenant, withdrawn)
        return True

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
        """Return every lease past its deadline to the pool; how many were expired or set
        aside. A lease that cannot be expired (a document this code cannot read, a unit it
        cannot reopen) is logged and set aside (``LeaseStore.set_aside``): the others
        expire, and the next sweeps pass over it. An outage ends the sweep (the next one
        tries again)."""
        done = 0
        for found in await self.leases.expired(self.clock(), limit):
            if isinstance(found, UnreadableLease):
                await self._set_aside(found.key, found.error)
                done += 1
                continue
            key, tenant, slot, lease = found
            try:
                if await self._reopen(
                    tenant, slot, lease, WORK_EXPIRED, "lease expired", "expired"
                ):
                    done += 1
            except OUTAGES:
                raise
            except Exception as exc:
                log.exception("could not expire a lease", lease_id=lease.lease_id)
                await self._set_aside(key, f"{type(exc).__name__}: {exc}")
                done += 1
        return done

    async def _set_aside(self, key: Any, error: str) -> None:
        log.error("lease set aside: it cannot be expired", lease=key, error=error)
        await self.leases.set_aside(key, error, self.clock())

    async def run_expiry(self) -> None:
        """Expire due leases every ``sweep_interval_s``, through outages, until cancelled
        (should it raise all the same, the runtime starts it again: ``shared.supervision``)."""
        while True:
            try:
                if await self.expire_due():
                    continue  # there may be more
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
            n = leasing.unit_number(lease.unit_id)
            kind = await self.items.unit_kind(tenant, lease.item_id, n)
            event = unit_event(
                spec,
                tenant=tenant,
                unit_id=lease.unit_id,
                item_id=lease.item_id,
                project_id=lease.project_id,
                kind=kind,
                at=now,
                lease=lease,
                reason=reason,
            )
            # a qualification unit is an assessment, not the project's work: no work events
            events = [] if qualification.is_copy_project(lease.project_id) else [event]
            given_back = GiveBack(expert_id=lease.expert_id, at=now, how=how)
            reopened = await self.items.reopen(
                tenant, lease.item_id, n, lease.lease_id, events, given_back
            ) or await self.items.close(tenant, lease.item_id, n, lease.lease_id, events)
            if reopened and self.gold is not None and events:
                # a gold unit given back stays due (docs/assignment.md, "Gold and calibration")
                await self.gold.given_back(
                    tenant, lease.project_id, lease.expert_id, gold=kind is WorkKind.gold
                )
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
