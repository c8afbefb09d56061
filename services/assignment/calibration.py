"""An expert's rolling calibration per skill, free of I/O: the mean of their last N gold
scores, when it benches them from a project, and what they see of it.

Why the last N scores and not an exponentially weighted mean: the number is what it says
("the mean of your last 20 gold scores"), an expert and ops can check it by hand; a bad day
leaves it entirely after N gold units instead of fading forever; and "at least ``min_count``
scores" means the same thing whatever the window. The cost, N scores per expert and skill,
is small.

A gold score in a project feeds the calibration of each skill the project requires
(:func:`feed`); the expert is benched from a project when the calibration of one of its
required skills, resting on ``min_count`` scores or more, is strictly below the project's
floor (:func:`benched_skills`). Nothing here holds an item or unit id, so nothing an expert
is shown from it can name a gold item; and an expert sees their own calibration only as
:func:`expert_view` cuts it (whole batches, at the boundaries of a period), so its changes
cannot be traced to a unit either.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import fmean

from shared.errors import FieldError

#: Gold scores the rolling mean is over, by default.
DEFAULT_WINDOW = 20
#: Rolling means kept for the expert's trend, by default.
DEFAULT_HISTORY = 100


def _is_score(value: float) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and 0 <= value <= 1


@dataclass(frozen=True)
class Calibration:
    """The last ``window`` gold scores (each in [0, 1], oldest first) and the rolling mean
    after each of the last ``history`` scores. Immutable: :meth:`add` returns a new value."""

    window: int = DEFAULT_WINDOW
    scores: tuple[float, ...] = ()
    means: tuple[float, ...] = ()
    history: int = DEFAULT_HISTORY

    def __post_init__(self) -> None:
        if self.window < 1 or self.history < 1:
            raise ValueError("the window and the history hold one score or more")
        if len(self.scores) > self.window:
            raise ValueError(f"at most {self.window} scores in the window")
        if len(self.means) > self.history:
            raise ValueError(f"at most {self.history} means in the history")
        if not all(_is_score(s) for s in self.scores):
            raise ValueError("gold scores are from 0 to 1")

    def add(self, score: float) -> Calibration:
        """This calibration with one more gold score (the oldest leaves a full window)."""
        if not _is_score(score):
            raise ValueError(f"a gold score is from 0 to 1, not {score}")
        scores = (*self.scores, float(score))[-self.window :]
        means = (*self.means, fmean(scores))[-self.history :]
        return Calibration(window=self.window, scores=scores, means=means, history=self.history)

    @property
    def count(self) -> int:
        """The scores the mean rests on: those received, up to the window."""
        return len(self.scores)

    @property
    def mean(self) -> float | None:
        """The mean of the scores in the window; None before the first."""
        return fmean(self.scores) if self.scores else None


def policy_errors(floor: float, min_count: int, window: int = DEFAULT_WINDOW) -> list[FieldError]:
    """Why a project's calibration policy cannot bench anyone as it says (fields ``floor``,
    ``min_count``): a ``min_count`` above the window is never reached, so it is refused
    rather than never benching (and :func:`benched` refuses it too)."""
    errors = []
    if not _is_score(floor):
        errors.append(FieldError(field="floor", message=f"the floor is from 0 to 1, not {floor}"))
    if min_count < 1:
        errors.append(FieldError(field="min_count", message="at least 1 gold score"))
    elif min_count > window:
        errors.append(
            FieldError(
                field="min_count",
                message=f"at most the {window} gold scores a calibration rests on (its "
                f"window), not {min_count}: more are never reached",
            )
        )
    return errors


def benched(calibration: Calibration, floor: float, min_count: int) -> bool:
    """Whether the calibration benches the expert: resting on ``min_count`` scores or more,
    strictly below ``floor``. ``min_count`` is from 1 to the window (a larger one could never
    be reached, so it is refused rather than never benching)."""
    if not 1 <= min_count <= calibration.window:
        raise ValueError(f"min_count is from 1 to the window ({calibration.window})")
    if not _is_score(floor):
        raise ValueError(f"the floor is from 0 to 1, not {floor}")
    mean = calibration.mean
    return calibration.count >= min_count and mean is not None and mean < floor


def trend(calibration: Calibration) -> tuple[float, ...]:
    """What the expert sees of their own scores: the rolling mean after each of their last
    gold scores, oldest first; no item, unit or time."""
    return calibration.means


def feed(
    calibrations: Mapping[str, Calibration],
    skills: Iterable[str],
    score: float,
    window: int = DEFAULT_WINDOW,
) -> dict[str, Calibration]:
    """The expert's calibrations after a gold score on a project requiring ``skills``: each
    of those skills gets the score (a skill without a calibration yet starts one of
    ``window``); the others are unchanged."""
    updated = dict(calibrations)
    for skill in dict.fromkeys(skills):
        current = updated.get(skill)
        if current is None:
            current = Calibration(window=window)
        updated[skill] = current.add(score)
    return updated


def benched_skills(
    calibrations: Mapping[str, Calibration],
    skills: Iterable[str],
    floor: float,
    min_count: int,
) -> list[str]:
    """The project's required ``skills`` on which the expert is benched, sorted; the expert
    stops getting the project's work (and ops are alerted) when there is one."""
    return sorted(
        skill
        for skill in set(skills)
        if skill in calibrations and benched(calibrations[skill], floor, min_count)
    )


