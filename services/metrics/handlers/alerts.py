"""The alert lane and the active-learning priorities (docs/metrics.md "The service: alerts,
drift and priorities").

* Every pre-label kept, outcome kept and judgment taken marks its project changed
  (``stores.alerts``, after the use case that keeps it wrote it).
* A background loop looks, every ``interval`` seconds, for the projects changed since their
  last evaluation, and evaluates each once it has been quiet for ``quiet`` seconds (or changed
  for ``max_wait``), from its stored items: pre-label systematic errors per model version,
  drift of the resolved labels and of the pre-label confidences (the first block of
  ``window_items`` resolved items against the last complete block), and low agreement on
  ``class`` and ``verdict``. Each alert is stored with its event (the outbox) once per alert
  id, and only when its subject (the class of a model version, what drifted, the field) was
  not alerting at the previous evaluation already (one alert per episode); a project that fails is logged and the loop goes on with the next (it stays changed,
  so the next pass tries it again).
* The priorities are computed on read from the same stored items.

The evaluation itself (:func:`evaluate_project`) is free of I/O and runs in a thread.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.metrics.agreement import Level, Tally, krippendorff_alpha
from services.metrics.alerts import (
    AGREEMENT_THRESHOLD,
    Window,
    agreement_alert,
    drift_alert,
    prelabel_alerts,
    psi_contributions,
)
from services.metrics.drift import (
    ConfidenceWindow,
    DriftPolicy,
    LabelCounts,
    confidence_drift,
    label_drift,
)
from services.metrics.errors import NotFound
from services.metrics.fields import scale_of
from services.metrics.handlers.prelabels import LEFT_OUT
from services.metrics.prelabels import NO_CLASS, PrelabelConfusion, compare, systematic_errors
from services.metrics.priorities import (
    ClassPriority,
    ItemEvidence,
    ItemPriority,
    disagreement,
    ranked_classes,
    ranked_items,
)
from services.metrics.project_agreement import ALL, Entry, chosen
from services.metrics.stores.alerts import AlertStore, Changed, ProjectItem, StoredAlert
from services.metrics.stores.judged_items import JudgedItemStore
from shared.contracts.media import MediaRegisteredV1
from shared.contracts.metrics import METRICS_ALERT, AlertKind, MetricsAlertV1
from shared.contracts.work import ItemResolvedV1, JudgmentSubmittedV1
from shared.events.envelope import Event, make_event
from shared.logging import get_logger

log = get_logger(__name__)

#: Resolved items per drift window (the baseline is the first block, the current the last).
WINDOW_ITEMS = 200
#: The fields whose agreement the lane watches.
AGREEMENT_FIELDS = ("class", "verdict")
#: Kinds a client may read: not ``expert_accuracy`` (it names an expert).
CLIENT_KINDS = tuple(k.value for k in AlertKind if k is not AlertKind.expert_accuracy)


# --- the evaluation, free of I/O -------------------------------------------------------------


def _counted(items: Iterable[ProjectItem]) -> list[ProjectItem]:
    """The resolved items that say something about classes (not ``reject`` / ``infeasible``),
    in resolution order (then id)."""
    kept = [i for i in items if i.resolution is not None and i.resolution.verdict not in LEFT_OUT]
    kept.sort(key=lambda i: (i.resolution.resolved_at, i.item_id))  # type: ignore[union-attr]
    return kept


def blocks(items: Sequence[ProjectItem], size: int) -> tuple[list[ProjectItem], list[ProjectItem]]:
    """The first block of ``size`` items and the last complete one (after it); two empty lists
    with fewer than two blocks."""
    complete = len(items) // size
    if complete < 2:
        return [], []
    return list(items[:size]), list(items[(complete - 1) * size : complete * size])


def _span(items: Sequence[ProjectItem]) -> Window:
    times = [i.resolution.resolved_at for i in items if i.resolution is not None]
    return Window(min(times), max(times))


def _labels(items: Sequence[ProjectItem]) -> LabelCounts:
    counts = LabelCounts()
    for item in items:
        assert item.resolution is not None
        for class_id in sorted(set(item.resolution.classes)) or [NO_CLASS]:
            counts.add(class_id)
    return counts


def _confidences(items: Sequence[ProjectItem]) -> ConfidenceWindow:
    window = ConfidenceWindow()
    for item in items:
        assert item.prelabels is not None
        best: dict[str, float] = {}
        for class_id, confidence in item.prelabels.labels:
            if confidence is not None:
                best[class_id] = max(confidence, best.get(class_id, 0.0))
        for _, confidence in sorted(best.items()):
            window.add(confidence)
    return window


def _by_model(items: Sequence[ProjectItem]) -> dict[tuple[str, str], list[ProjectItem]]:
    models: dict[tuple[str, str], list[ProjectItem]] = {}
    for item in items:
        if item.prelabels is not None:
            models.setdefault((item.prelabels.model, item.prelabels.version), []).append(item)
    return dict(sorted(models.items()))


def prelabel_findings(
    tenant: str, project_id: str, counted: Sequence[ProjectItem], at: datetime
) -> list[MetricsAlertV1]:
    """One alert per class each model version gets systematically wrong."""
    out = []
    for (model, version), items in _by_model(counted).items():
        confusion = PrelabelConfusion(model, version)
        for item in items:  # oldest first: each error cell keeps the most recent examples
            assert item.prelabels is not None and item.resolution is not None
            for c in compare(item.prelabels.labels, item.resolution.classes):
                confusion.add(c.prelabel, c.resolved, item.item_id)
        out += prelabel_alerts(tenant, project_id, version, systematic_errors(confusion), at)
    return out


def drift_policy(window_items: int) -> DriftPolicy:
    """The default drift policy, its minimum of observations per window at most a window's
    items (each item counts once at least), so that a smaller window can still alert."""
    default = DriftPolicy()
    return replace(default, min_count=min(default.min_count, window_items))


def drift_findings(
    tenant: str,
    project_id: str,
    counted: Sequence[ProjectItem],
    at: datetime,
    *,
    window_items: int = WINDOW_ITEMS,
    policy: DriftPolicy | None = None,
) -> list[MetricsAlertV1]:
    """Drift of the resolved labels (the project's items) and of the pre-label confidences
    (per model version, scope ``<model> <version>``): first block against last block."""
    out = []
    baseline, current = blocks(counted, window_items)
    if baseline:
        b, c = _labels(baseline), _labels(current)
        found = drift_alert(
            tenant,
            project_id,
            "labels",
            label_drift(b, c, policy),
            _span(baseline),
            _span(current),
            at,
            contributions=psi_contributions(b, c),
        )
        if found is not None:
            out.append(found)
    for (model, version), items in _by_model(counted).items():
        baseline, current = blocks(items, window_items)
        if not baseline:
            continue
        found = drift_alert(
            tenant,
            project_id,
            "confidences",
            confidence_drift(_confidences(baseline), _confidences(current), policy),
            _span(baseline),
            _span(current),
            at,
            scope=f"{model} {version}",
        )
        if found is not None:
            out.append(found)
    return out


def _latest(entries: Sequence[Entry]) -> dict[str, Entry]:
    """Per expert, their latest judgment of the item (every rubric version)."""
    return chosen(entries, ALL)


def agreement_findings(
    tenant: str,
    project_id: str,
    judged: Sequence[tuple[str, Sequence[Entry]]],
    at: datetime,
    *,
    fields: Sequence[str] = AGREEMENT_FIELDS,
) -> list[MetricsAlertV1]:
    """An alert per field whose Krippendorff's alpha (nominal) has its 95 % interval's upper
    end below 0.667, recommending the most disagreed items."""
    out = []
    latest = [(item_id, _latest(entries)) for item_id, entries in sorted(judged)]
    for name in fields:
        scale = scale_of(name)
        tally = Tally(scale)
        scores = []
        for item_id, experts in latest:
            ratings = {
                e: entry.fields[name]
                for e, entry in sorted(experts.items())
                if entry.fields.get(name) is not None
            }
            if not ratings or not all(scale.admits(v) for v in ratings.values()):
                continue
            tally.replace({}, ratings)
            n_values = len(scale.values) if scale.values is not None else None
            score = disagreement(list(ratings.values()), n_values)
            if score is not None:
                scores.append((item_id, score))
        estimate = krippendorff_alpha(tally, Level.nominal)
        found = agreement_alert(tenant, project_id, name, estimate, AGREEMENT_THRESHOLD, scores, at)
        if found is not None:
            out.append(found)
    return out


def evaluate_project(
    tenant: str,
    project_id: str,
    items: Sequence[ProjectItem],
    judged: Sequence[tuple[str, Sequence[Entry]]],
    at: datetime,
    *,
    window_items: int = WINDOW_ITEMS,
    policy: DriftPolicy | None = None,
) -> list[MetricsAlertV1]:
    """Every alert the project's stored items raise now (pre-labels, drift, agreement)."""
    counted = _counted(items)
    return [
        *prelabel_findings(tenant, project_id, counted, at),
        *drift_findings(tenant, project_id, counted, at, window_items=window_items, policy=policy),
        *agreement_findings(tenant, project_id, judged, at),
    ]


def subject_of(alert: MetricsAlertV1) -> str:
    """What the alert is about, whatever the counts: the kind and the class of a model
    version, what drifted and its scope, or the field (an episode's key)."""
    e = alert.evidence
    parts: dict[AlertKind, tuple[str, ...]] = {
        AlertKind.prelabel_error: ("model", "version", "axis", "class_id"),
        AlertKind.drift: ("what", "scope"),
        AlertKind.agreement: ("field", "figure"),
        AlertKind.expert_accuracy: ("expert_id", "scope"),
    }
    return json.dumps([alert.kind.value, *(e.get(k) for k in parts[alert.kind])])


def judgment_label(entry: Entry) -> Hashable | None:
    """What a judgment says about the item's class: its single class, else the tuple of its
    classes (a multi-label judgment), else None."""
    single = entry.fields.get("class")
    if single is not None:
        return single
    several = tuple(sorted(k[len("class.") :] for k in entry.fields if k.startswith("class.")))
    return several or None


def item_evidence(
    items: Sequence[ProjectItem], judged: Sequence[tuple[str, Sequence[Entry]]]
) -> list[ItemEvidence]:
    """Each item's judgments' classes, pre-labels and resolved classes; items resolved
    ``reject`` or ``infeasible`` are left out."""
    labels: dict[str, list[Hashable]] = {}
    for item_id, entries in judged:
        for _, entry in sorted(_latest(entries).items()):
            label = judgment_label(entry)
            if label is not None:
                labels.setdefault(item_id, []).append(label)
    known: dict[str, ProjectItem] = {i.item_id: i for i in items}
    out = []
    for item_id in sorted(set(known) | {i for i, _ in judged}):
        item = known.get(item_id)
        resolution = None if item is None else item.resolution
        if resolution is not None and resolution.verdict in LEFT_OUT:
            continue
        out.append(
            ItemEvidence(
                item_id,
                tuple(labels.get(item_id, ())),
                () if item is None or item.prelabels is None else item.prelabels.labels,
                None if resolution is None else resolution.classes,
            )
        )
    return out


@dataclass(frozen=True)
class Priorities:
    project_id: str
    items: list[ItemPriority]
    classes: list[ClassPriority]


def priorities_of(
    project_id: str,
    items: Sequence[ProjectItem],
    judged: Sequence[tuple[str, Sequence[Entry]]],
    limit: int,
) -> Priorities:
    evidence = item_evidence(items, judged)
    return Priorities(
        project_id,
        ranked_items(evidence, limit=limit),
        ranked_classes(evidence, limit=limit),
    )


# --- the use case ----------------------------------------------------------------------------


class AlertLane:
    def __init__(
        self,
        store: AlertStore,
        judged: JudgedItemStore,
        *,
        source: str,
        interval_seconds: float = 60.0,
        quiet_seconds: float = 0.0,
        max_wait_seconds: float | None = None,
        window_items: int = WINDOW_ITEMS,
        policy: DriftPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.judged = judged
        self.source = source
        self.interval = interval_seconds
        self.quiet = timedelta(seconds=quiet_seconds)
        self.max_wait = None if max_wait_seconds is None else timedelta(seconds=max_wait_seconds)
        self.window_items = window_items
        self.policy = policy or drift_policy(window_items)
        #: a replica holds a project it evaluates this long (another takes it over after)
        self.hold = timedelta(seconds=2 * interval_seconds + 30)
        self.clock = clock

    # -- changes ------------------------------------------------------------------------

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        m = event.data
        if m.prelabels is not None and m.prelabels.labels:
            await self.store.changed(m.tenant, m.project_id, self.clock())

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        await self.store.changed(event.data.tenant, event.data.project_id, self.clock())

    async def on_project_judgment(self, event: Event[JudgmentSubmittedV1]) -> None:
        await self.store.changed(event.data.tenant, event.data.project_id, self.clock())

    async def on_project_judgments(self, events: Sequence[Event[JudgmentSubmittedV1]]) -> None:
        """A run at once: each project marked once."""
        for tenant, project_id in sorted({(e.data.tenant, e.data.project_id) for e in events}):
            await self.store.changed(tenant, project_id, self.clock())

    # -- the lane -----------------------------------------------------------------------

    async def alert_loop(self) -> None:
        """Every ``interval`` seconds, evaluate each changed project."""
        while True:
            await self.evaluate_all()
            await asyncio.sleep(self.interval)

    async def evaluate_all(self) -> int:
        """One pass over the changed projects no other replica holds; the number evaluated.
        A project that fails is logged (and stays changed) and the others go on."""
        try:
            changed = await self.store.dirty(self.clock(), quiet=self.quiet, wait=self.max_wait)
        except Exception:
            log.exception("alerts: cannot list the changed projects")
            return 0
        done = 0
        for project in changed:
            try:
                done += await self._evaluate_claimed(project)
            except Exception:
                log.exception(
                    "alerts: project failed", tenant=project.tenant, project_id=project.project_id
                )
        return done

    async def _evaluate_claimed(self, project: Changed) -> bool:
        tenant, project_id = project.tenant, project.project_id
        changes = await self.store.claim(tenant, project_id, self.clock(), self.hold)
        if changes is None:
            return False  # evaluated meanwhile, or another replica holds it
        try:
            await self.evaluate(tenant, project_id)
        except BaseException:
            await self.store.release(tenant, project_id)
            raise
        await self.store.evaluated(tenant, project_id, changes, self.clock())
        return True

    async def evaluate(self, tenant: str, project_id: str) -> list[str]:
        """Evaluate the project from its stored items now; the ids of the alerts published:
        not those published before, nor those whose subject was alerting at the previous
        evaluation (its episode goes on)."""
        opened = await self.store.open_alerts(tenant, project_id)
        items = await self.store.project_items(tenant, project_id)
        judged = [i async for i in self.judged.items_of_project(tenant, project_id)]
        at = self.clock()
        found = await asyncio.to_thread(
            evaluate_project,
            tenant,
            project_id,
            items,
            judged,
            at,
            window_items=self.window_items,
            policy=self.policy,
        )
        published, still = [], {}
        for alert in found:
            subject = subject_of(alert)
            if subject in opened:
                still[subject] = opened[subject]
                continue
            still[subject] = alert.alert_id
            if await self.store.is_published(tenant, alert.alert_id):
                continue
            event = make_event(METRICS_ALERT, alert, source=self.source, tenant=tenant)
            if await self.store.publish(alert, event):
                log.info("metrics alert", alert_id=alert.alert_id, kind=alert.kind.value)
                published.append(alert.alert_id)
        await self.store.keep_open(tenant, project_id, still)
        return published

    # -- reads ----------------------------------------------------------------------------

    async def alerts(
        self,
        tenant: str,
        project_id: str,
        *,
        staff: bool,
        kind: AlertKind | None,
        since: datetime | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[StoredAlert]:
        """The project's alerts, newest first; for clients (``staff`` false) without expert
        alerts and without expert recommendations. NotFound when the tenant's project has
        neither an alert nor data."""
        kinds: list[str] | None = None if kind is None else [kind.value]
        if not staff:
            kinds = [k for k in (kinds or CLIENT_KINDS) if k in CLIENT_KINDS]
        found = await self.store.of_project(
            tenant, project_id, kinds=kinds, since=since, after=after, limit=limit
        )
        if (
            not found
            and after is None
            and not await self.store.has_project(tenant, project_id)
            and not await self.judged.has_project(tenant, project_id)
        ):
            raise NotFound(f"project {project_id}")
        return found if staff else [_for_clients(a) for a in found]

    async def priorities(self, tenant: str, project_id: str, *, limit: int) -> Priorities:
        """The project's ranked items and classes, computed from its stored items. NotFound
        when the tenant's project has none."""
        items = await self.store.project_items(tenant, project_id)
        judged = [i async for i in self.judged.items_of_project(tenant, project_id)]
        if not items and not judged:
            raise NotFound(f"project {project_id}")
        return await asyncio.to_thread(priorities_of, project_id, items, judged, limit)


def _names_no_expert(evidence: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in evidence.items() if k != "expert_id"}


def _for_clients(alert: StoredAlert) -> StoredAlert:
    """The alert without anything naming an expert."""
    return StoredAlert(
        alert.alert_id,
        alert.project_id,
        alert.kind,
        alert.severity,
        alert.summary,
        _names_no_expert(alert.evidence),
        [r for r in alert.recommendations if r.get("target_kind") != "expert"],
        alert.raised_at,
    )
