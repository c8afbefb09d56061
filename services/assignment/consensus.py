"""Assignment's consensus policy, free of I/O: how alike the judgments of one item are, and
whether they settle it by consensus or send it to an adjudicator.

Each label type has its own measure, a figure in [0, 1] and a pass rule:

* the verdict and the set of class labels (labels without geometry or segment): a qualified
  majority (:func:`class_majority`);
* each rating dimension: the spread of the points given (:func:`rating_spread`);
* geometry labels (boxes, polygons, masks): IoU after optimal one-to-one matching
  (:func:`region_agreement`);
* time segments: onset and offset within tolerances after optimal matching
  (:func:`segment_agreement`).

The measures themselves (IoU, temporal IoU, COCO RLE masks, optimal matching of labels) are
the shared ones of :mod:`shared.annotation`, which metrics uses too.

:func:`decide` applies them all with a :class:`ConsensusPolicy` and names every reason an
item goes to adjudication. Judgments are referred to by their index in the sequence given.
Measured quantities (IoU, seconds) are compared with their thresholds to
:data:`shared.annotation.EPSILON`; shares of judgments are compared exactly.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Generic, Literal, TypeVar

from shared.annotation.matching import identity, label_kind, match_labels
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import MAX_FINAL_LABELS, Resolution, Verdict

#: Severity levels from the least to the most severe.
SEVERITY_ORDER = (Severity.none, Severity.minor, Severity.major, Severity.critical)

H = TypeVar("H", bound=Hashable)


# --- agreement per label type -------------------------------------------------------------


@dataclass(frozen=True)
class Majority(Generic[H]):
    """A qualified-majority vote."""

    #: the share of the judgments giving the most frequent value
    agreement: float
    passed: bool
    #: the winning value when passed (None then means "none given" won), else None
    value: H | None


def class_majority(values: Sequence[H | None], *, quorum: float) -> Majority[H]:
    """The most frequent value wins when its share of all values (``None``, "not given",
    included) is at least ``quorum`` and no other value is as frequent: ties never pass."""
    if not values:
        raise ValueError("no values to vote on")
    ranked = Counter(values).most_common(2)
    top, count = ranked[0]
    tied = len(ranked) > 1 and ranked[1][1] == count
    share = count / len(values)
    passed = not tied and share >= quorum
    return Majority(share, passed, top if passed else None)


@dataclass(frozen=True)
class Spread:
    """The spread of one rating dimension's points."""

    #: 1 - spread / (scale_max - scale_min), clamped to [0, 1]
    agreement: float
    passed: bool
    #: the median of the points when passed (the midpoint of the two middle points for an
    #: even count), else None
    value: float | None
    #: max - min of the points
    spread: int


def rating_spread(
    points: Sequence[int], *, max_spread: int, scale_min: int, scale_max: int
) -> Spread:
    """Passes when the points span at most ``max_spread`` points; the consensus is their
    median: on an ordinal scale the middle point, and for an even count the midpoint of the
    two middle points (3 and 4 give 3.5: the judges split between them; the lower median
    would report the harsher judge as the consensus). On a one-point scale the agreement is
    1 when all points are equal, else 0."""
    if not points:
        raise ValueError("no points to compare")
    if scale_max < scale_min:
        raise ValueError(f"scale {scale_min}..{scale_max} is empty")
    spread = max(points) - min(points)
    width = scale_max - scale_min
    if width == 0:
        agreement = 1.0 if spread == 0 else 0.0
    else:
        agreement = min(1.0, max(0.0, 1.0 - spread / width))
    passed = spread <= max_spread
    return Spread(agreement, passed, float(statistics.median(points)) if passed else None, spread)


@dataclass(frozen=True)
class LabelAgreement:
    """Agreement over one kind of labels."""

    agreement: float
    passed: bool
    #: the consensus labels when passed, else None
    labels: tuple[Label, ...] | None
    #: the judgment whose labels the consensus takes (regions and segments: the reference
    #: judgment, given even when not passed; classes: the first with the winning set)
    source: int | None
    #: labels no qualified majority settles (regions and segments)
    unsettled: int = 0


