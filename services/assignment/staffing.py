"""Staffing a project, free of I/O: which experts to propose for its roster, in which order,
whether the pending work has outgrown the roster's hours, and which open units nobody on
the roster may ever take (stuck work), and why.

Proposals (:func:`proposals`). An expert is proposed when they are vetted, not already
invited to or on the project's roster, hold every required skill at its minimum level or
above (verified skills only: the service passes no other), have a spare lease
(``max_leases - active_leases >= 1``) and offer some hours (``hours_per_week > 0``). Each
proposal carries the expert's *calibration for the project*: the lowest rolling gold mean
among the project's required skills that have one, since the weakest required skill is what
benches an expert (a project requiring no skill: the lowest over all the expert's calibrated
skills), whether they may adjudicate (the adjudicator's skills at the adjudicator's level)
and how many of the project's blocking stuck units (below) they could take once on the
roster. The order is best first: those who could take the most blocking units, then experts
with a calibration, highest first, then those without one (new experts are proposed, after
the proven ones); ties go to more spare leases, then more hours per week, then the smaller
expert id, so the list is deterministic.

Demand (:func:`demand`). The pending units take ``seconds_per_unit`` each: the median of the
time spent on the project's judgments (the median, so a judgment left open overnight does
not inflate it), or a default before the first judgment. The time spent on a judgment is its
share of its expert's time (``worktime.shares``), so units prefetched side by side are not
counted each from its own handout. The roster offers the sum of its
experts' hours per week, for the weeks until the project's due date (none when it has
passed) or, without a due date, for a horizon (a week by default). The demand has
*outgrown* the roster when the hours needed exceed the hours available, or when it is
*blocked*: some pending units are stuck with nobody to take them (no number of hours clears
those, so the weeks to clear are None then, never a figure). Ops then see it and ask for new
proposals. Nothing is rounded: the numbers are shown as computed.

Stuck work (:func:`stuck_units`). An open review or adjudication unit is *stuck* when no
member of the project's roster (an accepted invitation) may ever take it under the
handout's own rules (:func:`eligibility.ineligibility`), whatever their capacity, weekly
hours or the project's status (those pass). The reason, the first that holds:
``roster_empty`` (no member is vetted and not benched from the project),
``no_skilled_expert`` (a review unit: none of those holds every required skill at its
level), ``no_eligible_adjudicator`` (an adjudication unit: none holds the adjudicator's
skills, ``eligibility.adjudicator_skills``, at the adjudicator's level too, or every one who
does judged the item), and
``every_roster_member_had_it`` (each member who could take it is among the item's judges).
A stuck unit *returns* to a member who had the item and gave it back: judged none of its
units, holds none, and their last give-back was a ``skip``, an expiry or a withdrawal (not
``cannot_judge``, ``unsafe_content`` or ``needs_another_skill``: they said it is not for
them). Such members take the item's stuck units of a kind in turn, the oldest give-back
first: the first unit returns to the first of them, the second to the second, and so on;
a unit left over returns to nobody and *blocks* the project until ops change its roster.
Demand counts the blocking units apart (:func:`demand`), and proposals put first the
experts who could take them (:func:`proposals`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from services.assignment.eligibility import (
    MIN_LEVEL,
    ExpertView,
    ProjectView,
    ReasonCode,
    UnitKind,
    UnitView,
    VettingState,
    ineligibility,
    level_errors,
)
from shared.contracts.work import ProjectStatus

#: Proposals returned by default, and at most.
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
#: Seconds a unit takes before the project has a judgment to measure, by default.
DEFAULT_SECONDS_PER_UNIT = 120.0
#: Weeks the roster's hours are counted over when the project has no due date, by default.
DEFAULT_HORIZON_WEEKS = 1.0

_SECONDS_PER_HOUR = 3600
_WEEK = timedelta(weeks=1)


def _is_hours(value: float) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _is_count(value: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# --- stuck work --------------------------------------------------------------------------


class StuckReason(StrEnum):
    """Why nobody on the roster may ever take an open unit (the first that holds)."""

    roster_empty = "roster_empty"
    no_skilled_expert = "no_skilled_expert"
    no_eligible_adjudicator = "no_eligible_adjudicator"
    every_roster_member_had_it = "every_roster_member_had_it"


#: How an expert gives a unit back: the reasons of a release, an expiry, and a withdrawal
#: (their standing changed: ``standing.py``).
GIVE_BACKS = frozenset(
    {"skip", "cannot_judge", "unsafe_content", "needs_another_skill", "expired", "withdrawn"}
)
#: Give-backs after which the item may return to the expert when nobody else can take it.
RETURNABLE = frozenset({"skip", "expired", "withdrawn"})

#: What keeps a roster member from a unit for now only: not a reason it is stuck.
PASSING = frozenset(
    {ReasonCode.at_capacity, ReasonCode.weekly_hours_reached, ReasonCode.project_not_active}
)
#: A member who does not work on the project at all.
AWAY = frozenset(
    {ReasonCode.not_vetted, ReasonCode.not_on_roster, ReasonCode.benched_by_calibration}
)
#: A member who has had the item.
HAD_IT = frozenset({ReasonCode.already_judged_item, ReasonCode.original_judge})
#: Every other reason (a missing skill, a level below the project's or the adjudicator's,
#: and any reason added later) makes a member unable to take the unit.


@dataclass(frozen=True)
class Member:
    """A member of the project's roster (an accepted invitation), as stuck work reads them."""

    expert_id: str
    state: VettingState
    #: verified skill id -> level (1 to 5)
    skills: Mapping[str, int]
    #: benched from the project for their calibration
    benched: bool = False


