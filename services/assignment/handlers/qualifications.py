"""Qualification sets (ops): items with known answers per skill and level, each checked at
once (content shape, key against the set's rubric version and taxonomy version, a key that
scores something); experts enrolled in them; attempts and, once one is over, the expert's
answers next to the key."""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.assignment.errors import (
    AttemptExists,
    ExpertNotQualifying,
    KeyedContentInvalid,
    NotFound,
    QualificationSetIdTaken,
    QualificationSetRetired,
)
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.gold import keyed_content_errors
from services.assignment.handlers.qualification_serving import (
    QUALIFYING,
    QualificationServing,
    copy_ids,
    reviewed,
)
from services.assignment.models.qualifications import (
    Attempt,
    AttemptReview,
    AttemptState,
    EnrolIn,
    QualificationItem,
    QualificationSet,
    QualificationSetIn,
    QualificationSetSummary,
)
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.items import ItemStore
from services.assignment.stores.qualifications import QualificationStore
from services.assignment.stores.rubrics import RubricStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.errors import FieldError
from shared.taxonomy.cache import TaxonomyCache


class Qualifications:
    def __init__(
        self,
        store: QualificationStore,
        serving: QualificationServing,
        items: ItemStore,
        experts: ExpertStore,
        rubrics: RubricStore,
        forms: RubricForms,
        taxonomy: TaxonomyCache,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.serving = serving
        self.items = items
        self.experts = experts
        self.rubrics = rubrics
        self.forms = forms
        self.taxonomy = taxonomy
        self.clock = clock

    async def create(self, principal: Principal, body: QualificationSetIn) -> QualificationSet:
        tenant = principal.tenant
        if await self.rubrics.get(tenant, body.rubric.rubric_id, body.rubric.version) is None:
            raise KeyedContentInvalid(
                [
                    FieldError(
                        field="body.rubric",
                        message=f"rubric {body.rubric.rubric_id} has no version "
                        f"{body.rubric.version}",
                    )
                ],
                what="qualification set",
            )
        form = await self.forms.get(tenant, body.rubric)
        errors = []
        for i, item in enumerate(body.items):
            for e in await keyed_content_errors(
                item, body.modality.value, form, self.taxonomy, tenant, body.taxonomy
            ):
                field = e.field.replace("body.", f"body.items[{i}].", 1)
                errors.append(FieldError(field=field, message=f"item {i}: {e.message}"))
        if errors:
            raise KeyedContentInvalid(errors, what="qualification set")
        found = QualificationSet(
            set_id=body.set_id,
            tenant=tenant,
            name=body.name,
            skill=body.skill,
            level=body.level,
            modality=body.modality,
            rubric=body.rubric,
            taxonomy=body.taxonomy,
            threshold=body.threshold,
            items=[
                QualificationItem(
                    content=item.shown(body.taxonomy),
                    key=item.key,
                    tolerances=item.tolerances.settled(form),
                )
                for item in body.items
            ],
            created_at=self.clock(),
            created_by=principal.subject,
        )
        if not await self.store.create_set(found):
            raise QualificationSetIdTaken(body.set_id)
        return found

    async def get(self, principal: Principal, set_id: str) -> QualificationSet:
        found = await self.store.get_set(principal.tenant, set_id)
        if found is None:
            raise NotFound(f"qualification set {set_id}")
        return found

    async def sets(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> list[QualificationSetSummary]:
        found = await self.store.sets_of(principal.tenant, after=after, limit=limit)
        return [QualificationSetSummary.of(s) for s in found]

    async def set_active(self, principal: Principal, set_id: str, active: bool) -> QualificationSet:
        """Retire a set (no new enrolments) or put it back."""
        if not await self.store.set_active(principal.tenant, set_id, active):
            raise NotFound(f"qualification set {set_id}")
        return await self.get(principal, set_id)

    async def enrol(self, principal: Principal, expert_id: str, body: EnrolIn) -> Attempt:
        """Enrol an expert in vetting (or vetted, for another skill) in an active set."""
        tenant = principal.tenant
        expert = await self.experts.get(tenant, expert_id)
        if expert is None:
            raise NotFound(f"expert {expert_id}")
        found = await self.get(principal, body.set_id)
        if not found.active:
            raise QualificationSetRetired(body.set_id)
        if expert.state not in QUALIFYING:
            raise ExpertNotQualifying(expert_id, expert.state.value)
        attempt = Attempt(
            tenant=tenant,
            set_id=found.set_id,
            expert_id=expert_id,
            skill=found.skill,
            level=found.level,
            items=len(found.items),
            enrolled_at=self.clock(),
            enrolled_by=principal.subject,
        )
        if not await self.store.enrol(attempt):
            raise AttemptExists(expert_id, body.set_id)
        return attempt

    async def attempts_of(
        self,
        principal: Principal,
        expert_id: str,
        *,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Attempt]:
        if await self.experts.get(principal.tenant, expert_id) is None:
            raise NotFound(f"expert {expert_id}")
        return await self._settled(principal.tenant, expert_id, after, limit)

    async def mine(
        self, principal: Principal, *, after: tuple[datetime, str] | None, limit: int
    ) -> list[Attempt]:
        return await self._settled(principal.tenant, principal.subject, after, limit)

    async def review(self, principal: Principal, set_id: str) -> AttemptReview:
        """The caller's attempt at the set and, once it is over, each answer next to the
        key."""
        tenant, expert_id = principal.tenant, principal.subject
        attempt = await self.store.attempt(tenant, expert_id, set_id)
        if attempt is None:
            raise NotFound(f"attempt of yours at qualification set {set_id}")
        attempt = await self.serving.settle(attempt)
        found = await self.serving.set_of(tenant, set_id)
        if attempt.state is AttemptState.open or found is None:
            return AttemptReview(attempt=attempt, items=[])
        copies = await self.items.many(tenant, copy_ids(attempt))
        # matching labels (masks) is CPU work: off the event loop
        items = await asyncio.to_thread(reviewed, found, copies, attempt)
        return AttemptReview(attempt=attempt, items=items)

    async def _settled(
        self, tenant: str, expert_id: str, after: tuple[datetime, str] | None, limit: int
    ) -> list[Attempt]:
        found = await self.store.attempts_of(tenant, expert_id, after=after, limit=limit)
        return [await self.serving.settle(a) for a in found]
