"""``python -m services.metrics.report FILE``: every agreement figure of a judgment export.

Reads JSON Lines of ``quorum.judgment.submitted.v1`` payloads (one per line, as an export
gives them; ``-`` reads standard input) and prints JSON (schema in docs/metrics.md) with, for
each field, every agreement figure with its n and 95 % interval and the per-pair kappa matrix.
The figures come from the same state and code the service keeps
(:mod:`services.metrics.agreement`).

Fields:

* ``verdict`` (nominal: accept, correct, reject, infeasible; judgments without a verdict are
  left out), ``severity`` (ordinal: none < minor < major < critical);
* ``rating.<dimension>`` (interval, on the scores met in the file);
* ``flag.<name>`` (nominal, true / false: whether the judgment raised the flag, over every
  judgment of the file once the flag occurs in it);
* ``class`` (nominal, the class of judgments whose labels carry exactly one class) and
  ``class.<class_id>`` (one-vs-rest, true / false: whether the judgment's labels carry the
  class, over every judgment of the file once the class occurs). A judgment's labels are its
  ``effective_labels`` when present, else its ``labels``.

Adjudication judgments are left out (an adjudicator decides between the others rather than
judging independently) unless ``--with-adjudication``. An expert's latest judgment of an item
(by ``submitted_at`` to the millisecond, then judgment id) replaces their earlier ones, as a
whole. The figures are those the service gives for a project's judgments: the same
:class:`~services.metrics.project_agreement.ProjectAgreement` over the file's items.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO

from services.metrics.agreement import figures
from services.metrics.project_agreement import ALL, Entry, ProjectAgreement, merged
from services.metrics.report_html import render
from shared.contracts.work import JudgmentSubmittedV1, WorkKind

REPORT_SCHEMA = "quorum.metrics.agreement-report.v1"


def read_judgments(lines: Iterable[str]) -> list[JudgmentSubmittedV1]:
    out = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            out.append(JudgmentSubmittedV1.model_validate_json(line))
        except ValueError as error:
            raise ValueError(
                f"line {number}: not a judgment.submitted.v1 payload: {error}"
            ) from None
    return out


def agreement(judgments: Iterable[JudgmentSubmittedV1]) -> ProjectAgreement:
    """The agreement state of the judgments' items, as the service keeps a project's."""
    items: dict[tuple[str, str], list[Entry]] = {}
    for j in judgments:
        key = (j.project_id, j.item_id)
        items[key] = merged(items.get(key, []), Entry.of(j))
    return ProjectAgreement.of_items(items.values())


def report(
    judgments: Sequence[JudgmentSubmittedV1], *, adjudication: bool = False
) -> dict[str, Any]:
    kept = [j for j in judgments if adjudication or j.kind is not WorkKind.adjudication]
    fields = agreement(kept).views[ALL].fields()
    return {
        "schema": REPORT_SCHEMA,
        "judgments": len(kept),
        "left_out": len(judgments) - len(kept),
        "fields": {
            name: figures(tally) for name, tally in sorted(fields.items()) if tally.item_count
        },
    }


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.metrics.report",
        description="Agreement figures of a JSONL export of quorum.judgment.submitted.v1 payloads.",
    )
    parser.add_argument("file", help="JSON Lines file, or - for standard input")
    parser.add_argument(
        "--with-adjudication", action="store_true", help="count adjudication judgments too"
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="also write the report as a self-contained HTML page with charts to FILE",
    )
    args = parser.parse_args(argv)
    out = stdout or sys.stdout
    try:
        if args.file == "-":
            judgments = read_judgments(sys.stdin)
        else:
            with open(args.file, encoding="utf-8") as handle:
                judgments = read_judgments(handle)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = report(judgments, adjudication=args.with_adjudication)
    if args.html:
        source = "standard input" if args.file == "-" else Path(args.file).name
        try:
            Path(args.html).write_text(render(result, source=source), encoding="utf-8")
        except OSError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    json.dump(result, out, indent=2, allow_nan=False)
    out.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
