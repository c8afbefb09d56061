"""What answers are checked against: rubric versions' definitions (immutable, so kept once
read), the classes of a taxonomy version (from the cached taxonomy events) and the media the
labels mark."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from services.assignment.errors import TaxonomyNotKnownYet
from services.assignment.stores.rubrics import RubricStore
from shared.annotation.rle import mask_errors
from shared.contracts.media import BundlePart, MediaFile
from shared.contracts.rubric import RubricDefinition
from shared.contracts.taxonomy import ClassSnapshot
from shared.contracts.vocabulary import Label, Modality, TaxonomyRef
from shared.contracts.work import RubricRef
from shared.errors import FieldError
from shared.media.placement import label_errors
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


async def classes_of(
    cache: TaxonomyCache, tenant: str, ref: TaxonomyRef | None
) -> Mapping[str, ClassSnapshot] | None:
    """The classes of taxonomy version ``ref`` by id (None: no taxonomy to check against),
    the version's own index (built once per version read, so asking again costs nothing);
    :class:`TaxonomyNotKnownYet` while the version is not known here (it will reach this
    replica's cache shortly)."""
    if ref is None:
        return None
    version = await cache.fetch(tenant, ref.ontology_id, ref.version)
    if version is None:
        raise TaxonomyNotKnownYet(ref, TAXONOMY_RETRY_S)
    return version.class_index


def placed_label_errors(
    labels: Sequence[Label],
    *,
    modality: Modality | str,
    media: MediaFile | None,
    parts: Sequence[BundlePart] | None,
    classes: Mapping[str, ClassSnapshot] | None,
    at: str,
    reported: Sequence[FieldError] = (),
) -> list[FieldError]:
    """Every problem of ``labels`` on the media they mark (``shared.media.placement``, the
    rule ingest applies to pre-labels: refused, never clipped), and of their masks (runs that
    cover their size, within the bounds matching can afford: ``shared.annotation.rle.mask_errors``), each
    at ``<at>.<index>...``, less those ``reported`` names already (the rubric names a class the
    version lacks too)."""
    placed = label_errors(
        labels, modality=modality, media=media, parts=parts, classes=classes, at=at
    ) + mask_errors(labels, at=at)
    return [e for e in placed if e not in reported]
