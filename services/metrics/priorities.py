"""Active-learning priorities, free of I/O: which items and classes are worth an expert's (and a
model's next training round's) attention, ranked by disagreement, pre-label error and model
uncertainty (issue 22 §6). Published as ``metrics.alert`` recommendations, which assignment
already acts on (:mod:`services.assignment.recommendations`), and readable by clients.

**Per item** (:class:`ItemEvidence`: its judgments' labels, its pre-labels with their
confidences, its resolved classes once resolved):

* *disagreement* (:func:`disagreement`): the normalised entropy of the judgments' labels,
  ``H / ln(min(m, q))`` with ``H = -sum_v (c_v / m) ln(c_v / m)`` over the ``m`` judgments,
  ``c_v`` of them giving label ``v``, and ``q`` the number of labels the field admits
  (unbounded unless given, so ``ln m``). 0 when all agree, 1 when the labels are spread as
  evenly as ``m`` judgments allow; ``None`` with fewer than 2 judgments.
* *model uncertainty* (:func:`uncertainty`): ``1 - (p1 - p2)``, ``p1`` and ``p2`` the two
  highest confidences of distinct pre-labelled classes (each class at its highest confidence;
  ``p2 = 0`` with one class, so ``1 - p1``): 1 minus the margin (margin sampling, Scheffer et
  al. 2001). ``None`` without a confidence.
* *pre-label error* (:func:`prelabel_error`): the share of the item's pre-labelled classes
  that :func:`services.metrics.prelabels.compare` matches with another resolved class;
  ``None`` before the item is resolved or without pre-labels.

**Per class** (:func:`ranked_classes`): the pre-label *error rate* (the share of the items
pre-labelled with the class resolved otherwise, from a
:class:`~services.metrics.prelabels.PrelabelConfusion`; ``None`` below ``min_count`` items),
the *mean disagreement* of the items whose resolved or pre-label classes include it, and the
*mean model uncertainty* of the items pre-labelled with it.

**Combined priority: weighted reciprocal rank fusion** (Cormack, Clarke and Büttcher,
"Reciprocal rank fusion outperforms Condorcet and individual rank learning methods", SIGIR
2009, with their ``k = 60``). Each component ranks the candidates with a **positive** value
(a 0 — judges agree, pre-label right, model certain — is no reason to look, and candidates
without a value are not ranked), highest first, ties sharing the best rank (1, 2, 2, 4).
Then ``priority = sum_r w_r / (k + rank_r) / sum_r w_r / (k + 1)`` over the rankings the
candidate is in: in [0, 1], 1 for a candidate first in every ranking, 0 for one in none.
Weights are equal by default (:class:`Weights`). A candidate better (higher) on every
component than another ranks above it. Lists are sorted by priority, then id.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from services.metrics.alerts import cut
from services.metrics.prelabels import PrelabelConfusion, compare
from shared.contracts.metrics import MetricsAlertV1, Recommendation
from shared.contracts.spec import max_length

#: Reciprocal rank fusion's constant (Cormack et al. 2009).
RRF_K = 60
#: Pre-labelled items a class needs for its error rate to count.
MIN_CLASS_ITEMS = 10
#: Recommendations published by default, and at most (the alert's own limit).
DEFAULT_TOP = 50
MAX_RECOMMENDATIONS = max_length(MetricsAlertV1, "recommendations")
REASON_MAX = max_length(Recommendation, "reason")

COMPONENTS = ("disagreement", "prelabel_error", "uncertainty")

T = TypeVar("T")


# --- per-item components -------------------------------------------------------------------


def disagreement(labels: Sequence[Hashable], n_values: int | None = None) -> float | None:
    """The normalised entropy of the judgments' labels (see the module's docstring); ``None``
    with fewer than 2 judgments. ``n_values`` is the number of labels the field admits."""
    m = len(labels)
    if n_values is not None and n_values < 1:
        raise ValueError("a field admits 1 label or more")
    if m < 2:
        return None
    counts = Counter(labels)
    if n_values is not None and len(counts) > n_values:
        raise ValueError(f"{len(counts)} different labels where the field admits {n_values}")
    if len(counts) == 1:
        return 0.0
    # H = ln m - (1/m) sum c ln c: exactly ln m when every judgment differs
    entropy = math.log(m) - math.fsum(c * math.log(c) for c in counts.values()) / m
    most = math.log(min(m, n_values) if n_values is not None else m)
    return min(max(entropy / most, 0.0), 1.0)


def _class_confidences(prelabels: Sequence[tuple[str, float | None]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for class_id, confidence in prelabels:
        if confidence is None:
            continue
        if not (math.isfinite(confidence) and 0 <= confidence <= 1):
            raise ValueError(f"the confidence of {class_id!r} is not from 0 to 1")
        best[class_id] = max(confidence, best.get(class_id, 0.0))
    return best


def uncertainty(prelabels: Sequence[tuple[str, float | None]]) -> float | None:
    """``1 - (p1 - p2)`` over the distinct pre-labelled classes' highest confidences (``p2 = 0``
    with one class); ``None`` without a confidence."""
    top = sorted(_class_confidences(prelabels).values(), reverse=True)
    if not top:
        return None
    second = top[1] if len(top) > 1 else 0.0
    return min(max(1.0 - (top[0] - second), 0.0), 1.0)


def prelabel_error(
    prelabels: Sequence[tuple[str, float | None]], resolved: Sequence[str] | None
) -> float | None:
    """The share of the item's pre-labelled classes matched with another resolved class (or
    with none); ``None`` before resolution (``resolved is None``) or without pre-labels."""
    if resolved is None or not prelabels:
        return None
    comparisons = compare(prelabels, resolved)
    return sum(not c.correct for c in comparisons) / len(comparisons)


# --- fusion --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Weights:
    """The weight of each component's ranking in the fusion (equal by default)."""

    disagreement: float = 1.0
    prelabel_error: float = 1.0
    uncertainty: float = 1.0

    def __post_init__(self) -> None:
        values = (self.disagreement, self.prelabel_error, self.uncertainty)
        if any(not (math.isfinite(w) and w >= 0) for w in values) or sum(values) <= 0:
            raise ValueError("weights are finite, not negative, and not all 0")

    def of(self, component: str) -> float:
        return float(getattr(self, component))


