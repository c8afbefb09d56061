"""Who is asking for work: the calling expert, the active projects of their roster they are
not benched from and their open qualification attempts, kept per replica for ``ttl_s`` (a
change of vetting state, skills, roster, bench, enrolment or project status reaches handouts
within that time), and which of those projects' units they may take now."""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.assignment.eligibility import (
    ExpertView,
    NoWorkReason,
    ProjectView,
    UnitKind,
    UnitView,
    adjudicator_skills,
    ineligibility,
    no_work_reason,
)
from services.assignment.errors import NoExpertProfile
from services.assignment.handlers.qualification_serving import QualificationServing
from services.assignment.models.experts import Expert
from services.assignment.models.projects import Project
from services.assignment.models.qualifications import Attempt
from services.assignment.stores.calibrations import CalibrationStore
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.rosters import RosterStore
from shared.contracts.work import ProjectStatus

#: Expert profiles a replica keeps (more: it forgets them all and reads again).
MAX_PROFILES = 100_000


@dataclass
class Profile:
    expert: Expert
    #: the projects of their roster they are not benched from
    projects: list[Project]
    #: their open qualification attempts, oldest first (handed out before project work)
    attempts: list[Attempt]
    #: whether they are on any project's roster (benched from it or not)
    on_a_roster: bool = False


def why_no_work(profile: Profile, active: int) -> NoWorkReason:
    """Why the expert of ``profile``, holding ``active`` leases, got no unit (only what they
    may know decides it: see :func:`eligibility.no_work_reason`)."""
    expert = profile.expert
    return no_work_reason(
        _expert_view(expert, active),
        [_project_view(p, expert.expert_id) for p in profile.projects],
        on_a_roster=profile.on_a_roster,
        screening=bool(profile.attempts),
    )


def _expert_view(expert: Expert, active: int) -> ExpertView:
    return ExpertView(
        expert_id=expert.expert_id,
        state=expert.state,
        skills={s.skill: s.level for s in expert.skills},
        max_leases=expert.capacity.max_leases,
        active_leases=active,
    )


def _project_view(project: Project, expert_id: str) -> ProjectView:
    return ProjectView(
        project_id=project.project_id,
        status=project.status,
        required=project.required_skills,
        adjudicator_min_level=project.adjudication.adjudicator_min_level,
        adjudicator_skills=adjudicator_skills(
            project.required_skills,
            project.adjudication.adjudicator_skill,
            project.modality.value,
        ),
        roster=frozenset({expert_id}),  # read from the expert's accepted invitations
        weight=project.priority_weight,
    )


def eligible_projects(
    expert: Expert, rostered: list[Project], active: int
) -> tuple[dict[str, Project], set[str]]:
    """The active projects whose review units the expert may take, and those of them
    whose adjudication units they may take too (the adjudicator's skills at the
    adjudicator's level: ``eligibility.adjudicator_skills``)."""
    view = _expert_view(expert, active)
    eligible, adjudicates = {}, set()
    for project in rostered:
        if project.status is not ProjectStatus.active:
            continue
        project_view = _project_view(project, expert.expert_id)
        for kind in (UnitKind.review, UnitKind.adjudication):
            probe = UnitView(unit_id="-", item_id="-", project_id=project.project_id, kind=kind)
            if ineligibility(view, project_view, probe):
                break
            if kind is UnitKind.review:
                eligible[project.project_id] = project
            else:
                adjudicates.add(project.project_id)
    return eligible, adjudicates


class Profiles:
    def __init__(
        self,
        experts: ExpertStore,
        rosters: RosterStore,
        projects: ProjectStore,
        calibrations: CalibrationStore,
        qualifying: QualificationServing,
        *,
        ttl_s: float = 1.0,
    ) -> None:
        self.experts = experts
        self.rosters = rosters
        self.projects = projects
        self.calibrations = calibrations
        self.qualifying = qualifying
        self.ttl_s = ttl_s
        self._profiles: dict[tuple[str, str], tuple[float, Profile]] = {}

    async def of(self, tenant: str, expert_id: str) -> Profile:
        """The expert, the projects of their roster they are not benched from and their open
        qualification attempts, as read at most ``ttl_s`` ago (a change of vetting
        state, skills, roster, bench, enrolment or project status reaches handouts within
        that time)."""
        key = (tenant, expert_id)
        cached = self._profiles.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        expert = await self.experts.get(tenant, expert_id)
        if expert is None:
            raise NoExpertProfile()
        rostered = await self.rosters.of_expert_accepted(tenant, expert_id)
        benched = await self.calibrations.benched_from(tenant, expert_id)
        projects = await self.projects.many(tenant, [p for p in rostered if p not in benched])
        attempts = await self.qualifying.open_attempts(tenant, expert_id, expert.state)
        if len(self._profiles) > MAX_PROFILES:
            self._profiles.clear()
        profile = Profile(expert, projects, attempts, on_a_roster=bool(rostered))
        self._profiles[key] = (time.monotonic() + self.ttl_s, profile)
        return profile
