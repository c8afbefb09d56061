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
* ``flag.<name>`` (nominal, true / false: whether the judgment raised the flag, over the
  judgments of the projects where the flag was raised at least once);
* ``class`` (nominal, the class of judgments whose labels carry exactly one class) and
  ``class.<class_id>`` (one-vs-rest, true / false: whether the judgment's labels carry the
  class, over the judgments of the projects where the class occurs). A judgment's labels are its
  ``effective_labels`` when present, else its ``labels``.

Adjudication judgments are left out (an adjudicator decides between the others rather than
judging independently) unless ``--with-adjudication``. Judgments are taken in the order of
``submitted_at``; a later judgment of the same expert on the same item replaces the earlier.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from services.metrics.agreement import Scale, field_agreement
from services.metrics.agreement.state import Judgment
from services.metrics.fields import is_presence, own_fields, scale_of
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


def field_judgments(
    judgments: Sequence[JudgmentSubmittedV1],
) -> dict[str, tuple[Scale, list[Judgment]]]:
    """Each field's scale and its (item, expert, value) judgments (:mod:`fields`)."""
    fields: dict[str, tuple[Scale, list[Judgment]]] = {}

    def add(field: str, item: str, expert: str, value: object) -> None:
        fields.setdefault(field, (scale_of(field), []))[1].append((item, expert, value))

    presence_of: dict[str, set[str]] = defaultdict(set)
    own = [own_fields(j) for j in judgments]
    for j, values in zip(judgments, own, strict=True):
        presence_of[j.project_id].update(name for name in values if is_presence(name))
    for j, values in zip(judgments, own, strict=True):
        for name, value in values.items():
            if not is_presence(name):
                add(name, j.item_id, j.expert_id, value)
        for name in presence_of[j.project_id]:
            add(name, j.item_id, j.expert_id, name in values)
    return fields


def report(
    judgments: Sequence[JudgmentSubmittedV1], *, adjudication: bool = False
) -> dict[str, Any]:
    kept = sorted(
        (j for j in judgments if adjudication or j.kind is not WorkKind.adjudication),
        key=lambda j: j.submitted_at,
    )
    fields = field_judgments(kept)
    return {
        "schema": REPORT_SCHEMA,
        "judgments": len(kept),
        "left_out": len(judgments) - len(kept),
        "fields": {
            name: field_agreement(values, scale) for name, (scale, values) in sorted(fields.items())
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
    json.dump(
        report(judgments, adjudication=args.with_adjudication), out, indent=2, allow_nan=False
    )
    out.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