def class_labels_agreement(
    labels_per_judge: Sequence[Sequence[Label]], *, quorum: float
) -> LabelAgreement:
    """Class labels (without geometry or segment) by :func:`class_majority` over each
    judgment's whole set of them (class, part and text, with multiplicity): the winning set
    is the consensus, as labelled by the first judgment giving it. Attributes and confidence
    are not compared."""
    values = [
        frozenset(Counter(identity(label) for label in labels).items())
        for labels in labels_per_judge
    ]
    vote = class_majority(values, quorum=quorum)
    if not vote.passed:
        return LabelAgreement(vote.agreement, False, None, None)
    source = values.index(vote.value)  # type: ignore[arg-type]
    return LabelAgreement(vote.agreement, True, tuple(labels_per_judge[source]), source)


def _settled(support: int, judgments: int, quorum: float) -> bool | None:
    """True when a qualified majority has the label, False when one lacks it, else None."""
    against = judgments - support
    if support > against and support / judgments >= quorum:
        return True
    if against > support and against / judgments >= quorum:
        return False
    return None


def _located_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    quorum: float,
    pair: Callable[[Sequence[Label], Sequence[Label]], list[tuple[int, int, float]]],
) -> LabelAgreement:
    judges = len(labels_per_judge)
    if judges == 0:
        raise ValueError("no judgments to compare")
    partners: dict[tuple[int, int], dict[int, int]] = {}
    figures: dict[tuple[int, int], Fraction] = {}
    for i in range(judges):
        for j in range(i + 1, judges):
            pairs = pair(labels_per_judge[i], labels_per_judge[j])
            partners[i, j] = {a: b for a, b, _ in pairs}
            partners[j, i] = {b: a for a, b, _ in pairs}
            total = len(labels_per_judge[i]) + len(labels_per_judge[j])
            figures[i, j] = figures[j, i] = (
                Fraction(2 * len(pairs), total) if total else Fraction(1)
            )
    if judges == 1:
        reference, agreement = 0, 1.0
    else:
        standing = [sum(figures[i, j] for j in range(judges) if j != i) for i in range(judges)]
        reference = max(range(judges), key=lambda i: (standing[i], -i))
        agreement = float(sum(standing) / (judges * (judges - 1)))
    kept: list[Label] = []
    unsettled = 0
    for index, label in enumerate(labels_per_judge[reference]):
        support = 1 + sum(
            1 for j in range(judges) if j != reference and index in partners[reference, j]
        )
        settled = _settled(support, judges, quorum)
        if settled:
            kept.append(label)
        elif settled is None:
            unsettled += 1
    for j in range(judges):
        if j == reference:
            continue
        for index in range(len(labels_per_judge[j])):
            if index in partners[j, reference]:
                continue
            support = 1 + sum(
                1 for o in range(judges) if o not in (j, reference) and index in partners[j, o]
            )
            if _settled(support, judges, quorum) is not False:
                unsettled += 1
    passed = unsettled == 0
    return LabelAgreement(agreement, passed, tuple(kept) if passed else None, reference, unsettled)


def region_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    *,
    iou_threshold: float,
    quorum: float,
    onset_tolerance_s: float = 0.0,
    offset_tolerance_s: float = 0.0,
) -> LabelAgreement:
    """Agreement of geometry labels (labels without geometry are left out).

    Every two judgments are matched with :func:`match_labels`; the pair's agreement is
    ``2 * matches / (n_a + n_b)``, 1 when both have none, and the figure is the mean over
    all pairs (1 for a single judgment). The reference judgment has the highest mean
    agreement with the others (ties: the lowest index). A label's support is the number of
    judgments whose matching pairs it with the label, its own judgment included.

    The consensus is the reference's labels that a qualified majority supports: support /
    judgments >= ``quorum``, and more than half. It passes when every label is settled: each
    label of the reference is supported or lacked by a qualified majority, and each label of
    another judgment that is not matched to the reference's is lacked by one (one a
    majority has, but not the reference, is unsettled).
    """
    regions = [
        [label for label in labels if label.geometry is not None] for labels in labels_per_judge
    ]

    def pair(a: Sequence[Label], b: Sequence[Label]) -> list[tuple[int, int, float]]:
        return match_labels(
            a,
            b,
            iou_threshold=iou_threshold,
            onset_tolerance_s=onset_tolerance_s,
            offset_tolerance_s=offset_tolerance_s,
        )

    return _located_agreement(regions, quorum, pair)


