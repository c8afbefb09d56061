"""Calibration: each gold score feeds the expert's rolling score on the skills of the project
it was scored in (``calibration.feed``); below the project's floor the expert is benched from
it (no more of its work) and ``expert.benched`` alerts ops; ops reinstate them, calibrated
afresh. An expert sees their own trend per skill, never which units were gold."""

from __future__ import annotations

from services.assignment import calibration
from services.assignment.handlers.events import SOURCE
from services.assignment.handlers.projects import project_of
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
from shared.http.problems import not_found
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
        *,
        window: int = calibration.DEFAULT_WINDOW,
        history: int = calibration.DEFAULT_HISTORY,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.projects = projects
        self.experts = experts
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
        await self.store.add(tenant, expert_id, skills, scored.score, scored.judgment_id)
        calibrations = await self._of(tenant, expert_id)
        policy = project.calibration
        below = calibration.benched_skills(calibrations, skills, policy.floor, policy.min_count)
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
        if await self.store.bench(bench, event):
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
        and trend, nothing of the items."""
        shown = self._shown(await self._of(principal.tenant, principal.subject))
        return _page(shown, after, limit)

    async def of_expert(
        self, principal: Principal, expert_id: str, *, after: str | None, limit: int
    ) -> list[SkillCalibration]:
        if await self.experts.get(principal.tenant, expert_id) is None:
            raise not_found(f"expert {expert_id}")
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
        if not await self.store.lift(principal.tenant, project_id, expert_id, event):
            raise not_found(f"a bench of expert {expert_id} from project {project_id}")
        await self.store.restart(principal.tenant, expert_id, calibrated_skills(project))
        log.info(
            "expert reinstated", expert_id=expert_id, project_id=project_id, reason=body.reason
        )


def _page(shown: list[SkillCalibration], after: str | None, limit: int) -> list[SkillCalibration]:
    """The calibrations (in skill order) after skill ``after``; at most ``limit``."""
    return [c for c in shown if after is None or c.skill > after][:limit]