@dataclass(frozen=True)
class Rules:
    """What the project asks of whoever takes its units."""

    project_id: str
    #: skill id -> minimum level
    required: Mapping[str, int]
    #: an adjudicator holds each of the adjudicator's skills at this level at least
    adjudicator_min_level: int
    #: the adjudicator's skills (``eligibility.adjudicator_skills`` of the project); None:
    #: the required skills
    adjudicator_skills: frozenset[str] | None = None

    def view(self, roster: Iterable[str] = ()) -> ProjectView:
        """The project as the handout's eligibility reads it, active (its status passes)."""
        return ProjectView(
            project_id=self.project_id,
            status=ProjectStatus.active,
            required=self.required,
            adjudicator_min_level=self.adjudicator_min_level,
            adjudicator_skills=self.adjudicator_skills,
            roster=frozenset(roster),
        )

    def needs(self, kind: UnitKind) -> dict[str, int]:
        """The level of each skill a unit of ``kind`` asks for: the required skills at their
        minimum and, for an adjudication unit, the adjudicator's at the adjudicator's level."""
        needs = dict(self.required)
        if kind is UnitKind.adjudication:
            for skill in self.view().adjudicating:
                needs[skill] = max(needs.get(skill, 0), self.adjudicator_min_level)
        return dict(sorted(needs.items()))


@dataclass(frozen=True)
class GivenBack:
    """An expert's last give-back of an item: when, and how (:data:`GIVE_BACKS`)."""

    at: datetime
    how: str

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("a give-back's time must be timezone-aware")
        if self.how not in GIVE_BACKS:
            raise ValueError(f"a give-back is one of {sorted(GIVE_BACKS)}, not {self.how!r}")


@dataclass(frozen=True)
class OpenItem:
    """An ordinary item (no gold or qualification copy) with open units, and who had it."""

    item_id: str
    #: ``(unit id, kind)`` of its open units, in unit order: review and adjudication only
    open_units: Sequence[tuple[str, UnitKind]]
    #: every expert who has had it (the item's ``judges``)
    judges: frozenset[str] = frozenset()
    #: those who judged one of its units
    judged: frozenset[str] = frozenset()
    #: those who hold one of its units now
    holding: frozenset[str] = frozenset()
    #: expert -> their last give-back of the item
    given_back: Mapping[str, GivenBack] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for unit_id, kind in self.open_units:
            if kind not in (UnitKind.review, UnitKind.adjudication):
                raise ValueError(f"unit {unit_id!r}: only review and adjudication units stick")
        if not (self.judged | self.holding | set(self.given_back)) <= self.judges:
            raise ValueError(f"item {self.item_id!r}: whoever judged, holds or gave it back had it")