def competition_ranks(scores: Mapping[str, float | None]) -> dict[str, int]:
    """Ranks of the candidates with a positive score, highest first, ties sharing the best
    rank (1, 2, 2, 4); candidates without one are left out."""
    ranked = sorted(((s, c) for c, s in scores.items() if s is not None and s > 0), reverse=True)
    out: dict[str, int] = {}
    previous: float | None = None
    rank = 0
    for position, (score, candidate) in enumerate(ranked, start=1):
        if score != previous:
            rank, previous = position, score
        out[candidate] = rank
    return out


def fuse(
    components: Mapping[str, Mapping[str, float | None]],
    weights: Weights | None = None,
    k: int = RRF_K,
) -> dict[str, float]:
    """Weighted reciprocal rank fusion of the component scores (component -> candidate ->
    score), normalised to [0, 1]; every candidate of any component gets a priority."""
    weights = weights or Weights()
    if k < 0:
        raise ValueError("k is 0 or more")
    if set(components) - set(COMPONENTS):
        raise ValueError(f"components are {', '.join(COMPONENTS)}")
    best = math.fsum(weights.of(c) / (k + 1) for c in COMPONENTS)
    terms: dict[str, list[float]] = {}
    for component, scores in components.items():
        for candidate in scores:
            terms.setdefault(candidate, [])
        for candidate, rank in competition_ranks(scores).items():
            terms[candidate].append(weights.of(component) / (k + rank))
    return {c: min(math.fsum(t) / best, 1.0) for c, t in terms.items()}


# --- items ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemEvidence:
    """What is known of an item: each judgment's label (a class id, a verdict, a tuple of class
    ids for a multi-label judgment), its pre-labels ``(class id, confidence or None)``, and its
    resolved classes (``None`` until it is resolved; leave out items resolved ``reject`` or
    ``infeasible``, which have none)."""

    item_id: str
    judgments: Sequence[Hashable] = ()
    prelabels: Sequence[tuple[str, float | None]] = ()
    resolved: Sequence[str] | None = None


