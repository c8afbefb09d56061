"""``quorum.metrics.alert.v1`` payloads built from the findings of the metrics modules, free of
I/O: pre-label systematic errors, label and confidence drift, an expert's accuracy drop, low
agreement on a field.

Every builder returns a validated :class:`~shared.contracts.metrics.MetricsAlertV1` (or
``None`` when the finding is no alert). Text composed into a bounded field (the summary, a
recommendation's reason) is cut to that field's limit, read from the contract itself
(:func:`shared.contracts.spec.max_length`), so an alert never fails validation because a class
id or a model name is long.

**Severity.** Drift takes the verdict's level (:mod:`services.metrics.drift`). The others
grade a *gap* in shares (0 to 1) with :func:`severity_of_gap`: ``minor`` below
``GAP_THRESHOLDS[0]`` (0.10, ten percentage points), ``major`` from it, ``critical`` from
``GAP_THRESHOLDS[1]`` (0.25), the gap rounded to 9 decimals. The gap is the class's error rate
minus the other classes' (pre-labels), the expert's accuracy before minus after (expert), the
threshold minus the upper end of alpha's interval (agreement).

**Alert id.** ``<kind>-<sha256 hex>``: SHA-256 of the canonical JSON list ``[tenant, project,
kind, subject..., identity...]``, where the subject names what the alert is about (model and
version and class; ``labels`` or ``confidences`` and a scope; expert and scope; field and
figure) and the identity is what makes this detection this one (the counts the test used; the
four window bounds; the shift's position in the expert's stream; the estimate's n, value and
interval). A replayed detection therefore publishes the same id and consumers dedupe on it;
``raised_at`` is not part of it. The id is 80 characters or fewer, within the ``Id`` pattern.

Details (evidence, recommendations, when each fires): docs/metrics.md, "Alerts and
active-learning priorities".
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.metrics.agreement.figures import Estimate
from services.metrics.drift import PSI_EPSILON, DriftVerdict, LabelCounts
from services.metrics.figures import Proportion
from services.metrics.prelabels import ClassErrors, SystematicErrors
from services.metrics.quality import AccuracyShift
from shared.contracts.metrics import AlertKind, MetricsAlertV1, Recommendation
from shared.contracts.spec import max_length
from shared.contracts.vocabulary import Severity

#: Limits of the alert's bounded fields, from the contract.
ALERT_ID_MAX = max_length(MetricsAlertV1, "alert_id")
SUMMARY_MAX = max_length(MetricsAlertV1, "summary")
RECOMMENDATIONS_MAX = max_length(MetricsAlertV1, "recommendations")
REASON_MAX = max_length(Recommendation, "reason")

#: A gap of shares from which the severity is major, then critical (below: minor).
GAP_THRESHOLDS = (0.10, 0.25)
#: Agreement: the conventional lowest acceptable Krippendorff's alpha (Krippendorff 2004,
#: "tentative conclusions" from 0.667; 0.8 for reliable ones).
AGREEMENT_THRESHOLD = 0.667
#: Agreement: pairable items the estimate needs before it can alert.
AGREEMENT_MIN_ITEMS = 30
#: Agreement: the most disagreed items recommended.
AGREEMENT_MAX_ITEMS = 50
#: Drift: classes recommended at most, and the share of PSI a class must carry to be.
DRIFT_MAX_CLASSES = 10
DRIFT_MIN_SHARE = 0.05
#: Drift: per-class contributions kept in the evidence.
DRIFT_EVIDENCE_CLASSES = 20

DriftWhat = Literal["labels", "confidences"]


# --- shared helpers ------------------------------------------------------------------------


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, an ellipsis marking a cut."""
    if limit < 1:
        raise ValueError("the limit is 1 or more")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_id(
    tenant: str, project_id: str, kind: AlertKind, subject: Sequence[str], identity: Sequence[str]
) -> str:
    """The deterministic id of a detection (see the module's docstring)."""
    canonical = json.dumps(
        [tenant, project_id, kind.value, *subject, "|", *identity],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return cut(f"{kind.value}-{digest}", ALERT_ID_MAX)


def severity_of_gap(gap: float) -> Severity:
    """``minor`` below 0.10, ``major`` from 0.10, ``critical`` from 0.25 (for an alert: a gap
    is never ``none``). The gap is compared rounded to 9 decimals, so that a difference of
    shares landing on a threshold (0.9 - 0.8) is not a rounding error below it."""
    gap = round(gap, 9)
    if gap >= GAP_THRESHOLDS[1]:
        return Severity.critical
    if gap >= GAP_THRESHOLDS[0]:
        return Severity.major
    return Severity.minor


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _clamp(value: float) -> float:
    return min(max(value, 0.0), 1.0) if math.isfinite(value) else 0.0


def _num(value: float | None, spec: str = ".3g") -> str:
    return "undefined" if value is None else format(value, spec)


def _percent(value: float | None) -> str:
    return "undefined" if value is None else f"{100 * value:.1f} %"


def _rate(p: Proportion) -> dict[str, Any]:
    return {
        "value": _finite(p.value),
        "successes": p.successes,
        "n": p.n,
        "ci": None if p.ci is None else [_finite(p.ci.low), _finite(p.ci.high)],
    }


def _recommendation(target: str, kind: str, score: float, reason: str) -> Recommendation:
    return Recommendation(
        target=target, target_kind=kind, score=_clamp(score), reason=cut(reason, REASON_MAX)
    )


def _alert(
    tenant: str,
    project_id: str,
    kind: AlertKind,
    subject: Sequence[str],
    identity: Sequence[str],
    severity: Severity,
    summary: str,
    evidence: dict[str, Any],
    recommendations: Sequence[Recommendation],
    at: datetime,
) -> MetricsAlertV1:
    return MetricsAlertV1(
        alert_id=alert_id(tenant, project_id, kind, subject, identity),
        project_id=project_id,
        tenant=tenant,
        kind=kind,
        severity=severity,
        summary=cut(summary, SUMMARY_MAX),
        evidence=evidence,
        recommendations=list(recommendations[:RECOMMENDATIONS_MAX]),
        raised_at=at,
    )


# --- pre-label systematic errors -----------------------------------------------------------


def class_excess(c: ClassErrors) -> float:
    """How much worse the class is, in [0, 1]: its error rate's excess over the other classes'
    as a share of the room above theirs, ``(rate - others) / (1 - others)``: 0 when it is no
    worse, 1 when every pre-label of the class is wrong."""
    rate, others = c.rate.value, c.others_rate.value
    if rate is None or others is None or others >= 1:
        return 0.0
    return _clamp((rate - others) / (1 - others))


def prelabel_alerts(
    tenant: str,
    project_id: str,
    model_version: str,
    systematic: SystematicErrors,
    at: datetime,
) -> list[MetricsAlertV1]:
    """One ``prelabel_error`` alert per class :func:`~services.metrics.prelabels.systematic_errors`
    flagged, in class order. ``model_version`` is the version the caller evaluated; it must be
    ``systematic``'s. Severity from the excess ``rate - others_rate``; a ``class``
    recommendation scored :func:`class_excess`."""
    if model_version != systematic.version:
        raise ValueError(
            f"the findings are of version {systematic.version!r}, not {model_version!r}"
        )
    out = []
    for c in systematic.alerts:
        rate, others = c.rate.value or 0.0, c.others_rate.value or 0.0
        excess = rate - others
        wrong = "resolved otherwise" if systematic.axis == "prelabel" else "pre-labelled otherwise"
        summary = (
            f"Model {systematic.model} {model_version}: {_percent(rate)} of the items of class "
            f"{c.label} are {wrong} ({c.errors} of {c.n}), against {_percent(others)} for the "
            f"other classes (Benjamini-Hochberg q = {_num(c.q_value)}, {systematic.test} test)"
        )
        evidence = {
            "model": systematic.model,
            "version": model_version,
            "axis": systematic.axis,
            "class_id": c.label,
            "n": c.n,
            "errors": c.errors,
            "rate": _rate(c.rate),
            "others_rate": _rate(c.others_rate),
            "overall_rate": _rate(systematic.overall),
            "excess": _finite(excess),
            "test": systematic.test,
            "p_value": _finite(c.p_value),
            "q_value": _finite(c.q_value),
            "alpha": systematic.alpha,
            "min_count": systematic.min_count,
            "tested": systematic.tested,
            "examples": list(c.examples),
        }
        recommendation = _recommendation(
            c.label,
            "class",
            class_excess(c),
            f"pre-labels of this class are wrong {_percent(rate)} of the time against "
            f"{_percent(others)} for the other classes of model {systematic.model} "
            f"{model_version}",
        )
        out.append(
            _alert(
                tenant,
                project_id,
                AlertKind.prelabel_error,
                (systematic.model, model_version, systematic.axis, c.label),
                (str(c.n), str(c.errors), str(systematic.n)),
                severity_of_gap(excess),
                summary,
                evidence,
                [recommendation],
                at,
            )
        )
    return out


# --- drift ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The bounds of a window of observations."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class ClassContribution:
    """One label's term of the PSI between two windows, ``(c - b) ln(c / b)`` on shares (an
    empty share given :data:`~services.metrics.drift.PSI_EPSILON`, as PSI does)."""

    class_id: str
    baseline_share: float
    current_share: float
    psi_term: float


def psi_contributions(baseline: LabelCounts, current: LabelCounts) -> list[ClassContribution]:
    """Every label's contribution to :func:`services.metrics.drift.psi` of the two windows
    (they sum to it), largest first, then by label; empty when a window is empty."""
    nb, nc = baseline.n, current.n
    if nb == 0 or nc == 0:
        return []
    out = []
    for label in sorted(set(baseline.counts) | set(current.counts)):
        b = baseline.counts.get(label, 0) / nb
        c = current.counts.get(label, 0) / nc
        pb, pc = max(b, PSI_EPSILON), max(c, PSI_EPSILON)
        out.append(ClassContribution(label, b, c, (pc - pb) * math.log(pc / pb)))
    out.sort(key=lambda x: (-x.psi_term, x.class_id))
    return out


def drift_alert(
    tenant: str,
    project_id: str,
    what: DriftWhat,
    verdict: DriftVerdict,
    baseline: Window,
    current: Window,
    at: datetime,
    *,
    contributions: Sequence[ClassContribution] = (),
    scope: str | None = None,
) -> MetricsAlertV1 | None:
    """A ``drift`` alert of the resolved ``labels`` or the pre-label ``confidences``, or
    ``None`` when the verdict is no alert (no verdict, or ``none``). Severity: the verdict's.
    ``contributions`` (labels only, from :func:`psi_contributions`) give ``class``
    recommendations: the labels carrying at least 5 % of the PSI, at most 10, scored by their
    share of it. ``scope`` (e.g. a model version) qualifies the subject."""
    if what not in ("labels", "confidences"):
        raise ValueError("what is labels or confidences")
    if contributions and what != "labels":
        raise ValueError("per-class contributions are of label drift")
    if not verdict.alert or verdict.severity is None:
        return None
    total = math.fsum(max(c.psi_term, 0.0) for c in contributions)
    ranked = sorted(contributions, key=lambda c: (-c.psi_term, c.class_id))
    recommendations: list[Recommendation] = []
    for c in ranked:
        share = c.psi_term / total if total > 0 else 0.0
        if len(recommendations) == DRIFT_MAX_CLASSES or share < DRIFT_MIN_SHARE:
            break
        direction = "rose" if c.current_share > c.baseline_share else "fell"
        recommendations.append(
            _recommendation(
                c.class_id,
                "class",
                share,
                f"its share of resolved labels {direction} from {_percent(c.baseline_share)} "
                f"to {_percent(c.current_share)}: {_percent(share)} of the drift (PSI)",
            )
        )
    test = verdict.test
    evidence: dict[str, Any] = {
        "what": what,
        "scope": scope,
        "baseline": {
            "start": baseline.start.isoformat(),
            "end": baseline.end.isoformat(),
            "n": test.n_baseline,
        },
        "current": {
            "start": current.start.isoformat(),
            "end": current.end.isoformat(),
            "n": test.n_current,
        },
        "psi": _finite(verdict.psi.value),
        "js": _finite(verdict.js.value),
        "test": {
            "name": test.test,
            "statistic": _finite(test.statistic),
            "p_value": _finite(test.p_value),
            "dof": test.dof,
            "exact": test.exact,
        },
        "contributions": [
            {
                "class_id": c.class_id,
                "baseline_share": _finite(c.baseline_share),
                "current_share": _finite(c.current_share),
                "psi_term": _finite(c.psi_term),
            }
            for c in ranked[:DRIFT_EVIDENCE_CLASSES]
        ],
    }
    subject = "resolved labels" if what == "labels" else "pre-label confidences"
    summary = (
        f"The {subject}{f' of {scope}' if scope else ''} drifted between "
        f"{baseline.start.isoformat()}..{baseline.end.isoformat()} ({test.n_baseline}) and "
        f"{current.start.isoformat()}..{current.end.isoformat()} ({test.n_current}): "
        f"PSI {_num(verdict.psi.value, '.3f')}, Jensen-Shannon {_num(verdict.js.value, '.3f')}, "
        f"{test.test} p = {_num(test.p_value)}"
    )
    bounds = (baseline.start, baseline.end, current.start, current.end)
    return _alert(
        tenant,
        project_id,
        AlertKind.drift,
        (what, scope or ""),
        tuple(b.isoformat() for b in bounds),
        Severity(verdict.severity),
        summary,
        evidence,
        recommendations,
        at,
    )


# --- expert accuracy -----------------------------------------------------------------------


def expert_alert(
    tenant: str,
    project_id: str,
    expert_id: str,
    shift: AccuracyShift,
    at: datetime,
    *,
    scope: str | None = None,
) -> MetricsAlertV1 | None:
    """An ``expert_accuracy`` alert when ``shift.alert`` (a drop on enough gold), else
    ``None``. Severity from the drop ``before - after``; one ``expert`` recommendation (for ops)
    scored by the share of accuracy lost, ``drop / before``. ``scope`` (a skill, a project)
    names the detector when an expert has several."""
    if not shift.alert:
        return None
    before, after = shift.before.value or 0.0, shift.after.value or 0.0
    drop = before - after
    lost = drop / before if before > 0 else 0.0
    where = f" ({scope})" if scope else ""
    summary = (
        f"Expert {expert_id}{where}: accuracy on gold fell from {_percent(before)} "
        f"({shift.before.successes:g} of {shift.before.n}) to {_percent(after)} "
        f"({shift.after.successes:g} of {shift.after.n}) at gold judgment {shift.index}"
    )
    evidence = {
        "expert_id": expert_id,
        "scope": scope,
        "index": shift.index,
        "n": shift.n,
        "before": _rate(shift.before),
        "after": _rate(shift.after),
        "drop": _finite(drop),
        "detector": "ADWIN",
    }
    recommendation = _recommendation(
        expert_id,
        "expert",
        lost,
        f"accuracy on gold{where} fell from {_percent(before)} to {_percent(after)}: "
        "review their recent judgments and their training",
    )
    return _alert(
        tenant,
        project_id,
        AlertKind.expert_accuracy,
        (expert_id, scope or ""),
        (str(shift.index),),
        severity_of_gap(drop),
        summary,
        evidence,
        [recommendation],
        at,
    )


# --- agreement -----------------------------------------------------------------------------


def agreement_alert(
    tenant: str,
    project_id: str,
    field: str,
    estimate: Estimate,
    threshold: float,
    items: Sequence[tuple[str, float]],
    at: datetime,
    *,
    min_items: int = AGREEMENT_MIN_ITEMS,
    figure: str = "krippendorff_alpha",
) -> MetricsAlertV1 | None:
    """An ``agreement`` alert when the **upper** end of the estimate's 95 % interval is below
    ``threshold`` (even the most favourable plausible agreement is too low) on at least
    ``min_items`` items; else ``None`` (also without an interval). Severity from
    ``threshold - upper``. ``items`` are ``(item id, disagreement score in [0, 1])``: the
    (at most 50) most disagreed ones with a positive score, by score then id, become ``item``
    recommendations scored by their disagreement (assignment raises their priority and gives
    them one more review unit)."""
    if not math.isfinite(threshold) or min_items < 1:
        raise ValueError("the threshold is finite and min_items 1 or more")
    scores: dict[str, float] = {}
    for item_id, score in items:
        if not (math.isfinite(score) and 0 <= score <= 1):
            raise ValueError(f"the disagreement of {item_id!r} is not from 0 to 1")
        scores[item_id] = max(score, scores.get(item_id, 0.0))
    if estimate.ci is None or estimate.value is None or estimate.n < min_items:
        return None
    low, high = estimate.ci
    if not high < threshold:
        return None
    chosen = sorted(((s, i) for i, s in scores.items() if s > 0), key=lambda x: (-x[0], x[1]))
    recommendations = [
        _recommendation(
            item_id,
            "item",
            score,
            f"judges disagree on {field}: normalised entropy {score:.2f}; agreement on the "
            f"field is below {threshold:g}",
        )
        for score, item_id in chosen[:AGREEMENT_MAX_ITEMS]
    ]
    summary = (
        f"Agreement on {field} is below {threshold:g}: {figure} {estimate.value:.3f} "
        f"(95 % interval {low:.3f} to {high:.3f}, {estimate.n} items)"
    )
    evidence = {
        "field": field,
        "figure": figure,
        "value": _finite(estimate.value),
        "n": estimate.n,
        "ci": [_finite(low), _finite(high)],
        "threshold": threshold,
        "min_items": min_items,
        "gap": _finite(threshold - high),
        "items": [{"item_id": i, "disagreement": s} for s, i in chosen[:AGREEMENT_MAX_ITEMS]],
    }
    return _alert(
        tenant,
        project_id,
        AlertKind.agreement,
        (field, figure),
        (str(estimate.n), repr(estimate.value), repr(low), repr(high)),
        severity_of_gap(threshold - high),
        summary,
        evidence,
        recommendations,
        at,
    )