@dataclass(frozen=True)
class Stuck:
    """An open unit nobody on the roster may ever take, and why."""

    item_id: str
    unit_id: str
    kind: UnitKind
    reason: StuckReason
    #: the level of each skill whoever takes it must hold (:meth:`Rules.needs`)
    needs: dict[str, int]
    #: the item's judges (whoever had it may not take it again, outside a return)
    judges: frozenset[str]
    #: the roster member it returns to (:func:`stuck_units`); None: it blocks the project
    returns_to: str | None = None

    @property
    def blocking(self) -> bool:
        """Nobody at all may take it, not even by a return: the roster must change."""
        return self.returns_to is None

    @property
    def message(self) -> str:
        """The reason, and what unblocks the unit, in words for ops."""
        text = _STUCK_MESSAGES[self.reason]
        if self.returns_to is not None:
            return f"{text}; it returns to {self.returns_to}, who gave it back"
        if self.reason is StuckReason.every_roster_member_had_it:
            return f"{text}, and none of them may have it back: invite another expert"
        return text


_STUCK_MESSAGES = {
    StuckReason.roster_empty: "nobody on the roster works on the project: no accepted member "
    "is vetted and not benched from it",
    StuckReason.no_skilled_expert: "no roster member holds every required skill at its level",
    StuckReason.no_eligible_adjudicator: "no roster member who did not judge the item holds "
    "the required skills and the adjudicator's skills at the adjudicator's level",
    StuckReason.every_roster_member_had_it: "every roster member who could take it has had "
    "the item",
}


def _member_view(member: Member, project_id: str) -> ExpertView:
    """The member as the handout sees them, with room for one more unit (capacity passes)."""
    return ExpertView(
        expert_id=member.expert_id,
        state=member.state,
        skills=member.skills,
        max_leases=1,
        benched_from=frozenset({project_id}) if member.benched else frozenset(),
    )


def _nobody_takes(
    item: OpenItem, kind: UnitKind, roster: Sequence[Member], rules: Rules
) -> tuple[StuckReason, tuple[str, ...]] | None:
    """Why nobody on the roster may ever take the item's open units of ``kind``, and the
    members they return to (the oldest give-back first); None: someone may."""
    project = rules.view(m.expert_id for m in roster)
    unit = UnitView(
        unit_id="-",
        item_id=item.item_id,
        project_id=rules.project_id,
        kind=kind,
        judges=item.judges,
    )
    working = False
    able: list[str] = []  # the members who could take it but for having had the item
    for member in roster:
        codes = {
            r.code for r in ineligibility(_member_view(member, rules.project_id), project, unit)
        }
        codes -= PASSING
        if codes & AWAY:
            continue
        working = True
        if codes - HAD_IT:
            continue  # a skill or level short
        if not codes:
            return None
        able.append(member.expert_id)
    if not working:
        return StuckReason.roster_empty, ()
    if kind is UnitKind.adjudication and all(e in item.judged for e in able):
        return StuckReason.no_eligible_adjudicator, ()
    if not able:
        return StuckReason.no_skilled_expert, ()
    returning = [
        e
        for e in able
        if e not in item.judged
        and e not in item.holding
        and e in item.given_back
        and item.given_back[e].how in RETURNABLE
    ]
    returning.sort(key=lambda e: (item.given_back[e].at, e))
    return StuckReason.every_roster_member_had_it, tuple(returning)


def stuck_units(item: OpenItem, roster: Iterable[Member], rules: Rules) -> list[Stuck]:
    """The item's open units nobody on ``roster`` may ever take, in unit order, each with
    the reason and the member it returns to (the i-th stuck unit of a kind returns to the
    i-th returning member, the oldest give-back first; none left: it blocks). A member
    named twice is refused."""
    members = list(roster)
    ids = [m.expert_id for m in members]
    if len(set(ids)) != len(ids):
        raise ValueError("a roster names each member once")
    verdicts: dict[UnitKind, tuple[StuckReason, tuple[str, ...]] | None] = {}
    taken: dict[UnitKind, int] = {}
    found = []
    for unit_id, kind in item.open_units:
        if kind not in verdicts:
            verdicts[kind] = _nobody_takes(item, kind, members, rules)
        verdict = verdicts[kind]
        if verdict is None:
            continue
        reason, returning = verdict
        index = taken.get(kind, 0)
        taken[kind] = index + 1
        found.append(
            Stuck(
                item_id=item.item_id,
                unit_id=unit_id,
                kind=kind,
                reason=reason,
                needs=rules.needs(kind),
                judges=item.judges,
                returns_to=returning[index] if index < len(returning) else None,
            )
        )
    return found


