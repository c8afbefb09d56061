"""Pre-label systematic errors and calibration per project and model version: what the model
said is kept per item from ``media.registered``, the outcome from ``item.resolved``, and the
figures are computed on read (docs/metrics.md "Pre-label errors").

Each item contributes the comparisons of its latest outcome (``prelabels.compare``): a later
revision replaces the item's contribution, a replay changes nothing. A read builds a
:class:`~services.metrics.prelabels.PrelabelConfusion` and a
:class:`~services.metrics.prelabels.CalibrationState` per model version from the project's
item documents, so it costs O(pre-labelled items of the project)."""

from __future__ import annotations

from dataclasses import dataclass

from services.metrics.errors import NotFound
from services.metrics.prelabels import (
    CalibrationState,
    PrelabelConfusion,
    Reliability,
    SystematicErrors,
    compare,
    reliability,
    systematic_errors,
)
from services.metrics.stores.prelabels import ItemPrelabels, Prelabelled, PrelabelStore, Resolved
from shared.contracts.media import MediaRegisteredV1
from shared.contracts.work import ItemResolvedV1, Verdict
from shared.events.envelope import Event

#: Outcomes that say nothing about the pre-labels' classes (no labels: the item was unusable).
LEFT_OUT = frozenset({Verdict.reject.value, Verdict.infeasible.value})


@dataclass(frozen=True)
class ModelFigures:
    """One model version's systematic errors and calibration over a project's items."""

    confusion: PrelabelConfusion
    errors: SystematicErrors
    calibration: Reliability


def _counted(item: ItemPrelabels) -> bool:
    return item.resolution.verdict not in LEFT_OUT


class Prelabels:
    def __init__(self, items: PrelabelStore) -> None:
        self.items = items

    async def on_media_registered(self, event: Event[MediaRegisteredV1]) -> None:
        """Keep the item's pre-labels (an item registered without any is not kept)."""
        m = event.data
        if m.prelabels is None or not m.prelabels.labels:
            return
        labels = tuple((label.class_id, label.confidence) for label in m.prelabels.labels)
        await self.items.prelabelled(
            m.tenant,
            m.project_id,
            m.item_id,
            Prelabelled(m.prelabels.model_name, m.prelabels.model_version, labels),
        )

    async def on_item_resolved(self, event: Event[ItemResolvedV1]) -> None:
        """Keep the item's outcome when its revision is the highest seen (kept whether or not
        the pre-labels arrived yet: either event may come first)."""
        r = event.data
        await self.items.resolved(
            r.tenant,
            r.project_id,
            r.item_id,
            Resolved(
                r.revision,
                None if r.verdict is None else r.verdict.value,
                tuple(label.class_id for label in r.final_labels),
                r.resolved_at,
            ),
        )

    async def project(
        self, tenant: str, project_id: str, *, model_version: str | None
    ) -> list[ModelFigures]:
        """Per model version of the project's pre-labels (``model_version`` only, when
        given): the systematic errors (Fisher, Benjamini-Hochberg) and the calibration.
        NotFound when the project has no pre-labelled item in the tenant."""
        items = [
            i
            async for i in self.items.of_project(tenant, project_id, version=model_version)
            if _counted(i)
        ]
        if not items and not await self.items.has_project(tenant, project_id):
            raise NotFound(f"project {project_id}")
        # oldest outcome first, so each error cell keeps the most recent items as examples
        items.sort(key=lambda i: (i.resolution.resolved_at, i.item_id))
        models: dict[tuple[str, str], tuple[PrelabelConfusion, CalibrationState]] = {}
        for item in items:
            p = item.prelabels
            confusion, calibration = models.setdefault(
                (p.model, p.version), (PrelabelConfusion(p.model, p.version), CalibrationState())
            )
            for c in compare(p.labels, item.resolution.classes):
                confusion.add(c.prelabel, c.resolved, item.item_id)
                if c.confidence is not None:
                    calibration.add(c.confidence, c.correct)
        return [
            ModelFigures(confusion, systematic_errors(confusion), reliability(calibration))
            for _, (confusion, calibration) in sorted(models.items())
        ]