def segment_agreement(
    labels_per_judge: Sequence[Sequence[Label]],
    *,
    onset_tolerance_s: float,
    offset_tolerance_s: float,
    quorum: float,
) -> LabelAgreement:
    """Agreement of time-segment labels without geometry (others are left out), as
    :func:`region_agreement` with segments matched by
    :func:`~shared.annotation.temporal.segments_match` within the onset and offset tolerances
    (the closer pair by temporal IoU when there is a choice)."""
    segments = [
        [label for label in labels if label_kind(label) == "segments"]
        for labels in labels_per_judge
    ]

    def pair(a: Sequence[Label], b: Sequence[Label]) -> list[tuple[int, int, float]]:
        return match_labels(
            a,
            b,
            iou_threshold=1.0,
            onset_tolerance_s=onset_tolerance_s,
            offset_tolerance_s=offset_tolerance_s,
        )

    return _located_agreement(segments, quorum, pair)


def severity_consensus(values: Sequence[Severity | None], *, quorum: float) -> Severity | None:
    """The most severe level that a qualified majority of the judgments reports or exceeds
    (share >= ``quorum`` and more than half); a judgment without a severity counts as
    ``none``. None when no judgment gives a severity."""
    if all(value is None for value in values):
        return None
    ranks = [SEVERITY_ORDER.index(value or Severity.none) for value in values]
    for rank in range(len(SEVERITY_ORDER) - 1, 0, -1):
        if _settled(sum(r >= rank for r in ranks), len(ranks), quorum):
            return SEVERITY_ORDER[rank]
    return Severity.none


def flag_consensus(flags_per_judge: Sequence[Sequence[str]], *, quorum: float) -> tuple[str, ...]:
    """The flags a qualified majority of the judgments raised (share >= ``quorum`` and more
    than half), sorted."""
    counts = Counter(flag for flags in flags_per_judge for flag in set(flags))
    return tuple(sorted(f for f, n in counts.items() if _settled(n, len(flags_per_judge), quorum)))


# --- the decision -------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsensusPolicy:
    """When an item's judgments settle it by consensus."""

    #: share of the judgments a verdict, class set, label or rated dimension needs
    quorum: float = 2 / 3
    #: rating dimension -> largest spread (max - min) still in agreement
    max_spread: Mapping[str, int] = dataclasses.field(default_factory=dict)
    default_max_spread: int = 1
    #: rating dimension -> (scale_min, scale_max)
    scales: Mapping[str, tuple[int, int]] = dataclasses.field(default_factory=dict)
    default_scale: tuple[int, int] = (1, 5)
    iou_threshold: float = 0.5
    onset_tolerance_s: float = 0.5
    offset_tolerance_s: float = 0.5
    #: flags that send an item to adjudication whenever a judgment gives one
    escalate_flags: frozenset[str] = frozenset()
    #: a judgment reporting this severity or a more severe one sends the item to adjudication
    escalate_severity: Severity | None = None
    #: share of items drawn for adjudication anyway
    audit_rate: float = 0.0

    def __post_init__(self) -> None:
        problems = [
            name
            for name, ok in (
                ("quorum", 0.0 <= self.quorum <= 1.0),
                ("iou_threshold", 0.0 <= self.iou_threshold <= 1.0),
                ("audit_rate", 0.0 <= self.audit_rate <= 1.0),
                ("onset_tolerance_s", self.onset_tolerance_s >= 0),
                ("offset_tolerance_s", self.offset_tolerance_s >= 0),
                ("default_max_spread", self.default_max_spread >= 0),
                ("max_spread", all(v >= 0 for v in self.max_spread.values())),
                ("default_scale", self.default_scale[0] <= self.default_scale[1]),
                ("scales", all(lo <= hi for lo, hi in self.scales.values())),
            )
            if not ok
        ]
        if problems:
            raise ValueError(f"out of range: {', '.join(problems)}")


@dataclass(frozen=True)
class Reason:
    """Why an item goes to adjudication."""

    code: Literal["disagreement", "flag", "severity", "audit", "too_many_labels"]
    #: what it is about: ``verdict``, ``labels.<kind>``, ``ratings.<dim>``, ``flags.<flag>``,
    #: ``severity`` or ``audit``
    field: str
    message: str


