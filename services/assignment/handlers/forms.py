"""Rubric versions' definitions as handouts and judgments read them: immutable, so kept once
read."""

from __future__ import annotations

from services.assignment.stores.rubrics import RubricStore
from shared.contracts.rubric import RubricDefinition
from shared.contracts.work import RubricRef


class RubricForms:
    def __init__(self, store: RubricStore) -> None:
        self.store = store
        self._forms: dict[tuple[str, str, int], RubricDefinition] = {}

    async def get(self, tenant: str, ref: RubricRef) -> RubricDefinition:
        key = (tenant, ref.rubric_id, ref.version)
        if key not in self._forms:
            found = await self.store.get(tenant, ref.rubric_id, ref.version)
            if found is None:  # versions are never deleted: a broken store
                raise RuntimeError(f"rubric {ref.rubric_id} version {ref.version} is missing")
            self._forms[key] = found.definition
        return self._forms[key]
