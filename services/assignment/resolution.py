"""What an item needs once a unit of it is judged, free of I/O: nothing yet (units are still
out), one more review (dynamic overlap, while the judgments disagree), an adjudication (the
judgments disagree, a flag or severity escalates, or the audit draws it), or its resolution
(by consensus, a single judgment, or the adjudicator's answers)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.assignment import agreement, sampling
from services.assignment.models.projects import Project
from services.assignment.models.work import UnitState, WorkItem
from services.assignment.projects import overlap_policy
from shared.contracts.rubric import RubricDefinition
from shared.contracts.vocabulary import Severity
from shared.contracts.work import ItemResolvedV1, Resolution, WorkKind


@dataclass(frozen=True)
class AddReview:
    """Dynamic overlap: one more review unit."""


@dataclass(frozen=True)
class Adjudicate:
    reasons: tuple[agreement.Reason, ...]


@dataclass(frozen=True)
class Resolve:
    resolution: ItemResolvedV1


Step = AddReview | Adjudicate | Resolve


def consensus_policy(project: Project, rubric: RubricDefinition) -> agreement.ConsensusPolicy:
    """The project's adjudication policy as consensus reads it, on the rubric's scales."""
    policy = project.adjudication
    return agreement.ConsensusPolicy(
        quorum=policy.min_agreement,
        default_max_spread=policy.max_rating_spread,
        scales={d.name: (d.scale_min, d.scale_max) for d in rubric.dimensions},
        iou_threshold=policy.iou_threshold,
        onset_tolerance_s=policy.onset_tolerance_s,
        offset_tolerance_s=policy.offset_tolerance_s,
        escalate_flags=frozenset(policy.escalate_flags),
        audit_rate=policy.audit_rate,
    )


def awaits_step(item: WorkItem) -> bool:
    """Whether the item, as read, is ready for a step: not resolved, no unit still out, and
    at least one review judged. Only such an item needs its project and rubric read."""
    return (
        item.resolution is None
        and all(u.state is UnitState.done for u in item.units)
        and any(u.judgment is not None and u.kind is not WorkKind.adjudication for u in item.units)
    )


def next_step(
    item: WorkItem, project: Project, rubric: RubricDefinition, now: datetime
) -> Step | None:
    """What the item needs now; None unless it :func:`awaits_step`."""
    if not awaits_step(item):
        return None
    judged = [u for u in item.units if u.judgment is not None]
    adjudications = [u for u in judged if u.kind is WorkKind.adjudication]
    reviews = [u for u in judged if u.kind is not WorkKind.adjudication]
    if adjudications:
        final = adjudications[-1].judgment
        assert final is not None
        return Resolve(
            ItemResolvedV1(
                item_id=item.item_id,
                project_id=item.project_id,
                tenant=item.tenant,
                final_labels=list(final.answers.labels),
                ratings={k: float(v) for k, v in final.answers.ratings.items()},
                severity=final.answers.severity or Severity.none,
                method=Resolution.adjudication,
                judgment_ids=[u.judgment.judgment_id for u in judged if u.judgment],
                taxonomy=adjudications[-1].taxonomy,
                resolved_at=now,
                verdict=final.answers.verdict,
                judged_by=[u.judgment.expert_id for u in reviews if u.judgment],
                adjudicated_by=final.expert_id,
            )
        )
    answers = [u.judgment.answers for u in reviews if u.judgment]
    decision = agreement.decide(
        answers,
        policy=consensus_policy(project, rubric),
        audit_draw=sampling.draw(item.item_id, 0, "audit"),
    )
    if not decision.escalated:
        resolved = ItemResolvedV1(
            item_id=item.item_id,
            project_id=item.project_id,
            tenant=item.tenant,
            final_labels=list(decision.labels),
            ratings={k: float(v) for k, v in decision.ratings.items()},
            severity=decision.severity or Severity.none,
            method=decision.method,
            judgment_ids=[u.judgment.judgment_id for u in reviews if u.judgment],
            agreement=decision.agreement,
            taxonomy=reviews[0].taxonomy,
            resolved_at=now,
            verdict=decision.verdict,
            judged_by=[u.judgment.expert_id for u in reviews if u.judgment],
        )
        return Resolve(resolved)
    only_disagreement = all(r.code == "disagreement" for r in decision.reasons)
    policy = overlap_policy(project)
    plan = sampling.ItemPlan(
        item_id=item.item_id,
        revision=project.revision,
        in_agreement_sample=False,
        needed=item.planned or len(reviews),
    )
    if only_disagreement and sampling.needs_more(plan, len(reviews), False, policy):
        return AddReview()
    return Adjudicate(decision.reasons)