@dataclass(frozen=True)
class Decision:
    """How an item's judgments settle it.

    When escalated, the values are those of the label types that reached consensus (the
    others are None, empty or left out): a proposal, not a resolution.
    """

    #: ``consensus``, ``single`` (one judgment), or ``adjudication`` when escalated
    method: Resolution
    reasons: tuple[Reason, ...]
    verdict: Verdict | None
    #: class labels, then geometry labels, then segment labels, each as their source gave them
    labels: tuple[Label, ...]
    #: the judgment each label is taken from
    label_sources: tuple[int, ...]
    ratings: Mapping[str, float]
    #: dimension -> max - min of the points given
    spreads: Mapping[str, int]
    severity: Severity | None
    #: the flags a qualified majority raised (a single judgment: its own)
    flags: tuple[str, ...]
    #: the lowest of ``figures``; None when nothing was compared (a single judgment)
    agreement: float | None
    #: ``verdict``, ``labels.<kind>``, ``ratings.<dim>`` -> agreement in [0, 1]
    figures: Mapping[str, float]

    @property
    def escalated(self) -> bool:
        return self.method is Resolution.adjudication


def _who(indices: Sequence[int]) -> str:
    return ("judgment " if len(indices) == 1 else "judgments ") + ", ".join(map(str, indices))


def _escalations(
    answers: Sequence[Answers], policy: ConsensusPolicy, audit_draw: float
) -> list[Reason]:
    reasons = []
    for flag in sorted(policy.escalate_flags):
        given = [i for i, a in enumerate(answers) if flag in a.flags]
        if given:
            reasons.append(
                Reason("flag", f"flags.{flag}", f"flag {flag!r} escalates; given by {_who(given)}")
            )
    if policy.escalate_severity is not None:
        limit = SEVERITY_ORDER.index(policy.escalate_severity)
        severe = [
            i
            for i, a in enumerate(answers)
            if a.severity is not None and SEVERITY_ORDER.index(a.severity) >= limit
        ]
        if severe:
            reasons.append(
                Reason(
                    "severity",
                    "severity",
                    f"severity {policy.escalate_severity} or above escalates; "
                    f"reported by {_who(severe)}",
                )
            )
    if audit_draw < policy.audit_rate:
        reasons.append(
            Reason(
                "audit", "audit", f"drawn for audit: {audit_draw:.4f} < rate {policy.audit_rate}"
            )
        )
    return reasons


def _majority_message(what: str, vote: Majority[Any], judgments: int, quorum: float) -> str:
    count = round(vote.agreement * judgments)
    return (
        f"no qualified majority for the {what}: the most frequent has {count} of {judgments} "
        f"({vote.agreement:.2f}); a qualified majority has at least {quorum:.2f} and no tie"
    )


