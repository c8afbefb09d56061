"""Guideline feedback: an expert attaches a note to a unit they hold or judged, about its
rubric or its taxonomy version (unclear guideline, missing class, contradictory example). It
waits in ops' queue until resolved, and ``feedback.submitted`` takes it to taxonomy, where
feedback about the taxonomy becomes a candidate as flagged judgments do."""

from __future__ import annotations

import uuid

from services.assignment import feedback as rules
from services.assignment import leasing
from services.assignment.errors import (
    FeedbackInvalid,
    FeedbackResolved,
    FeedbackSubmissionReused,
    NotFound,
    UnitNotHeld,
)
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.forms import classes_of
from services.assignment.handlers.items import unit_of
from services.assignment.models.feedback import Feedback, FeedbackIn, FeedbackStatus, ResolveIn
from services.assignment.stores.feedback import FeedbackStore, Position
from services.assignment.stores.items import ItemStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import FEEDBACK_SUBMITTED, FeedbackSubmittedV1
from shared.events.envelope import make_event
from shared.taxonomy.cache import TaxonomyCache


class Feedbacks:
    def __init__(
        self,
        store: FeedbackStore,
        items: ItemStore,
        taxonomy: TaxonomyCache,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.items = items
        self.taxonomy = taxonomy
        self.clock = clock

    async def submit(
        self, principal: Principal, unit_id: str, body: FeedbackIn
    ) -> tuple[Feedback, bool]:
        """The feedback, and whether this call made it (False: the same submission again)."""
        tenant, expert_id = principal.tenant, principal.subject
        item_id = leasing.item_of(unit_id)
        item = await self.items.get(tenant, item_id)
        unit = unit_of(item, unit_id)
        if (
            item is None
            or unit is None
            or not (unit.judged_by(expert_id) or unit.held_by(expert_id, self.clock()))
        ):
            # the same answer for every unit the expert neither holds nor judged, gold or not
            # (a gold copy given back stays theirs, closed: that must not show)
            before = await self.store.submitted(tenant, expert_id, body.submission_id)
            if before is not None and before.unit_id == unit_id:
                return before, False  # the same submission again, once the unit is gone
            raise UnitNotHeld(field="path.unit_id", unit_id=unit_id)
        classes = await classes_of(self.taxonomy, tenant, unit.taxonomy)
        errors = rules.feedback_errors(
            body.about, body.kind, body.class_ids, body.proposed_class, classes
        )
        if errors:
            raise FeedbackInvalid(errors)
        made = Feedback(
            feedback_id=f"fbk_{uuid.uuid4().hex}",
            submission_id=body.submission_id,
            tenant=tenant,
            project_id=item.project_id,
            item_id=item_id,
            unit_id=unit_id,
            expert_id=expert_id,
            about=body.about,
            kind=body.kind,
            text=body.text,
            class_ids=body.class_ids,
            proposed_class=body.proposed_class,
            rubric=unit.rubric,
            taxonomy=unit.taxonomy,
            submitted_at=self.clock(),
        )
        shared = set(FeedbackSubmittedV1.model_fields) - {"rubric_ref"}
        payload = FeedbackSubmittedV1.model_validate(
            {**made.model_dump(include=shared), "rubric_ref": made.rubric}
        )
        event = make_event(FEEDBACK_SUBMITTED, payload, source=SOURCE, tenant=tenant)
        stored = await self.store.create(made, event)
        if stored.feedback_id == made.feedback_id:
            return stored, True
        if stored.unit_id != unit_id:
            raise FeedbackSubmissionReused(body.submission_id)
        return stored, False

    async def mine(
        self, principal: Principal, *, after: Position | None, limit: int
    ) -> list[Feedback]:
        return await self.store.of_expert(
            principal.tenant, principal.subject, after=after, limit=limit
        )

    async def queue(
        self,
        principal: Principal,
        status: FeedbackStatus | None,
        project_id: str | None,
        *,
        after: Position | None,
        limit: int,
    ) -> list[Feedback]:
        return await self.store.queue(
            principal.tenant, status, project_id, after=after, limit=limit
        )

    async def resolve(self, principal: Principal, feedback_id: str, body: ResolveIn) -> Feedback:
        resolved = await self.store.resolve(
            principal.tenant, feedback_id, principal.subject, self.clock(), body.note
        )
        if resolved is not None:
            return resolved
        if await self.store.get(principal.tenant, feedback_id) is None:
            raise NotFound(f"feedback {feedback_id}")
        raise FeedbackResolved(feedback_id)
