"""Ops revise a resolved item's outcome: override it with their own answers and a reason, or
send the item back for another review. Either way the outcome the item had is kept among
its earlier ones and the client receives the new one as ``item.resolved`` with the next
``revision``."""

from __future__ import annotations

from services.assignment.errors import AnswersInvalid, ItemChanged, ItemNotResolved, NotFound
from services.assignment.handlers.answers import answer_errors
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.resolutions import Resolutions
from services.assignment.models.work import OverrideIn, SendBackIn, WorkItem
from services.assignment.stores.items import ItemStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.vocabulary import Severity
from shared.contracts.work import ITEM_RESOLVED, Escalation, Resolution, WorkKind
from shared.events.envelope import make_event
from shared.logging import get_logger
from shared.taxonomy.cache import TaxonomyCache

log = get_logger(__name__)


class Outcomes:
    def __init__(
        self,
        items: ItemStore,
        forms: RubricForms,
        taxonomy: TaxonomyCache,
        resolutions: Resolutions,
        clock: Clock = now_ms,
    ) -> None:
        self.items = items
        self.forms = forms
        self.taxonomy = taxonomy
        self.resolutions = resolutions
        self.clock = clock

    async def _resolved(self, tenant: str, item_id: str) -> WorkItem:
        """A registered item of the tenant that is resolved (gold and qualification copies
        are nobody's outcome: :class:`NotFound`)."""
        item = await self.items.get(tenant, item_id)
        if item is None or item.gold_id is not None or item.qualification is not None:
            raise NotFound(f"item {item_id}")
        if item.resolution is None:
            raise ItemNotResolved(item_id)
        return item

    async def override(self, principal: Principal, item_id: str, body: OverrideIn) -> WorkItem:
        item = await self._resolved(principal.tenant, item_id)
        assert item.resolution is not None
        errors, effective = await answer_errors(
            self.forms, self.taxonomy, item, item.units[0], body.answers
        )
        if errors:
            raise AnswersInvalid(errors, of="item")
        answers = body.answers
        current = item.resolution
        resolution = current.model_copy(
            update={
                "final_labels": effective,
                "verdict": answers.verdict,
                "ratings": {k: float(v) for k, v in answers.ratings.items()},
                "severity": answers.severity or Severity.none,
                "flags": list(answers.flags),
                "method": Resolution.override,
                "resolved_at": self.clock(),
                "revision": current.revision + 1,
                "revised_by": principal.subject,
                "revision_reason": body.reason,
            }
        )
        resolution = type(current).model_validate(resolution.model_dump())  # checked whole
        event = make_event(ITEM_RESOLVED, resolution, source=SOURCE, tenant=item.tenant)
        if not await self.items.override(item, resolution, event):
            raise ItemChanged()
        log.info("outcome overridden", item_id=item_id, revision=resolution.revision)
        return await self._read(item)

    async def send_back(self, principal: Principal, item_id: str, body: SendBackIn) -> WorkItem:
        item = await self._resolved(principal.tenant, item_id)
        reason = Escalation(
            code="reopened",
            field="resolution",
            message=f"sent back by {principal.subject[:64]}: {body.reason}",
        )
        unit, event = self.resolutions.unit(item, WorkKind.adjudication, escalation=[reason])
        if not await self.items.send_back(item, unit, event):
            raise ItemChanged()
        log.info("item sent back for review", item_id=item_id, unit_id=unit.unit_id)
        return await self._read(item)

    async def _read(self, item: WorkItem) -> WorkItem:
        found = await self.items.get(item.tenant, item.item_id)
        assert found is not None
        return found