def decide(answers: Sequence[Answers], *, policy: ConsensusPolicy, audit_draw: float) -> Decision:
    """Whether the judgments settle the item by consensus, and on what.

    The item is escalated (``Resolution.adjudication``) when any label type present fails
    its rule, a judgment gives a flag of ``policy.escalate_flags`` or a severity at or above
    ``policy.escalate_severity``, or ``audit_draw`` (in [0, 1), drawn by the caller) is below
    ``policy.audit_rate``; every such reason is named. A label type is present when some
    judgment gives it (a verdict, a label of the kind, a rating of the dimension).

    A rating dimension is first put to a :func:`class_majority` of rated against not rated:
    rated by a qualified majority, its points are compared by :func:`rating_spread`; left
    unrated by one, it is left out. Severity never fails: it is
    :func:`severity_consensus`. A single judgment resolves as ``Resolution.single`` with its
    own answers unless it is escalated by a flag, its severity or the audit.
    """
    if not answers:
        raise ValueError("no judgments to decide on")
    if not 0.0 <= audit_draw < 1.0:
        raise ValueError(f"audit_draw {audit_draw} is not in [0, 1)")
    escalations = _escalations(answers, policy, audit_draw)
    if len(answers) == 1:
        only = answers[0]
        return Decision(
            method=Resolution.adjudication if escalations else Resolution.single,
            reasons=tuple(escalations),
            verdict=only.verdict,
            labels=tuple(only.labels),
            label_sources=(0,) * len(only.labels),
            ratings={k: float(v) for k, v in only.ratings.items()},
            spreads={k: 0 for k in only.ratings},
            severity=only.severity,
            flags=tuple(only.flags),
            agreement=None,
            figures={},
        )
    judgments, quorum = len(answers), policy.quorum
    figures: dict[str, float] = {}
    reasons: list[Reason] = []

    verdict: Verdict | None = None
    if any(a.verdict is not None for a in answers):
        vote = class_majority([a.verdict for a in answers], quorum=quorum)
        figures["verdict"] = vote.agreement
        verdict = vote.value
        if not vote.passed:
            reasons.append(
                Reason(
                    "disagreement", "verdict", _majority_message("verdict", vote, judgments, quorum)
                )
            )

    labels: list[Label] = []
    sources: list[int] = []
    for kind in ("classes", "regions", "segments"):
        per_judge = [[label for label in a.labels if label_kind(label) == kind] for a in answers]
        if not any(per_judge):
            continue
        if kind == "classes":
            result = class_labels_agreement(per_judge, quorum=quorum)
            problem = "no qualified majority for the set of class labels"
        elif kind == "regions":
            result = region_agreement(
                per_judge,
                iou_threshold=policy.iou_threshold,
                quorum=quorum,
                onset_tolerance_s=policy.onset_tolerance_s,
                offset_tolerance_s=policy.offset_tolerance_s,
            )
            problem = (
                f"{result.unsettled} geometry label(s) not settled by a qualified majority "
                f"(quorum {quorum:.2f}, IoU >= {policy.iou_threshold:.2f})"
            )
        else:
            result = segment_agreement(
                per_judge,
                onset_tolerance_s=policy.onset_tolerance_s,
                offset_tolerance_s=policy.offset_tolerance_s,
                quorum=quorum,
            )
            problem = (
                f"{result.unsettled} segment label(s) not settled by a qualified majority "
                f"(quorum {quorum:.2f}, onset within {policy.onset_tolerance_s}s, "
                f"offset within {policy.offset_tolerance_s}s)"
            )
        figures[f"labels.{kind}"] = result.agreement
        if result.passed and result.labels is not None and result.source is not None:
            labels.extend(result.labels)
            sources.extend([result.source] * len(result.labels))
        else:
            reasons.append(
                Reason(
                    "disagreement", f"labels.{kind}", f"{problem}; agreement {result.agreement:.2f}"
                )
            )

    ratings: dict[str, float] = {}
    spreads: dict[str, int] = {}
    for dimension in sorted({d for a in answers for d in a.ratings}):
        at = f"ratings.{dimension}"
        rated = class_majority(
            [dimension if dimension in a.ratings else None for a in answers], quorum=quorum
        )
        if not rated.passed:
            figures[at] = rated.agreement
            reasons.append(
                Reason(
                    "disagreement", at, _majority_message("rating or not", rated, judgments, quorum)
                )
            )
            continue
        if rated.value is None:
            figures[at] = rated.agreement
            continue
        scale_min, scale_max = policy.scales.get(dimension, policy.default_scale)
        limit = policy.max_spread.get(dimension, policy.default_max_spread)
        spread = rating_spread(
            [a.ratings[dimension] for a in answers if dimension in a.ratings],
            max_spread=limit,
            scale_min=scale_min,
            scale_max=scale_max,
        )
        figures[at] = spread.agreement
        spreads[dimension] = spread.spread
        if spread.value is not None:
            ratings[dimension] = spread.value
        else:
            reasons.append(
                Reason("disagreement", at, f"spread {spread.spread} is over the limit {limit}")
            )

    if len(labels) > MAX_FINAL_LABELS:
        reasons.append(
            Reason(
                "too_many_labels",
                "labels",
                f"the consensus holds {len(labels)} labels, more than an outcome carries "
                f"({MAX_FINAL_LABELS})",
            )
        )
    all_reasons = (*reasons, *escalations)
    return Decision(
        method=Resolution.adjudication if all_reasons else Resolution.consensus,
        reasons=all_reasons,
        verdict=verdict,
        labels=tuple(labels),
        label_sources=tuple(sources),
        ratings=ratings,
        spreads=spreads,
        severity=severity_consensus([a.severity for a in answers], quorum=quorum),
        flags=flag_consensus([a.flags for a in answers], quorum=quorum),
        agreement=min(figures.values()) if figures else None,
        figures=figures,
    )
