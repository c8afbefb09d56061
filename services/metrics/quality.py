"""An expert's quality, free of I/O: accuracy against gold with a Wilson interval, and the
drift of their accuracy over the stream of gold judgments (river's ADWIN).

**Accuracy** is the share of an expert's gold judgments judged correct, with its Wilson 95 %
interval (:func:`gold_accuracy`).

**Drift** (:class:`AccuracyDrift`): each gold judgment is an outcome, 1 correct or 0 wrong, fed
in order to ``river.drift.ADWIN`` with ``delta = 0.002`` (river's default; the bound on the
probability that ADWIN cuts its window when the mean has not changed, per check). When ADWIN
cuts, the outcomes it dropped (``before``) and the ones it kept (``after``) give the shift;
a shift is an **alert** when accuracy dropped and the detector held at least ``min_count``
outcomes (100 by default). After a shift the detector keeps ADWIN's recent window only.

*Measured false-alarm rate* (``tests/metrics/test_quality.py``): on stable Bernoulli streams
of 2,000 judgments at p = 0.85, 0 alerts in the test's 200 streams and 0 in 1,000 (95 %
upper bound 0.3 % per stream, rule of three), 0 in 200 streams of 20,000, and 0 in 1,000 at
p = 0.5; with ``delta = 0.01`` it was 1 in 1,000. A drop from p = 0.9 to 0.6 after 1,000
judgments is detected in every one of 100 streams, 55 to about 150 judgments after the drop.

*State.* river's ADWIN object cannot be stored in Mongo (it is a Cython object; pickle is not
allowed). The detector is therefore **defined** by a bounded string of outcomes: ADWIN fed,
from fresh, the outcomes kept since its last restart. It restarts (a fresh ADWIN replaying a
suffix of the outcomes, its own detections during the replay ignored) in two cases: after a
shift, keeping the ``after`` part; and when more than ``max_kept`` (4,000) outcomes are kept,
keeping the last ``max_kept // 2``. The stored document is that string and three counters;
:meth:`AccuracyDrift.from_document` replays it into a fresh ADWIN, which is then in exactly
the state the running detector was in (a test continues both and compares every shift).
The replay costs at most ``max_kept`` updates, once per ``max_kept // 2`` outcomes, so an
outcome costs O(1) amortised. ADWIN therefore never looks further back than ``max_kept``
outcomes, which for a realistic expert is weeks of gold.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any, Literal

from river.drift import ADWIN

from services.metrics.figures import CONFIDENCE, Proportion, proportion, wilson_interval

__all__ = [
    "ADWIN_DELTA",
    "MAX_KEPT",
    "MIN_COUNT",
    "TREND_WEEKS",
    "AccuracyDrift",
    "AccuracyShift",
    "gold_accuracy",
    "week_start",
    "weekly_accuracy",
    "wilson_interval",
]

#: Weeks of the accuracy trend.
TREND_WEEKS = 12

#: ADWIN's confidence parameter (river's default).
ADWIN_DELTA = 0.002
#: Outcomes the detector must hold before a shift is an alert.
MIN_COUNT = 100
#: Outcomes kept at most; beyond it the detector restarts on the last half.
MAX_KEPT = 4000


def week_start(at: datetime) -> datetime:
    """The Monday 00:00 (in ``at``'s zone, UTC for the service) of ``at``'s ISO week."""
    day = at.date() - timedelta(days=at.weekday())
    return datetime.combine(day, time(), tzinfo=at.tzinfo)


def weekly_accuracy(
    outcomes: Iterable[tuple[datetime, bool]],
) -> list[tuple[datetime, Proportion]]:
    """The trend: per ISO week with gold, the accuracy of the gold judgments scored in it
    with its Wilson interval, oldest first."""
    weeks: dict[datetime, list[int]] = {}
    for at, correct in outcomes:
        counts = weeks.setdefault(week_start(at), [0, 0])
        counts[0] += int(correct)
        counts[1] += 1
    return [(week, gold_accuracy(c, n)) for week, (c, n) in sorted(weeks.items())]


def gold_accuracy(correct: int, n: int, confidence: float = CONFIDENCE) -> Proportion:
    """An expert's accuracy against gold: ``correct`` of ``n`` gold judgments, with its Wilson
    interval; ``value`` is ``None`` (reason "no observations") without gold judgments."""
    if isinstance(correct, bool) or isinstance(n, bool) or not 0 <= correct <= n:
        raise ValueError("correct judgments are from 0 to n")
    return proportion(correct, n, confidence)


@dataclass(frozen=True)
class AccuracyShift:
    """ADWIN cut the expert's outcomes at position ``index`` (1-based, in the whole stream):
    accuracy ``before`` (the dropped outcomes) and ``after`` (the kept, recent ones).
    ``alert`` is true for a drop on at least ``min_count`` outcomes; ``reason`` says why a
    shift is not an alert."""

    index: int
    n: int
    before: Proportion
    after: Proportion
    direction: Literal["drop", "rise"]
    alert: bool
    reason: str | None = None


def _fresh(delta: float, outcomes: str) -> ADWIN:
    detector = ADWIN(delta=delta)  # type: ignore[no-untyped-call]
    for outcome in outcomes:
        # detections in a replay are ignored
        detector.update(1 if outcome == "1" else 0)  # type: ignore[no-untyped-call]
    return detector


@dataclass
class AccuracyDrift:
    """The drift detector of one expert's accuracy (per skill or project, as the caller keys
    it). ``outcomes`` is the string of kept outcomes ("1" correct, "0" wrong), oldest first;
    ``seen`` counts every outcome ever added, ``shifts`` and ``alerts`` the shifts found."""

    delta: float = ADWIN_DELTA
    min_count: int = MIN_COUNT
    max_kept: int = MAX_KEPT
    outcomes: str = ""
    seen: int = 0
    shifts: int = 0
    alerts: int = 0
    _adwin: ADWIN = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 < self.delta < 1:
            raise ValueError("delta is strictly between 0 and 1")
        if self.min_count < 1 or self.max_kept < 2:
            raise ValueError("min_count is 1 or more and max_kept 2 or more")
        if set(self.outcomes) - {"0", "1"} or len(self.outcomes) > self.max_kept:
            raise ValueError(f"outcomes are at most {self.max_kept} characters 0 or 1")
        self._adwin = _fresh(self.delta, self.outcomes)

    def _restart(self, kept: str) -> None:
        self.outcomes = kept
        self._adwin = _fresh(self.delta, kept)

    def add(self, correct: bool) -> AccuracyShift | None:
        """Feed one gold outcome; the shift ADWIN found with it, if any."""
        self.seen += 1
        self.outcomes += "1" if correct else "0"
        self._adwin.update(1 if correct else 0)  # type: ignore[no-untyped-call]
        if self._adwin.drift_detected:
            return self._shift()
        if len(self.outcomes) > self.max_kept:
            self._restart(self.outcomes[-(self.max_kept // 2) :])
        return None

    def _shift(self) -> AccuracyShift:
        n = len(self.outcomes)
        width = min(int(self._adwin.width), n)
        before, after = self.outcomes[: n - width], self.outcomes[n - width :]
        earlier = proportion(before.count("1"), len(before))
        recent = proportion(after.count("1"), len(after))
        direction: Literal["drop", "rise"] = (
            "drop" if (recent.value or 0.0) < (earlier.value or 0.0) else "rise"
        )
        if n < self.min_count:
            # too few outcomes to alert: nothing is acted upon (ADWIN's own window shrank,
            # which a replay of the same outcomes reproduces)
            return AccuracyShift(
                self.seen, n, earlier, recent, direction, False, f"fewer than {self.min_count}"
            )
        self.shifts += 1
        alert = direction == "drop"
        self.alerts += alert
        self._restart(after)
        return AccuracyShift(
            self.seen, n, earlier, recent, direction, alert, None if alert else "accuracy rose"
        )

    def recent_accuracy(self) -> Proportion:
        """Accuracy over the kept outcomes, with its Wilson interval."""
        return proportion(self.outcomes.count("1"), len(self.outcomes))

    def to_document(self) -> dict[str, Any]:
        """A plain document (strings and numbers) that :meth:`from_document` restores."""
        return {
            "delta": self.delta,
            "min_count": self.min_count,
            "max_kept": self.max_kept,
            "outcomes": self.outcomes,
            "seen": self.seen,
            "shifts": self.shifts,
            "alerts": self.alerts,
        }

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> AccuracyDrift:
        """The detector a :meth:`to_document` stored, in the same state."""
        return cls(
            delta=float(document["delta"]),
            min_count=int(document["min_count"]),
            max_kept=int(document["max_kept"]),
            outcomes=str(document["outcomes"]),
            seen=int(document["seen"]),
            shifts=int(document["shifts"]),
            alerts=int(document["alerts"]),
        )
