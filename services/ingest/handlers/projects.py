"""The projects registrations are checked against, from ``project.changed``."""

from __future__ import annotations

import time

from services.ingest.store import ProjectStore
from shared.contracts.work import ProjectChangedV1
from shared.events.envelope import Event

#: How long registrations may use a project read before (a project closed through another
#: replica is refused at most this much later; through this one, at once).
PROJECT_CACHE_S = 1.0
PROJECT_CACHE_SIZE = 10_000


class Projects:
    def __init__(self, store: ProjectStore) -> None:
        self.store = store
        #: (tenant, project id) -> (monotonic expiry, project or None)
        self._recent: dict[tuple[str, str], tuple[float, ProjectChangedV1 | None]] = {}

    async def current(self, tenant: str, project_id: str) -> ProjectChangedV1 | None:
        """A project as registrations see it: read at most every ``PROJECT_CACHE_S`` (a
        change consumed here is seen at once; one consumed by another replica, within it)."""
        key = (tenant, project_id)
        now = time.monotonic()
        cached = self._recent.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        project = await self.store.get(tenant, project_id)
        if len(self._recent) >= PROJECT_CACHE_SIZE:
            self._recent.clear()
        self._recent[key] = (now + PROJECT_CACHE_S, project)
        return project

    async def get(self, tenant: str, project_id: str) -> ProjectChangedV1 | None:
        """The project as stored now."""
        return await self.store.get(tenant, project_id)

    async def on_project_changed(self, event: Event[ProjectChangedV1]) -> None:
        project = event.data
        await self.store.keep_newest(project)
        self._recent.pop((project.tenant, project.project_id), None)  # seen at once here
