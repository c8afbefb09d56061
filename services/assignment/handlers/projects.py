"""Projects: ops create them (draft), change their settings and move them through their
statuses; every change is one ``project.changed`` event with the full configuration, for
ingest and metrics. A project pins a rubric version: a new version applies to units created
after the project is changed to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.assignment import projects as rules
from services.assignment.errors import (
    NotFound,
    ProjectClosed,
    ProjectIdTaken,
    ProjectSettingsInvalid,
    RubricVersionUnknown,
    TransitionRefused,
)
from services.assignment.handlers.revisions import change_at_revision
from services.assignment.handlers.withdrawals import Withdrawals
from services.assignment.models.projects import (
    Progress,
    Project,
    ProjectIn,
    ProjectPatch,
    RubricChoice,
    StatusIn,
    UnitCounts,
)
from services.assignment.stores.items import ItemStore
from services.assignment.stores.projects import ProjectExists, ProjectStore
from services.assignment.stores.rubrics import RubricStore
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.rubric import RubricDefinition
from shared.contracts.work import ProjectStatus, RubricRef
from shared.logging import get_logger

log = get_logger(__name__)

#: Fields a patch may set to null (clearing them); null elsewhere leaves a field as it is.
CLEARABLE = frozenset({"due_at", "taxonomy", "lease_max_life_s"})


async def project_of(store: ProjectStore, tenant: str, project_id: str) -> Project:
    """The tenant's project, or :class:`NotFound`."""
    project = await store.get(tenant, project_id)
    if project is None:
        raise NotFound(f"project {project_id}")
    return project


class Projects:
    def __init__(
        self,
        store: ProjectStore,
        rubrics: RubricStore,
        items: ItemStore,
        withdrawals: Withdrawals,
        clock: Clock = now_ms,
    ) -> None:
        self.store = store
        self.rubrics = rubrics
        self.items = items
        self.withdrawals = withdrawals
        self.clock = clock

    async def create(self, principal: Principal, body: ProjectIn) -> Project:
        ref, definition = await self._rubric(principal, body.rubric)
        now = self.clock()
        settings = body.model_dump(exclude={"project_id", "rubric", "overlap"})
        project = Project(
            **settings,
            project_id=body.project_id,
            tenant=principal.tenant,
            rubric=ref,
            overlap=body.overlap.resolved(),
            status=ProjectStatus.draft,
            revision=1,
            created_at=now,
            changed_at=now,
            changed_by=principal.subject,
        )
        self._check(project, definition)
        try:
            await self.store.insert(project, rules.changed_event(project, definition))
        except ProjectExists:
            raise ProjectIdTaken(body.project_id) from None
        log.info("project created", project_id=project.project_id)
        return project

    async def get(self, principal: Principal, project_id: str) -> Project:
        return await project_of(self.store, principal.tenant, project_id)

    async def progress(self, principal: Principal, project_id: str) -> Progress:
        """Counts of the project's work, for its client and ops; no expert is named."""
        project = await self.get(principal, project_id)
        tally = await self.items.tally(principal.tenant, project_id)

        def units(kind: str) -> UnitCounts:
            return UnitCounts(**{state: n for (k, state), n in tally["units"].items() if k == kind})

        resolved = tally["resolved"]
        return Progress(
            project_id=project_id,
            status=project.status,
            items=tally["items"],
            units=units("review"),
            adjudication_units=units("adjudication"),
            resolved=resolved,
            unresolved=tally["items"] - sum(resolved.values()),
        )

    async def page(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> tuple[list[Project], str | None]:
        found = await self.store.page(principal.tenant, after=after, limit=limit)
        return found, found[-1].project_id if len(found) == limit else None

    async def update(self, principal: Principal, project_id: str, body: ProjectPatch) -> Project:
        changes = {
            k: v
            for k, v in body.model_dump(exclude_unset=True).items()
            if v is not None or k in CLEARABLE
        }
        rubric = await self._rubric(principal, body.rubric) if body.rubric else None
        overlap = body.overlap.resolved() if body.overlap else None

        def changed(project: Project) -> dict[str, Any]:
            if project.status is ProjectStatus.closed:
                raise ProjectClosed(project_id)
            update: dict[str, Any] = {**changes}
            if rubric is not None:
                update["rubric"] = rubric[0]
            if overlap is not None:
                update["overlap"] = overlap
            return update

        return await self._change(principal, project_id, changed, "project changed")

    async def move(self, principal: Principal, project_id: str, body: StatusIn) -> Project:
        def moved(project: Project) -> dict[str, Any]:
            errors = rules.status_errors(project.status, body.status)
            if errors:
                raise TransitionRefused("body.status", errors)
            return {"status": body.status}

        what = f"project {body.status}"
        if body.status not in (ProjectStatus.paused, ProjectStatus.closed):
            return await self._change(principal, project_id, moved, what)
        # the leases on its work are released once the move is written (standing.py)
        async with self.withdrawals.changing(principal.tenant, what, project_id=project_id):
            return await self._change(principal, project_id, moved, what)

    async def _change(
        self,
        principal: Principal,
        project_id: str,
        fields: Callable[[Project], dict[str, Any]],
        what: str,
    ) -> Project:
        definitions: dict[RubricRef, RubricDefinition] = {}

        async def read() -> Project:
            project = await self.get(principal, project_id)
            return project

        def change(project: Project) -> Project:
            values = {**project.model_dump(), **fields(project)}
            values.update(
                revision=project.revision + 1,
                changed_at=self.clock(),
                changed_by=principal.subject,
            )
            return Project.model_validate(values)

        async def write(project: Project) -> bool:
            if project.rubric not in definitions:
                definitions[project.rubric] = await self._definition(principal, project.rubric)
            definition = definitions[project.rubric]
            self._check(project, definition)
            return await self.store.replace(project, rules.changed_event(project, definition))

        changed = await change_at_revision(read, change, write, f"project {project_id}")
        log.info(what, project_id=project_id, revision=changed.revision)
        return changed

    def _check(self, project: Project, definition: RubricDefinition) -> None:
        errors = rules.settings_errors(project, definition)
        if errors:
            raise ProjectSettingsInvalid(errors)

    async def _rubric(
        self, principal: Principal, choice: RubricChoice
    ) -> tuple[RubricRef, RubricDefinition]:
        """The rubric version a project names (the latest when it names none), or
        :class:`RubricVersionUnknown`."""
        version = choice.version
        if version is None:
            numbers = await self.rubrics.numbers(principal.tenant, choice.rubric_id)
            version = numbers[-1] if numbers else None
        found = (
            await self.rubrics.get(principal.tenant, choice.rubric_id, version)
            if version is not None
            else None
        )
        if found is None:
            raise RubricVersionUnknown(choice.rubric_id, choice.version)
        return RubricRef(rubric_id=found.rubric_id, version=found.version), found.definition

    async def _definition(self, principal: Principal, ref: RubricRef) -> RubricDefinition:
        found = await self.rubrics.get(principal.tenant, ref.rubric_id, ref.version)
        if found is None:  # a project's rubric version is never deleted
            raise NotFound(f"version {ref.version} of rubric {ref.rubric_id}")
        return found.definition
