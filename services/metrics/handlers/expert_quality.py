"""Experts' quality in a project (docs/metrics.md "Expert quality"): accuracy on gold with its
drift, agreement with the resolved outcome, and the Dawid-Skene batch estimate.

* ``gold.scored``: per (tenant, project, expert) the gold counts and the drift detector, fed
  once per gold judgment (``stores.expert_quality``), in arrival order; a detected drop is an
  ``expert_accuracy`` alert, stored with its event once per alert id (``stores.alerts``, the
  alerts route lists it) before the aggregate is written.
* ``judgment.submitted`` (review judgments) and ``item.resolved``: kept per item in any
  order; each judgment of a resolved item counts on read, beside the latest outcome.
* A background loop recomputes each project's Dawid-Skene estimate from the ``class`` field
  of the judged items every ``interval`` seconds, warm-started from the stored one.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any

from services.metrics.alerts import expert_alert
from services.metrics.dawid_skene import DawidSkeneResult, dawid_skene, expert_summary
from services.metrics.errors import NotFound
from services.metrics.fields import classes
from services.metrics.figures import Proportion, proportion
from services.metrics.project_agreement import ALL, chosen
from services.metrics.quality import TREND_WEEKS, AccuracyShift, week_start, weekly_accuracy
from services.metrics.stores.alerts import AlertStore
from services.metrics.stores.expert_quality import (
    ExpertGold,
    ExpertQualityStore,
    GoldJudgment,
    Pair,
)
from services.metrics.stores.judged_items import JudgedItemStore
from shared.contracts.metrics import METRICS_ALERT
from shared.contracts.work import GoldScoredV1, ItemResolvedV1, JudgmentSubmittedV1, WorkKind
from shared.events.envelope import Event, make_event
from shared.logging import get_logger

log = get_logger(__name__)

#: The expert's own view holds whole batches of this many judgments.
VIEW_BATCH = 5


def is_correct(gold: GoldScoredV1) -> bool:
    """A gold judgment is correct when every scored field is right (no field: a score of 1)."""
    return all(gold.fields.values()) if gold.fields else gold.score >= 1


def day_start(now: datetime) -> datetime:
    """The start of ``now``'s UTC day."""
    return datetime.combine(now.astimezone(UTC).date(), time(), tzinfo=UTC)


def whole_batches(outcomes: Sequence[bool], batch: int = VIEW_BATCH) -> Proportion:
    """The share of true among the first whole batches of ``outcomes``; none below one batch."""
    shown = len(outcomes) - len(outcomes) % batch
    if shown == 0:
        return Proportion(0, 0, None, None, f"fewer than {batch}")
    return proportion(sum(outcomes[:shown]), shown)


@dataclass(frozen=True)
class OutcomeAgreement:
    """An expert's review judgments against the resolved outcome: the verdict, and the single
    class where the outcome has one."""

    verdict: Proportion
    class_: Proportion


@dataclass(frozen=True)
class ExpertFigures:
    expert_id: str
    gold: ExpertGold | None
    outcome: OutcomeAgreement
    dawid_skene: dict[str, Any] | None
    #: gold accuracy per ISO week of the last :data:`TREND_WEEKS`, oldest first
    trend: list[tuple[datetime, Proportion]] = field(default_factory=list)


@dataclass(frozen=True)
class ProjectExperts:
    project_id: str
    experts: list[ExpertFigures]
    dawid_skene: dict[str, Any] | None


@dataclass(frozen=True)
class MyQuality:
    project_id: str
    as_of: datetime
    gold_accuracy: Proportion
    verdict: Proportion
    class_: Proportion


def _agreement(pairs: Sequence[Pair]) -> OutcomeAgreement:
    verdicts = [p for p in pairs if p.resolved_verdict is not None and p.verdict is not None]
    classed = [p for p in pairs if p.resolved_class is not None]
    return OutcomeAgreement(
        proportion(sum(p.verdict == p.resolved_verdict for p in verdicts), len(verdicts)),
        proportion(sum(p.class_id == p.resolved_class for p in classed), len(classed)),
    )


def _single(class_ids: set[str]) -> str | None:
    return next(iter(class_ids)) if len(class_ids) == 1 else None


