"""Calibration: each gold score feeds the expert's rolling score on the skills of the project
it was scored in (``calibration.feed``); below the project's floor the expert is benched from
it (no more of its work) and ``expert.benched`` alerts ops; ops reinstate them, calibrated
afresh. An expert sees their own trend per skill, never which units were gold."""

from __future__ import annotations

from services.assignment import calibration
from services.assignment.errors import NotFound
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.projects import project_of
from services.assignment.handlers.withdrawals import Withdrawals
from services.assignment.models.gold import Bench, ReinstateIn, SkillCalibration
from services.assignment.models.projects import Project
from services.assignment.stores.calibrations import CalibrationStore
from services.assignment.stores.experts import ExpertStore
from services.assignment.stores.projects import ProjectStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.work import (
    EXPERT_BENCHED,
    EXPERT_REINSTATED,
    ExpertBenchedV1,
    ExpertReinstatedV1,
    GoldScoredV1,
)
from shared.events.envelope import Event, make_event
from shared.logging import get_logger

log = get_logger(__name__)


def calibrated_skills(project: Project) -> list[str]:
    """The skills a project's gold scores feed: its required skills, or (requiring none) its
    modality's (``modality.image``), so every project with gold can bench."""
    return sorted(project.required_skills) or [f"modality.{project.modality.value}"]


class Calibrations:
    def __init__(
        self,
        store: CalibrationStore,
        projects: ProjectStore,
        experts: ExpertStore,
        withdrawals: Withdrawals,
        *,
        window: int = calibration.DEFAULT_WINDOW,
        history: int = calibration.DEFAULT_HISTORY,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.experts = experts
        self.withdrawals = withdrawals
        self.window = window
        self.history = history
        self.clock = clock

    async def _of(self, tenant: str, expert_id: str) -> dict[str, calibration.Calibration]:
        kept = await self.store.scores(tenant, expert_id)
        return {
            skill: calibration.replay(scores, self.window, self.history)
            for skill, scores in kept.items()
        }

    async def means_of_tenant(self, tenant: str) -> dict[str, dict[str, float]]:
        """Expert -> skill -> rolling gold mean, for each calibrated skill."""
        found = {}
        for expert_id, kept in (await self.store.scores_of_tenant(tenant)).items():
            means = {
                skill: calibration.replay(scores, self.window, self.history).mean
                for skill, scores in kept.items()
            }
            found[expert_id] = {s: m for s, m in means.items() if m is not None}
        return found

    async def on_gold_scored(self, event: Event[GoldScoredV1]) -> None:
        """The published score again (a replica that stopped after storing the judgment
        did not feed it): fed once, by judgment id."""
        await self.on_score(event.data)

    async def on_score(self, scored: GoldScoredV1) -> None:
        """Feed a gold judgment's score and bench its expert if it takes them below the
        project's floor (once: a bench in place is left as it is)."""
        project = await self.projects.get(scored.tenant, scored.project_id)
        if project is None:
            return
        skills = calibrated_skills(project)
        tenant, expert_id = scored.tenant, scored.expert_id
        await self.store.add(
            tenant, expert_id, skills, scored.score, scored.judgment_id, scored.scored_at
        )
        calibrations = await self._of(tenant, expert_id)
        policy = project.calibration
        # a project stored before min_count was bounded by the window: the whole window
        min_count = min(policy.min_count, self.window)
        below = calibration.benched_skills(calibrations, skills, policy.floor, min_count)
        if not below:
            return
        now = self.clock()
        means = {s: round(calibrations[s].mean or 0.0, 6) for s in below}
        bench = Bench(
            tenant=tenant,
            project_id=project.project_id,
            expert_id=expert_id,
            skills=means,
            floor=policy.floor,
            benched_at=now,
        )
        event = make_event(
            EXPERT_BENCHED,
            ExpertBenchedV1(
                tenant=tenant,
                expert_id=expert_id,
                project_id=project.project_id,
                skills=means,
                floor=policy.floor,
                min_count=policy.min_count,
                benched_at=now,
            ),
            source=SOURCE,
            tenant=tenant,
        )
        # their leases on the project's work are released once the bench is written
        async with self.withdrawals.changing(
            tenant, "benched", expert_id=expert_id, project_id=project.project_id
        ):
            benched = await self.store.bench(bench, event, scored.scored_at)
        if benched:
            log.warning(
                "expert benched: gold score below the project's floor",
                expert_id=expert_id,
                project_id=project.project_id,
                skills=means,
                floor=policy.floor,
            )

    def _shown(self, calibrations: dict[str, calibration.Calibration]) -> list[SkillCalibration]:
        return [
            SkillCalibration(
                skill=skill,
                mean=c.mean,
                count=c.count,
                window=c.window,
                trend=list(calibration.trend(c)),
            )
            for skill, c in sorted(calibrations.items())
        ]

    async def mine(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> list[SkillCalibration]:
        """The calling expert's calibration per skill (by skill id, after ``after``): means
        and trend, nothing of the items, as :func:`calibration.expert_view` cuts them (whole
        batches, at the boundaries of a period), so no change can be traced to a unit; a
        skill shows once a whole batch of it is in the view."""
        now = self.clock()
        kept = await self.store.fed_scores(principal.tenant, principal.subject)
        shown = []
        for skill, (scores, scored_at, fed) in sorted(kept.items()):
            view = calibration.expert_view(
                scores, scored_at, fed, now, window=self.window, history=self.history
            )
            if view is not None:
                shown.append(
                    SkillCalibration(
                        skill=skill,
                        mean=view.mean,
                        count=view.count,
                        window=view.window,
                        trend=list(view.trend),
                        as_of=view.as_of,
                    )
                )
        return _page(shown, after, limit)

    async def of_expert(
        self, principal: Principal, expert_id: str, *, after: str | None, limit: int
    ) -> list[SkillCalibration]:
        if await self.experts.get(principal.tenant, expert_id) is None:
            raise NotFound(f"expert {expert_id}")
        return _page(self._shown(await self._of(principal.tenant, expert_id)), after, limit)

    async def benches(
        self, principal: Principal, project_id: str, *, after: str | None, limit: int
    ) -> list[Bench]:
        await project_of(self.projects, principal.tenant, project_id)
        return await self.store.benches_of(principal.tenant, project_id, after=after, limit=limit)

    async def reinstate(
        self, principal: Principal, project_id: str, expert_id: str, body: ReinstateIn
    ) -> None:
        """Lift the expert's bench from the project; their calibration on its skills starts
        afresh (else the first gold score after would bench them again)."""
        project = await project_of(self.projects, principal.tenant, project_id)
        now = self.clock()
        event = make_event(
            EXPERT_REINSTATED,
            ExpertReinstatedV1(
                tenant=principal.tenant,
                expert_id=expert_id,
                project_id=project_id,
                by=principal.subject,
                reason=body.reason,
                reinstated_at=now,
            ),
            source=SOURCE,
            tenant=principal.tenant,
        )
        if not await self.store.lift(principal.tenant, project_id, expert_id, event, now):
            raise NotFound(f"a bench of expert {expert_id} from project {project_id}")
        await self.store.restart(principal.tenant, expert_id, calibrated_skills(project), now)
        log.info(
            "expert reinstated", expert_id=expert_id, project_id=project_id, reason=body.reason
        )


def _page(shown: list[SkillCalibration], after: str | None, limit: int) -> list[SkillCalibration]:
    """The calibrations (in skill order) after skill ``after``; at most ``limit``."""
    return [c for c in shown if after is None or c.skill > after][:limit]
