"""Handout: the calling expert's best eligible unit, leased atomically.

Each replica keeps, per project, a warm list of candidate items (a page of the project's items
with open units, in handout order: priority, due date, age), read again when it runs dry (its
requests wait for that read) or grows old (read in the background, its requests served from
the old list meanwhile). A handout then costs a few point operations whatever the size of
the pool:

1. the expert's profile (:mod:`services.assignment.handlers.profiles`, kept for a second)
   and their live leases;
2. a free lease slot taken by inserting its ``_id`` (capacity, exact across replicas);
3. the unit claimed by ``_id`` with a condition: still open, and the expert not among the
   item's judges (so no unit is leased twice and no item reaches an expert twice).

Requests of one replica pass over the units its other requests are claiming now, so a claim
loses only to another replica; one that loses reads that one item again and tries its next
open unit, or moves on.
Projects share handouts by weight (stride scheduling, :class:`eligibility.FairShare`). When the
project whose turn it is has gold due for the expert, a gold copy is leased instead
(:mod:`services.assignment.handlers.gold_serving`), of the versions of the unit it stands in
for; it is handed out in the same shape. An
expert with an open qualification attempt gets its items first
(:mod:`services.assignment.handlers.qualification_serving`). An expert with nothing else
eligible may get back an item they gave back (skipped or let expire) that nobody else on
its roster may take (``staffing.stuck_units``: it returns to them).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from services.assignment import leasing, qualification, staffing
from services.assignment.eligibility import FairShare, NoWorkReason, UnitKind
from services.assignment.handlers.events import unit_event
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.gold_serving import GoldServing
from services.assignment.handlers.profiles import Profiles, eligible_projects, why_no_work
from services.assignment.handlers.qualification_serving import QualificationServing
from services.assignment.handlers.staffing import open_item, roster_members, rules_of
from services.assignment.media_links import media_links
from services.assignment.models.experts import Expert
from services.assignment.models.gold import GoldVersions
from services.assignment.models.projects import Project
from services.assignment.models.qualifications import Attempt
from services.assignment.models.work import HandedOut, Lease, Unit, UnitState, WorkItem
from services.assignment.stores.items import ItemStore
from services.assignment.stores.leases import LeaseStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import WORK_LEASED, WorkKind
from shared.logging import get_logger
from shared.media.presign import MediaSigning

log = get_logger(__name__)

#: Claims tried per handout before answering that nothing is eligible now (each lost claim
#: refreshes or drops its candidate, so this bounds only a request racing many others).
ATTEMPTS = 64
#: After a lost claim, the next try starts at a random one of this many best candidates, so
#: experts racing for the top of a list spread out instead of colliding again.
SPREAD = 16
#: Project rosters a replica keeps for returning items (more: it forgets them all).
MAX_ROSTERS = 10_000


@dataclass
class Candidates:
    """A project's warm candidate items on this replica, in handout order, the read that
    refills them while one is under way, and the units this replica's requests are claiming
    now (item id -> unit -> requests), which the next request passes over while it can."""

    items: deque[WorkItem] = field(default_factory=deque)
    filled_at: float = 0.0
    refill: asyncio.Future[None] | None = None
    claiming: dict[str, Counter[int]] = field(default_factory=dict)

    def reserve(self, item_id: str, n: int) -> None:
        self.claiming.setdefault(item_id, Counter())[n] += 1

    def release(self, item_id: str, n: int) -> None:
        units = self.claiming[item_id]
        units[n] -= 1
        if not units[n]:
            del units[n]
        if not units:
            del self.claiming[item_id]


def open_unit(
    item: WorkItem, expert_id: str, adjudicator: bool = False, skip: Collection[int] = ()
) -> int | None:
    """The first open unit of the item for the expert (not in ``skip``), if they never had
    the item (so an original judge never adjudicates it); adjudication units only for an
    ``adjudicator``."""
    if expert_id in item.judges:
        return None
    return next(
        (
            u.n
            for u in item.units
            if u.state is UnitState.open
            and (adjudicator or u.kind is not WorkKind.adjudication)
            and u.n not in skip
        ),
        None,
    )


def _fitting(
    items: Iterable[WorkItem],
    expert_id: str,
    spread: bool,
    adjudicator: bool,
    claiming: Mapping[str, Collection[int]],
) -> tuple[WorkItem, int] | None:
    """The first item with a unit open for the expert that no request of this replica is
    claiming; with ``spread``, a random one of the first :data:`SPREAD` such items. When
    every fitting unit is being claimed, the first of them: that claim may yet lose."""
    fitting = []
    claimed_first: tuple[WorkItem, int] | None = None
    for item in items:
        n = open_unit(item, expert_id, adjudicator, claiming.get(item.item_id, ()))
        if n is None:
            if claimed_first is None and item.item_id in claiming:
                n = open_unit(item, expert_id, adjudicator)
                claimed_first = None if n is None else (item, n)
            continue
        fitting.append((item, n))
        if not spread or len(fitting) == SPREAD:
            break
    if not fitting:
        return claimed_first
    return random.choice(fitting) if spread else fitting[0]


def gave_back(item: WorkItem, expert_id: str) -> bool:
    """Whether the expert had the ordinary item and gave it back: among its judges, none of
    its units judged or held by them (so it may return to them, once nobody else may)."""
    return (
        item.open > 0
        and item.gold_id is None
        and item.qualification is None
        and expert_id in item.judges
        and all(u.expert_id != expert_id for u in item.units)
    )


def _read_done(project_id: str, read: asyncio.Future[None]) -> None:
    """A failed candidate read is logged here, also when nobody waited for it (a background
    read of an old list); the next request reads again."""
    if not read.cancelled() and (error := read.exception()) is not None:
        log.warning("candidate read failed", project_id=project_id, error=repr(error))


def _kind_view(item: WorkItem, unit: Unit) -> dict[str, Any]:
    """What an adjudication unit shows beyond a review unit: every judgment of the item; a
    qualification unit says it is one."""
    if item.qualification is not None:
        return {"kind": "qualification"}
    if unit.kind is not WorkKind.adjudication:
        return {}
    # with their effective labels: an accept shows the pre-labels it stands for
    answers = [u.judgment.judged for u in item.units if u.judgment is not None]
    return {"kind": "adjudication", "judgments": answers}


class Handout:
    def __init__(
        self,
        items: ItemStore,
        leases: LeaseStore,
        profiles: Profiles,
        forms: RubricForms,
        gold: GoldServing,
        qualifying: QualificationServing,
        *,
        page: int = 200,
        max_age_s: float = 5.0,
        clock: Clock = now_ms,
        signing: MediaSigning | None = None,
    ) -> None:
        self.items = items
        self.leases = leases
        self.profiles = profiles
        self.forms = forms
        self.gold = gold
        self.qualifying = qualifying
        self.page = page
        self.max_age_s = max_age_s
        self.clock = clock
        self.signing = signing or MediaSigning(secret=b"", ttl_s=3600)
        self._candidates: dict[tuple[str, str], Candidates] = {}
        self._fair: dict[str, FairShare] = {}
        self._rosters: dict[tuple[str, str], tuple[float, list[staffing.Member]]] = {}

    async def next_or_reason(self, principal: Principal) -> HandedOut | NoWorkReason:
        """Lease the calling expert's next unit; when nothing is eligible now, why. The
        reason rests on the expert's profile and leases only, never on the units: with work
        open to them it is ``nothing_left``, whatever gold there is or is not."""
        handed = await self.next(principal)
        if handed is not None:
            return handed
        profile = await self.profiles.of(principal.tenant, principal.subject)
        held = await self.leases.held(principal.tenant, profile.expert.expert_id)
        return why_no_work(profile, len(held))

    async def next(self, principal: Principal) -> HandedOut | None:
        """Lease the calling expert's next unit; None when nothing is eligible now."""
        profile = await self.profiles.of(principal.tenant, principal.subject)
        expert = profile.expert
        held = await self.leases.held(principal.tenant, expert.expert_id)
        free = [s for s in range(expert.capacity.max_leases) if s not in held]
        if not free:
            return None
        for open_attempt in profile.attempts:
            handed = await self._qualification(principal.tenant, expert, open_attempt, free)
            if handed is not None:
                return handed
        projects, adjudicates = eligible_projects(expert, profile.projects, len(held))
        if not projects:
            return None
        fair = self._fair.setdefault(principal.tenant, FairShare())
        for p in projects.values():
            fair.set_weight(p.project_id, p.priority_weight)
        first = fair.pick(sorted(projects))
        if first is not None:
            handed = await self._gold(
                principal.tenant, expert, projects[first], free, first in adjudicates
            )
            if handed is not None:
                fair.served(first)
                return handed
        for attempt in range(ATTEMPTS):
            found = await self._candidate(
                principal.tenant, expert, projects, adjudicates, fair, attempt > 0
            )
            if found is None:
                return await self._returning(principal.tenant, expert, projects, adjudicates, free)
            project, item, n = found
            try:
                if not free:
                    return None
                handed = await self._lease(principal.tenant, expert, project, item, n, free)
            finally:
                self._candidates[principal.tenant, project.project_id].release(item.item_id, n)
            if handed is not None:
                fair.served(project.project_id)
                return handed
        return None

    async def _candidate(
        self,
        tenant: str,
        expert: Expert,
        projects: dict[str, Project],
        adjudicates: set[str],
        fair: FairShare,
        spread: bool,
    ) -> tuple[Project, WorkItem, int] | None:
        """The next (project, item, unit) for the expert, fair across projects."""
        remaining = set(projects)
        while remaining:
            project_id = fair.pick(sorted(remaining))
            if project_id is None:
                return None
            found = await self._in_project(
                tenant, project_id, expert.expert_id, spread, project_id in adjudicates
            )
            if found is not None:
                return projects[project_id], *found
            remaining.discard(project_id)
        return None

    async def _in_project(
        self, tenant: str, project_id: str, expert_id: str, spread: bool, adjudicator: bool
    ) -> tuple[WorkItem, int] | None:
        """An item of the project with a unit open for the expert: from the warm candidates,
        else (the expert has had every one of them) from the project's items not yet theirs."""
        pool = self._candidates.setdefault((tenant, project_id), Candidates())
        if not pool.items:
            await self._refill(tenant, project_id, pool)
        elif time.monotonic() - pool.filled_at > self.max_age_s:
            self._start_refill(tenant, project_id, pool)  # served from the old list meanwhile
        found = _fitting(pool.items, expert_id, spread, adjudicator, pool.claiming)
        if found is None and len(pool.items) == self.page:
            # more items than the page: look past the ones the expert has had
            beyond = await self.items.candidates(tenant, project_id, SPREAD, without=expert_id)
            found = _fitting(beyond, expert_id, spread, adjudicator, pool.claiming)
        if found is not None:
            pool.reserve(found[0].item_id, found[1])  # released once the claim is decided
        return found

    async def _returning(
        self,
        tenant: str,
        expert: Expert,
        projects: dict[str, Project],
        adjudicates: set[str],
        free: list[int],
    ) -> HandedOut | None:
        """With nothing else eligible for the expert: an item they gave back whose open unit
        nobody else on the project's roster may take and that returns to them
        (``staffing.stuck_units``: the oldest give-back first), claimed again on the same
        conditions plus "judged or holds none of its units"; None when there is none."""
        fair = self._fair[tenant]
        for project_id in sorted(projects):
            pool = self._candidates.get((tenant, project_id))
            if pool is None:
                continue
            mine = [i for i in pool.items if gave_back(i, expert.expert_id)]
            if not mine and len(pool.items) == self.page:
                mine = await self.items.given_back_by(tenant, project_id, expert.expert_id, SPREAD)
            project = projects[project_id]
            for item in mine:
                n = await self._returns_to(tenant, project, item, expert, project_id in adjudicates)
                if n is None:
                    continue
                handed = await self._lease(tenant, expert, project, item, n, free, again=True)
                if handed is not None:
                    fair.served(project_id)
                    log.info("unit returned", unit_id=handed.unit_id, lease_id=handed.lease_id)
                    return handed
        return None

    async def _returns_to(
        self, tenant: str, project: Project, item: WorkItem, expert: Expert, adjudicator: bool
    ) -> int | None:
        """The number of the item's stuck unit that returns to the expert, if one does."""
        members = await self._roster(tenant, project.project_id)
        numbers = {u.unit_id: u.n for u in item.units}
        for stuck in staffing.stuck_units(open_item(item), members, rules_of(project)):
            if stuck.returns_to == expert.expert_id and (
                adjudicator or stuck.kind is not UnitKind.adjudication
            ):
                return numbers[stuck.unit_id]
        return None

    async def _roster(self, tenant: str, project_id: str) -> list[staffing.Member]:
        """The project's roster as stuck work reads it, read again when older than
        ``max_age_s`` (a change of roster reaches returns within it)."""
        key = (tenant, project_id)
        kept = self._rosters.get(key)
        if kept is not None and time.monotonic() < kept[0]:
            return kept[1]
        profiles = self.profiles
        members = await roster_members(
            profiles.rosters, profiles.experts, profiles.calibrations, tenant, project_id
        )
        if len(self._rosters) > MAX_ROSTERS:
            self._rosters.clear()
        self._rosters[key] = (time.monotonic() + self.max_age_s, members)
        return members

    async def _refill(self, tenant: str, project_id: str, pool: Candidates) -> None:
        """Read the project's candidates again and wait for them, once at a time: the
        requests that find the list empty while a read is under way wait for that read, so a
        crowd of experts arriving at an empty list sends one query, not one each."""
        refill = self._start_refill(tenant, project_id, pool)
        # a request cancelled meanwhile (its client gone) leaves the read to the others
        await asyncio.shield(refill)

    def _start_refill(self, tenant: str, project_id: str, pool: Candidates) -> asyncio.Future[None]:
        """The read of the project's candidates under way, started if none is. An old list
        is read again in the background: its requests are served from it meanwhile."""
        if pool.refill is None:
            pool.refill = asyncio.ensure_future(self._read(tenant, project_id, pool))
            pool.refill.add_done_callback(partial(_read_done, project_id))
        return pool.refill

    async def _read(self, tenant: str, project_id: str, pool: Candidates) -> None:
        try:
            pool.items = deque(await self.items.candidates(tenant, project_id, self.page))
            pool.filled_at = time.monotonic()
        finally:
            pool.refill = None

    async def _take_slot(
        self,
        tenant: str,
        expert: Expert,
        project_id: str,
        ttl_s: float,
        unit_id: str,
        free: list[int],
    ) -> tuple[int, Lease] | None:
        """A free slot (removed from ``free``; another request of the expert may hold one
        meanwhile) and the lease it holds for the unit; None when no slot is left."""
        now = self.clock()
        expires = leasing.deadline(now, ttl_s)
        while free:
            slot = free.pop(0)
            lease = Lease(
                lease_id=leasing.lease_id(slot),
                expert_id=expert.expert_id,
                unit_id=unit_id,
                item_id=leasing.item_of(unit_id),
                project_id=project_id,
                leased_at=now,
                expires_at=expires,
            )
            if await self.leases.take(tenant, slot, lease):
                return slot, lease
        return None

    async def _gold(
        self, tenant: str, expert: Expert, project: Project, free: list[int], adjudicator: bool
    ) -> HandedOut | None:
        """The project's gold for the expert if it is due, an ordinary unit is open for them for
        it to stand in for, and a gold item is left for them whose key holds under that unit's
        versions (:meth:`_next_versions`). Without an ordinary unit no gold is served: gold
        handed out after the last ordinary unit, then ``nothing_left``, would tell the expert
        that those last units were gold."""
        versions = await self._next_versions(tenant, expert.expert_id, project, adjudicator)
        if versions is None:
            return None
        due = await self.gold.due(tenant, project, expert.expert_id, versions)
        if due is None:
            return None
        found, item_id = due
        taken = await self._take_slot(
            tenant,
            expert,
            project.project_id,
            project.lease_ttl_s,
            leasing.unit_id(item_id, 0),
            free,
        )
        if taken is None:
            return None
        slot, lease = taken
        copy = await self.gold.lease(tenant, project, found, item_id, lease, versions)
        if copy is None:
            await self.leases.drop(tenant, expert.expert_id, slot, lease.lease_id)
            free.insert(0, slot)
            return None
        return await self._handed(tenant, copy, copy.units[0], lease)

    async def _next_versions(
        self, tenant: str, expert_id: str, project: Project, adjudicator: bool
    ) -> GoldVersions | None:
        """The rubric and taxonomy versions of the project's next unit for the expert; None
        when no unit is open for them. A gold unit takes them, so it has the versions of the
        units around it (a backlog of an earlier rubric version keeps its version)."""
        found = await self._in_project(tenant, project.project_id, expert_id, False, adjudicator)
        if found is None:
            return None
        item, n = found
        self._candidates[tenant, project.project_id].release(item.item_id, n)
        unit = item.units[n]
        return GoldVersions(rubric=unit.rubric, taxonomy=unit.taxonomy)

    async def _qualification(
        self, tenant: str, expert: Expert, attempt: Attempt, free: list[int]
    ) -> HandedOut | None:
        """The attempt's next item for the expert; None when every item is handed out (the
        attempt is scored once none is leased any more)."""
        found = await self.qualifying.set_of(tenant, attempt.set_id)
        if found is None:
            return None
        project_id = qualification.project_of(attempt.set_id)
        while attempt.next < attempt.items:
            index = attempt.next
            copy_id = qualification.copy_id(tenant, attempt.set_id, expert.expert_id, index)
            taken = await self._take_slot(
                tenant,
                expert,
                project_id,
                leasing.DEFAULT_TTL_S,  # a qualification copy's (a heartbeat extends it as much)
                leasing.unit_id(copy_id, 0),
                free,
            )
            if taken is None:
                return None
            slot, lease = taken
            copy = await self.qualifying.lease(attempt, found, index, lease)
            attempt.next = index + 1  # the profile's copy follows the store's
            if copy is not None:
                return await self._handed(tenant, copy, copy.units[0], lease)
            await self.leases.drop(tenant, expert.expert_id, slot, lease.lease_id)
            free.insert(0, slot)
        await self.qualifying.settle(attempt)
        return None

    async def _lease(
        self,
        tenant: str,
        expert: Expert,
        project: Project,
        item: WorkItem,
        n: int,
        free: list[int],
        *,
        again: bool = False,
    ) -> HandedOut | None:
        """Take a free slot and claim unit ``n`` of the item with it (``again``: an item
        returning to the expert who gave it back); None when the claim lost a race (or no
        slot is left)."""
        unit = item.units[n]
        taken = await self._take_slot(
            tenant, expert, project.project_id, project.lease_ttl_s, unit.unit_id, free
        )
        if taken is None:
            return None
        slot, lease = taken
        event = unit_event(
            WORK_LEASED,
            tenant=tenant,
            unit_id=unit.unit_id,
            item_id=item.item_id,
            project_id=project.project_id,
            kind=unit.kind,
            at=lease.leased_at,
            lease=lease,
        )
        claimed = await self.items.claim(
            tenant,
            item.item_id,
            n,
            expert_id=expert.expert_id,
            lease_id=lease.lease_id,
            leased_at=lease.leased_at,
            expires_at=lease.expires_at,
            event=event,
            again=again,
        )
        if claimed is None:
            await self.leases.drop(tenant, expert.expert_id, slot, lease.lease_id)
            free.insert(0, slot)
            await self._refresh(tenant, project.project_id, item.item_id)
            return None
        self._replace(tenant, project.project_id, claimed)
        await self.gold.served(tenant, project, expert.expert_id)
        log.info("unit leased", unit_id=unit.unit_id, lease_id=lease.lease_id)
        return await self._handed(tenant, claimed, unit, lease)

    async def held(self, principal: Principal) -> list[HandedOut]:
        """The units the expert holds now (their live leases), each as it was handed out,
        soonest deadline first: a workbench that was reloaded or closed resumes them."""
        tenant, now = principal.tenant, self.clock()
        leases = await self.leases.held(tenant, principal.subject)
        handed = []
        for lease in sorted(leases.values(), key=lambda held: held.expires_at):
            if lease.expires_at <= now or lease.item_id is None or lease.unit_id is None:
                continue
            item = await self.items.get(tenant, lease.item_id)
            number = leasing.unit_number(lease.unit_id)
            unit = next((u for u in item.units if u.n == number), None) if item else None
            if (
                item is None
                or unit is None
                or not unit.held_by(principal.subject, now, lease.lease_id)
            ):
                continue
            handed.append(await self._handed(tenant, item, unit, lease))
        return handed

    async def _handed(self, tenant: str, item: WorkItem, unit: Unit, lease: Lease) -> HandedOut:
        """What the expert is handed: the same fields and shapes for every unit, gold or not."""
        return HandedOut(
            lease_id=lease.lease_id,
            unit_id=unit.unit_id,
            item_id=item.item_id,
            project_id=item.project_id,
            expires_at=lease.expires_at,
            modality=item.modality,
            content=item.content,
            rubric=unit.rubric,
            form=await self.forms.get(tenant, unit.rubric),
            media_links=media_links(item.content, self.signing, self.clock().timestamp()),
            **_kind_view(item, unit),
        )

    async def _refresh(self, tenant: str, project_id: str, item_id: str) -> None:
        """After a lost claim: the item as it is now, or gone from the candidates."""
        fresh = await self.items.get(tenant, item_id)
        self._replace(tenant, project_id, fresh, item_id)

    def _replace(
        self, tenant: str, project_id: str, item: WorkItem | None, item_id: str | None = None
    ) -> None:
        pool = self._candidates.get((tenant, project_id))
        if pool is None:
            return
        key = item.item_id if item is not None else item_id
        kept = [c if c.item_id != key else item for c in pool.items]
        pool.items = deque(c for c in kept if c is not None and c.open > 0)
