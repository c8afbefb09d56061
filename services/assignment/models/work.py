"""Work: an item's units (one per distinct expert the policy asks for), the leases experts
hold on them, and what a handout shows the expert."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints

from services.assignment import effective_labels
from shared.contracts.media import BundlePart, CaptureMetadata, MediaFile, PreLabels
from shared.contracts.rubric import Answers, RubricDefinition
from shared.contracts.spec import Strict, max_length
from shared.contracts.vocabulary import Label, Modality, Severity, TaxonomyRef
from shared.contracts.work import (
    Escalation,
    GoldScoredV1,
    ItemResolvedV1,
    RubricRef,
    Verdict,
    WorkKind,
    WorkUnitEventV1,
)


class UnitState(StrEnum):
    open = "open"
    leased = "leased"
    done = "done"
    #: a unit nobody will judge: a gold unit given back unjudged (never served again)
    closed = "closed"


class ItemContent(BaseModel):
    """What the workbench shows of an item, the same shape for every item, gold or not."""

    media: MediaFile | None = None
    parts: list[BundlePart] | None = None
    prelabels: PreLabels | None = None
    capture: CaptureMetadata | None = None
    taxonomy: TaxonomyRef | None = None

    def shown(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class Judgment(BaseModel):
    """An expert's answers on a unit, against the unit's rubric version."""

    @property
    def judged(self) -> Answers:
        """The answers as consensus and scoring compare them: with the effective labels."""
        return effective_labels.judged(self.answers, self.effective_labels)

    judgment_id: str
    submission_id: str
    unit_id: str
    item_id: str
    project_id: str
    expert_id: str
    rubric: RubricRef
    answers: Answers
    #: the labels the judgment stands for (``effective_labels``); None in judgments stored
    #: before they were kept, which stand for their corrected labels
    effective_labels: list[Label] | None = None
    time_spent_s: float
    submitted_at: datetime


class ExportedJudgment(BaseModel):
    """One judgment of a client's item as the per-judgment export gives it: the judge under
    their pseudonym in the project (stable across its items, never their expert id) and the
    answers, with the labels the judgment stands for (accept: the pre-labels; correct: the
    corrected labels; reject and infeasible: none)."""

    item_id: str
    kind: Literal[WorkKind.review, WorkKind.adjudication]
    judge: str = Field(description="the judge's pseudonym in this project (`judge-` + 16 hex)")
    verdict: Verdict | None = None
    labels: list[Label] = Field(description="the labels the judgment stands for")
    ratings: dict[str, int] = Field(default_factory=dict)
    severity: Severity | None = None
    flags: list[str] = Field(default_factory=list)
    justification: str = ""
    time_spent_s: float
    submitted_at: datetime
    rubric: RubricRef
    taxonomy: TaxonomyRef | None = None


class Unit(BaseModel):
    """One unit of an item (stored in the item's document)."""

    n: int
    unit_id: str
    kind: WorkKind
    state: UnitState = UnitState.open
    rubric: RubricRef
    #: the taxonomy version corrected labels use (the project's when the unit was made)
    taxonomy: TaxonomyRef | None = None
    created_at: datetime
    expert_id: str | None = None
    lease_id: str | None = None
    leased_at: datetime | None = None
    expires_at: datetime | None = None
    judgment: Judgment | None = None
    #: an adjudication unit's: why the item went to adjudication
    escalation: list[Escalation] | None = None

    def held_by(self, expert_id: str, now: datetime, lease_id: str | None = None) -> bool:
        """Whether the expert holds the unit at ``now`` (under ``lease_id``, if given): their
        lease on it is live. Read from their own lease alone, whatever the unit is."""
        return (
            self.state is UnitState.leased
            and self.expert_id == expert_id
            and (lease_id is None or self.lease_id == lease_id)
            and self.expires_at is not None
            and self.expires_at > now
        )

    def judged_by(self, expert_id: str) -> bool:
        """Whether the unit holds the expert's judgment."""
        return self.judgment is not None and self.judgment.expert_id == expert_id


#: How a unit is given back unjudged: a release's reason, or an expiry.
GiveBackHow = Literal[
    "skip", "cannot_judge", "unsafe_content", "needs_another_skill", "expired", "withdrawn"
]


class GiveBack(BaseModel):
    """An expert gave a unit of the item back unjudged: released (the release's reason) or
    let expire (``expired``). The item may return to them when nobody else on the roster
    can take it (``staffing.stuck_units``)."""

    expert_id: str
    at: datetime
    how: GiveBackHow


class QualificationMark(BaseModel):
    set_id: str
    index: int


class WorkItem(BaseModel):
    """An item under review: its units and who has had it (never twice the same expert)."""

    item_id: str
    tenant: str
    project_id: str
    modality: Modality
    registered_at: datetime
    units: list[Unit] = Field(default_factory=list)
    judges: list[str] = Field(default_factory=list)
    open: int = 0
    priority: float = 0.0
    due_at: datetime | None = None
    #: the registered media as the workbench shows it (media or parts, pre-labels, capture)
    content: dict[str, Any] = Field(default_factory=dict)
    #: how many review units the overlap plan asked for at first
    planned: int = 0
    #: how the item was settled, once it is
    resolution: ItemResolvedV1 | None = None
    #: the outcomes it had before ops overrode one or sent it back, oldest first
    earlier_resolutions: list[ItemResolvedV1] = Field(default_factory=list)
    #: the gold item this one serves to one expert (never shown to them), and its score
    gold_id: str | None = None
    gold_score: GoldScoredV1 | None = None
    #: the qualification set item this one serves to one expert in their attempt
    qualification: QualificationMark | None = None
    #: the metrics alerts that added a review unit to the item (each adds one at most)
    alerts: list[str] = Field(default_factory=list)
    #: every give-back of one of its units, oldest first
    given_back: list[GiveBack] = Field(default_factory=list)


class Lease(BaseModel):
    """A live lease: an expert's hold on one unit until ``expires_at``."""

    lease_id: str
    expert_id: str
    unit_id: str | None
    item_id: str | None
    project_id: str
    leased_at: datetime
    expires_at: datetime


class MediaLink(BaseModel):
    """How the browser fetches one media file of a unit: a short-lived signed URL (no bearer
    token in it), or none with why (docs/console.md "Media")."""

    part: str | None = Field(description="the bundle part's name; null for a single file")
    url: str | None = Field(description="the URL, valid until `expires_at`; null: not reachable")
    peaks_url: str | None = Field(
        None, description="waveform peaks computed by the media server (audio and video)"
    )
    expires_at: datetime | None = None


class HandedOut(BaseModel):
    """What ``work:next`` hands the expert: the lease and the unit's form and content. A gold
    unit looks exactly like any other."""

    lease_id: str
    unit_id: str
    item_id: str
    project_id: str
    expires_at: datetime
    modality: Modality
    content: dict[str, Any] = Field(description="the media, bundle parts and pre-labels")
    rubric: RubricRef
    form: RubricDefinition = Field(description="the rubric version to answer")
    kind: Literal["review", "adjudication", "qualification"] = Field(
        "review",
        description="an adjudication unit shows the item's judgments; a qualification unit "
        "is an item of the expert's assessment",
    )
    judgments: list[Answers] | None = Field(
        None, description="an adjudication unit's: the answers of the item's judges"
    )
    media_links: list[MediaLink] = Field(
        default_factory=list,
        description="a signed link per media file of `content`, in its order",
    )


class HeldUnits(BaseModel):
    """The units an expert holds now: at most their capacity (``max_leases``), so one answer."""

    units: list[HandedOut]


class JudgmentIn(Strict):
    """A submission: idempotent by ``submission_id`` (the same id and body again answer with
    the judgment it made; the same id with another body is a 409 naming what differs), under
    the lease the unit was handed out with."""

    submission_id: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    lease_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    answers: Answers


class OverrideIn(Strict):
    """Ops replace a resolved item's outcome: answers on the item's rubric version (checked
    as a judgment's are), and why."""

    answers: Answers
    reason: str = Field(min_length=1, max_length=2_000)


class SendBackIn(Strict):
    """Ops send a resolved item back for another review (by an expert who has not judged
    it, as an adjudication), and why."""

    reason: str = Field(min_length=1, max_length=1_900)


ReleaseReason = Literal["skip", "cannot_judge", "unsafe_content", "needs_another_skill"]
#: The longest a token's subject is (``shared.auth.tokens``): an ops subject names who
#: force-released a lease in the event's reason.
_SUBJECT_MAX = 256
#: The longest a release's note is: what is left of ``work.released``'s ``reason`` after the
#: longest prefix :func:`release_reason` puts before a note (ops' force-release with the
#: longest subject and reason), so the reason a release publishes always fits its event.
RELEASE_NOTE_MAX = (
    max_length(WorkUnitEventV1, "reason")
    - len(f"released by {'x' * _SUBJECT_MAX}: ")
    - max(len(f"{reason}: ") for reason in get_args(ReleaseReason))
)


def release_reason(reason: ReleaseReason, note: str, released_by: str | None = None) -> str:
    """The ``reason`` of ``work.released``: the release's reason and note, and who released
    it when ops did (``released by ops-ana: skip: blurry``)."""
    said = f"{reason}: {note}" if note else reason
    return f"released by {released_by}: {said}" if released_by is not None else said


class ReleaseIn(Strict):
    reason: ReleaseReason
    note: str = Field(
        "",
        max_length=RELEASE_NOTE_MAX,
        description="why, in words (published with the reason in work.released)",
    )