@dataclass(frozen=True)
class ItemPriority:
    item_id: str
    judgments: int
    disagreement: float | None
    prelabel_error: float | None
    uncertainty: float | None
    priority: float
    ranks: Mapping[str, int] = field(default_factory=dict)


def _unique(items: Iterable[ItemEvidence]) -> list[ItemEvidence]:
    out = list(items)
    ids = Counter(i.item_id for i in out)
    repeated = sorted(i for i, n in ids.items() if n > 1)
    if repeated:
        raise ValueError(f"items given twice: {', '.join(repeated[:5])}")
    return out


def _limited(ranked: list[T], limit: int | None) -> list[T]:
    if limit is not None and limit < 0:
        raise ValueError("the limit is 0 or more")
    return ranked if limit is None else ranked[:limit]


def ranked_items(
    items: Iterable[ItemEvidence],
    *,
    n_values: int | None = None,
    weights: Weights | None = None,
    k: int = RRF_K,
    limit: int | None = None,
) -> list[ItemPriority]:
    """Every item's components and fused priority, highest priority first, then by id (the
    first ``limit`` only, when given)."""
    evidence = _unique(items)
    components: dict[str, dict[str, float | None]] = {c: {} for c in COMPONENTS}
    for item in evidence:
        components["disagreement"][item.item_id] = disagreement(item.judgments, n_values)
        components["prelabel_error"][item.item_id] = prelabel_error(item.prelabels, item.resolved)
        components["uncertainty"][item.item_id] = uncertainty(item.prelabels)
    priority = fuse(components, weights, k)
    ranks = {c: competition_ranks(components[c]) for c in COMPONENTS}
    out = [
        ItemPriority(
            item.item_id,
            len(item.judgments),
            components["disagreement"][item.item_id],
            components["prelabel_error"][item.item_id],
            components["uncertainty"][item.item_id],
            priority[item.item_id],
            {c: ranks[c][item.item_id] for c in COMPONENTS if item.item_id in ranks[c]},
        )
        for item in evidence
    ]
    out.sort(key=lambda p: (-p.priority, p.item_id))
    return _limited(out, limit)


# --- classes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassPriority:
    class_id: str
    #: items pre-labelled with the class (resolved), and those resolved otherwise
    n: int
    errors: int
    error_rate: float | None
    #: items with a disagreement score whose resolved or pre-label classes include the class
    disagreement_items: int
    disagreement: float | None
    #: items pre-labelled with the class with a confidence
    uncertainty_items: int
    uncertainty: float | None
    priority: float
    ranks: Mapping[str, int] = field(default_factory=dict)


def confusion_of(
    items: Iterable[ItemEvidence], model: str = "", version: str = ""
) -> PrelabelConfusion:
    """The pre-label / resolved confusion of the resolved, pre-labelled items
    (:func:`services.metrics.prelabels.compare` per item)."""
    confusion = PrelabelConfusion(model, version)
    for item in items:
        if item.resolved is None:
            continue
        for c in compare(item.prelabels, item.resolved):
            confusion.add(c.prelabel, c.resolved, item.item_id)
    return confusion


