"""``quorum.taxonomy.version_published.v1`` payloads as the taxonomy service publishes them,
for the services' tests that consume them."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contracts.taxonomy import (
    ClassSnapshot,
    MappingEntry,
    VersionMapping,
    VersionPublishedV1,
)


def version(
    number: int,
    classes: list[str],
    changes: list[MappingEntry],
    *,
    ontology_id: str = "animals",
    tenant: str = "acme",
) -> VersionPublishedV1:
    """Version ``number`` of an ontology with ``classes`` (ids; names their title case) and,
    after the first, the mapping ``changes`` from the version before."""
    return VersionPublishedV1(
        ontology_id=ontology_id,
        tenant=tenant,
        name=ontology_id.title(),
        version=number,
        content_hash=f"sha256:{number}",
        classes=[ClassSnapshot(id=c, name=c.title()) for c in classes],
        mapping=VersionMapping(from_version=number - 1, to_version=number, changes=changes)
        if number > 1
        else None,
        published_at=datetime.now(UTC),
    )
