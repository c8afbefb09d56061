"""Systematic errors of a project's pre-labels and the model's calibration, per model version
(docs/metrics.md): clients, ops and admin; no expert is involved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from services.metrics.api.access import Watcher
from services.metrics.api.shapes import ProjectPath, Rate, not_found
from services.metrics.figures import Proportion
from services.metrics.handlers.prelabels import ModelFigures, Prelabels
from services.metrics.prelabels import ClassErrors, ReliabilityBucket
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["prelabels"])

PrelabelsDep = Annotated[Prelabels, Depends(use_case(Prelabels))]
ModelVersionQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=128, description="one model version only; all when absent"),
]

NOT_FOUND = not_found("No pre-labelled item of this project in your tenant (or no such project)")


class ClassError(BaseModel):
    class_id: str = Field(description="the pre-labelled class")
    n: int = Field(description="items the model pre-labelled with the class")
    errors: int = Field(description="of them, resolved otherwise")
    rate: Rate
    others_rate: Rate = Field(description="the other classes' pooled error rate")
    p_value: float | None = Field(description="one-sided Fisher exact test")
    q_value: float | None = Field(description="Benjamini-Hochberg over the tested classes")
    alert: bool
    examples: list[str] = Field(description="item ids of errors, the most recent first")
    reason: str | None = Field(None, description="why the class was not tested")


class Confusion(BaseModel):
    labels: list[str]
    matrix: list[list[int]] = Field(description="rows: pre-label class; columns: resolved")


class Bucket(BaseModel):
    low: float
    high: float
    n: int
    mean_confidence: float | None
    accuracy: Rate


class Calibration(BaseModel):
    n: int
    buckets: list[Bucket] = Field(description="10 equal-width confidence buckets")
    ece: float | None = Field(description="expected calibration error")
    mce: float | None = Field(description="maximum calibration error")
    reason: str | None = None


class ModelPrelabels(BaseModel):
    model: str
    version: str
    test: str
    n: int = Field(description="pre-labelled classes compared")
    overall: Rate = Field(description="the model version's error rate")
    alpha: float = Field(description="the false discovery rate the alerts are controlled at")
    min_count: int = Field(description="items a class needs before it is tested")
    tested: int
    alerts: list[str] = Field(description="the classes whose q-value is below alpha")
    classes: list[ClassError]
    confusion: Confusion
    calibration: Calibration
    reason: str | None = None


class ProjectPrelabels(BaseModel):
    project_id: str
    model_version: str | None
    models: list[ModelPrelabels]


def _rate(p: Proportion) -> dict[str, Any]:
    return {
        "value": p.value,
        "successes": p.successes,
        "n": p.n,
        "ci": None if p.ci is None else [p.ci.low, p.ci.high],
        "reason": p.reason,
    }


def _class(c: ClassErrors) -> dict[str, Any]:
    return {
        "class_id": c.label,
        "n": c.n,
        "errors": c.errors,
        "rate": _rate(c.rate),
        "others_rate": _rate(c.others_rate),
        "p_value": c.p_value,
        "q_value": c.q_value,
        "alert": c.alert,
        "examples": list(c.examples),
        "reason": c.reason,
    }


def _bucket(b: ReliabilityBucket) -> dict[str, Any]:
    return {
        "low": b.low,
        "high": b.high,
        "n": b.n,
        "mean_confidence": b.mean_confidence,
        "accuracy": _rate(b.accuracy),
    }


def _model(m: ModelFigures) -> dict[str, Any]:
    e, cal = m.errors, m.calibration
    labels, matrix = m.confusion.matrix()
    return {
        "model": e.model,
        "version": e.version,
        "test": e.test,
        "n": e.n,
        "overall": _rate(e.overall),
        "alpha": e.alpha,
        "min_count": e.min_count,
        "tested": e.tested,
        "alerts": [c.label for c in e.alerts],
        "classes": [_class(c) for c in e.classes],
        "confusion": {"labels": labels, "matrix": matrix},
        "calibration": {
            "n": cal.n,
            "buckets": [_bucket(b) for b in cal.buckets],
            "ece": cal.ece,
            "mce": cal.mce,
            "reason": cal.reason,
        },
        "reason": e.reason,
    }


@router.get(
    "/projects/{project_id}/prelabels",
    summary="Systematic errors of the project's pre-labels per model version, and calibration",
    description="Per model version that pre-labelled the project's resolved items: the "
    "confusion of pre-label class against resolved class (the comparison rule: "
    "docs/metrics.md), each class's error rate against the other classes' (one-sided Fisher "
    "exact test, Benjamini-Hochberg across classes; an `alert` when q < alpha) with counts, "
    "p, q and example item ids, and the reliability curve by confidence bucket with the "
    "expected calibration error. Items resolved `reject` or `infeasible` are left out; the "
    "latest revision of an outcome counts. No expert is named: clients may read it. Experts "
    "get 403.",
    responses=NOT_FOUND,
)
async def project_prelabels(
    project_id: ProjectPath,
    principal: Watcher,
    prelabels: PrelabelsDep,
    model_version: ModelVersionQuery = None,
) -> ProjectPrelabels:
    models = await prelabels.project(principal.tenant, project_id, model_version=model_version)
    return ProjectPrelabels.model_validate(
        {
            "project_id": project_id,
            "model_version": model_version,
            "models": [_model(m) for m in models],
        }
    )
