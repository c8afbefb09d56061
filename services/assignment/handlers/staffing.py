"""Staffing (ops): the experts to propose for a project's roster (vetted, skills met, spare
capacity, not invited yet, those who could take its blocked work first, then by
calibration), the project's demand (its pending units against the roster's hours, with new
proposals when the roster is outgrown or blocked) and its stuck work (the open units nobody
on the roster may ever take, and why). Reports: each reads the tenant's experts, live leases
or the project's open items, not the hot path. The handout reads the roster the same way
(:func:`roster_members`) to return an item to an expert who gave it back."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Sequence

from services.assignment import ledger, staffing
from services.assignment.eligibility import UnitKind, VettingState, adjudicator_skills
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.ledger import judged_with_overlaps
from services.assignment.handlers.projects import project_of
from services.assignment.models.experts import Expert
from services.assignment.models.projects import Project
from services.assignment.models.rosters import InvitationState
from services.assignment.models.staffing import DemandOut, ProposalOut, StuckUnitOut
from services.assignment.models.work import UnitState, WorkItem
from services.assignment.stores.calibrations import CalibrationStore
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
#: Open items read per page when the stuck work of a project is looked for.
SCAN = 500
#: Unit states that are still work to do.
PENDING = ("open", "leased")
#: The kinds of units that can be stuck (a gold or qualification copy is its expert's alone).
STICKING = {WorkKind.review: UnitKind.review, WorkKind.adjudication: UnitKind.adjudication}


def rules_of(project: Project) -> staffing.Rules:
    """What the project asks of whoever takes its units, as the handout reads it."""
    return staffing.Rules(
        project_id=project.project_id,
        required=project.required_skills,
        adjudicator_min_level=project.adjudication.adjudicator_min_level,
        adjudicator_skills=adjudicator_skills(
            project.required_skills,
            project.adjudication.adjudicator_skill,
            project.modality.value,
        ),
    )


def open_item(item: WorkItem) -> staffing.OpenItem:
    """What stuck work reads of an ordinary item: its open review and adjudication units,
    who had it, judged it or holds a unit of it, and each expert's last give-back."""
    last: dict[str, staffing.GivenBack] = {}
    for given in item.given_back:  # oldest first: the last one stays
        last[given.expert_id] = staffing.GivenBack(at=given.at, how=given.how)

    def experts_in(state: UnitState) -> frozenset[str]:
        return frozenset(u.expert_id for u in item.units if u.state is state and u.expert_id)

    return staffing.OpenItem(
        item_id=item.item_id,
        open_units=[
            (u.unit_id, STICKING[u.kind])
            for u in item.units
            if u.state is UnitState.open and u.kind in STICKING
        ],
        judges=frozenset(item.judges),
        judged=experts_in(UnitState.done),
        holding=experts_in(UnitState.leased),
        given_back=last,
    )


async def roster_members(
    rosters: RosterStore,
    experts: ExpertStore,
    benches: CalibrationStore,
    tenant: str,
    project_id: str,
) -> list[staffing.Member]:
    """The project's roster (accepted invitations) as stuck work reads it: each member's
    vetting state, skills and whether they are benched from the project."""
    accepted = [
        i.expert_id
        for i in await rosters.of_project(tenant, project_id)
        if i.state is InvitationState.accepted
    ]
    members = []
    for expert_id in accepted:
        expert = await experts.get(tenant, expert_id)
        if expert is not None:
            members.append(
                staffing.Member(
                    expert_id=expert_id,
                    state=expert.state,
                    skills={s.skill: s.level for s in expert.skills},
                    benched=project_id in await benches.benched_from(tenant, expert_id),
                )
            )
    return members


