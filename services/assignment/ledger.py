"""The work ledger, free of I/O: per expert and project, the units handed out, the units
judged, adjudications, time spent and gold scores, from what is stored on items; as rows and
as CSV for payouts.

Time spent is the expert's time, not the sum of their leases: the union of the intervals from
each judged unit's handout to its judgment, shared out among the units (``worktime.shares``),
so prefetched units held side by side are not paid twice, and a lease's deadline (moved by
heartbeats) adds nothing. The CSV neutralises text that a spreadsheet would read as a
formula (OWASP, CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean

from services.assignment import worktime
from shared.contracts.work import WorkKind

COLUMNS = (
    "expert_id",
    "project_id",
    "units",
    "judgments",
    "adjudications",
    "time_spent_s",
    "gold_scored",
    "gold_score",
)
#: What a spreadsheet reads as the start of a formula in a cell (OWASP, CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class Judged:
    """One judgment as the ledger counts it."""

    expert_id: str
    project_id: str
    kind: WorkKind
    #: when the unit was handed out to the expert
    leased_at: datetime
    #: when the expert submitted the judgment
    submitted_at: datetime
    #: the score of a judgment on a gold copy
    gold_score: float | None = None

    @property
    def held(self) -> worktime.Held:
        return worktime.Held(self.expert_id, self.leased_at, self.submitted_at)


def seconds_spent(judged: Sequence[Judged]) -> list[float]:
    """Each judgment's share of its expert's time in seconds (``worktime.shares``), in the
    order given: pass every judgment of the experts concerned, in every project, so that
    their leases elsewhere are not counted again here."""
    return [s / _SECOND for s in worktime.shares([j.held for j in judged])]


@dataclass
class LedgerRow:
    expert_id: str
    project_id: str
    #: units handed out to the expert (judged, given back or still held)
    units: int = 0
    judgments: int = 0
    adjudications: int = 0
    time_spent_s: float = 0.0
    gold_scored: int = 0
    #: the mean of their gold scores in the project; None without one
    gold_score: float | None = None


def rows(judged: Iterable[Judged], handed: Iterable[tuple[str, str]]) -> list[LedgerRow]:
    """Each judgment and each ``(expert, project)`` unit handed out -> one row per expert
    and project, in that order; an adjudication counts as a judgment and as an adjudication,
    a gold judgment as a judgment and a gold score. The time spent is the judgments' shares
    of their expert's time (:func:`seconds_spent`): the rows of an expert add up to the
    union of their leases, however many they held at once."""
    judgments = list(judged)
    table: dict[tuple[str, str], LedgerRow] = {}
    scores: dict[tuple[str, str], list[float]] = {}

    def row(expert_id: str, project_id: str) -> LedgerRow:
        return table.setdefault((expert_id, project_id), LedgerRow(expert_id, project_id))

    for expert_id, project_id in handed:
        row(expert_id, project_id).units += 1
    for j, spent in zip(judgments, seconds_spent(judgments), strict=True):
        found = row(j.expert_id, j.project_id)
        found.judgments += 1
        found.adjudications += j.kind is WorkKind.adjudication
        found.time_spent_s += spent
        if j.gold_score is not None:
            scores.setdefault((j.expert_id, j.project_id), []).append(j.gold_score)
    for key, given in scores.items():
        table[key].gold_scored = len(given)
        table[key].gold_score = fmean(given)
    return [table[key] for key in sorted(table)]


def cell(text: str) -> str:
    """Text as a CSV cell no spreadsheet runs as a formula: one starting with ``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return gets a single quote before it, as OWASP advises
    (the ``csv`` module then quotes a cell holding a comma, a quote or a line break, and
    doubles its quotes, so no text starts another cell)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(table: Iterable[LedgerRow]) -> str:
    """The rows as CSV with a header: ids as :func:`cell` makes them safe, time spent in
    seconds to the millisecond, the gold score to four places (empty without one)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in table:
        writer.writerow(
            [
                cell(row.expert_id),
                cell(row.project_id),
                row.units,
                row.judgments,
                row.adjudications,
                f"{row.time_spent_s:.3f}",
                row.gold_scored,
                "" if row.gold_score is None else f"{row.gold_score:.4f}",
            ]
        )
    return out.getvalue()
