"""Judgments: an expert's answers on the unit they hold, checked against the unit's rubric
version and taxonomy version (every failing field named), idempotent by the client's
submission id, and published as ``judgment.submitted``; a gold copy's judgment is scored in
the same write (``gold.scored``) and feeds the expert's calibration. Blind review: nothing an
expert can call shows another judgment of an item."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.assignment import leasing
from services.assignment.errors import (
    AnswersInvalid,
    LeaseWithdrawn,
    SubmissionDiffers,
    UnitJudgedAlready,
    UnitNotHeld,
)
from services.assignment.handlers.answers import answer_errors
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.gold_serving import GoldServing
from services.assignment.handlers.items import unit_of
from services.assignment.handlers.leases import lease_ended
from services.assignment.handlers.qualification_serving import QualificationServing
from services.assignment.handlers.resolutions import Resolutions
from services.assignment.models.work import (
    Judgment,
    JudgmentIn,
    Unit,
    WorkItem,
)
from services.assignment.stores.items import ItemStore
from services.assignment.stores.leases import LeaseStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.vocabulary import Severity
from shared.contracts.work import JUDGMENT_SUBMITTED, JudgmentSubmittedV1
from shared.errors import differences
from shared.events.envelope import make_event
from shared.logging import get_logger
from shared.taxonomy.cache import TaxonomyCache

log = get_logger(__name__)


def _made_by(unit: Unit, body: JudgmentIn) -> Judgment:
    """The unit's judgment, made under ``body``'s submission id, if ``body`` is the one it was
    made with (a retry); else :class:`SubmissionDiffers`, naming each field that differs
    (``body.answers.verdict``, ``body.lease_id``)."""
    assert unit.judgment is not None
    first: dict[str, object] = {"answers": unit.judgment.answers.model_dump(mode="json")}
    again: dict[str, object] = {"answers": body.answers.model_dump(mode="json")}
    if unit.lease_id is not None:
        first["lease_id"], again["lease_id"] = unit.lease_id, body.lease_id
    errors = differences(first, again)
    if errors:
        raise SubmissionDiffers(body.submission_id, errors)
    return unit.judgment


def _unit_of(
    item: WorkItem | None, unit_id: str, expert_id: str, lease_id: str, now: datetime
) -> Unit:
    """The unit, if the expert judged it or holds it under ``lease_id`` at ``now``; else
    :class:`UnitNotHeld`, the one answer for every other unit, decided from the expert's own
    lease on it: a gold copy, another judge's unit, an escalated item and an id naming
    nothing are refused alike."""
    unit = unit_of(item, unit_id)
    if unit is None or not (unit.judged_by(expert_id) or unit.held_by(expert_id, now, lease_id)):
        raise UnitNotHeld(field="body.lease_id", lease_id=lease_id, unit_id=unit_id)
    return unit


class Judgments:
    def __init__(
        self,
        items: ItemStore,
        leases: LeaseStore,
        forms: RubricForms,
        taxonomy: TaxonomyCache,
        resolutions: Resolutions,
        gold: GoldServing,
        calibrations: Calibrations,
        qualifying: QualificationServing,
        clock: Clock = now_ms,
    ) -> None:
        self.items = items
        self.leases = leases
        self.forms = forms
        self.taxonomy = taxonomy
        self.resolutions = resolutions
        self.gold = gold
        self.calibrations = calibrations
        self.qualifying = qualifying
        self.clock = clock

    async def submit(
        self, principal: Principal, unit_id: str, body: JudgmentIn
    ) -> tuple[Judgment, bool]:
        """The judgment, and whether this call made it (False: the same submission again).
        On a lease withdrawn from the caller (their standing changed), ``LeaseWithdrawn``
        saying why: decided from their own lease, whatever the unit."""
        try:
            return await self._submit(principal, unit_id, body)
        except UnitNotHeld as not_held:
            ended = await lease_ended(
                self.leases,
                principal.tenant,
                principal.subject,
                body.lease_id,
                field="body.lease_id",
            )
            if isinstance(ended, LeaseWithdrawn):
                raise ended from None
            raise not_held

    async def _submit(
        self, principal: Principal, unit_id: str, body: JudgmentIn
    ) -> tuple[Judgment, bool]:
        tenant, expert_id = principal.tenant, principal.subject
        item_id = leasing.item_of(unit_id)
        item = await self.items.get(tenant, item_id)
        now = self.clock()
        unit = _unit_of(item, unit_id, expert_id, body.lease_id, now)
        assert item is not None
        if unit.judgment is not None:
            if unit.judgment.submission_id == body.submission_id:
                return _made_by(unit, body), False
            raise UnitJudgedAlready(unit_id)
        errors, effective = await answer_errors(self.forms, self.taxonomy, item, unit, body.answers)
        if errors:
            raise AnswersInvalid(errors, of="unit")
        verdict = body.answers.verdict
        assert unit.leased_at is not None  # the verdict is None on a ratings-only rubric
        judgment = Judgment(
            judgment_id=f"jdg_{uuid.uuid4().hex}",
            submission_id=body.submission_id,
            unit_id=unit_id,
            item_id=item_id,
            project_id=item.project_id,
            expert_id=expert_id,
            rubric=unit.rubric,
            answers=body.answers,
            effective_labels=effective,
            time_spent_s=round((now - unit.leased_at).total_seconds(), 3),
            submitted_at=now,
        )
        event = make_event(
            JUDGMENT_SUBMITTED,
            JudgmentSubmittedV1(
                judgment_id=judgment.judgment_id,
                unit_id=unit_id,
                item_id=item_id,
                project_id=item.project_id,
                tenant=tenant,
                expert_id=expert_id,
                kind=unit.kind,
                verdict=verdict,
                labels=body.answers.labels,
                effective_labels=judgment.effective_labels,
                ratings={k: float(v) for k, v in body.answers.ratings.items()},
                severity=body.answers.severity or Severity.none,
                flags=body.answers.flags,
                justification=body.answers.justification,
                time_spent_s=judgment.time_spent_s,
                taxonomy=unit.taxonomy,
                submitted_at=now,
                rubric_ref=unit.rubric,
            ),
            source=SOURCE,
            tenant=tenant,
        )
        scored = await self.gold.score(item, judgment)
        # a qualification judgment is an assessment's answer, not review data: no event
        events = [] if item.qualification is not None else [event]
        judged = await self.items.submit(
            tenant,
            item_id,
            unit.n,
            judgment,
            body.lease_id,
            events if scored is None else [*events, scored],
            None if scored is None else scored.data,
        )
        if judged is None:
            again = _unit_of(
                await self.items.get(tenant, item_id),
                unit_id,
                expert_id,
                body.lease_id,
                self.clock(),
            )
            if again.judgment is not None and again.judgment.submission_id == body.submission_id:
                return _made_by(again, body), False  # a concurrent retry of the submission
            raise UnitNotHeld(field="body.lease_id", lease_id=body.lease_id, unit_id=unit_id)
        slot = leasing.slot_of(body.lease_id)
        if slot is not None:
            await self.leases.drop(tenant, expert_id, slot, body.lease_id)
        log.info("judgment submitted", unit_id=unit_id, judgment_id=judgment.judgment_id)
        if judged.gold_score is not None:
            await self.calibrations.on_score(judged.gold_score)
        elif judged.qualification is not None:
            await self.qualifying.after_judgment(judged)
        else:
            await self.resolutions.after_judgment(judged)
        return judgment, True
