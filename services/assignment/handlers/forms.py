"""What answers are checked against: rubric versions' definitions (immutable, so kept once
read) and the classes of a taxonomy version (from the cached taxonomy events)."""

from __future__ import annotations

from collections.abc import Callable

from services.assignment.stores.rubrics import RubricStore
from shared.contracts.rubric import RubricDefinition
from shared.contracts.taxonomy import ClassSnapshot
from shared.contracts.vocabulary import TaxonomyRef
from shared.contracts.work import RubricRef
from shared.http.problems import Problem
from shared.taxonomy.cache import TaxonomyCache

#: seconds a client waits before trying again when the taxonomy version is not known yet
TAXONOMY_RETRY_S = 5


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


def not_known_yet(ref: TaxonomyRef) -> Problem:
    """A 503: the version will reach this replica's cache shortly."""
    return Problem(
        503,
        "Service Unavailable",
        f"taxonomy {ref.ontology_id} version {ref.version} is not known here yet: "
        f"try again in {TAXONOMY_RETRY_S} s",
        headers={"Retry-After": str(TAXONOMY_RETRY_S)},
    )


async def classes_of(
    cache: TaxonomyCache,
    tenant: str,
    ref: TaxonomyRef | None,
    unknown: Callable[[TaxonomyRef], Problem] = not_known_yet,
) -> dict[str, ClassSnapshot] | None:
    """The classes of taxonomy version ``ref`` by id (None: no taxonomy to check against);
    ``unknown(ref)`` is raised while the version is not known here."""
    if ref is None:
        return None
    version = await cache.fetch(tenant, ref.ontology_id, ref.version)
    if version is None:
        raise unknown(ref)
    return {c.id: c for c in version.classes}
