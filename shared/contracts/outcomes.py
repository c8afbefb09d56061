"""Event contracts of ingest for client systems: what became of each of a tenant's media items.

Every tenant has its own outcome topic, ``quorum.outcomes.<tenant>``, which only ingest writes
and only that tenant's client principals (and Quorum's operators) may read: a client learns
its outcomes without polling and without seeing another tenant's. Every event of an item is
keyed by its external id (the client's own id, the key of its registration request), so one
partition carries an item's outcomes in order: ``registered`` (or ``rejected``), then
``resolved`` or ``not_reviewed`` (and ``resolved`` after ``not_reviewed`` when a resolution
decided before the project closed arrives after the close).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import Field

from shared.contracts.media import PRODUCER, MediaRejectedV1
from shared.contracts.spec import CLIENT_SYSTEMS, Contract, EventSpec, Topic
from shared.contracts.vocabulary import (
    Count,
    Id,
    Label,
    Modality,
    Name,
    Severity,
    TaxonomyRef,
    TenantId,
)
from shared.contracts.work import MAX_FINAL_LABELS, Escalation, Resolution, RubricRef, Verdict

P = TypeVar("P", bound=Contract)

OUTCOMES = Topic(
    "quorum.outcomes",
    summary="What became of each registration and item of one tenant, for its client systems: "
    "registered, rejected (every reason), resolved, not reviewed. One topic per tenant, "
    "written by ingest alone and readable by that tenant's client principals alone",
    key="external id",
    per_tenant=True,
    # read by client systems only: nothing of Quorum consumes it, so nothing dead-letters it
    dead_letter=False,
)


class ItemRegisteredOutcomeV1(Contract):
    """A registration was stored: the item's id and what it was registered as (not its media
    and pre-labels again: the client sent them, and ``GET /v1/media/{item_id}`` has them)."""

    item_id: Id
    tenant: TenantId
    external_id: Id
    project_id: Id
    modality: Modality
    taxonomy: TaxonomyRef | None = Field(None, description="the version its labels are pinned to")
    duplicate_of: Id | None = Field(None, description="item with the same checksum in the project")
    request_id: Name | None = Field(
        None, description="the registration request's event id (over HTTP, the request's id)"
    )
    registered_at: datetime


class ItemResolution(Contract):
    """How an item was settled, as the client's item holds it (``resolution`` of
    ``GET /v1/media/{item_id}``): the ``quorum.item.resolved.v1`` outcome without who judged
    it (it names no expert)."""

    method: Resolution
    verdict: Verdict | None = Field(
        None,
        description="accept: the pre-labels stand (they are the final labels); correct: the "
        "final labels are the corrected ones; reject / infeasible: no final labels",
    )
    flags: list[Name] = Field(default_factory=list, max_length=50)
    flag_counts: dict[Name, int] = Field(
        default_factory=dict, max_length=50, description="flag -> how many judges raised it"
    )
    severity: Severity = Severity.none
    ratings: dict[Name, float] = Field(
        default_factory=dict, max_length=100, description="dimension -> median of the points"
    )
    rating_spread: dict[Name, float] = Field(
        default_factory=dict, max_length=100, description="dimension -> max - min of the points"
    )
    agreement: float | None = Field(None, ge=0, le=1)
    figures: dict[Name, float] = Field(
        default_factory=dict, max_length=200, description="agreement per field"
    )
    escalation: list[Escalation] = Field(
        default_factory=list, max_length=200, description="why it went to adjudication"
    )
    rubric: RubricRef | None = None
    taxonomy: TaxonomyRef | None = None
    judgment_ids: list[Id] = Field(max_length=100, description="provenance")
    revision: int = Field(1, ge=1, le=10_000, description="1, then one more per ops override")
    revision_reason: str | None = Field(None, max_length=2_000)
    resolved_at: datetime


class ItemResolvedOutcomeV1(Contract):
    """An item's review ended (or ops revised its outcome: a later ``resolution.revision``):
    its final labels and how they were decided, as the item holds them."""

    item_id: Id
    tenant: TenantId
    external_id: Id
    project_id: Id
    final_labels: list[Label] = Field(default_factory=list, max_length=MAX_FINAL_LABELS)
    resolution: ItemResolution


class NotReviewedReason(StrEnum):
    project_closed = "project_closed"


class ItemNotReviewedOutcomeV1(Contract):
    """An item will not be reviewed: its project closed before the item was resolved."""

    item_id: Id
    tenant: TenantId
    external_id: Id
    project_id: Id
    reason: NotReviewedReason
    message: str = Field(max_length=2_000)
    project_revision: Count = Field(description="the project revision that closed it")
    not_reviewed_at: datetime = Field(description="when the project closed")


def _external_id(payload: Any) -> str:
    return str(payload.external_id)


def _item_id(payload: Any) -> str:
    return str(payload.item_id)


def _outcome(
    name: str, payload: type[P], summary: str, subject: Callable[[Any], str] | None = None
) -> EventSpec[P]:
    """The outcome event ``quorum.outcome.<name>.v1``: on the tenant's outcome topic, keyed by
    the external id, about the item (or, for a refusal, the external id)."""
    return EventSpec(
        type=f"quorum.outcome.{name}.v1",
        topic=OUTCOMES,
        payload=payload,
        key=_external_id,
        subject=subject or _item_id,
        producer=PRODUCER,
        consumers=(CLIENT_SYSTEMS,),
        summary=summary,
    )


OUTCOME_REGISTERED = _outcome(
    "registered",
    ItemRegisteredOutcomeV1,
    "A media item was registered (over HTTP or Kafka): its item id, project, duplicate_of and "
    "the request id.",
)
OUTCOME_REJECTED = _outcome(
    "rejected",
    MediaRejectedV1,
    "A registration request on Kafka was refused: every reason, with the request id (also kept "
    "for `GET /v1/media/rejections?external_id=…`).",
    subject=_external_id,
)
OUTCOME_RESOLVED = _outcome(
    "resolved",
    ItemResolvedOutcomeV1,
    "An item was resolved, or ops revised its outcome: its final labels, verdict, flags, "
    "ratings and severity, and how they were decided.",
)
OUTCOME_NOT_REVIEWED = _outcome(
    "not_reviewed",
    ItemNotReviewedOutcomeV1,
    "An item will not be reviewed: its project closed before it was resolved.",
)

EVENTS = (OUTCOME_REGISTERED, OUTCOME_REJECTED, OUTCOME_RESOLVED, OUTCOME_NOT_REVIEWED)
