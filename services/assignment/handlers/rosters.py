"""Rosters: ops invite experts to a project, the expert accepts or declines, ops remove them;
the roster is the accepted invitations. Invitations, not open enrollment."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.assignment.eligibility import VettingState
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
from shared.http.problems import Problem, not_found
from shared.logging import get_logger

log = get_logger(__name__)


def _conflict(detail: str, field: str | None = None) -> Problem:
    errors = [FieldError(field=field, message=detail)] if field else None
    return Problem(409, "Conflict", detail, errors=errors)


def _replayed(batch_id: str, first: dict[str, Any], sent: dict[str, Any]) -> InvitationBatch:
    """The answer of the batch made before under ``batch_id``, if ``sent`` is its body."""
    differ = differences(first["body"], sent)
    if differ:
        raise Problem(
            409,
            "Conflict",
            f"batch {batch_id} was sent before with another body: use a new batch id",
            errors=differ,
        )
    return InvitationBatch.model_validate(first["answer"])


class Rosters:
    def __init__(
        self,
        store: RosterStore,
        projects: ProjectStore,
        experts: ExpertStore,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.experts = experts
        self.clock = clock

    async def invite(self, principal: Principal, project_id: str, expert_id: str) -> Invitation:
        project = await self.projects.get(principal.tenant, project_id)
        if project is None:
            raise not_found(f"project {project_id}")
        if project.status is ProjectStatus.closed:
            raise _conflict(f"project {project_id} is closed")
        expert = await self.experts.get(principal.tenant, expert_id)
        if expert is None:
            raise Problem(
                422,
                "Unprocessable Content",
                f"expert {expert_id} is not known: invite them to Quorum first (POST /v1/experts)",
                errors=[FieldError(field="body.expert_id", message="no such expert")],
            )
        if expert.state is VettingState.offboarded:
            raise _conflict(f"expert {expert_id} is offboarded", "body.expert_id")
        made = await self.store.invite(
            principal.tenant, project_id, expert_id, by=principal.subject, at=self.clock()
        )
        if made is None:
            raise _conflict(
                f"expert {expert_id} is invited to or on the roster of {project_id} already",
                "body.expert_id",
            )
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
            raise not_found(f"project {project_id}")
        sent = body.model_dump(mode="json")
        first = await self.store.batch(tenant, project_id, body.batch_id)
        if first is not None:
            return _replayed(body.batch_id, first, sent), False
        if project.status is ProjectStatus.closed:
            raise _conflict(f"project {project_id} is closed")
        twice = [
            FieldError(field=f"body.expert_ids.{i}", message="this expert is named twice")
            for i, expert_id in enumerate(body.expert_ids)
            if expert_id in body.expert_ids[:i]
        ]
        if twice:
            raise Problem(422, "Unprocessable Content", "an expert is named twice", errors=twice)
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
            raise not_found(f"project {project_id}")
        return await self.store.of_project(principal.tenant, project_id, after=after, limit=limit)

    async def remove(self, principal: Principal, project_id: str, expert_id: str) -> Invitation:
        removed = await self.store.answer(
            principal.tenant,
            project_id,
            expert_id,
            from_states=(InvitationState.invited, InvitationState.accepted),
            to=InvitationState.removed,
            at=self.clock(),
        )
        if removed is None:
            raise not_found(f"invitation of {expert_id} to {project_id}")
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
                raise not_found(f"invitation to {project_id}")
            raise _conflict(f"the invitation to {project_id} is {current.state}: nothing to answer")
        log.info("invitation answered", project_id=project_id, state=to.value)
        return answered
