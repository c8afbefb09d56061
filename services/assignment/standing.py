"""An expert's standing on work already handed out, free of I/O: whether a lease still
stands, and if not, why it is withdrawn.

A lease stands while its expert is neither suspended nor offboarded and, for a project's
work, the project is active, the expert is on its roster, holds the skills it requires at
their levels and is not benched from it. A
qualification copy is the expert's assessment, not a project's work: only their vetting
state decides it. The reason rests on the expert's own state and their project's, never on
the unit, so a gold unit's lease is withdrawn exactly as an ordinary one's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from services.assignment.eligibility import VettingState
from shared.contracts.work import ProjectStatus


class Withdrawal(StrEnum):
    """Why a lease no longer stands (the first that holds, in this order)."""

    suspended = "suspended"
    offboarded = "offboarded"
    project_closed = "project_closed"
    project_paused = "project_paused"
    removed_from_roster = "removed_from_roster"
    missing_skill = "missing_skill"
    benched = "benched"


@dataclass(frozen=True)
class Standing:
    """What decides whether an expert's lease stands."""

    expert_state: VettingState
    #: the status of the lease's project; None for a qualification copy (no project's work)
    project_status: ProjectStatus | None
    #: on the project's roster (an accepted invitation)
    on_roster: bool
    #: benched from the project (calibration below its floor)
    benched: bool
    #: holds every skill the project requires at its level (:func:`skilled`)
    skilled: bool = True


def skilled(held: Mapping[str, int], required: Mapping[str, int]) -> bool:
    """Whether skills ``held`` (skill -> level) meet ``required`` (skill -> minimum level)."""
    return all(held.get(skill, 0) >= level for skill, level in required.items())


def withdrawal(standing: Standing) -> Withdrawal | None:
    """Why the lease no longer stands; None while it does."""
    if standing.expert_state is VettingState.suspended:
        return Withdrawal.suspended
    if standing.expert_state is VettingState.offboarded:
        return Withdrawal.offboarded
    if standing.project_status is None:
        return None
    if standing.project_status is ProjectStatus.closed:
        return Withdrawal.project_closed
    if standing.project_status is ProjectStatus.paused:
        return Withdrawal.project_paused
    if not standing.on_roster:
        return Withdrawal.removed_from_roster
    if not standing.skilled:
        return Withdrawal.missing_skill
    if standing.benched:
        return Withdrawal.benched
    return None


def told(why: Withdrawal, project_id: str) -> str:
    """What the expert is told of a lease withdrawn for ``why``, on ``project_id``'s work."""
    return {
        Withdrawal.suspended: "you are suspended: ops decide when you work again",
        Withdrawal.offboarded: "you are offboarded",
        Withdrawal.project_closed: f"project {project_id} was closed",
        Withdrawal.project_paused: f"project {project_id} was paused",
        Withdrawal.removed_from_roster: f"you were taken off the roster of project {project_id}",
        Withdrawal.missing_skill: f"you no longer hold every skill project {project_id} "
        "requires at its level",
        Withdrawal.benched: f"you are benched from project {project_id}: ops may reinstate you",
    }[why]


def event_reason(why: Withdrawal) -> str:
    """The ``work.released`` reason of a lease withdrawn for ``why``."""
    return f"withdrawn: {why.value}"
