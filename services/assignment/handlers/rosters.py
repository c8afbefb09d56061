"""Rosters: ops invite experts to a project, the expert accepts or declines, ops remove them;
the roster is the accepted invitations. Invitations, not open enrollment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.assignment.eligibility import VettingState
from services.assignment.errors import (
    AlreadyInvited,
    BatchDiffers,
    ExpertNamedTwice,
    ExpertOffboarded,
    ExpertUnknown,
    InvitationAnswered,
    NotFound,
    RosterClosed,
)
from services.assignment.handlers.withdrawals import Withdrawals
from services.assignment.models.rosters import (
    Invitation,
    InvitationBatch,
    InvitationBatchIn,
    InvitationOutcome,
    InvitationState,
)
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.rosters import RosterStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import ProjectStatus
from shared.errors import FieldError, differences
from shared.logging import get_logger

log = get_logger(__name__)


def _replayed(batch_id: str, first: dict[str, Any], sent: dict[str, Any]) -> InvitationBatch:
    """The answer of the batch made before under ``batch_id``, if ``sent`` is its body."""
    differ = differences(first["body"], sent)
    if differ:
        raise BatchDiffers(batch_id, differ)
    return InvitationBatch.model_validate(first["answer"])


class Rosters:
    def __init__(
        self,
        store: RosterStore,
        projects: ProjectStore,
        experts: ExpertStore,
        withdrawals: Withdrawals,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.experts = experts
        self.withdrawals = withdrawals
        self.clock = clock

    async def invite(self, principal: Principal, project_id: str, expert_id: str) -> Invitation:
        project = await self.projects.get(principal.tenant, project_id)
        if project is None:
            raise NotFound(f"project {project_id}")
        if project.status is ProjectStatus.closed:
            raise RosterClosed(project_id)
        expert = await self.experts.get(principal.tenant, expert_id)
        if expert is None:
            raise ExpertUnknown(expert_id)
        if expert.state is VettingState.offboarded:
            raise ExpertOffboarded(expert_id)
        made = await self.store.invite(
            principal.tenant, project_id, expert_id, by=principal.subject, at=self.clock()
        )
        if made is None:
            raise AlreadyInvited(expert_id, project_id)
        log.info("expert invited to a project", project_id=project_id, expert_id=expert_id)
        return made

    async def invite_many(
        self, principal: Principal, project_id: str, body: InvitationBatchIn
    ) -> tuple[InvitationBatch, bool]:
        """Invite many experts to a project in one call: each known, not offboarded expert
        is invited (or stays invited or on the roster); the others are refused, each with its
        reason. True when made now; the same body again under its batch id gives the first
        answer (False); another body under it is a 409 naming each field that differs."""
        tenant = principal.tenant
        project = await self.projects.get(tenant, project_id)
        if project is None:
            raise NotFound(f"project {project_id}")
        sent = body.model_dump(mode="json")
        first = await self.store.batch(tenant, project_id, body.batch_id)
        if first is not None:
            return _replayed(body.batch_id, first, sent), False
        if project.status is ProjectStatus.closed:
            raise RosterClosed(project_id)
        twice = [
            FieldError(field=f"body.expert_ids.{i}", message="this expert is named twice")
            for i, expert_id in enumerate(body.expert_ids)
            if expert_id in body.expert_ids[:i]
        ]
        if twice:
            raise ExpertNamedTwice(twice)
        now = self.clock()
        results = [
            await self._invite_one(principal, project_id, expert_id, f"body.expert_ids.{i}", now)
            for i, expert_id in enumerate(body.expert_ids)
        ]
        answer = InvitationBatch(
            batch_id=body.batch_id,
            project_id=project_id,
            invited_by=principal.subject,
            at=now,
            invited=sum(r.outcome == "invited" for r in results),
            unchanged=sum(r.outcome == "unchanged" for r in results),
            refused=sum(r.outcome == "refused" for r in results),
            results=results,
        )
        kept = await self.store.record_batch(
            tenant, project_id, body.batch_id, sent, answer.model_dump(mode="json")
        )
        if not kept:  # a concurrent call with this batch id came first: its answer
            first = await self.store.batch(tenant, project_id, body.batch_id)
            assert first is not None
            return _replayed(body.batch_id, first, sent), False
        log.info(
            "experts invited to a project",
            project_id=project_id,
            invited=answer.invited,
            refused=answer.refused,
        )
        return answer, True

    async def _invite_one(
        self, principal: Principal, project_id: str, expert_id: str, field: str, at: datetime
    ) -> InvitationOutcome:
        tenant = principal.tenant
        expert = await self.experts.get(tenant, expert_id)
        if expert is None or expert.state is VettingState.offboarded:
            why = "no such expert" if expert is None else f"expert {expert_id} is offboarded"
            return InvitationOutcome(
                expert_id=expert_id,
                outcome="refused",
                errors=[FieldError(field=field, message=why)],
            )
        made = await self.store.invite(tenant, project_id, expert_id, by=principal.subject, at=at)
        if made is not None:
            return InvitationOutcome(expert_id=expert_id, outcome="invited", invitation=made)
        current = await self.store.get(tenant, project_id, expert_id)
        return InvitationOutcome(expert_id=expert_id, outcome="unchanged", invitation=current)

    async def roster(
        self, principal: Principal, project_id: str, *, after: str | None, limit: int
    ) -> list[Invitation]:
        if await self.projects.get(principal.tenant, project_id) is None:
            raise NotFound(f"project {project_id}")
        return await self.store.of_project(principal.tenant, project_id, after=after, limit=limit)

    async def remove(self, principal: Principal, project_id: str, expert_id: str) -> Invitation:
        """Take the expert off the project (invited or on its roster); their leases on its
        work are released once that is written (``standing.py``)."""
        async with self.withdrawals.changing(
            principal.tenant, "removed from the roster", expert_id=expert_id, project_id=project_id
        ):
            removed = await self.store.answer(
                principal.tenant,
                project_id,
                expert_id,
                from_states=(InvitationState.invited, InvitationState.accepted),
                to=InvitationState.removed,
                at=self.clock(),
            )
        if removed is None:
            raise NotFound(f"invitation of {expert_id} to {project_id}")
        log.info("expert removed from a project", project_id=project_id, expert_id=expert_id)
        return removed

    async def mine(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> list[Invitation]:
        return await self.store.of_expert(
            principal.tenant, principal.subject, after=after, limit=limit
        )

    async def answer(self, principal: Principal, project_id: str, accept: bool) -> Invitation:
        """The calling expert accepts or declines an invitation waiting for them."""
        to = InvitationState.accepted if accept else InvitationState.declined
        answered = await self.store.answer(
            principal.tenant,
            project_id,
            principal.subject,
            from_states=(InvitationState.invited,),
            to=to,
            at=self.clock(),
        )
        if answered is None:
            current = await self.store.get(principal.tenant, project_id, principal.subject)
            if current is None:
                raise NotFound(f"invitation to {project_id}")
            raise InvitationAnswered(project_id, current.state.value)
        log.info("invitation answered", project_id=project_id, state=to.value)
        return answered
