"""Metrics alerts (``metrics.alert``): their recommendations raise item priorities (or those
of the items pre-labelled with a weak class) and, on an agreement alert, add one review unit
to the item, each at most once (``services/assignment/recommendations.py`` has the rules)."""

from __future__ import annotations

from services.assignment import recommendations
from services.assignment.handlers.resolutions import Resolutions
from services.assignment.stores.items import ItemStore
from services.assignment.stores.projects import ProjectStore
from shared.contracts.metrics import MetricsAlertV1
from shared.contracts.work import WorkKind
from shared.events.envelope import Event
from shared.logging import get_logger

log = get_logger(__name__)


class Alerts:
    def __init__(self, items: ItemStore, projects: ProjectStore, resolutions: Resolutions) -> None:
        self.items = items
        self.projects = projects
        self.resolutions = resolutions

    async def on_metrics_alert(self, event: Event[MetricsAlertV1]) -> None:
        alert = event.data
        tenant, project_id = alert.tenant, alert.project_id
        project = await self.projects.get(tenant, project_id)
        if project is None:
            log.warning("alert of a project assignment does not know", project_id=project_id)
            return
        overlap = project.overlap
        cap = recommendations.review_cap(overlap.k, overlap.k_iaa, overlap.k_max)
        for action in recommendations.actions(alert):
            if isinstance(action, recommendations.PrioritiseItem):
                found = await self.items.prioritise(
                    tenant, project_id, action.item_id, action.priority
                )
                if found and action.extra_review:
                    await self._extra_review(tenant, action.item_id, alert.alert_id, cap)
            elif isinstance(action, recommendations.PrioritiseClass):
                matched = await self.items.prioritise_class(
                    tenant, project_id, action.class_id, action.priority
                )
                log.info("class prioritised", class_id=action.class_id, items=matched)
            else:
                log.info(
                    "recommendation not for assignment", target=action.target, reason=action.reason
                )
        log.info("metrics alert applied", alert_id=alert.alert_id, project_id=project_id)

    async def _extra_review(self, tenant: str, item_id: str, alert_id: str, cap: int) -> None:
        """One more review unit on an unresolved item below the project's largest overlap."""
        item = await self.items.get(tenant, item_id)
        if item is None or item.resolution is not None or not item.units:
            return
        reviews = sum(u.kind is WorkKind.review for u in item.units)
        if reviews >= cap or any(u.kind is WorkKind.adjudication for u in item.units):
            return
        if await self.resolutions.add(item, WorkKind.review, because=alert_id):
            log.info("review unit added on an agreement alert", item_id=item_id)
