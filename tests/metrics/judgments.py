"""``judgment.submitted`` events as assignment publishes them, for the metrics service's
tests: a project judged by three experts with verdicts, severities, ratings, flags and
labels, some items judged again, one adjudication."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from services.metrics.fields import is_presence, own_fields
from services.metrics.report import report
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import (
    JUDGMENT_SUBMITTED,
    JudgmentSubmittedV1,
    RubricRef,
    Verdict,
    WorkKind,
)
from shared.events.envelope import Event, make_event

T0 = datetime(2026, 1, 1, tzinfo=UTC)
VERDICTS = list(Verdict)
SEVERITIES = list(Severity)


def judgment(
    project_id: str,
    n: int,
    item: int,
    expert: int,
    *,
    tenant: str = "acme",
    **fields: Any,
) -> JudgmentSubmittedV1:
    base: dict[str, Any] = {
        "judgment_id": f"{project_id}-j{n}",
        "unit_id": f"{project_id}-u{n}",
        "item_id": f"{project_id}-item-{item}",
        "project_id": project_id,
        "tenant": tenant,
        "expert_id": f"e{expert}",
        "kind": WorkKind.review,
        "time_spent_s": 3.0,
        "submitted_at": T0 + timedelta(seconds=n),
        "rubric_ref": RubricRef(rubric_id="r1", version=1),
    }
    base.update(fields)
    return JudgmentSubmittedV1.model_validate(base)


def project_judgments(
    project_id: str, *, items: int = 12, tenant: str = "acme"
) -> list[JudgmentSubmittedV1]:
    """Three experts on ``items`` items (some missing), two rating dimensions, verdicts,
    severities, a flag, one or two classes; then two items judged again by the same expert
    (one under rubric version 2) and an adjudication (left out of the figures)."""
    out = []
    n = 0
    for item in range(items):
        for expert in range(3):
            if (item + expert) % 5 == 4:
                continue  # this expert did not judge the item
            n += 1
            classes = [["cat", "dog"][(item + (expert == 0)) % 2]]
            if item % 6 == 5 and expert == 1:
                classes = ["cat", "dog"]  # two classes: no value of `class`
            out.append(
                judgment(
                    project_id,
                    n,
                    item,
                    expert,
                    tenant=tenant,
                    verdict=VERDICTS[(item + (expert == 2) * (item % 3 == 0)) % 4],
                    severity=SEVERITIES[(item * expert) % 4],
                    ratings={
                        "clarity": float(1 + (item + (expert == 1)) % 5),
                        "accuracy": float(1 + (item * (expert + 1)) % 3),
                    },
                    flags=["ambiguous"] if (item + expert) % 4 == 0 else [],
                    labels=[Label(class_id=c) for c in classes],
                )
            )
    # judged again later: a new verdict without the flag, and one under rubric version 2
    n += 1
    out.append(
        judgment(
            project_id, n, 0, 0, tenant=tenant, verdict=Verdict.reject, ratings={"clarity": 5.0}
        )
    )
    n += 1
    out.append(
        judgment(
            project_id,
            n,
            1,
            1,
            tenant=tenant,
            verdict=Verdict.accept,
            severity=Severity.major,
            flags=["ambiguous", "occlusion"],
            rubric_ref=RubricRef(rubric_id="r1", version=2),
        )
    )
    n += 1
    out.append(
        judgment(project_id, n, 2, 9, tenant=tenant, kind=WorkKind.adjudication, verdict="reject")
    )
    return out


def submitted(judgment: JudgmentSubmittedV1) -> Event[JudgmentSubmittedV1]:
    """The event assignment publishes (a new event id at each call: a replay of the same
    judgment under another id)."""
    return make_event(
        JUDGMENT_SUBMITTED, judgment, source="/quorum/assignment", tenant=judgment.tenant
    )


def expected(
    judgments: list[JudgmentSubmittedV1], field: str | None = None
) -> dict[str, dict[str, Any]]:
    """The offline report's fields (as JSON gives them), without the per-pair matrix."""
    fields = json.loads(json.dumps(report(judgments)["fields"]))
    for figures in fields.values():
        del figures["cohen_kappa"]
    return fields if field is None else {field: fields[field]}


def per_field_by_hand(
    judgments: list[JudgmentSubmittedV1], rubric_version: int | None = None
) -> dict[str, list[tuple[str, str, object]]]:
    """A plain reference of what each field's figures are computed from: per (item, expert)
    the latest judgment (of ``rubric_version``, when given; to the millisecond, then by id),
    its fields, presence fields false where a judgment does not raise them."""
    latest: dict[tuple[str, str], JudgmentSubmittedV1] = {}
    for j in sorted(
        judgments,
        key=lambda j: (
            j.submitted_at.replace(microsecond=j.submitted_at.microsecond // 1000 * 1000),
            j.judgment_id,
        ),
    ):
        if rubric_version is None or (
            j.rubric_ref is not None and j.rubric_ref.version == rubric_version
        ):
            latest[(j.item_id, j.expert_id)] = j
    own = {key: own_fields(j) for key, j in latest.items()}
    presence = {name for values in own.values() for name in values if is_presence(name)}
    per_field: dict[str, list[tuple[str, str, object]]] = {}
    for (item, expert), values in own.items():
        for name, value in values.items():
            if not is_presence(name):
                per_field.setdefault(name, []).append((item, expert, value))
        for name in presence:
            per_field.setdefault(name, []).append((item, expert, name in values))
    return per_field
