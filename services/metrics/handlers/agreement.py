"""Agreement per project and field, kept by increments (docs/metrics.md "State and scale").

1. ``judgment.submitted`` (keyed by item, any replica): each judgment other than an
   adjudication goes again onto ``quorum.metrics.projects`` under the same event id, keyed by
   its tenant and project (:meth:`Agreement.on_judgment_submitted`).
2. ``metrics.project_judgment`` (keyed by project): the replica that owns the partition applies
   the judgment to the item's entries (``stores.judged_items``, once per judgment) and the
   item's change to the project's tallies in memory (:class:`ProjectAgreement`), built from
   the stored items when the replica first meets the project and dropped when its partitions
   move (:meth:`Agreement.forget`).
3. A snapshot loop stores the changed tallies (``stores.tallies``) at most every
   ``snapshot_seconds`` per project and announces ``metrics.updated``; every replica reads the
   snapshots and computes the figures, cached per snapshot.

Rolling windows are computed on read from the items judged since the window's start.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from services.metrics.agreement import Tally, figures
from services.metrics.errors import NotFound
from services.metrics.fields import is_presence, scale_of
from services.metrics.project_agreement import (
    ALL,
    LATEST,
    Entry,
    ProjectAgreement,
    Translate,
    translated_fields,
)
from services.metrics.stores.judged_items import JudgedItemStore
from services.metrics.stores.tallies import Fenced, TallyStore
from shared.contracts.metrics import METRICS_UPDATED, PROJECT_JUDGMENT, MetricsUpdatedV1
from shared.contracts.taxonomy import VersionPublishedV1
from shared.contracts.work import JudgmentSubmittedV1, WorkKind
from shared.events.codec import encode
from shared.events.envelope import Event, make_event
from shared.kafka.producer import KafkaBus
from shared.logging import get_logger
from shared.taxonomy.cache import TaxonomyCache

log = get_logger(__name__)

Key = tuple[str, str]

# Prometheus: no label names a project, tenant or expert (bounded cardinality)
APPLIED = Counter(
    "quorum_metrics_judgments_applied_total",
    "Judgments taken into a project's agreement tallies, by outcome",
    ["outcome"],
)
OWNED = Gauge("quorum_metrics_projects_owned", "Projects whose tallies this replica holds")
SNAPSHOT_SECONDS = Histogram(
    "quorum_metrics_snapshot_seconds", "Time to store one project's changed tallies"
)
REBUILD_SECONDS = Histogram(
    "quorum_metrics_rebuild_seconds",
    "Time to build a project's tallies from its stored items on taking it over",
    buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)

#: the rolling windows a read may ask for
WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24), "7d": timedelta(days=7)}
#: figures kept computed (per tally snapshot)
CACHED_FIGURES = 4_096


@dataclass
class Owned:
    """A project this replica owns: its tallies in memory and its epoch."""

    state: ProjectAgreement
    epoch: int
    #: a full snapshot is due (just built)
    full: bool = True


@dataclass(frozen=True)
class FieldFigures:
    """The figures of each field of a selection, and the per-pair matrices."""

    fields: dict[str, dict[str, Any]] = field(default_factory=dict)

    def figures(self) -> dict[str, dict[str, Any]]:
        """Every figure of each field, without the per-pair matrix (it names experts)."""
        out = {}
        for name, found in sorted(self.fields.items()):
            out[name] = {k: v for k, v in found.items() if k != "cohen_kappa"}
        return out

    def pairs(self) -> dict[str, list[dict[str, Any]]]:
        return {name: found["cohen_kappa"]["pairs"] for name, found in sorted(self.fields.items())}


class Agreement:
    def __init__(
        self,
        items: JudgedItemStore,
        tallies: TallyStore,
        bus: KafkaBus,
        taxonomy: TaxonomyCache,
        *,
        source: str,
        snapshot_seconds: float = 0.2,
    ) -> None:
        self.items = items
        self.tallies = tallies
        self.bus = bus
        self.taxonomy = taxonomy
        #: one judgment or rebuild of a project at a time (a rebuild may come from the tail)
        self._locks: dict[Key, asyncio.Lock] = {}
        self.source = source
        self.snapshot_seconds = snapshot_seconds
        self._owned: dict[Key, Owned] = {}
        self._dirty: set[Key] = set()
        self._wake = asyncio.Event()
        self._cache: OrderedDict[tuple[tuple[str, int], ...], dict[str, Any]] = OrderedDict()

    # -- 1. re-keying --------------------------------------------------------------------

    def _rekeyed(self, event: Event[JudgmentSubmittedV1]) -> Event[JudgmentSubmittedV1]:
        return make_event(
            PROJECT_JUDGMENT,
            event.data,
            source=self.source,
            tenant=event.data.tenant,
            traceparent=event.traceparent,
            event_id=event.id,
        )

    async def on_judgment_submitted(self, event: Event[JudgmentSubmittedV1]) -> None:
        """Adjudication judgments are left out: an adjudicator decides between the others
        rather than judging independently."""
        if event.data.kind is not WorkKind.adjudication:
            await self.bus.publish(self._rekeyed(event))

    async def on_judgments_submitted(
        self, events: Sequence[Event[JudgmentSubmittedV1]]
    ) -> Sequence[Event[JudgmentSubmittedV1]]:
        """The batch at once: one round trip to the broker for all of them."""
        messages = [
            (PROJECT_JUDGMENT.topic, *encode(self._rekeyed(e)))
            for e in events
            if e.data.kind is not WorkKind.adjudication
        ]
        await self.bus.send_batch(messages)
        return ()

    # -- 2. the owner ---------------------------------------------------------------------

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def on_project_judgment(self, event: Event[JudgmentSubmittedV1]) -> None:
        j = event.data
        key = (j.tenant, j.project_id)
        async with self._lock(key):
            owned = self._owned.get(key)
            if owned is None:
                owned = await self._take_over(j.tenant, j.project_id)
            change = await self.items.apply(j.tenant, j.project_id, j.item_id, Entry.of(j))
            if change is None:
                APPLIED.labels("duplicate").inc()
                return  # applied before: the tallies built from the stored items hold it
            owned.state.replace_item(change.before, change.after)
        APPLIED.labels("applied").inc()
        self._dirty.add(key)
        self._wake.set()

    async def on_project_judgments(
        self, events: Sequence[Event[JudgmentSubmittedV1]]
    ) -> Sequence[Event[JudgmentSubmittedV1]]:
        """A run of one partition at once: per project, one read of the items and one bulk
        write; the judgments whose item someone else wrote meanwhile are left to
        :meth:`on_project_judgment`."""
        by_project: dict[Key, list[Event[JudgmentSubmittedV1]]] = {}
        for event in events:
            by_project.setdefault((event.data.tenant, event.data.project_id), []).append(event)
        left: list[Event[JudgmentSubmittedV1]] = []
        for key, run in by_project.items():
            async with self._lock(key):
                owned = self._owned.get(key)
                if owned is None:
                    owned = await self._take_over(*key)
                changes, again = await self.items.apply_many(
                    *key, [(e.data.item_id, Entry.of(e.data)) for e in run]
                )
                for change in changes:
                    owned.state.replace_item(change.before, change.after)
            APPLIED.labels("applied").inc(len(changes))
            APPLIED.labels("duplicate").inc(len(run) - len(changes) - len(again))
            left += [run[position] for position in again]
            if changes:
                self._dirty.add(key)
                self._wake.set()
        return left

    def translator(self, tenant: str) -> Translate:
        """An entry's fields with its classes in the latest published version of its
        ontology this replica knows (as judged when the version or the ontology is unknown)."""
        memo: dict[tuple[str, int, str], str | None] = {}

        def translate(entry: Entry) -> Mapping[str, Any]:
            if entry.taxonomy is None:
                return entry.fields
            ontology_id, version = entry.taxonomy
            versions = self.taxonomy.ontology(tenant, ontology_id)
            latest = versions.latest if versions is not None else None
            if versions is None or latest is None or latest.version <= version:
                return entry.fields
            if versions.get(version) is None:
                return entry.fields

            def one(class_id: str) -> str | None:
                key = (ontology_id, version, class_id)
                if key not in memo:
                    memo[key] = versions.translate(class_id, version, latest.version).class_id
                return memo[key]

            return translated_fields(entry, one)

        return translate

    async def on_version_published(self, event: Event[VersionPublishedV1]) -> None:
        """A taxonomy version (from the group or from the tail, every replica): stored, then
        the tenant's projects this replica owns are rebuilt with labels in the new version."""
        await self.taxonomy.apply(event)
        tenant = event.data.tenant
        for key in sorted(k for k in self._owned if k[0] == tenant):
            async with self._lock(key):
                if key in self._owned:
                    await self._take_over(*key)

    async def _take_over(self, tenant: str, project_id: str) -> Owned:
        with REBUILD_SECONDS.time():
            epoch = await self.tallies.claim(tenant, project_id)
            state = ProjectAgreement.of_items(
                [entries async for entries in self.items.of_project(tenant, project_id)],
                translate=self.translator(tenant),
            )
        owned = self._owned[(tenant, project_id)] = Owned(state, epoch)
        OWNED.set(len(self._owned))
        self._dirty.add((tenant, project_id))
        self._wake.set()
        log.info("project taken over", tenant=tenant, project_id=project_id, epoch=epoch)
        return owned

    def owned(self) -> set[Key]:
        """The projects whose tallies this replica holds now."""
        return set(self._owned)

    async def forget(self) -> None:
        """Partitions are moving: store what changed, then drop every project's state (the
        next owner builds it from the stored items)."""
        await self.flush()
        self._owned.clear()
        self._dirty.clear()
        OWNED.set(0)

    # -- 3. snapshots ---------------------------------------------------------------------

    async def snapshots(self) -> None:
        """The snapshot loop: store what changed at most every ``snapshot_seconds``."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()
            await asyncio.sleep(self.snapshot_seconds)

    async def flush(self) -> None:
        dirty, self._dirty = self._dirty, set()
        for key in sorted(dirty):
            owned = self._owned.get(key)
            if owned is None:
                continue
            try:
                with SNAPSHOT_SECONDS.time():
                    await self._snapshot(key, owned)
            except Fenced:
                log.warning("project taken over by another replica", project_id=key[1])
                self._owned.pop(key, None)
                OWNED.set(len(self._owned))
            except BaseException:
                self._dirty.add(key)  # stored next time (the loop is restarted)
                raise

    async def _snapshot(self, key: Key, owned: Owned) -> None:
        tenant, project_id = key
        changed = owned.state.take_changed()
        if owned.full:
            changed = {v: set(view.tallies) for v, view in owned.state.views.items()}
        tallies = {
            # a field dropped from the view is stored empty (read as absent)
            v: {
                name: owned.state.views[v].tallies.get(name) or Tally(scale_of(name))
                for name in names
                if name != LATEST
            }
            for v, names in changed.items()
        }
        if not any(tallies.values()) and not owned.full:
            return
        at = datetime.now(UTC)
        sequence = await self.tallies.write(tenant, project_id, owned.epoch, tallies, at)
        owned.full = False
        await self.bus.publish(
            make_event(
                METRICS_UPDATED,
                _headline(tenant, project_id, owned.state, at, sequence),
                source=self.source,
                tenant=tenant,
            )
        )

    # -- reading --------------------------------------------------------------------------

    async def require_project(self, tenant: str, project_id: str) -> None:
        """NotFound when the project has no judgment in the tenant."""
        if not await self.items.has_project(tenant, project_id):
            raise NotFound(f"project {project_id}")

    async def project(
        self,
        tenant: str,
        project_id: str,
        *,
        field: str | None,
        rubric_version: int | None,
        window: str | None = None,
    ) -> FieldFigures:
        """The figures of the project's fields (``field`` only, when given) over its
        judgments (of ``rubric_version``, when given; submitted in the last ``window``, when
        given). NotFound when the project has no judgment in the tenant."""
        view = ALL if rubric_version is None else rubric_version
        if window is not None:
            return await self._windowed(tenant, project_id, field, view, WINDOWS[window])
        stored = await self.tallies.of_view(
            tenant, project_id, view, None if field is None else [field]
        )
        if not stored:
            await self.require_project(tenant, project_id)
        return FieldFigures(
            {s.field: self._figures(s.tally, s.key) for s in stored if s.tally.item_count}
        )

    async def _windowed(
        self, tenant: str, project_id: str, field: str | None, view: int, length: timedelta
    ) -> FieldFigures:
        since = datetime.now(UTC) - length
        state = ProjectAgreement.of_items(
            [e async for e in self.items.of_project(tenant, project_id, since=since)],
            since,
            self.translator(tenant),
        )
        if view not in state.views:
            await self.require_project(tenant, project_id)
            return FieldFigures()
        tallies = state.views[view].fields()
        if field is not None:
            tallies = {k: v for k, v in tallies.items() if k == field}
        out = {}
        for name, tally in tallies.items():
            if tally.item_count:
                out[name] = figures(tally)
        if not out and not state.views[ALL].fields():
            await self.require_project(tenant, project_id)
        return FieldFigures(out)

    def _figures(self, tally: Tally, key: tuple[str, int]) -> dict[str, Any]:
        cache_key = (key,)
        found = self._cache.get(cache_key)
        if found is None:
            found = self._cache[cache_key] = figures(tally)
            while len(self._cache) > CACHED_FIGURES:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(cache_key)
        return found


def _headline(
    tenant: str, project_id: str, state: ProjectAgreement, at: datetime, sequence: int
) -> MetricsUpdatedV1:
    """The update's values: the snapshot sequence, judgments and items per field."""
    values: dict[str, float] = {"snapshot": float(sequence)}
    for name, tally in sorted(state.views[ALL].fields().items()):
        if len(values) >= 999 or is_presence(name):
            continue
        values[f"judgments.{name}"] = float(tally.judgment_count)
        values[f"items.{name}"] = float(tally.item_count)
    return MetricsUpdatedV1(
        project_id=project_id,
        tenant=tenant,
        window_start=at,
        window_end=at,
        values=values,
        at=at,
    )