def can_take(candidate: Candidate, stuck: Stuck) -> bool:
    """Whether the candidate, once on the roster, could take the stuck unit: its skills at
    the levels it needs, and never had the item."""
    return candidate.expert_id not in stuck.judges and all(
        candidate.skills.get(skill, 0) >= level for skill, level in stuck.needs.items()
    )


# --- proposals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What staffing reads of an expert who might be proposed for a project."""

    expert_id: str
    state: VettingState
    #: verified skill id -> level (1 to 5)
    skills: Mapping[str, int]
    max_leases: int
    active_leases: int
    hours_per_week: float
    #: skill id -> rolling gold mean in [0, 1]; a skill absent here has no score yet
    calibration: Mapping[str, float]
    #: already invited to or on the project's roster
    on_roster: bool = False

    def __post_init__(self) -> None:
        if not _is_count(self.max_leases) or not _is_count(self.active_leases):
            raise ValueError(
                f"expert {self.expert_id!r}: max_leases and active_leases are whole numbers "
                f"from 0, not {self.max_leases!r} and {self.active_leases!r}"
            )
        if not _is_hours(self.hours_per_week):
            raise ValueError(
                f"expert {self.expert_id!r}: hours_per_week is a finite number from 0, "
                f"not {self.hours_per_week!r}"
            )
        for skill, level in self.skills.items():
            errors = level_errors(level)
            if errors:
                raise ValueError(f"expert {self.expert_id!r}, skill {skill}: {errors[0]}")
        for skill, mean in self.calibration.items():
            if not (
                isinstance(mean, (int, float))
                and not isinstance(mean, bool)
                and math.isfinite(mean)
                and 0 <= mean <= 1
            ):
                raise ValueError(
                    f"expert {self.expert_id!r}, skill {skill}: a calibration is from 0 to 1, "
                    f"not {mean!r}"
                )

    @property
    def spare_leases(self) -> int:
        """Leases the expert may still take (negative when their maximum was lowered below
        what they hold)."""
        return self.max_leases - self.active_leases


#: Why an expert is proposed (:attr:`Proposal.why`).
ProposalWhy = Literal["required_skills", "adjudicator_level", "unblocks_stuck_units"]


@dataclass(frozen=True)
class Proposal:
    """An expert proposed for a project's roster, with what ops weigh the invitation on."""

    expert_id: str
    #: the lowest calibration among the project's required skills that have one; None when
    #: none has one. A project requiring no skill: the lowest over all the expert's
    #: calibrated skills, None if none is.
    calibration: float | None
    #: ``max_leases - active_leases``, 1 or more
    spare_leases: int
    hours_per_week: float
    #: the expert's levels of the project's required skills
    skills: dict[str, int]
    #: holds the adjudicator's skills at the adjudicator's level too: may adjudicate
    adjudicates: bool = False
    #: the project's blocking stuck units they could take once on the roster
    unblocks: int = 0

    @property
    def why(self) -> tuple[ProposalWhy, ...]:
        """Why they are proposed: ``required_skills`` always, ``adjudicator_level`` when they
        may adjudicate, ``unblocks_stuck_units`` when they could take blocked work."""
        return (
            "required_skills",
            *(("adjudicator_level",) if self.adjudicates else ()),
            *(("unblocks_stuck_units",) if self.unblocks else ()),
        )


def meets_requirements(candidate: Candidate, required: Mapping[str, int]) -> bool:
    """Whether the candidate holds every required skill at its minimum level or above."""
    return all(candidate.skills.get(skill, 0) >= minimum for skill, minimum in required.items())


