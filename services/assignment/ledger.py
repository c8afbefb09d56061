"""The work ledger, free of I/O: per expert and project, the units handed out, the units
judged, adjudications, time spent and gold scores, from what is stored on items; as rows and
as CSV for payouts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import fmean

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


@dataclass(frozen=True)
class Judged:
    """One judgment as the ledger counts it."""

    expert_id: str
    project_id: str
    kind: WorkKind
    time_spent_s: float
    #: the score of a judgment on a gold copy
    gold_score: float | None = None


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
    a gold judgment as a judgment and a gold score."""
    table: dict[tuple[str, str], LedgerRow] = {}
    scores: dict[tuple[str, str], list[float]] = {}

    def row(expert_id: str, project_id: str) -> LedgerRow:
        return table.setdefault((expert_id, project_id), LedgerRow(expert_id, project_id))

    for expert_id, project_id in handed:
        row(expert_id, project_id).units += 1
    for j in judged:
        found = row(j.expert_id, j.project_id)
        found.judgments += 1
        found.adjudications += j.kind is WorkKind.adjudication
        found.time_spent_s += j.time_spent_s
        if j.gold_score is not None:
            scores.setdefault((j.expert_id, j.project_id), []).append(j.gold_score)
    for key, given in scores.items():
        table[key].gold_scored = len(given)
        table[key].gold_score = fmean(given)
    return [table[key] for key in sorted(table)]


def to_csv(table: Iterable[LedgerRow]) -> str:
    """The rows as CSV with a header: time spent in seconds to the millisecond, the gold
    score to four places (empty without one)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in table:
        writer.writerow(
            [
                row.expert_id,
                row.project_id,
                row.units,
                row.judgments,
                row.adjudications,
                f"{row.time_spent_s:.3f}",
                row.gold_scored,
                "" if row.gold_score is None else f"{row.gold_score:.4f}",
            ]
        )
    return out.getvalue()
