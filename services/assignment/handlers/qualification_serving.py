"""Qualification in handouts and judgments: an expert with an open attempt gets the set's
items in order as ordinary units, each a copy of its own under an id drawn from the tenant,
set, expert and item (:func:`qualification.copy_id`), so an item reaches them once on any
replica. When every copy is judged or given back, the attempt is scored: a pass grants the
skill at the set's level (proof: the qualification), and ``expert.qualified`` says how it
went. Scoring reads the copies themselves, so it may run again after a crash and comes to
the same outcome; the first write of it wins."""

from __future__ import annotations

import asyncio

from services.assignment import effective_labels, gold, qualification
from services.assignment.eligibility import VettingState
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.experts import Experts
from services.assignment.handlers.items import leased_copy
from services.assignment.models.experts import Skill, SkillProof
from services.assignment.models.qualifications import (
    Attempt,
    AttemptState,
    ItemReview,
    QualificationSet,
)
from services.assignment.models.work import (
    Lease,
    QualificationMark,
    UnitState,
    WorkItem,
)
from services.assignment.stores.items import ItemStore
from services.assignment.stores.qualifications import QualificationStore
from shared.clock import Clock, now_ms
from shared.contracts.work import EXPERT_QUALIFIED, ExpertQualifiedV1, WorkKind
from shared.events.envelope import make_event
from shared.logging import get_logger

log = get_logger(__name__)

#: The states in which an expert is handed their attempts' items.
QUALIFYING = frozenset({VettingState.vetting, VettingState.vetted})


def copy_ids(attempt: Attempt) -> list[str]:
    return [
        qualification.copy_id(attempt.tenant, attempt.set_id, attempt.expert_id, i)
        for i in range(attempt.items)
    ]


def reviewed(
    found: QualificationSet, copies: dict[str, WorkItem], attempt: Attempt
) -> list[ItemReview]:
    """Each item of the set with the expert's answers (None: not judged) and their score."""
    out = []
    for index, copy in enumerate(copy_ids(attempt)):
        item = found.items[index]
        unit = copies[copy].units[0] if copy in copies else None
        judgment = unit.judgment if unit is not None else None
        answers = judgment.answers if judgment is not None else None
        result = (
            gold.score(
                judgment.judged,
                effective_labels.keyed(item.key, item.content),
                tolerances=item.tolerances.rules(),
            )
            if judgment is not None
            else None
        )
        out.append(
            ItemReview(
                index=index,
                content=item.content,
                answers=answers,
                key=item.key,
                score=0.0 if result is None else result.score,
                fields={} if result is None else result.fields,
            )
        )
    return out


class QualificationServing:
    def __init__(
        self,
        store: QualificationStore,
        items: ItemStore,
        experts: Experts,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.items = items
        self.experts = experts
        self.clock = clock
        self._sets: dict[tuple[str, str], QualificationSet] = {}

    async def set_of(self, tenant: str, set_id: str) -> QualificationSet | None:
        """The set (its items never change, so it is kept once read; ``active`` may)."""
        key = (tenant, set_id)
        if key not in self._sets:
            found = await self.store.get_set(tenant, set_id)
            if found is None:
                return None
            self._sets[key] = found
        return self._sets[key]

    async def open_attempts(
        self, tenant: str, expert_id: str, state: VettingState
    ) -> list[Attempt]:
        """The attempts whose items the expert is handed now, oldest first."""
        if state not in QUALIFYING:
            return []
        return await self.store.attempts_of(tenant, expert_id, AttemptState.open)

    async def lease(
        self, attempt: Attempt, found: QualificationSet, index: int, lease: Lease
    ) -> WorkItem | None:
        """Create the expert's copy of item ``index`` with its unit leased under ``lease``;
        None when it exists already (handed out before, here or on another replica)."""
        item_id = qualification.copy_id(attempt.tenant, attempt.set_id, attempt.expert_id, index)
        copy = leased_copy(
            item_id,
            attempt.tenant,
            qualification.project_of(attempt.set_id),
            found.modality,
            found.items[index].content,
            found.rubric,
            found.taxonomy,
            WorkKind.review,
            lease,
            qualification=QualificationMark(set_id=attempt.set_id, index=index),
        )
        unit = copy.units[0]
        created = await self.items.create(copy, [])
        await self.store.advance(attempt.tenant, attempt.expert_id, attempt.set_id, index + 1)
        if created:
            log.info("qualification unit leased", unit_id=unit.unit_id, set_id=attempt.set_id)
        return copy if created else None

    async def after_judgment(self, item: WorkItem) -> None:
        """A qualification copy was judged: score the attempt if it is over."""
        assert item.qualification is not None and item.units[0].expert_id is not None
        attempt = await self.store.attempt(
            item.tenant, item.units[0].expert_id, item.qualification.set_id
        )
        if attempt is not None:
            await self.settle(attempt)

    async def settle(self, attempt: Attempt) -> Attempt:
        """The attempt, scored (and the skill granted on a pass) if every item is handed out
        and none is still leased; as it was otherwise."""
        if attempt.state is not AttemptState.open or attempt.next < attempt.items:
            return attempt
        found = await self.set_of(attempt.tenant, attempt.set_id)
        if found is None:
            return attempt
        copies = await self.items.many(attempt.tenant, copy_ids(attempt))
        if len(copies) < attempt.items or any(
            c.units[0].state is UnitState.leased for c in copies.values()
        ):
            return attempt
        # matching labels (masks) is CPU work: off the event loop
        items = await asyncio.to_thread(reviewed, found, copies, attempt)
        scores = [r.score if r.answers is not None else None for r in items]
        result = qualification.outcome(scores, found.threshold)
        now = self.clock()
        if result.passed:
            proof = SkillProof(method="qualification", at=now, by=found.set_id, score=result.score)
            await self.experts.qualified(
                attempt.tenant,
                attempt.expert_id,
                Skill(skill=found.skill, level=found.level, verified=proof),
            )
        finished = attempt.model_copy(
            update={
                "state": AttemptState.passed if result.passed else AttemptState.failed,
                "score": result.score,
                "answered": result.answered,
                "finished_at": now,
            }
        )
        event = make_event(
            EXPERT_QUALIFIED,
            ExpertQualifiedV1(
                tenant=attempt.tenant,
                expert_id=attempt.expert_id,
                set_id=attempt.set_id,
                skill=found.skill,
                level=found.level,
                score=result.score,
                threshold=found.threshold,
                passed=result.passed,
                answered=result.answered,
                items=result.items,
                finished_at=now,
            ),
            source=SOURCE,
            tenant=attempt.tenant,
        )
        if await self.store.finish(finished, event):
            log.info(
                "qualification finished",
                expert_id=attempt.expert_id,
                set_id=attempt.set_id,
                passed=result.passed,
                score=round(result.score, 4),
            )
            return finished
        return await self.store.attempt(attempt.tenant, attempt.expert_id, attempt.set_id) or (
            finished
        )