def is_proposable(candidate: Candidate, required: Mapping[str, int]) -> bool:
    """Whether the candidate is proposed for a project requiring ``required``: vetted, not
    on the roster, meeting every requirement, with a spare lease and some hours per week."""
    return (
        candidate.state is VettingState.vetted
        and not candidate.on_roster
        and meets_requirements(candidate, required)
        and candidate.spare_leases >= 1
        and candidate.hours_per_week > 0
    )


def project_calibration(candidate: Candidate, required: Mapping[str, int]) -> float | None:
    """The candidate's calibration for a project: the lowest among its required skills that
    have one (None: none has); a project requiring no skill, the lowest over all the
    candidate's calibrated skills (None: none is)."""
    skills = required if required else candidate.calibration
    means = [candidate.calibration[s] for s in skills if s in candidate.calibration]
    return min(means) if means else None


def rank_key(proposal: Proposal) -> tuple[int, bool, float, int, float, str]:
    """Sort key of proposals, best first: more blocking stuck units they could take, a
    calibration before none, the higher calibration, more spare leases, more hours per week,
    then the smaller expert id."""
    calibration = proposal.calibration
    return (
        -proposal.unblocks,
        calibration is None,
        -calibration if calibration is not None else 0.0,
        -proposal.spare_leases,
        -proposal.hours_per_week,
        proposal.expert_id,
    )


