"""What an item needs once a unit of it is judged, free of I/O: nothing yet (units are still
out), one more review (dynamic overlap, while the judgments disagree), an adjudication (the
judgments disagree, a flag or severity escalates, or the audit draws it), or its resolution
(by consensus, a single judgment, or the adjudicator's answers)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from services.assignment import consensus, sampling
from services.assignment.models.projects import Project
from services.assignment.models.work import UnitState, WorkItem
from services.assignment.projects import overlap_policy
from shared.contracts.rubric import Answers, RubricDefinition
from shared.contracts.vocabulary import Severity
from shared.contracts.work import Escalation, ItemResolvedV1, Resolution, WorkKind


@dataclass(frozen=True)
class AddReview:
    """Dynamic overlap: one more review unit."""


@dataclass(frozen=True)
class Adjudicate:
    reasons: tuple[consensus.Reason, ...]


@dataclass(frozen=True)
class Resolve:
    resolution: ItemResolvedV1


Step = AddReview | Adjudicate | Resolve


def consensus_policy(project: Project, rubric: RubricDefinition) -> consensus.ConsensusPolicy:
    """The project's adjudication policy as consensus reads it, on the rubric's scales."""
    policy = project.adjudication
    return consensus.ConsensusPolicy(
        quorum=policy.min_agreement,
        default_max_spread=policy.max_rating_spread,
        scales={d.name: (d.scale_min, d.scale_max) for d in rubric.dimensions},
        iou_threshold=policy.iou_threshold,
        onset_tolerance_s=policy.onset_tolerance_s,
        offset_tolerance_s=policy.offset_tolerance_s,
        escalate_flags=frozenset(policy.escalate_flags),
        escalate_severity=policy.escalate_severity,
        audit_rate=policy.audit_rate,
    )


def escalation(reasons: Sequence[consensus.Reason]) -> list[Escalation]:
    """The reasons an item goes to adjudication, as the outcome records them."""
    return [Escalation(code=r.code, field=r.field, message=r.message[:2_000]) for r in reasons]


def _flag_counts(answers: Sequence[Answers]) -> dict[str, int]:
    return dict(sorted(Counter(f for a in answers for f in set(a.flags)).items()))


def _spreads(answers: Sequence[Answers]) -> dict[str, float]:
    dimensions = sorted({d for a in answers for d in a.ratings})
    return {
        d: float(max(points) - min(points))
        for d in dimensions
        if (points := [a.ratings[d] for a in answers if d in a.ratings])
    }


def awaits_step(item: WorkItem) -> bool:
    """Whether the item, as read, is ready for a step: not resolved, no unit still out, and
    at least one review judged. Only such an item needs its project and rubric read."""
    return (
        item.resolution is None
        and all(u.state is UnitState.done for u in item.units)
        and any(u.judgment is not None and u.kind is not WorkKind.adjudication for u in item.units)
    )


def next_step(
    item: WorkItem, project: Project, rubric: RubricDefinition, now: datetime, audit_draw: float
) -> Step | None:
    """What the item needs now; None unless it :func:`awaits_step`. ``audit_draw`` is the
    item's keyed draw (``sampling.audit_draw``): a consensus is audited when it falls below the
    policy's audit share."""
    if not awaits_step(item):
        return None
    judged = [u for u in item.units if u.judgment is not None]
    adjudications = [u for u in judged if u.kind is WorkKind.adjudication]
    reviews = [u for u in judged if u.kind is not WorkKind.adjudication]
    answers = [u.judgment.judged for u in reviews if u.judgment]
    provenance = {
        "item_id": item.item_id,
        "project_id": item.project_id,
        "tenant": item.tenant,
        "judged_by": [u.judgment.expert_id for u in reviews if u.judgment],
        "flag_counts": _flag_counts(answers),
        "rating_spread": _spreads(answers),
        "rubric_ref": reviews[0].rubric,
        "taxonomy": reviews[0].taxonomy,
        "resolved_at": now,
        "revision": len(item.earlier_resolutions) + 1,
    }
    if adjudications:
        last = adjudications[-1]
        assert last.judgment is not None
        final = last.judgment.judged
        return Resolve(
            ItemResolvedV1(
                **provenance,
                final_labels=list(final.labels),
                ratings={k: float(v) for k, v in final.ratings.items()},
                severity=final.severity or Severity.none,
                flags=list(final.flags),
                method=Resolution.adjudication,
                judgment_ids=[u.judgment.judgment_id for u in judged if u.judgment],
                verdict=final.verdict,
                adjudicated_by=last.judgment.expert_id,
                escalation=last.escalation or [],
            )
        )
    decision = consensus.decide(
        answers,
        policy=consensus_policy(project, rubric),
        audit_draw=audit_draw,
    )
    if not decision.escalated:
        resolved = ItemResolvedV1(
            **provenance,
            final_labels=list(decision.labels),
            ratings=dict(decision.ratings),
            severity=decision.severity or Severity.none,
            flags=list(decision.flags),
            method=decision.method,
            judgment_ids=[u.judgment.judgment_id for u in reviews if u.judgment],
            agreement=decision.agreement,
            figures=dict(decision.figures),
            verdict=decision.verdict,
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
