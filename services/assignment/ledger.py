"""The work ledger, free of I/O: per expert and project, the units judged, adjudications,
time spent and (once gold exists) gold scores, from the judgments stored on items; as rows
and as CSV for payouts."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

from shared.contracts.work import WorkKind

COLUMNS = ("expert_id", "project_id", "judgments", "adjudications", "time_spent_s")


@dataclass
class LedgerRow:
    expert_id: str
    project_id: str
    judgments: int = 0
    adjudications: int = 0
    time_spent_s: float = 0.0


def rows(judged: Iterable[tuple[str, str, WorkKind, float]]) -> list[LedgerRow]:
    """``(expert, project, unit kind, time spent)`` of each judgment -> one row per expert
    and project, in that order; an adjudication counts as one and as an adjudication."""
    table: dict[tuple[str, str], LedgerRow] = {}
    for expert_id, project_id, kind, spent in judged:
        row = table.setdefault((expert_id, project_id), LedgerRow(expert_id, project_id))
        row.judgments += 1
        row.adjudications += kind is WorkKind.adjudication
        row.time_spent_s += spent
    return [table[key] for key in sorted(table)]


def to_csv(table: Iterable[LedgerRow]) -> str:
    """The rows as CSV with a header, time spent in seconds to the millisecond."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in table:
        writer.writerow(
            [
                row.expert_id,
                row.project_id,
                row.judgments,
                row.adjudications,
                f"{row.time_spent_s:.3f}",
            ]
        )
    return out.getvalue()