def replay(
    scores: Iterable[float], window: int = DEFAULT_WINDOW, history: int = DEFAULT_HISTORY
) -> Calibration:
    """The calibration after ``scores`` (oldest first), one :meth:`Calibration.add` at a time:
    what a store keeping only the last ``window + history - 1`` scores rebuilds exactly."""
    calibration = Calibration(window=window, history=history)
    for score in scores:
        calibration = calibration.add(score)
    return calibration


def kept(window: int = DEFAULT_WINDOW, history: int = DEFAULT_HISTORY) -> int:
    """How many last scores :func:`replay` needs for the full window and trend."""
    return window + history - 1


# --- what the expert is shown of it ---------------------------------------------------------

#: The expert's own view moves by whole batches of this many gold scores, never fewer.
VIEW_BATCH = 5
#: ... and only at the boundaries of this period (counted from the Unix epoch: UTC midnight).
VIEW_PERIOD = timedelta(days=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def view_cutoff(now: datetime, period: timedelta = VIEW_PERIOD) -> datetime:
    """The last boundary of ``period`` at or before ``now`` (UTC midnight for a day)."""
    return _EPOCH + ((now - _EPOCH) // period) * period


@dataclass(frozen=True)
class ExpertView:
    """What an expert sees of their calibration on one skill: the rolling mean over the
    scores in their view, how many it rests on (up to the window), and the rolling mean after
    each whole batch, oldest first; ``as_of`` is the boundary it was cut at."""

    mean: float
    count: int
    window: int
    trend: tuple[float, ...]
    as_of: datetime


def expert_view(
    scores: Sequence[float],
    scored_at: Sequence[datetime],
    fed: int,
    now: datetime,
    *,
    window: int = DEFAULT_WINDOW,
    history: int = DEFAULT_HISTORY,
    batch: int = VIEW_BATCH,
    period: timedelta = VIEW_PERIOD,
) -> ExpertView | None:
    """The expert's own view at ``now`` of a calibration fed ``fed`` scores in all, of which
    ``scores`` are the last kept (oldest first) and ``scored_at`` the times of the last of
    them (a score without one is older than any boundary); None while it holds no whole
    batch.

    The view holds the scores scored before the last boundary of ``period``, in whole
    batches of ``batch`` counted from the first score fed, so it moves only at a boundary,
    by ``batch`` scores or more at once: never in the request that submitted a gold judgment,
    and never by one score an expert could trace to the unit they just judged. The trend is
    the rolling mean after each whole batch (a mean after each score would give each score
    away). Ops keep the exact figures (:func:`replay`)."""
    if batch < 1:
        raise ValueError("a batch holds one score or more")
    cutoff = view_cutoff(now, period)
    times = list(scored_at[-len(scores) :]) if scores else []
    before = len(scores) - len(times)  # scores without a time: older than any boundary
    for at in times:
        if at >= cutoff:
            break
        before += 1
    dropped = max(fed - len(scores), 0)
    eligible = dropped + before
    shown = eligible - eligible % batch - dropped
    if shown <= 0:
        return None
    calibration = replay(scores[:shown], window, history)
    first = shown - len(calibration.means)  # the kept position of the first mean left
    trend = tuple(
        mean
        for j, mean in enumerate(calibration.means)
        if (dropped + first + j + 1) % batch == 0 and (dropped == 0 or first + j >= window - 1)
    )
    assert calibration.mean is not None
    return ExpertView(
        mean=calibration.mean,
        count=calibration.count,
        window=window,
        trend=trend,
        as_of=cutoff,
    )