def _mean(values: list[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def ranked_classes(
    items: Iterable[ItemEvidence],
    confusion: PrelabelConfusion | None = None,
    *,
    min_count: int = MIN_CLASS_ITEMS,
    n_values: int | None = None,
    weights: Weights | None = None,
    k: int = RRF_K,
    limit: int | None = None,
) -> list[ClassPriority]:
    """Every class's components and fused priority, highest first, then by class id. The
    error rate is the ``confusion``'s (e.g. the model version's over the whole project), or,
    without one, that of the items given (:func:`confusion_of`)."""
    if min_count < 1:
        raise ValueError("min_count is 1 or more")
    evidence = _unique(items)
    if confusion is None:
        confusion = confusion_of(evidence)
    disagreements: dict[str, list[float]] = {}
    uncertainties: dict[str, list[float]] = {}
    for item in evidence:
        score = disagreement(item.judgments, n_values)
        prelabelled = {c for c, _ in item.prelabels}
        for class_id in prelabelled | set(item.resolved or ()):
            values = disagreements.setdefault(class_id, [])
            if score is not None:
                values.append(score)
        doubt = uncertainty(item.prelabels)
        for class_id in prelabelled:
            values = uncertainties.setdefault(class_id, [])
            if doubt is not None:
                values.append(doubt)
    totals = {p: sum(row.values()) for p, row in confusion.counts.items()}
    errors = {p: totals[p] - row.get(p, 0) for p, row in confusion.counts.items()}
    classes = sorted({p for p, n in totals.items() if n > 0} | set(disagreements))
    components: dict[str, dict[str, float | None]] = {c: {} for c in COMPONENTS}
    for class_id in classes:
        n = totals.get(class_id, 0)
        components["prelabel_error"][class_id] = errors[class_id] / n if n >= min_count else None
        components["disagreement"][class_id] = _mean(disagreements.get(class_id, []))
        components["uncertainty"][class_id] = _mean(uncertainties.get(class_id, []))
    priority = fuse(components, weights, k)
    ranks = {c: competition_ranks(components[c]) for c in COMPONENTS}
    out = [
        ClassPriority(
            class_id,
            totals.get(class_id, 0),
            errors.get(class_id, 0),
            components["prelabel_error"][class_id],
            len(disagreements.get(class_id, [])),
            components["disagreement"][class_id],
            len(uncertainties.get(class_id, [])),
            components["uncertainty"][class_id],
            priority[class_id],
            {c: ranks[c][class_id] for c in COMPONENTS if class_id in ranks[c]},
        )
        for class_id in classes
    ]
    out.sort(key=lambda p: (-p.priority, p.class_id))
    return _limited(out, limit)


# --- recommendations -----------------------------------------------------------------------


def _reason_item(p: ItemPriority) -> str:
    parts = []
    if p.disagreement:
        parts.append(
            f"judges disagree (normalised entropy {p.disagreement:.2f} of {p.judgments} judgments)"
        )
    if p.prelabel_error:
        parts.append(f"the pre-label was wrong on {100 * p.prelabel_error:.0f} % of its classes")
    if p.uncertainty:
        parts.append(f"the model was uncertain (1 - margin {p.uncertainty:.2f})")
    return "; ".join(parts) + f" (reciprocal rank fusion, priority {p.priority:.3f})"


def _reason_class(p: ClassPriority) -> str:
    parts = []
    if p.error_rate:
        parts.append(
            f"pre-labels of the class are wrong {100 * p.error_rate:.1f} % of the time "
            f"({p.errors} of {p.n} items)"
        )
    if p.disagreement:
        parts.append(
            f"judges disagree on its items (mean normalised entropy {p.disagreement:.2f} over "
            f"{p.disagreement_items} items)"
        )
    if p.uncertainty:
        parts.append(
            f"the model is uncertain on it (mean 1 - margin {p.uncertainty:.2f} over "
            f"{p.uncertainty_items} items)"
        )
    return "; ".join(parts) + f" (reciprocal rank fusion, priority {p.priority:.3f})"


def recommendations(
    ranked: Sequence[ItemPriority] | Sequence[ClassPriority], top: int = DEFAULT_TOP
) -> list[Recommendation]:
    """The ``top`` (at most the alert's limit, 1,000) candidates with a positive priority as
    ``item`` or ``class`` recommendations: score = priority, reason = the components in
    words; by priority, then id."""
    if not 0 <= top <= MAX_RECOMMENDATIONS:
        raise ValueError(f"top is from 0 to {MAX_RECOMMENDATIONS}")
    out: list[tuple[float, str, Recommendation]] = []
    for p in ranked:
        if p.priority <= 0:
            continue
        if isinstance(p, ItemPriority):
            target, kind, reason = p.item_id, "item", _reason_item(p)
        else:
            target, kind, reason = p.class_id, "class", _reason_class(p)
        recommendation = Recommendation(
            target=target,
            target_kind=kind,
            score=p.priority,
            reason=cut(reason, REASON_MAX),
        )
        out.append((p.priority, target, recommendation))
    out.sort(key=lambda x: (-x[0], x[1]))
    return [r for _, _, r in out[:top]]
