"""Agreement of a project's experts, per field (docs/metrics.md): ops, admin and clients see
the aggregates; the per-pair matrix names experts, so only ops and admin see it."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from services.metrics.api.access import Staff, Watcher
from services.metrics.api.shapes import ProjectPath, not_found
from services.metrics.handlers.agreement import WINDOWS, Agreement
from services.metrics.handlers.placement import Placement
from shared.contracts.vocabulary import ID_PATTERN, MAX_INT
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["agreement"])

AgreementDep = Annotated[Agreement, Depends(use_case(Agreement))]
FieldQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=300,
        description="one field only: `verdict`, `severity`, `rating.<dimension>`, "
        "`flag.<name>`, `class`, `class.<class_id>`",
    ),
]
RubricVersionQuery = Annotated[
    int | None,
    Query(
        ge=0,
        le=MAX_INT,
        description="only the judgments answering this version of the project's rubric "
        "(0: judgments without a rubric reference); all versions when absent",
    ),
]
WindowQuery = Annotated[
    Literal["1h", "24h", "7d"] | None,
    Query(
        description="only the judgments submitted in the last hour, day or week (computed on "
        "read from the items judged since then); all time when absent"
    ),
]
ExpertQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=256,
        pattern=ID_PATTERN,
        description="only the pairs with this expert: their agreement with each other expert",
    ),
]
NOT_FOUND = not_found("No judgment of this project in your tenant (or no such project)")


class Estimate(BaseModel):
    """A figure: its value, n and 95 % interval; `value` and `ci` are null with a `reason`
    when undefined."""

    value: float | None
    n: int
    ci: list[float] | None = Field(description="[low, high], 95 %")
    se: float | None = Field(None, description="standard error, where the interval uses one")
    reason: str | None = Field(None, description="why the figure is undefined")


class FieldAgreement(BaseModel):
    level: str = Field(description="level of measurement: nominal, ordinal, interval, ratio")
    scale: list[str | float] = Field(description="the field's ordered values")
    items: int
    judgments: int
    experts: int
    krippendorff_alpha: dict[str, Estimate] = Field(
        description="by level: the field's level and each below it"
    )
    fleiss_kappa: Estimate
    gwet_ac1: Estimate
    gwet_ac2: dict[str, Estimate] = Field(description="linear, quadratic, ordinal weights")
    percent_agreement: Estimate


class ProjectAgreement(BaseModel):
    project_id: str
    rubric_version: int | None
    window: str | None = Field(None, description="the rolling window, when one was asked for")
    fields: dict[str, FieldAgreement]


class PairKappa(BaseModel):
    a: str = Field(description="expert id (a < b)")
    b: str = Field(description="expert id")
    n: int = Field(description="items both judged")
    unweighted: Estimate
    linear: Estimate
    quadratic: Estimate
    percent_agreement: Estimate


class FieldPairs(BaseModel):
    pairs: list[PairKappa]


class ProjectPairs(BaseModel):
    project_id: str
    rubric_version: int | None
    window: str | None = None
    fields: dict[str, FieldPairs]


@router.get(
    "/projects/{project_id}/agreement",
    summary="Agreement of a project's experts per field, each figure with n and 95 % interval",
    description="Per field (`verdict`, `severity`, `rating.<dimension>`, `flag.<name>`, "
    "`class`, `class.<class_id>`): Krippendorff's alpha at the field's level and each below "
    "it, Fleiss' kappa (varying judgments per item), Gwet's AC1 and AC2, percent agreement; "
    "each with `n` and a 95 % `ci` (definitions: docs/metrics.md). From the project's "
    "judgments (adjudications left out; an expert's later judgment of an item replaces the "
    "earlier), equal to `python -m services.metrics.report` on the same judgments; all time "
    "from the latest snapshot of the project's tallies (stored within a fraction of a second "
    "of each judgment), a `window` computed on read. No expert is named: clients may read "
    "it. Experts get 403.",
    responses=NOT_FOUND,
    response_model_exclude_unset=True,
)
async def project_agreement(
    project_id: ProjectPath,
    principal: Watcher,
    agreement: AgreementDep,
    field: FieldQuery = None,
    rubric_version: RubricVersionQuery = None,
    window: WindowQuery = None,
) -> ProjectAgreement:
    states = await agreement.project(
        principal.tenant, project_id, field=field, rubric_version=rubric_version, window=window
    )
    return ProjectAgreement.model_validate(
        {
            "project_id": project_id,
            "rubric_version": rubric_version,
            "window": window,
            "fields": states.figures(),
        }
    )


@router.get(
    "/projects/{project_id}/agreement/pairs",
    summary="Cohen's kappa per expert pair and field (the matrix; names experts)",
    description="Per field, one entry per pair of experts `a < b` who judged items in "
    "common: Cohen's kappa unweighted, linear and quadratic (weighted ones for ordered "
    "fields only; otherwise null with a `reason`) and the pair's percent agreement, each with "
    "`n` and a 95 % `ci`; `expert` keeps the pairs of one expert. Names experts: ops and "
    "admin only.",
    responses=NOT_FOUND,
    response_model_exclude_unset=True,
)
async def project_agreement_pairs(
    project_id: ProjectPath,
    principal: Staff,
    agreement: AgreementDep,
    field: FieldQuery = None,
    rubric_version: RubricVersionQuery = None,
    window: WindowQuery = None,
    expert: ExpertQuery = None,
) -> ProjectPairs:
    states = await agreement.project(
        principal.tenant, project_id, field=field, rubric_version=rubric_version, window=window
    )
    fields = {
        name: {"pairs": [p for p in pairs if expert is None or expert in (p["a"], p["b"])]}
        for name, pairs in states.pairs().items()
    }
    return ProjectPairs.model_validate(
        {
            "project_id": project_id,
            "rubric_version": rubric_version,
            "window": window,
            "fields": fields,
        }
    )


PlacementDep = Annotated[Placement, Depends(use_case(Placement))]


class RegionFigures(BaseModel):
    items: int = Field(description="items with regions from two experts or more")
    mean_iou: Estimate


class SegmentFigures(BaseModel):
    items: int = Field(description="items with time segments from two experts or more")
    mean_iou: Estimate
    event_f1: Estimate


class PooledSd(Estimate):
    df: int = Field(description="degrees of freedom: the sum over items of experts - 1")


class SyncFigures(BaseModel):
    items: int = Field(description="items with an `av_sync_offset_ms` rating")
    pooled_sd: PooledSd
    median_abs_difference: Estimate


class ProjectPlacement(BaseModel):
    project_id: str
    rubric_version: int | None
    window: str | None
    regions: RegionFigures
    segments: SegmentFigures
    sync_offsets: SyncFigures


@router.get(
    "/projects/{project_id}/agreement/spatial",
    summary="Spatial and temporal agreement: region and segment IoU, event F1, sync offsets",
    description="From each expert's latest judgment of each item (its labels with a geometry "
    "or a time segment; experts who placed none are left out of the item): mean IoU of "
    "regions (boxes, polygons, masks) after optimal matching per class, unmatched ones as 0; "
    "mean IoU of time segments the same way and the event-based F1 with sed_eval's collars "
    "(onset 0.2 s; offset max(0.2 s, half the event), the mean of both directions); the "
    "spread of the `av_sync_offset_ms` ratings (pooled standard deviation with a chi-square "
    "interval, median absolute pairwise difference). Each with n and a 95 % interval "
    "(bootstrap over items, docs/metrics.md). Computed on read. No expert is named. Experts "
    "get 403.",
    responses=NOT_FOUND,
    response_model_exclude_unset=True,
)
async def project_placement(
    project_id: ProjectPath,
    principal: Watcher,
    placement: PlacementDep,
    rubric_version: RubricVersionQuery = None,
    window: WindowQuery = None,
) -> ProjectPlacement:
    found = await placement.project(
        principal.tenant,
        project_id,
        rubric_version=rubric_version,
        window=None if window is None else WINDOWS[window],
    )
    return ProjectPlacement.model_validate(
        {"project_id": project_id, "rubric_version": rubric_version, "window": window, **found}
    )