class ExpertQuality:
    def __init__(
        self,
        store: ExpertQualityStore,
        judged: JudgedItemStore,
        alerts: AlertStore,
        *,
        source: str,
        dawid_skene_interval_seconds: float = 600.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.judged = judged
        self.alerts = alerts
        self.source = source
        self.interval = dawid_skene_interval_seconds
        #: now (tests move it to see tomorrow's view)
        self.clock = clock

    # -- gold ---------------------------------------------------------------------------

    async def on_gold_scored(self, event: Event[GoldScoredV1]) -> None:
        """Feed the gold judgment once to the expert's counts and detector; a detected drop
        is an ``expert_accuracy`` alert, stored (listed by the alerts route) and published
        once per alert id before the counts are written: a crash in between finds the same
        alert again on redelivery, which is stored already."""
        g = event.data
        if await self.store.gold_fed(g.tenant, g.judgment_id):
            return  # a replay, under any event id
        judgment = GoldJudgment(g.judgment_id, is_correct(g), dict(g.fields), g.scored_at)
        while True:
            gold = await self.store.expert_gold(g.tenant, g.project_id, g.expert_id)
            if g.judgment_id in gold.applied:
                break  # taken before a crash: its own document is what is missing
            shift = self._feed(gold, judgment)
            alert = None if shift is None else self._alert(gold, shift, g.scored_at)
            if alert is not None:
                published = make_event(
                    METRICS_ALERT,
                    alert,
                    source=self.source,
                    tenant=g.tenant,
                    traceparent=event.traceparent,
                )
                if await self.alerts.publish(alert, published):
                    log.info("expert accuracy alert", alert_id=alert.alert_id)
            if await self.store.store_gold(gold, g.judgment_id):
                break
        await self.store.record_gold(gold, judgment, self.clock())

    @staticmethod
    def _feed(gold: ExpertGold, judgment: GoldJudgment) -> AccuracyShift | None:
        gold.total += 1
        gold.correct += judgment.correct
        for name, right in judgment.fields.items():
            c, t = gold.fields.get(name, (0, 0))
            gold.fields[name] = (c + right, t + 1)
        return gold.drift.add(judgment.correct)

    def _alert(self, gold: ExpertGold, shift: AccuracyShift, at: datetime) -> Any:
        if shift.n < gold.drift.min_count:
            return None  # too few outcomes: not counted by the detector
        alert = expert_alert(gold.tenant, gold.project_id, gold.expert_id, shift, at)
        gold.last_shift = {
            "index": shift.index,
            "n": shift.n,
            "before": _stored(shift.before),
            "after": _stored(shift.after),
            "direction": shift.direction,
            "alert": shift.alert,
            "alert_id": None if alert is None else alert.alert_id,
            "at": at,
        }
        return alert

    # -- agreement with the outcome ------------------------------------------------------

    def _kept(self, j: JudgmentSubmittedV1) -> dict[str, Any]:
        return {
            "judgment_id": j.judgment_id,
            "expert_id": j.expert_id,
            "verdict": None if j.verdict is None else j.verdict.value,
            "class": _single(classes(j)),
            "submitted_at": j.submitted_at,
            "applied_at": self.clock(),
        }

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        """Keep a review judgment's verdict and single class beside its item (once)."""
        j = event.data
        if j.kind is WorkKind.review:
            await self.store.judged(j.tenant, j.project_id, j.item_id, self._kept(j))

    async def on_judgments_submitted(self, events: Sequence[Event[JudgmentSubmittedV1]]) -> None:
        """A run at once (one bulk write), as :meth:`on_judgment_submitted` each."""
        await self.store.judged_many(
            [
                (e.data.tenant, e.data.project_id, e.data.item_id, self._kept(e.data))
                for e in events
                if e.data.kind is WorkKind.review
            ]
        )

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        """Keep the item's outcome when its revision is the highest seen."""
        r = event.data
        await self.store.resolved(
            r.tenant,
            r.project_id,
            r.item_id,
            {
                "revision": r.revision,
                "verdict": None if r.verdict is None else r.verdict.value,
                "class": _single({label.class_id for label in r.final_labels}),
                "resolved_at": r.resolved_at,
                "applied_at": self.clock(),
            },
        )

    # -- reads ---------------------------------------------------------------------------

    async def project(self, tenant: str, project_id: str) -> ProjectExperts:
        """Every expert of the project with gold, judgments of resolved items or a
        Dawid-Skene estimate. NotFound when the tenant's project has none of these."""
        golds = {g.expert_id: g for g in await self.store.golds_of_project(tenant, project_id)}
        since = week_start(self.clock()) - timedelta(weeks=TREND_WEEKS - 1)
        history = await self.store.gold_history(tenant, project_id, since=since)
        pairs: dict[str, list[Pair]] = {}
        async for pair in self.store.pairs(tenant, project_id=project_id):
            pairs.setdefault(pair.expert_id, []).append(pair)
        estimate = await self.store.summary(tenant, project_id)
        estimated = {s["expert_id"]: s for s in (estimate or {}).get("summary", [])}
        experts = sorted({*golds, *pairs, *estimated})
        if not experts and not await self.store.has_outcomes(tenant, project_id):
            raise NotFound(f"project {project_id}")
        return ProjectExperts(
            project_id,
            [
                ExpertFigures(
                    e,
                    golds.get(e),
                    _agreement(pairs.get(e, [])),
                    estimated.get(e),
                    weekly_accuracy(history.get(e, [])),
                )
                for e in experts
            ],
            None
            if estimate is None
            else {
                "computed_at": estimate["computed_at"],
                "converged": estimate.get("converged"),
                "reason": estimate.get("reason"),
            },
        )

    async def mine(self, tenant: str, expert_id: str, project_id: str) -> MyQuality:
        """The expert's own view: what was scored, judged and resolved, and applied, before
        the start of the current UTC day, in whole batches of :data:`VIEW_BATCH` (in
        ``scored_at`` order for gold, in the order pairs became known for the outcome)."""
        cutoff = day_start(self.clock())
        outcomes = await self.store.gold_outcomes(tenant, project_id, expert_id, before=cutoff)
        known = [
            p
            async for p in self.store.pairs(tenant, project_id=project_id, expert_id=expert_id)
            if p.known_at < cutoff
        ]
        known.sort(key=lambda p: (p.known_at, p.judgment_id))
        verdicts = [
            p.verdict == p.resolved_verdict
            for p in known
            if p.resolved_verdict is not None and p.verdict is not None
        ]
        classed = [p.class_id == p.resolved_class for p in known if p.resolved_class is not None]
        if not outcomes and not known and not await self._known(tenant, project_id):
            raise NotFound(f"project {project_id}")
        return MyQuality(
            project_id,
            cutoff,
            whole_batches(outcomes),
            whole_batches(verdicts),
            whole_batches(classed),
        )

    async def _known(self, tenant: str, project_id: str) -> bool:
        """Whether the tenant's project has a judgment or a gold score here."""
        return await self.store.has_outcomes(tenant, project_id) or bool(
            await self.store.golds_of_project(tenant, project_id)
        )

    # -- Dawid-Skene ---------------------------------------------------------------------

    async def dawid_skene_loop(self) -> None:
        """Every ``interval`` seconds, recompute each project whose judgments changed since
        its stored estimate; a project that fails is logged and the others go on."""
        while True:
            await self.recompute_all()
            await asyncio.sleep(self.interval)

    async def recompute_all(self) -> int:
        """One pass; the number of projects recomputed."""
        done = 0
        try:
            projects = await self.judged.projects_taken()
        except Exception:
            log.exception("dawid-skene: cannot list the projects")
            return 0
        for tenant, project_id, taken in projects:
            try:
                done += await self.recompute(tenant, project_id, taken)
            except Exception:
                log.exception("dawid-skene: project failed", tenant=tenant, project_id=project_id)
        return done

    async def recompute(self, tenant: str, project_id: str, taken: int) -> bool:
        """Recompute the project's estimate from the ``class`` of each expert's latest judgment
        of each item, warm-started from the stored one; False when nothing changed since."""
        seen = await self.store.summary(tenant, project_id)
        if seen is not None and seen.get("taken") == taken:
            return False
        triples = []
        async for item_id, entries in self.judged.items_of_project(tenant, project_id):
            for expert_id, entry in sorted(chosen(entries, ALL).items()):
                label = entry.fields.get("class")
                if label is not None:
                    triples.append((item_id, expert_id, str(label)))
        warm = None
        held = None if seen is None else await self.store.estimate(tenant, project_id)
        if held is not None and held.get("result") is not None:
            warm = DawidSkeneResult.from_document(held["result"])
        result = await asyncio.to_thread(dawid_skene, triples, warm_start=warm)
        summary = [
            {
                "expert_id": s.expert_id,
                "accuracy": s.accuracy if math.isfinite(s.accuracy) else None,
                "judgments": s.judgments,
            }
            for s in expert_summary(result)
        ]
        await self.store.store_estimate(
            tenant, project_id, result.to_document(), summary, taken, self.clock()
        )
        return True


def _stored(p: Proportion) -> dict[str, Any]:
    return {"successes": p.successes, "n": p.n}
