"""Work already handed out follows its expert's standing (``services/assignment/standing.py``):
when ops suspend or offboard an expert, take them off a project's roster, pause or close a
project, or calibration benches an expert from one, the live leases that no longer stand are
released with ``work.released`` (its reason says why), and a heartbeat, release or
submission on one is refused saying why (``errors.LeaseWithdrawn``).

A change of standing and the leases it ends are different documents, so the release follows
the change reliably rather than in its write: the request records its intent first, writes
the change, then settles the intent (releases what no longer stands). Each replica's sweep
settles every intent again once it is ``grace_s`` old (longer than a replica reuses an
expert's profile for handouts, so a lease handed out from a profile read just before the
change is released too, and a replica that stopped before settling is made good), then
forgets it. Settling reads the standing as it is then and releases only leases that no
longer stand: an intent whose change failed, or was undone since (a reinstatement), releases
nothing, and settling twice releases once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from services.assignment import qualification
from services.assignment.handlers.leases import Leases
from services.assignment.models.withdrawals import WithdrawalIntent
from services.assignment.models.work import Lease
from services.assignment.standing import Standing, Withdrawal, skilled, withdrawal
from services.assignment.stores.calibrations import CalibrationStore
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.leases import LeaseStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.rosters import RosterStore
from services.assignment.stores.withdrawals import WithdrawalStore
from shared.clock import Clock, now_ms
from shared.logging import get_logger
from shared.outages import OUTAGES

log = get_logger(__name__)

#: Intents the sweep settles in one pass.
SWEEP_PAGE = 100
#: How much longer than a replica reuses an expert's profile for handouts
#: (``HANDOUT_PROFILE_TTL_S``) the sweep waits before settling an intent again.
WITHDRAWAL_GRACE_S = 4.0


class Withdrawals:
    def __init__(
        self,
        store: WithdrawalStore,
        leases: Leases,
        lease_store: LeaseStore,
        experts: ExpertStore,
        rosters: RosterStore,
        calibrations: CalibrationStore,
        projects: ProjectStore,
        *,
        grace_s: float,
        sweep_interval_s: float = 1.0,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.leases = leases
        self.lease_store = lease_store
        self.experts = experts
        self.rosters = rosters
        self.calibrations = calibrations
        self.projects = projects
        self.grace_s = grace_s
        self.sweep_interval_s = sweep_interval_s
        self.clock = clock

    @asynccontextmanager
    async def changing(
        self,
        tenant: str,
        change: str,
        *,
        expert_id: str | None = None,
        project_id: str | None = None,
    ) -> AsyncIterator[None]:
        """Around a change of standing: record the intent, let the change be written, then
        release the leases of its scope that no longer stand (the expert's, of the project
        only if given; or every lease of the project). Settled even when the change failed
        (releasing nothing then); an outage while settling leaves it to the sweep."""
        intent = await self.intend(tenant, change, expert_id=expert_id, project_id=project_id)
        try:
            yield
        finally:
            try:
                await self.settle(intent)
            except OUTAGES as exc:
                log.warning("leases not withdrawn yet: the sweep will", error=str(exc))

    async def intend(
        self,
        tenant: str,
        change: str,
        *,
        expert_id: str | None = None,
        project_id: str | None = None,
    ) -> WithdrawalIntent:
        """Record that a change of standing is being made (the sweep settles it)."""
        intent = WithdrawalIntent(
            intent_id=uuid.uuid4().hex,
            tenant=tenant,
            expert_id=expert_id,
            project_id=project_id,
            change=change,
            at=self.clock(),
        )
        await self.store.intend(intent)
        return intent

    async def settle(self, intent: WithdrawalIntent) -> int:
        """Release the leases of the intent's scope that no longer stand; how many."""
        tenant = intent.tenant
        if intent.expert_id is not None:
            held = (await self.lease_store.held(tenant, intent.expert_id)).values()
            leases = [
                lease
                for lease in held
                if intent.project_id is None or lease.project_id == intent.project_id
            ]
        elif intent.project_id is not None:
            leases = await self.lease_store.of_tenant(tenant, intent.project_id)
        else:
            leases = []
        released = 0
        for lease, why in await self._lapsed(tenant, leases):
            if await self.leases.withdraw(tenant, lease, why):
                released += 1
        if released:
            log.info(
                "leases withdrawn",
                change=intent.change,
                expert_id=intent.expert_id,
                project_id=intent.project_id,
                released=released,
            )
        return released

    async def _lapsed(self, tenant: str, leases: list[Lease]) -> list[tuple[Lease, Withdrawal]]:
        """Those of ``leases`` that no longer stand, with why (a few reads, however many)."""
        if not leases:
            return []
        experts = await self.experts.many(tenant, sorted({lease.expert_id for lease in leases}))
        project_ids = sorted(
            {
                lease.project_id
                for lease in leases
                if not qualification.is_copy_project(lease.project_id)
            }
        )
        projects = {p.project_id: p for p in await self.projects.many(tenant, project_ids)}
        pairs = {
            (lease.project_id, lease.expert_id) for lease in leases if lease.project_id in projects
        }
        on_rosters = await self.rosters.on_rosters(tenant, pairs)
        benched = await self.calibrations.benched_pairs(tenant, pairs)
        lapsed = []
        for lease in leases:
            expert = experts.get(lease.expert_id)
            project = projects.get(lease.project_id)
            copy = qualification.is_copy_project(lease.project_id)
            if expert is None or (project is None and not copy):
                continue  # never: experts and projects are not deleted
            pair = (lease.project_id, lease.expert_id)
            why = withdrawal(
                Standing(
                    expert_state=expert.state,
                    project_status=None if project is None else project.status,
                    on_roster=pair in on_rosters,
                    benched=pair in benched,
                    skilled=project is None
                    or skilled({s.skill: s.level for s in expert.skills}, project.required_skills),
                )
            )
            if why is not None:
                lapsed.append((lease, why))
        return lapsed

    async def sweep(self) -> int:
        """Settle, then forget, every intent older than ``grace_s``; forget the withdrawn
        leases kept long enough. How many intents it took (a full page: there may be more).
        An intent that fails for another reason than an outage is logged and set aside (tried
        again after ``grace_s``), so the others go on."""
        now = self.clock()
        await self.lease_store.forget_withdrawn(now)
        due = await self.store.due(now - timedelta(seconds=self.grace_s), SWEEP_PAGE)
        for intent in due:
            try:
                await self.settle(intent)
            except OUTAGES:
                raise
            except Exception:
                log.exception("a withdrawal failed: set aside", intent_id=intent.intent_id)
                await self.store.postpone(intent.intent_id, now)
                continue
            await self.store.settled(intent.intent_id)
        return len(due)

    async def run(self) -> None:
        """Sweep every ``sweep_interval_s``, through outages and failures, until cancelled."""
        while True:
            try:
                if await self.sweep() == SWEEP_PAGE:
                    continue
            except OUTAGES as exc:
                log.warning("infrastructure unavailable; retrying", error=str(exc))
            except Exception:
                log.exception("the withdrawal sweep failed; retrying")
            await asyncio.sleep(self.sweep_interval_s)
