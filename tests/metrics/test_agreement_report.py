"""``python -m services.metrics.report``: agreement figures of a JSONL judgment export, equal
to the figures the incremental state gives on the same judgments."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.metrics.agreement import AgreementState, Level, Scale, figures
from services.metrics.report import main
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import JudgmentSubmittedV1, Verdict, WorkKind

T0 = datetime(2025, 1, 1, tzinfo=UTC)
VERDICTS = list(Verdict)


def judgment(n: int, item: int, expert: int, **fields: object) -> JudgmentSubmittedV1:
    base: dict[str, object] = {
        "judgment_id": f"j{n}",
        "unit_id": f"u{n}",
        "item_id": f"item-{item}",
        "project_id": "p1",
        "tenant": "acme",
        "expert_id": f"e{expert}",
        "kind": WorkKind.review,
        "time_spent_s": 3.0,
        "submitted_at": T0 + timedelta(seconds=n),
    }
    base.update(fields)
    return JudgmentSubmittedV1.model_validate(base)


def export() -> list[JudgmentSubmittedV1]:
    out = []
    n = 0
    for item in range(12):
        for expert in range(3):
            if (item + expert) % 5 == 4:
                continue  # missing
            n += 1
            out.append(
                judgment(
                    n,
                    item,
                    expert,
                    verdict=VERDICTS[(item + (expert == 2) * (item % 3 == 0)) % 4],
                    severity=list(Severity)[(item * expert) % 4],
                    ratings={"clarity": float(1 + (item + (expert == 1)) % 5)},
                    flags=["ambiguous"] if (item + expert) % 4 == 0 else [],
                    labels=[Label(class_id=["cat", "dog"][(item + (expert == 0)) % 2])],
                )
            )
    n += 1
    out.append(judgment(n, 0, 9, kind=WorkKind.adjudication, verdict=Verdict.reject))
    return out


def run(tmp_path: Path, judgments: list[JudgmentSubmittedV1]) -> dict[str, object]:
    path = tmp_path / "judgments.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments))
    out = io.StringIO()
    assert main([str(path)], stdout=out) == 0
    result: dict[str, object] = json.loads(out.getvalue())
    return result


def test_the_report_lists_every_field_with_every_figure(tmp_path: Path) -> None:
    result = run(tmp_path, export())
    fields = result["fields"]
    assert isinstance(fields, dict)
    assert set(fields) == {
        "verdict",
        "severity",
        "rating.clarity",
        "flag.ambiguous",
        "class",
        "class.cat",
        "class.dog",
    }
    clarity = fields["rating.clarity"]
    assert set(clarity["krippendorff_alpha"]) == {"nominal", "ordinal", "interval"}
    assert set(clarity["gwet_ac2"]) == {"linear", "quadratic", "ordinal"}
    alpha = clarity["krippendorff_alpha"]["ordinal"]
    assert set(alpha) >= {"value", "n", "ci"}
    pairs = clarity["cohen_kappa"]["pairs"]
    assert [(p["a"], p["b"]) for p in pairs] == [("e0", "e1"), ("e0", "e2"), ("e1", "e2")]
    assert set(pairs[0]) == {
        "a",
        "b",
        "n",
        "unweighted",
        "linear",
        "quadratic",
        "percent_agreement",
    }
    assert result["left_out"] == 1  # the adjudication


def test_the_report_equals_the_incremental_state_fed_the_same_judgments(tmp_path: Path) -> None:
    judgments = export()
    result = run(tmp_path, judgments)
    service = AgreementState(Scale(Level.ordinal, ("none", "minor", "major", "critical")))
    clarity = AgreementState(Scale(Level.interval))
    for j in reversed([j for j in judgments if j.kind is not WorkKind.adjudication]):
        service.record(j.item_id, j.expert_id, j.severity.value)
        clarity.record(j.item_id, j.expert_id, j.ratings["clarity"])
    fields = result["fields"]
    assert isinstance(fields, dict)
    assert fields["severity"] == json.loads(json.dumps(figures(service)))
    assert fields["rating.clarity"] == json.loads(json.dumps(figures(clarity)))


def test_a_line_that_is_not_a_judgment_is_refused_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(export()[0].model_dump_json() + "\n{}\n")
    done = subprocess.run(
        [sys.executable, "-m", "services.metrics.report", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "line 2" in done.stderr
