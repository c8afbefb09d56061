"""Experts: invited by ops, moved through vetting with an audit trail, skills attested or
earned by qualification. An expert reads their own profile; ops manage those of their tenant."""

from __future__ import annotations

from collections.abc import Callable

from services.assignment.eligibility import VettingState, transition_errors
from services.assignment.errors import (
    NotFound,
    OnboardingDiffers,
    OnboardingInvalid,
    TransitionRefused,
)
from services.assignment.handlers.revisions import change_at_revision
from services.assignment.handlers.withdrawals import Withdrawals
from services.assignment.models.experts import (
    AttestationIn,
    Expert,
    ExpertIn,
    ExpertPatch,
    Skill,
    SkillProof,
    StateChange,
    StateChangeIn,
)
from services.assignment.stores.experts import ExpertExists, ExpertStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.errors import FieldError, differences
from shared.logging import get_logger

log = get_logger(__name__)

#: The vetting states whose experts no longer stand for any work handed out to them.
WITHDRAWING = frozenset({VettingState.suspended, VettingState.offboarded})


class Experts:
    def __init__(self, store: ExpertStore, withdrawals: Withdrawals, clock: Clock = now_ms) -> None:
        self.store = store
        self.withdrawals = withdrawals
        self.clock = clock

    async def onboard(self, principal: Principal, body: ExpertIn) -> tuple[Expert, bool]:
        """Onboard an expert in one call: the profile, the skills ops attest (each with its
        proof) and the vetting state, each move to it recorded; one insert. True when made
        now; the same body again gives the expert as stored (False), another body for the
        id is a 409 naming each field that differs."""
        errors = onboarding_errors(body)
        if errors:
            raise OnboardingInvalid(errors)
        now = self.clock()
        by = principal.subject
        history = [
            StateChange(
                from_state=None, to_state=VettingState.invited, by=by, at=now, reason="invited"
            )
        ]
        for state in ONBOARDING_PATHS[body.state]:
            history.append(
                StateChange(
                    from_state=history[-1].to_state,
                    to_state=state,
                    by=by,
                    at=now,
                    reason=body.reason or "",
                )
            )
        skills = [
            Skill(
                skill=s.skill,
                level=s.level,
                verified=SkillProof(method="attestation", at=now, by=by, note=s.note),
            )
            for s in sorted(body.skills, key=lambda s: s.skill)
        ]
        expert = Expert(
            expert_id=body.expert_id,
            tenant=principal.tenant,
            display_name=body.display_name,
            languages=body.languages,
            timezone=body.timezone,
            capacity=body.capacity,
            skills=skills,
            state=history[-1].to_state,
            history=history,
            revision=1,
            created_at=now,
        )
        onboarding = body.model_dump(mode="json")
        try:
            await self.store.insert(expert, onboarding)
        except ExpertExists:
            first = await self.store.onboarding(principal.tenant, body.expert_id)
            differ = (
                differences(first, onboarding)
                if first is not None
                else [FieldError(field="body.expert_id", message="already known")]
            )
            if differ:
                raise OnboardingDiffers(body.expert_id, differ) from None
            return await self.get(principal, body.expert_id), False
        log.info("expert onboarded", expert_id=expert.expert_id, state=expert.state.value)
        return expert, True

    async def get(self, principal: Principal, expert_id: str) -> Expert:
        expert = await self.store.get(principal.tenant, expert_id)
        if expert is None:
            raise NotFound(f"expert {expert_id}")
        return expert

    async def page(
        self, principal: Principal, *, state: VettingState | None, after: str | None, limit: int
    ) -> tuple[list[Expert], str | None]:
        experts = await self.store.page(principal.tenant, state=state, after=after, limit=limit)
        return experts, experts[-1].expert_id if len(experts) == limit else None

    async def update(self, principal: Principal, expert_id: str, body: ExpertPatch) -> Expert:
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        return await self._change(
            principal,
            expert_id,
            lambda e: Expert.model_validate({**e.model_dump(), **changes}),
            "profile changed",
        )

    async def move(self, principal: Principal, expert_id: str, body: StateChangeIn) -> Expert:
        def moved(expert: Expert) -> Expert:
            errors = transition_errors(expert.state, body.state)
            if errors:
                raise TransitionRefused("body.state", errors)
            entry = StateChange(
                from_state=expert.state,
                to_state=body.state,
                by=principal.subject,
                at=self.clock(),
                reason=body.reason,
            )
            return expert.model_copy(
                update={"state": body.state, "history": [*expert.history, entry]}
            )

        if body.state not in WITHDRAWING:
            return await self._change(principal, expert_id, moved, "vetting state changed")
        # their leases are released once the move is written (standing.py)
        async with self.withdrawals.changing(
            principal.tenant, f"expert {body.state.value}", expert_id=expert_id
        ):
            return await self._change(principal, expert_id, moved, "vetting state changed")

    async def attest(
        self, principal: Principal, expert_id: str, skill_id: str, body: AttestationIn
    ) -> Expert:
        proof = SkillProof(
            method="attestation", at=self.clock(), by=principal.subject, note=body.note
        )
        skill = Skill(skill=skill_id, level=body.level, verified=proof)
        # a lower level may fall below a project's minimum: its leases are released then
        async with self.withdrawals.changing(
            principal.tenant, f"skill {skill_id} attested", expert_id=expert_id
        ):
            return await self._change(
                principal, expert_id, lambda e: _with_skill(e, skill), "skill attested"
            )

    async def qualified(self, tenant: str, expert_id: str, skill: Skill) -> None:
        """Grant a skill an expert earned by qualification; a higher level they hold already
        stays."""

        async def read() -> Expert:
            expert = await self.store.get(tenant, expert_id)
            if expert is None:
                raise NotFound(f"expert {expert_id}")
            return expert

        def granted(expert: Expert) -> Expert:
            held = next((s for s in expert.skills if s.skill == skill.skill), None)
            return expert if held and held.level > skill.level else _with_skill(expert, skill)

        await change_at_revision(read, granted, self.store.replace, f"expert {expert_id}")
        log.info("skill earned by qualification", expert_id=expert_id, skill=skill.skill)

    async def revoke(self, principal: Principal, expert_id: str, skill_id: str) -> Expert:
        def without(expert: Expert) -> Expert:
            if all(s.skill != skill_id for s in expert.skills):
                raise NotFound(f"skill {skill_id} of expert {expert_id}")
            kept = [s for s in expert.skills if s.skill != skill_id]
            return expert.model_copy(update={"skills": kept})

        # leases of projects that require the skill are released once it is written
        async with self.withdrawals.changing(
            principal.tenant, f"skill {skill_id} revoked", expert_id=expert_id
        ):
            return await self._change(principal, expert_id, without, "skill revoked")

    async def _change(
        self,
        principal: Principal,
        expert_id: str,
        change: Callable[[Expert], Expert],
        what: str,
    ) -> Expert:
        """Apply ``change`` to the stored expert at the revision read (the store writes it as
        the next revision); again on a concurrent edit."""
        changed = await change_at_revision(
            lambda: self.get(principal, expert_id),
            change,
            self.store.replace,
            f"expert {expert_id}",
        )
        log.info(what, expert_id=expert_id)
        return changed.model_copy(update={"revision": changed.revision + 1})


#: The moves from invited that onboarding in each state records.
ONBOARDING_PATHS: dict[str, tuple[VettingState, ...]] = {
    "invited": (),
    "vetting": (VettingState.vetting,),
    "vetted": (VettingState.vetting, VettingState.vetted),
}


def onboarding_errors(body: ExpertIn) -> list[FieldError]:
    """What the schema leaves to check of an onboarding: each skill once, and a reason for
    a state beyond invited."""
    errors = []
    seen: set[str] = set()
    for index, skill in enumerate(body.skills):
        if skill.skill in seen:
            errors.append(
                FieldError(field=f"body.skills.{index}.skill", message="this skill is named twice")
            )
        seen.add(skill.skill)
    if body.state != "invited" and body.reason is None:
        errors.append(
            FieldError(field="body.reason", message=f"say why the expert starts {body.state}")
        )
    return errors


def _with_skill(expert: Expert, skill: Skill) -> Expert:
    """The expert with ``skill`` added, or replacing the entry of the same skill id."""
    skills = [s for s in expert.skills if s.skill != skill.skill]
    return expert.model_copy(update={"skills": sorted([*skills, skill], key=lambda s: s.skill)})
