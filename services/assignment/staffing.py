"""Staffing a project, free of I/O: which experts to propose for its roster, in which order,
and whether the pending work has outgrown the roster's hours.

Proposals (:func:`proposals`). An expert is proposed when they are vetted, not already
invited to or on the project's roster, hold every required skill at its minimum level or
above (verified skills only: the service passes no other), have a spare lease
(``max_leases - active_leases >= 1``) and offer some hours (``hours_per_week > 0``). Each
proposal carries the expert's *calibration for the project*: the lowest rolling gold mean
among the project's required skills that have one, since the weakest required skill is what
benches an expert (a project requiring no skill: the lowest over all the expert's calibrated
skills). The order is best first: experts with a calibration, highest first, then those
without one (new experts are proposed, after the proven ones); ties go to more spare leases,
then more hours per week, then the smaller expert id, so the list is deterministic.

Demand (:func:`demand`). The pending units take ``seconds_per_unit`` each: the median of the
time spent on the project's judgments (the median, so a judgment left open overnight does
not inflate it), or a default before the first judgment. The roster offers the sum of its
experts' hours per week, for the weeks until the project's due date (none when it has
passed) or, without a due date, for a horizon (a week by default). The demand has
*outgrown* the roster when the hours needed exceed the hours available; ops then see it and
ask for new proposals. Nothing is rounded: the numbers are shown as computed.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.assignment.eligibility import VettingState, level_errors

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


def rank_key(proposal: Proposal) -> tuple[bool, float, int, float, str]:
    """Sort key of proposals, best first: a calibration before none, the higher calibration,
    more spare leases, more hours per week, then the smaller expert id."""
    calibration = proposal.calibration
    return (
        calibration is None,
        -calibration if calibration is not None else 0.0,
        -proposal.spare_leases,
        -proposal.hours_per_week,
        proposal.expert_id,
    )


def proposals(
    candidates: Iterable[Candidate], required: Mapping[str, int], limit: int = DEFAULT_LIMIT
) -> list[Proposal]:
    """The experts to propose for a project requiring ``required`` (skill id -> minimum
    level, 1 to 5), best first (:func:`rank_key`), at most ``limit`` (1 to 1000). An expert
    id appearing twice among the candidates is refused: it would be proposed twice."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit is a whole number from 1 to {MAX_LIMIT}, not {limit!r}")
    for skill, minimum in required.items():
        errors = level_errors(minimum)
        if errors:
            raise ValueError(f"required skill {skill}: {errors[0]}")
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
    #: pending), None when some are and the roster offers none
    weeks_to_clear: float | None
    #: ``hours_needed > hours_available``: ops see it and get new proposals
    outgrown: bool


def demand(
    pending_units: int,
    time_spent_s: Iterable[float],
    roster_hours_per_week: Iterable[float],
    *,
    now: datetime,
    due_at: datetime | None = None,
    default_seconds_per_unit: float = DEFAULT_SECONDS_PER_UNIT,
    horizon_weeks: float = DEFAULT_HORIZON_WEEKS,
) -> Demand:
    """The demand of ``pending_units`` units on a roster whose experts offer
    ``roster_hours_per_week`` (one number per expert), the project's judgments having taken
    ``time_spent_s`` seconds each. ``now`` and ``due_at`` must be timezone-aware; counts,
    seconds and hours are finite and not negative; the default seconds per unit and the
    horizon are positive."""
    if not _is_count(pending_units):
        raise ValueError(f"pending_units is a whole number from 0, not {pending_units!r}")
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
    weeks_to_clear: float | None
    if hours_needed == 0:
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
        outgrown=hours_needed > hours_available,
    )
