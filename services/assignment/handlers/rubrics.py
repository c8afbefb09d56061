"""Rubrics: ops write definitions (checked whole by ``rubric.definition_errors``) in immutable
versions; a project names the version its new units use."""

from __future__ import annotations

from typing import Any

from services.assignment import rubric
from services.assignment.errors import (
    NotFound,
    RubricBusy,
    RubricDefinitionInvalid,
    RubricIdTaken,
)
from services.assignment.models.rubrics import (
    Rubric,
    RubricIn,
    RubricVersion,
    RubricVersionIn,
    Template,
)
from services.assignment.stores.rubrics import RubricStore, VersionTaken
from shared.auth.principal import Principal
from shared.clock import Clock, now_ms
from shared.contracts.rubric import RubricDefinition
from shared.errors import FieldError, unknown_fields
from shared.logging import get_logger

log = get_logger(__name__)

#: Concurrent new versions of one rubric are retried this many times before a 409.
ATTEMPTS = 10


def _checked(definition: RubricDefinition, raw: Any) -> RubricDefinition:
    """The definition, or :class:`RubricDefinitionInvalid` naming every unknown key and
    every broken rule."""
    errors = unknown_fields(raw, definition, "body.definition")
    errors += [
        FieldError(field=e.field.replace("body.", "body.definition.", 1), message=e.message)
        for e in rubric.definition_errors(definition)
    ]
    if errors:
        raise RubricDefinitionInvalid(errors)
    return definition


class Rubrics:
    def __init__(self, store: RubricStore, clock: Clock = now_ms) -> None:
        self.store = store
        self.clock = clock

    def templates(self, *, after: str | None = None, limit: int = 0) -> list[Template]:
        """The templates Quorum ships, by name after ``after``; at most ``limit`` (0: all)."""
        names = [n for n in sorted(rubric.TEMPLATES) if after is None or n > after]
        names = names[:limit] if limit else names
        return [Template(name=n, definition=rubric.load_template(n)) for n in names]

    async def create(self, principal: Principal, body: RubricIn, raw: Any) -> RubricVersion:
        if body.definition is not None:
            definition = _checked(body.definition, raw.get("definition"))
        else:
            assert body.template is not None
            definition = rubric.load_template(body.template)
        first = self._version(principal, body.rubric_id, 1, definition)
        try:
            await self.store.insert(principal.tenant, first)
        except VersionTaken:
            raise RubricIdTaken(body.rubric_id) from None
        log.info("rubric created", rubric_id=body.rubric_id)
        return first

    async def add_version(
        self, principal: Principal, rubric_id: str, body: RubricVersionIn, raw: Any
    ) -> RubricVersion:
        definition = _checked(body.definition, raw.get("definition"))
        for _ in range(ATTEMPTS):
            numbers = await self.store.numbers(principal.tenant, rubric_id)
            if not numbers:
                raise NotFound(f"rubric {rubric_id}")
            version = self._version(principal, rubric_id, numbers[-1] + 1, definition)
            try:
                await self.store.insert(principal.tenant, version)
            except VersionTaken:
                continue
            log.info("rubric version added", rubric_id=rubric_id, version=version.version)
            return version
        raise RubricBusy(rubric_id)

    async def get(self, principal: Principal, rubric_id: str) -> Rubric:
        numbers = await self.store.numbers(principal.tenant, rubric_id)
        latest = numbers and await self.store.get(principal.tenant, rubric_id, numbers[-1])
        if not latest:
            raise NotFound(f"rubric {rubric_id}")
        return Rubric(rubric_id=rubric_id, latest=latest, versions=numbers)

    async def version(self, principal: Principal, rubric_id: str, number: int) -> RubricVersion:
        found = await self.store.get(principal.tenant, rubric_id, number)
        if found is None:
            raise NotFound(f"version {number} of rubric {rubric_id}")
        return found

    async def page(
        self, principal: Principal, *, after: str | None, limit: int
    ) -> tuple[list[Rubric], str | None]:
        rows = await self.store.latest_page(principal.tenant, after=after, limit=limit)
        rubrics = [Rubric(rubric_id=v.rubric_id, latest=v, versions=n) for v, n in rows]
        return rubrics, rubrics[-1].rubric_id if len(rubrics) == limit else None

    def _version(
        self, principal: Principal, rubric_id: str, number: int, definition: RubricDefinition
    ) -> RubricVersion:
        return RubricVersion(
            rubric_id=rubric_id,
            version=number,
            definition=definition,
            created_at=self.clock(),
            created_by=principal.subject,
        )