def proposals(
    candidates: Iterable[Candidate],
    required: Mapping[str, int],
    limit: int = DEFAULT_LIMIT,
    *,
    adjudicator_min_level: int = MIN_LEVEL,
    adjudicator_skills: frozenset[str] | None = None,
    stuck: Sequence[Stuck] = (),
) -> list[Proposal]:
    """The experts to propose for a project requiring ``required`` (skill id -> minimum
    level, 1 to 5) and adjudicated at ``adjudicator_min_level`` on ``adjudicator_skills``
    (None: the required skills), best first
    (:func:`rank_key`: those who could take the most of the project's blocking ``stuck``
    units first), at most ``limit`` (1 to 1000). An expert id appearing twice among the
    candidates is refused: it would be proposed twice."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit is a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    for skill, minimum in required.items():
        errors = level_errors(minimum)
        if errors:
            raise ValueError(f"required skill {skill}: {errors[0]}")
    errors = level_errors(adjudicator_min_level)
    if errors:
        raise ValueError(f"adjudicator_min_level: {errors[0]}")
    rules = Rules(
        project_id="-",
        required=required,
        adjudicator_min_level=adjudicator_min_level,
        adjudicator_skills=adjudicator_skills,
    )
    adjudicating = rules.needs(UnitKind.adjudication)
    # blocking units alike (the same levels needed, the same judges) are weighed once
    blocking: dict[tuple[tuple[tuple[str, int], ...], frozenset[str]], tuple[Stuck, int]] = {}
    for unit in stuck:
        if unit.blocking:
            key = (tuple(sorted(unit.needs.items())), unit.judges)
            first, count = blocking.get(key, (unit, 0))
            blocking[key] = (first, count + 1)
    seen: set[str] = set()
    proposed: list[Proposal] = []
    for candidate in candidates:
        if candidate.expert_id in seen:
            raise ValueError(f"expert {candidate.expert_id!r} is a candidate twice")
        seen.add(candidate.expert_id)
        if not is_proposable(candidate, required):
            continue
        proposed.append(
            Proposal(
                expert_id=candidate.expert_id,
                calibration=project_calibration(candidate, required),
                spare_leases=candidate.spare_leases,
                hours_per_week=candidate.hours_per_week,
                skills={skill: candidate.skills[skill] for skill in sorted(required)},
                adjudicates=meets_requirements(candidate, adjudicating),
                unblocks=sum(n for u, n in blocking.values() if can_take(candidate, u)),
            )
        )
    proposed.sort(key=rank_key)
    return proposed[:limit]


@dataclass(frozen=True)
class Demand:
    """The project's pending work against its roster's hours."""

    pending_units: int
    #: the median time spent on the project's judgments, or the default when there is none
    seconds_per_unit: float
    #: ``pending_units * seconds_per_unit / 3600``
    hours_needed: float
    #: the sum of the hours per week of the roster's experts
    roster_hours_per_week: float
    #: weeks until the due date when there is one (0 once it has passed), else the horizon
    weeks_available: float
    #: ``roster_hours_per_week * weeks_available``
    hours_available: float
    #: ``hours_needed / roster_hours_per_week``; 0 when no hours are needed (nothing
    #: pending), None when the roster never clears the work: some hours are needed and it
    #: offers none, or some pending units are stuck with nobody to take them
    weeks_to_clear: float | None
    #: ``hours_needed > hours_available`` or ``blocked``: ops see it and get new proposals
    outgrown: bool
    #: the pending units nobody on the roster may take, not even by a return (counted in
    #: ``pending_units``)
    stuck_units: int = 0
    #: ``stuck_units > 0``: the roster cannot clear the work in any number of hours
    blocked: bool = False


def demand(
    pending_units: int,
    time_spent_s: Iterable[float],
    roster_hours_per_week: Iterable[float],
    *,
    now: datetime,
    due_at: datetime | None = None,
    stuck_units: int = 0,
    default_seconds_per_unit: float = DEFAULT_SECONDS_PER_UNIT,
    horizon_weeks: float = DEFAULT_HORIZON_WEEKS,
) -> Demand:
    """The demand of ``pending_units`` units, ``stuck_units`` of them blocked (nobody on the
    roster may take them), on a roster whose experts offer ``roster_hours_per_week`` (one
    number per expert), the project's judgments having taken ``time_spent_s`` seconds each
    (each judgment's share of its expert's time: ``ledger.seconds_spent``).
    ``now`` and ``due_at`` must be timezone-aware; counts, seconds and hours are finite and
    not negative; the default seconds per unit and the horizon are positive."""
    if not _is_count(pending_units):
        raise ValueError(f"pending_units is a whole number from 0, not {pending_units!r}")
    if not _is_count(stuck_units) or stuck_units > pending_units:
        raise ValueError(
            f"stuck_units is a whole number from 0 to pending_units, not {stuck_units!r}"
        )
    spent = list(time_spent_s)
    if not all(_is_hours(s) for s in spent):
        raise ValueError("the time spent on a judgment is a finite number of seconds from 0")
    hours = list(roster_hours_per_week)
    if not all(_is_hours(h) for h in hours):
        raise ValueError("an expert's hours per week are a finite number from 0")
    if not (_is_hours(default_seconds_per_unit) and default_seconds_per_unit > 0):
        raise ValueError(
            f"default_seconds_per_unit is a positive finite number, "
            f"not {default_seconds_per_unit!r}"
        )
    if not (_is_hours(horizon_weeks) and horizon_weeks > 0):
        raise ValueError(f"horizon_weeks is a positive finite number, not {horizon_weeks!r}")
    for name, moment in (("now", now), ("due_at", due_at)):
        if moment is not None and moment.utcoffset() is None:
            raise ValueError(f"{name} must be timezone-aware")

    seconds_per_unit = float(statistics.median(spent)) if spent else float(default_seconds_per_unit)
    hours_needed = pending_units * seconds_per_unit / _SECONDS_PER_HOUR
    roster = math.fsum(hours)
    weeks = float(horizon_weeks) if due_at is None else max((due_at - now) / _WEEK, 0.0)
    hours_available = roster * weeks
    blocked = stuck_units > 0
    weeks_to_clear: float | None
    if blocked:
        weeks_to_clear = None  # some of the work waits for an expert the roster lacks
    elif hours_needed == 0:
        weeks_to_clear = 0.0
    elif roster == 0:
        weeks_to_clear = None
    else:
        weeks_to_clear = hours_needed / roster
    return Demand(
        pending_units=pending_units,
        seconds_per_unit=seconds_per_unit,
        hours_needed=hours_needed,
        roster_hours_per_week=roster,
        weeks_available=weeks,
        hours_available=hours_available,
        weeks_to_clear=weeks_to_clear,
        outgrown=hours_needed > hours_available or blocked,
        stuck_units=stuck_units,
        blocked=blocked,
    )
