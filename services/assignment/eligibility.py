"""Who may get which unit, free of I/O: vetting states and their moves, skill ids, the reasons
an expert may not take a unit, the order of units, and a fair share of handouts across
projects.

:func:`ineligibility` returns every reason at once (an empty list: eligible), so ops and the
expert see why a unit was not handed out, not only the first check that failed.

Handout, as the service drives it::

    eligible = {p: units for p, units in candidates.items() if units}  # no reasons left
    project = fair.pick(eligible)
    unit = min(eligible[project], key=lambda u: priority_key(u.priority, u.due_at, u.created_at))
    ...lease it...
    fair.served(project)
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.contracts.work import ProjectStatus

#: Skill levels: 1 (novice) to 5 (authority).
MIN_LEVEL = 1
MAX_LEVEL = 5
#: Skill ids: dotted, lower case, 2 to 4 segments (``modality.video``, ``task.av_sync``).
MIN_SEGMENTS = 2
MAX_SEGMENTS = 4
MAX_SKILL_ID_LENGTH = 256
_SEGMENT = re.compile(r"[a-z0-9_]+")


class VettingState(StrEnum):
    invited = "invited"
    vetting = "vetting"
    vetted = "vetted"
    suspended = "suspended"
    offboarded = "offboarded"


#: The allowed moves. ``vetting -> suspended`` is not one: ``suspended -> vetted`` is the way
#: back from a suspension, so a candidate suspended mid-screening would come back vetted
#: without passing it. A candidate who fails or stalls is offboarded (or stays in vetting).
#: ``offboarded`` is final: a returning expert is invited again under a new expert id.
TRANSITIONS: Mapping[VettingState, frozenset[VettingState]] = {
    VettingState.invited: frozenset({VettingState.vetting, VettingState.offboarded}),
    VettingState.vetting: frozenset({VettingState.vetted, VettingState.offboarded}),
    VettingState.vetted: frozenset({VettingState.suspended, VettingState.offboarded}),
    VettingState.suspended: frozenset({VettingState.vetted, VettingState.offboarded}),
    VettingState.offboarded: frozenset(),
}


def transition_errors(current: VettingState, target: VettingState) -> list[str]:
    """Why an expert in ``current`` may not move to ``target`` (empty: the move is allowed).
    Staying in the same state is not a move."""
    if current == target:
        return [f"the expert is already {current}"]
    allowed = TRANSITIONS[current]
    if target in allowed:
        return []
    if not allowed:
        return [f"{current} is final: an expert never leaves it"]
    moves = ", ".join(sorted(allowed))
    return [f"an expert in {current} cannot move to {target}; from {current}: {moves}"]


def skill_id_errors(skill_id: str) -> list[str]:
    """Every problem of a skill id: 2 to 4 dot-separated segments of ``a-z``, ``0-9``, ``_``."""
    errors = []
    if len(skill_id) > MAX_SKILL_ID_LENGTH:
        errors.append(f"a skill id is at most {MAX_SKILL_ID_LENGTH} characters")
    segments = skill_id.split(".")
    if not MIN_SEGMENTS <= len(segments) <= MAX_SEGMENTS:
        errors.append(
            f"a skill id has {MIN_SEGMENTS} to {MAX_SEGMENTS} dot-separated segments, "
            f"not {len(segments)} (e.g. modality.video, task.av_sync)"
        )
    for index, segment in enumerate(segments, start=1):
        if not segment:
            errors.append(f"segment {index} is empty")
        elif not _SEGMENT.fullmatch(segment):
            errors.append(
                f"segment {index} ({segment!r}) may hold only lower-case letters a-z, digits and _"
            )
    return errors


def adjudicator_skills(
    required: Collection[str], adjudicator_skill: str | None, modality: str
) -> frozenset[str]:
    """The skills an adjudicator holds at the adjudicator's minimum level: the project's
    ``adjudicator_skill`` when it names one; else each of its required skills; else, when it
    requires none, ``modality.<modality>`` (the skill its gold calibrates then), so that an
    expert without skills never adjudicates."""
    if adjudicator_skill is not None:
        return frozenset({adjudicator_skill})
    return frozenset(required) or frozenset({f"modality.{modality}"})


def level_errors(level: int) -> list[str]:
    """A skill level is a whole number from 1 to 5."""
    if isinstance(level, bool) or not isinstance(level, int):
        return [f"a skill level is a whole number from {MIN_LEVEL} to {MAX_LEVEL}"]
    if not MIN_LEVEL <= level <= MAX_LEVEL:
        return [f"a skill level is from {MIN_LEVEL} to {MAX_LEVEL}, not {level}"]
    return []


class UnitKind(StrEnum):
    """A unit's kind: the three of ``WorkKind``, and qualification units (an ordinary unit of a
    qualification set for one skill and level, taken by experts screened for it)."""

    review = "review"
    gold = "gold"
    adjudication = "adjudication"
    qualification = "qualification"


@dataclass(frozen=True)
class ExpertView:
    """What eligibility reads of an expert."""

    expert_id: str
    state: VettingState
    #: verified skill -> level (1 to 5); how each was verified does not change eligibility
    skills: Mapping[str, int]
    max_leases: int
    active_leases: int = 0
    #: projects whose work the expert no longer gets, for calibration below their floor
    benched_from: frozenset[str] = frozenset()
    #: skill -> the level the expert is being screened for (qualification units)
    screening: Mapping[str, int] = field(default_factory=dict)
    #: hours per week the expert offers (None: not limited) and the hours worked this week
    hours_per_week: float | None = None
    hours_this_week: float = 0.0


@dataclass(frozen=True)
class ProjectView:
    """What eligibility reads of a project (or of a qualification set's project)."""

    project_id: str
    status: ProjectStatus
    #: skill -> the minimum level
    required: Mapping[str, int]
    #: an adjudicator holds each of ``adjudicator_skills`` at this level at least
    adjudicator_min_level: int
    #: the experts who may work on the project; empty: nobody
    roster: frozenset[str]
    weight: float = 1.0
    #: the skills the adjudicator's level applies to: :func:`adjudicator_skills` of the
    #: project (the handout passes them); None, for a caller that does not know the
    #: project's modality and adjudicator skill: the required skills. An adjudicator holds
    #: the required skills at their minimum too, as every reviewer does.
    adjudicator_skills: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if self.adjudicator_skills is not None and not self.adjudicator_skills:
            raise ValueError("an adjudicator is held to one skill or more (adjudicator_skills)")

    @property
    def adjudicating(self) -> frozenset[str]:
        """The skills an adjudicator holds at ``adjudicator_min_level``."""
        if self.adjudicator_skills is None:
            return frozenset(self.required)
        return self.adjudicator_skills


@dataclass(frozen=True)
class UnitView:
    """What eligibility reads of a unit."""

    unit_id: str
    item_id: str
    project_id: str
    kind: UnitKind
    #: experts who judged the unit's item or hold a lease on one of its units
    judges: frozenset[str] = frozenset()
    #: (skill, level) of a qualification unit's set; None for every other kind
    qualification: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        if (self.kind is UnitKind.qualification) != (self.qualification is not None):
            raise ValueError("a qualification unit, and only one, names its skill and level")


class ReasonCode(StrEnum):
    not_vetted = "not_vetted"
    not_in_vetting = "not_in_vetting"
    not_screened = "not_screened"
    not_on_roster = "not_on_roster"
    project_not_active = "project_not_active"
    missing_skill = "missing_skill"
    skill_below_level = "skill_below_level"
    adjudicator_level = "adjudicator_level"
    at_capacity = "at_capacity"
    weekly_hours_reached = "weekly_hours_reached"
    already_judged_item = "already_judged_item"
    original_judge = "original_judge"
    benched_by_calibration = "benched_by_calibration"


_MESSAGES = {
    ReasonCode.not_vetted: "only vetted experts get work",
    ReasonCode.not_in_vetting: "qualification units are for experts in vetting (or vetted)",
    ReasonCode.not_screened: "the expert is not being screened for this skill at this level",
    ReasonCode.not_on_roster: "the expert is not on the project's roster",
    ReasonCode.project_not_active: "the project is not active",
    ReasonCode.missing_skill: "the expert lacks a required skill",
    ReasonCode.skill_below_level: "the expert's level is below the project's minimum",
    ReasonCode.adjudicator_level: "the expert's level is below the adjudicator's minimum",
    ReasonCode.at_capacity: "the expert holds as many leases as they may",
    ReasonCode.weekly_hours_reached: "the expert has worked the hours they offer this week",
    ReasonCode.already_judged_item: "the expert has judged this item or holds a lease on it",
    ReasonCode.original_judge: "an adjudicator must not be one of the item's judges",
    ReasonCode.benched_by_calibration: "the expert's calibration is below the project's floor",
}


@dataclass(frozen=True)
class Reason:
    """One reason an expert may not take a unit; ``skill`` for the skill-level reasons."""

    code: ReasonCode
    skill: str | None = None

    @property
    def message(self) -> str:
        text = _MESSAGES[self.code]
        return f"{text}: {self.skill}" if self.skill else text


def ineligibility(expert: ExpertView, project: ProjectView, unit: UnitView) -> list[Reason]:
    """Every reason ``expert`` may not take ``unit`` of ``project``; empty: eligible."""
    if unit.project_id != project.project_id:
        raise ValueError(f"unit {unit.unit_id!r} is not of project {project.project_id!r}")
    reasons: list[Reason] = []
    if unit.qualification is not None:
        reasons.extend(_qualification_reasons(expert, unit.qualification))
    else:
        if expert.state is not VettingState.vetted:
            reasons.append(Reason(ReasonCode.not_vetted))
        if expert.expert_id not in project.roster:
            reasons.append(Reason(ReasonCode.not_on_roster))
    if project.status is not ProjectStatus.active:
        reasons.append(Reason(ReasonCode.project_not_active))
    if unit.kind is not UnitKind.qualification:
        reasons.extend(_skill_reasons(expert, project, unit.kind is UnitKind.adjudication))
    if expert.active_leases >= expert.max_leases:
        reasons.append(Reason(ReasonCode.at_capacity))
    if expert.hours_per_week is not None and expert.hours_this_week >= expert.hours_per_week:
        reasons.append(Reason(ReasonCode.weekly_hours_reached))
    if expert.expert_id in unit.judges:
        code = (
            ReasonCode.original_judge
            if unit.kind is UnitKind.adjudication
            else ReasonCode.already_judged_item
        )
        reasons.append(Reason(code))
    if project.project_id in expert.benched_from:
        reasons.append(Reason(ReasonCode.benched_by_calibration))
    return reasons


def _qualification_reasons(expert: ExpertView, qualification: tuple[str, int]) -> list[Reason]:
    skill, level = qualification
    reasons = []
    if expert.state not in (VettingState.vetting, VettingState.vetted):
        reasons.append(Reason(ReasonCode.not_in_vetting))
    if expert.screening.get(skill) != level:
        reasons.append(Reason(ReasonCode.not_screened, skill))
    return reasons


def _skill_reasons(expert: ExpertView, project: ProjectView, adjudicating: bool) -> list[Reason]:
    """Per skill, in order: a required skill missing or below its minimum; for an
    adjudication unit, an adjudicator's skill (:func:`adjudicator_skills`) below the
    adjudicator's level, or missing when it is not a required one (already named)."""
    reasons = []
    adjudicating_skills = project.adjudicating if adjudicating else frozenset()
    for skill in sorted({*project.required, *adjudicating_skills}):
        held = expert.skills.get(skill)
        if skill in project.required:
            if held is None:
                reasons.append(Reason(ReasonCode.missing_skill, skill))
                continue
            if held < project.required[skill]:
                reasons.append(Reason(ReasonCode.skill_below_level, skill))
        if skill in adjudicating_skills and (held is None or held < project.adjudicator_min_level):
            reasons.append(Reason(ReasonCode.adjudicator_level, skill))
    return reasons


def priority_key(
    unit_priority: float, due_at: datetime | None, created_at: datetime
) -> tuple[float, bool, float, float]:
    """Sort key of units, smallest first: higher priority, then the earlier due date (none
    last), then the older unit. Times must be timezone-aware."""
    for name, moment in (("due_at", due_at), ("created_at", created_at)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")
    due = due_at.timestamp() if due_at is not None else 0.0
    return (-unit_priority, due_at is None, due, created_at.timestamp())


class FairShare:
    """Stride scheduling over projects: each project's *pass* advances by 1/weight when it is
    served; :meth:`pick` returns the eligible project with the lowest pass (ties: the smallest
    project id), so over many picks each always-eligible project is served in proportion to
    its weight.

    A project with nothing eligible is skipped and earns no credit meanwhile: the virtual time
    (the pass of the last pick) moves on, and a project whose pass fell behind it counts as
    being at it, so on coming back it is served once next and then at its share, never in a
    burst. The state is one number per project and deterministic: each replica keeps its own.
    """

    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        self._weights: dict[str, float] = {}
        self._pass: dict[str, float] = {}
        self._now = 0.0
        for project_id, weight in (weights or {}).items():
            self.set_weight(project_id, weight)

    def set_weight(self, project_id: str, weight: float) -> None:
        """Add a project or change its weight (its pass stays)."""
        if not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"a project's weight is a positive number, not {weight}")
        self._weights[project_id] = weight

    def forget(self, project_id: str) -> None:
        """Drop a closed project."""
        self._weights.pop(project_id, None)
        self._pass.pop(project_id, None)

    def _effective(self, project_id: str) -> float:
        return max(self._pass.get(project_id, self._now), self._now)

    def pick(self, eligible_project_ids: Collection[str]) -> str | None:
        """The project to serve next among those with an eligible unit; None if none has."""
        unknown = sorted(p for p in eligible_project_ids if p not in self._weights)
        if unknown:
            raise ValueError(f"no weight for project(s) {', '.join(unknown)}")
        if not eligible_project_ids:
            return None
        chosen = min(eligible_project_ids, key=lambda p: (self._effective(p), p))
        self._now = self._effective(chosen)
        return chosen

    def served(self, project_id: str) -> None:
        """The project was handed a unit: its pass advances by 1/weight."""
        self._pass[project_id] = self._effective(project_id) + 1 / self._weights[project_id]


class NoWorkReason(StrEnum):
    """Why ``work:next`` hands an expert nothing now, as they are told it."""

    #: not vetted (invited, in vetting without a qualification attempt, suspended,
    #: offboarded): ops move them on
    not_vetted = "not_vetted"
    #: they hold as many units as they may at once: finish or give one back
    at_capacity = "at_capacity"
    #: on no project's roster: ops invite them, they accept
    not_on_roster = "not_on_roster"
    #: benched from every project of their roster for their gold score: ops reinstate them
    benched = "benched"
    #: no project of their roster is active (draft, paused or closed)
    no_active_project = "no_active_project"
    #: they lack a skill (or its level) every active project of their roster requires
    missing_skill = "missing_skill"
    #: nothing eligible for them just now: ask again after ``Retry-After``
    nothing_left = "nothing_left"


def no_work_reason(
    expert: ExpertView,
    projects: Collection[ProjectView],
    *,
    on_a_roster: bool,
    screening: bool,
) -> NoWorkReason:
    """Why an expert who got no unit got none: the first of :class:`NoWorkReason` that holds,
    ``projects`` being the projects of their roster they are not benched from, ``on_a_roster``
    whether they are on any roster, ``screening`` whether they have an open qualification
    attempt. Only what the expert may know decides it (their state, capacity, rosters,
    benches, skills and the projects' status), never the units themselves: with every
    project open to them it is ``nothing_left``, whatever gold or sample there is."""
    vetted = expert.state is VettingState.vetted
    if not vetted and not screening:
        return NoWorkReason.not_vetted
    if expert.active_leases >= expert.max_leases:
        return NoWorkReason.at_capacity
    if not vetted:  # their qualification items are handed out: the attempt is being finished
        return NoWorkReason.nothing_left
    if not on_a_roster:
        return NoWorkReason.not_on_roster
    if not projects:
        return NoWorkReason.benched
    active = [p for p in projects if p.status is ProjectStatus.active]
    if not active:
        return NoWorkReason.no_active_project
    if all(_skill_reasons(expert, p, adjudicating=False) for p in active):
        return NoWorkReason.missing_skill
    return NoWorkReason.nothing_left
