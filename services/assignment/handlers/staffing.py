"""Staffing (ops): the experts to propose for a project's roster (vetted, skills met, spare
capacity, not invited yet, ranked by calibration) and the project's demand, its pending
units against the roster's hours, with new proposals when the roster is outgrown. Reports:
each reads the tenant's experts and live leases, not the hot path."""

from __future__ import annotations

from services.assignment import staffing
from services.assignment.eligibility import VettingState
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.projects import project_of
from services.assignment.models.experts import Expert
from services.assignment.models.projects import Project
from services.assignment.models.rosters import InvitationState
from services.assignment.models.staffing import DemandOut, ProposalOut
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.items import ItemStore
from services.assignment.stores.leases import LeaseStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.rosters import RosterStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import WorkKind

#: Experts read per page when every vetted expert of a tenant is considered.
PAGE = 500
#: Unit states that are still work to do.
PENDING = ("open", "leased")


class Staffing:
    def __init__(
        self,
        projects: ProjectStore,
        experts: ExpertStore,
        rosters: RosterStore,
        leases: LeaseStore,
        items: ItemStore,
        calibrations: Calibrations,
        clock: Clock = now_ms,
    ) -> None:
        self.projects = projects
        self.experts = experts
        self.rosters = rosters
        self.leases = leases
        self.items = items
        self.calibrations = calibrations
        self.clock = clock

    async def _vetted(self, tenant: str) -> list[Expert]:
        found: list[Expert] = []
        after = None
        while True:
            page = await self.experts.page(
                tenant, state=VettingState.vetted, after=after, limit=PAGE
            )
            found += page
            if len(page) < PAGE:
                return found
            after = page[-1].expert_id

    async def _proposals(self, tenant: str, project: Project, limit: int) -> list[ProposalOut]:
        experts = await self._vetted(tenant)
        held: dict[str, int] = {}
        for lease in await self.leases.of_tenant(tenant, None):
            held[lease.expert_id] = held.get(lease.expert_id, 0) + 1
        invited = {
            i.expert_id
            for i in await self.rosters.of_project(tenant, project.project_id)
            if i.state in (InvitationState.invited, InvitationState.accepted)
        }
        means = await self.calibrations.means_of_tenant(tenant)
        candidates = [
            staffing.Candidate(
                expert_id=e.expert_id,
                state=e.state,
                skills={s.skill: s.level for s in e.skills},
                max_leases=e.capacity.max_leases,
                active_leases=held.get(e.expert_id, 0),
                hours_per_week=e.capacity.hours_per_week,
                calibration=means.get(e.expert_id, {}),
                on_roster=e.expert_id in invited,
            )
            for e in experts
        ]
        names = {e.expert_id: e.display_name for e in experts}
        return [
            ProposalOut(
                expert_id=p.expert_id,
                display_name=names[p.expert_id],
                calibration=p.calibration,
                spare_leases=p.spare_leases,
                hours_per_week=p.hours_per_week,
                skills=p.skills,
            )
            for p in staffing.proposals(candidates, project.required_skills, limit)
        ]

    async def proposals(
        self, principal: Principal, project_id: str, limit: int
    ) -> list[ProposalOut]:
        project = await project_of(self.projects, principal.tenant, project_id)
        return await self._proposals(principal.tenant, project, limit)

    async def demand(self, principal: Principal, project_id: str, limit: int) -> DemandOut:
        tenant = principal.tenant
        project = await project_of(self.projects, tenant, project_id)
        tally = await self.items.tally(tenant, project_id)
        pending = sum(
            n
            for (kind, state), n in tally["units"].items()
            if state in PENDING and kind != WorkKind.gold.value
        )
        spent = [
            j.time_spent_s
            for j in await self.items.judged(tenant, project_id)
            if j.kind is not WorkKind.gold
        ]
        roster = [
            i.expert_id
            for i in await self.rosters.of_project(tenant, project_id)
            if i.state is InvitationState.accepted
        ]
        hours = []
        for expert_id in roster:
            expert = await self.experts.get(tenant, expert_id)
            if expert is not None and expert.state is VettingState.vetted:
                hours.append(expert.capacity.hours_per_week)
        found = staffing.demand(pending, spent, hours, now=self.clock(), due_at=project.due_at)
        return DemandOut(
            project_id=project_id,
            pending_units=found.pending_units,
            seconds_per_unit=found.seconds_per_unit,
            hours_needed=found.hours_needed,
            roster_experts=len(hours),
            roster_hours_per_week=found.roster_hours_per_week,
            weeks_available=found.weeks_available,
            hours_available=found.hours_available,
            weeks_to_clear=found.weeks_to_clear,
            outgrown=found.outgrown,
            proposals=await self._proposals(tenant, project, limit) if found.outgrown else [],
        )
