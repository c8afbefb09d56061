"""Rosters: ops invite experts to a project, the expert accepts or declines, ops remove them;
the roster is the accepted invitations. Invitations, not open enrollment."""

from __future__ import annotations

from services.assignment.eligibility import VettingState
from services.assignment.models.rosters import Invitation, InvitationState
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.rosters import RosterStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import ProjectStatus
from shared.errors import FieldError
from shared.http.problems import Problem, not_found
from shared.logging import get_logger

log = get_logger(__name__)


def _conflict(detail: str, field: str | None = None) -> Problem:
    errors = [FieldError(field=field, message=detail)] if field else None
    return Problem(409, "Conflict", detail, errors=errors)


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

    async def roster(self, principal: Principal, project_id: str) -> list[Invitation]:
        if await self.projects.get(principal.tenant, project_id) is None:
            raise not_found(f"project {project_id}")
        return await self.store.of_project(principal.tenant, project_id)

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

    async def mine(self, principal: Principal) -> list[Invitation]:
        return await self.store.of_expert(principal.tenant, principal.subject)

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