def _shown(stuck: staffing.Stuck, item: WorkItem) -> StuckUnitOut:
    [unit] = [u for u in item.units if u.unit_id == stuck.unit_id]
    return StuckUnitOut(
        unit_id=stuck.unit_id,
        item_id=stuck.item_id,
        kind="adjudication" if stuck.kind is UnitKind.adjudication else "review",
        created_at=unit.created_at,
        reason=stuck.reason,
        detail=stuck.message,
        needs=stuck.needs,
        returns_to=stuck.returns_to,
    )


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

    async def _members(self, tenant: str, project: Project) -> list[staffing.Member]:
        return await roster_members(
            self.rosters, self.experts, self.calibrations.store, tenant, project.project_id
        )

    async def _scan(
        self,
        tenant: str,
        project: Project,
        members: Sequence[staffing.Member],
        after: tuple[str, int] | None = None,
    ) -> AsyncIterator[tuple[staffing.Stuck, WorkItem, int]]:
        """The project's stuck units by item id and unit number, after ``after`` (an item id
        and unit number), each with its item and unit number."""
        rules = rules_of(project)
        done = after
        while True:
            page = await self.items.open_items(
                tenant, project.project_id, from_id=done[0] if done else None, limit=SCAN
            )
            for item in page:
                numbers = {u.unit_id: u.n for u in item.units}
                for stuck in staffing.stuck_units(open_item(item), members, rules):
                    n = numbers[stuck.unit_id]
                    if done is None or (item.item_id, n) > done:
                        yield stuck, item, n
            if len(page) < SCAN:
                return
            done = (page[-1].item_id, sys.maxsize)

    async def stuck(
        self, principal: Principal, project_id: str, after: tuple[str, int] | None, limit: int
    ) -> tuple[list[StuckUnitOut], tuple[str, int] | None]:
        """A page of the project's stuck units (by item id, then unit number) after
        ``after``, and where the next page starts (None: this is the last)."""
        project = await project_of(self.projects, principal.tenant, project_id)
        members = await self._members(principal.tenant, project)
        found: list[StuckUnitOut] = []
        last = None
        async for stuck, item, n in self._scan(principal.tenant, project, members, after):
            found.append(_shown(stuck, item))
            last = (item.item_id, n)
            if len(found) == limit:
                return found, last
        return found, None

    async def _all_stuck(self, tenant: str, project: Project) -> list[staffing.Stuck]:
        members = await self._members(tenant, project)
        return [s async for s, _, _ in self._scan(tenant, project, members)]

    async def _proposals(
        self, tenant: str, project: Project, limit: int, stuck: Sequence[staffing.Stuck]
    ) -> list[ProposalOut]:
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
        rules = rules_of(project)
        found = staffing.proposals(
            candidates,
            rules.required,
            limit,
            adjudicator_min_level=rules.adjudicator_min_level,
            adjudicator_skills=rules.adjudicator_skills,
            stuck=stuck,
        )
        return [
            ProposalOut(
                expert_id=p.expert_id,
                display_name=names[p.expert_id],
                calibration=p.calibration,
                spare_leases=p.spare_leases,
                hours_per_week=p.hours_per_week,
                skills=p.skills,
                adjudicates=p.adjudicates,
                unblocks=p.unblocks,
                why=list(p.why),
            )
            for p in found
        ]

    async def proposals(
        self, principal: Principal, project_id: str, limit: int
    ) -> list[ProposalOut]:
        project = await project_of(self.projects, principal.tenant, project_id)
        stuck = await self._all_stuck(principal.tenant, project)
        return await self._proposals(principal.tenant, project, limit, stuck)

    async def demand(self, principal: Principal, project_id: str, limit: int) -> DemandOut:
        tenant = principal.tenant
        project = await project_of(self.projects, tenant, project_id)
        tally = await self.items.tally(tenant, project_id)
        pending = sum(
            n
            for (kind, state), n in tally["units"].items()
            if state in PENDING and kind != WorkKind.gold.value
        )
        # each judgment's share of its expert's time: prefetched leases count once
        judged = await judged_with_overlaps(self.items, tenant, project_id)
        spent = [
            seconds
            for j, seconds in zip(judged, ledger.seconds_spent(judged), strict=True)
            if j.project_id == project_id and j.kind is not WorkKind.gold
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
        stuck = await self._all_stuck(tenant, project)
        blocking = sum(1 for s in stuck if s.blocking)
        found = staffing.demand(
            pending,
            spent,
            hours,
            now=self.clock(),
            due_at=project.due_at,
            stuck_units=min(blocking, pending),  # read apart: a unit may move in between
        )
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
            stuck_units=found.stuck_units,
            returning_units=len(stuck) - blocking,
            blocked=found.blocked,
            outgrown=found.outgrown,
            proposals=(
                await self._proposals(tenant, project, limit, stuck) if found.outgrown else []
            ),
        )
