"""Experts' quality (docs/metrics.md "Expert quality"): ops and admin see every expert of a
project; an expert sees their own figures, as of the start of the UTC day, in whole batches."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from services.metrics.api.access import Staff
from services.metrics.api.shapes import ProjectPath, Rate, not_found
from services.metrics.figures import Proportion, proportion
from services.metrics.handlers.expert_quality import (
    ExpertFigures,
    ExpertQuality,
    OutcomeAgreement,
)
from services.metrics.quality import gold_accuracy
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ID_PATTERN
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["experts"])

ExpertQualityDep = Annotated[ExpertQuality, Depends(use_case(ExpertQuality))]
#: an expert, about themself only (their subject)
ExpertCaller = Annotated[Principal, Depends(require_roles(Role.expert))]
ProjectQuery = Annotated[
    str, Query(min_length=1, max_length=256, pattern=ID_PATTERN, description="the project")
]

NOT_FOUND = not_found("Nothing about experts in this project of your tenant (or no such project)")


class FieldAccuracy(BaseModel):
    field: str = Field(description="a scored field, as gold.scored names it")
    accuracy: Rate


class Shift(BaseModel):
    index: int = Field(description="the gold judgment (1-based, in the order fed) it was found at")
    n: int = Field(description="outcomes the detector held")
    before: Rate
    after: Rate
    direction: str = Field(description="drop | rise")
    alert: bool
    alert_id: str | None
    at: datetime = Field(description="scored_at of the gold judgment it was found at")


class Drift(BaseModel):
    recent_accuracy: Rate = Field(description="over the outcomes the detector keeps")
    seen: int
    shifts: int
    alerts: int
    alerting: bool = Field(description="the last shift counted was a drop (an alert)")
    last_shift: Shift | None
    delta: float = Field(description="ADWIN's confidence parameter")
    min_count: int = Field(description="outcomes held before a shift is an alert")


class Gold(BaseModel):
    accuracy: Rate = Field(description="gold judgments with every scored field right")
    fields: list[FieldAccuracy]
    drift: Drift


class Outcome(BaseModel):
    verdict: Rate = Field(description="review judgments whose verdict is the outcome's")
    class_: Rate = Field(
        alias="class",
        description="review judgments of items whose outcome has one class, whose one class is it",
    )


class Estimated(BaseModel):
    accuracy: float | None = Field(description="sum_k p[k] confusion[k, k]")
    judgments: int


class WeekAccuracy(BaseModel):
    week: datetime = Field(description="the ISO week's Monday, 00:00 UTC")
    accuracy: Rate


class ExpertQualityOut(BaseModel):
    expert_id: str
    gold: Gold | None
    outcome: Outcome
    dawid_skene: Estimated | None
    trend: list[WeekAccuracy] = Field(
        description="gold accuracy per ISO week of the last 12 with gold, oldest first"
    )


class DawidSkeneRun(BaseModel):
    computed_at: datetime
    converged: bool | None
    reason: str | None


class ProjectExpertsOut(BaseModel):
    project_id: str
    experts: list[ExpertQualityOut]
    dawid_skene: DawidSkeneRun | None


class MyQualityOut(BaseModel):
    project_id: str
    as_of: datetime = Field(description="the UTC midnight the view is cut at")
    gold_accuracy: Rate
    outcome: Outcome


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _rate(p: Proportion) -> dict[str, Any]:
    return {
        "value": _finite(p.value),
        "successes": p.successes,
        "n": p.n,
        "ci": None if p.ci is None else [p.ci.low, p.ci.high],
        "reason": p.reason,
    }


def _outcome(o: OutcomeAgreement) -> dict[str, Any]:
    return {"verdict": _rate(o.verdict), "class": _rate(o.class_)}


def _expert(e: ExpertFigures) -> dict[str, Any]:
    gold: dict[str, Any] | None = None
    if e.gold is not None:
        g, drift = e.gold, e.gold.drift
        last = g.last_shift
        shift = None
        if last is not None:
            shift = {
                **last,
                "before": _rate(proportion(last["before"]["successes"], last["before"]["n"])),
                "after": _rate(proportion(last["after"]["successes"], last["after"]["n"])),
            }
        gold = {
            "accuracy": _rate(gold_accuracy(g.correct, g.total)),
            "fields": [
                {"field": name, "accuracy": _rate(gold_accuracy(c, t))}
                for name, (c, t) in sorted(g.fields.items())
            ],
            "drift": {
                "recent_accuracy": _rate(drift.recent_accuracy()),
                "seen": drift.seen,
                "shifts": drift.shifts,
                "alerts": drift.alerts,
                "alerting": bool(last and last["alert"]),
                "last_shift": shift,
                "delta": drift.delta,
                "min_count": drift.min_count,
            },
        }
    estimated = None
    if e.dawid_skene is not None:
        estimated = {
            "accuracy": _finite(e.dawid_skene["accuracy"]),
            "judgments": e.dawid_skene["judgments"],
        }
    return {
        "expert_id": e.expert_id,
        "gold": gold,
        "outcome": _outcome(e.outcome),
        "dawid_skene": estimated,
        "trend": [{"week": week, "accuracy": _rate(p)} for week, p in e.trend],
    }


@router.get(
    "/projects/{project_id}/experts",
    summary="Each expert's quality in the project: gold accuracy and its drift, agreement with "
    "the resolved outcome, the Dawid-Skene estimate",
    description="Per expert with gold judgments, review judgments of resolved items or a "
    "Dawid-Skene estimate: accuracy on gold (every scored field right) with its Wilson "
    "interval and per field; the ADWIN drift detector's recent accuracy, last shift and "
    "whether it alerts; the share of review judgments whose verdict (and single class) is "
    "the resolved outcome's; the Dawid-Skene estimated accuracy from the `class` field. "
    "Ops and admin only: clients and experts get 403.",
    responses=NOT_FOUND,
    response_model_by_alias=True,
)
async def project_experts(
    project_id: ProjectPath, principal: Staff, quality: ExpertQualityDep
) -> ProjectExpertsOut:
    found = await quality.project(principal.tenant, project_id)
    run = found.dawid_skene
    return ProjectExpertsOut.model_validate(
        {
            "project_id": found.project_id,
            "experts": [_expert(e) for e in found.experts],
            "dawid_skene": run,
        }
    )


@router.get(
    "/me/quality",
    summary="Your gold accuracy and agreement with the resolved outcome in a project, as of "
    "the last UTC midnight, in whole batches of 5",
    description="Only what was scored (gold), judged and resolved (outcome), and taken by the "
    "service, before the start of the current UTC day counts, in whole batches of 5 (the "
    "first of them in time order): the answer changes at most once a day and never by one "
    "judgment, so it cannot tell which of your units were gold. Below 5, `value` is null "
    "with a `reason`. Experts only, about themselves. 404 when the project has no judgment "
    "or gold score in your tenant.",
    responses=NOT_FOUND,
    response_model_by_alias=True,
)
async def my_quality(
    project_id: ProjectQuery, principal: ExpertCaller, quality: ExpertQualityDep
) -> MyQualityOut:
    mine = await quality.mine(principal.tenant, principal.subject, project_id)
    return MyQualityOut.model_validate(
        {
            "project_id": mine.project_id,
            "as_of": mine.as_of,
            "gold_accuracy": _rate(mine.gold_accuracy),
            "outcome": _outcome(OutcomeAgreement(mine.verdict, mine.class_)),
        }
    )
