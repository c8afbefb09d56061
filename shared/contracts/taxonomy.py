"""Event contracts of taxonomy: published versions (full snapshot + mapping) and example links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from pydantic import Field

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.contracts.vocabulary import Geometry, Id, Modality, TenantId, TimeSegment

PRODUCER = "taxonomy"

TAXONOMY = Topic(
    "quorum.taxonomy", summary="Published ontology versions and example links", key="ontology id"
)


class ClassStatus(StrEnum):
    active = "active"
    deprecated = "deprecated"


class AttributeSpec(Contract):
    name: Id
    type: str = Field(description="bool | enum | int | float | string")
    values: list[str] | None = Field(None, description="allowed values of an enum attribute")
    required: bool = False


class ClassSnapshot(Contract):
    id: Id = Field(description="stable id, never reused")
    name: str
    display_name: str | None = None
    parent_id: Id | None = None
    description: str = ""
    guideline: str = ""
    synonyms: list[str] = Field(default_factory=list)
    attributes: list[AttributeSpec] = Field(default_factory=list)
    modalities: list[Modality] = Field(default_factory=list)
    status: ClassStatus = ClassStatus.active
    extra: dict[str, Any] = Field(default_factory=dict, description="e.g. COCO supercategory")


ChangeKind = Literal[
    "added",
    "removed",
    "renamed",
    "moved",
    "merged",
    "split",
    "guideline_changed",
    "deprecated",
    "reactivated",
    "changed",
]


class MappingEntry(Contract):
    """One change between two versions. ``merged``: n sources -> 1 target; ``split``: 1 -> n;
    ``changed``: other fields (display name, description, synonyms, attributes,
    modalities), named in ``note``."""

    kind: ChangeKind
    from_class_ids: list[Id] = Field(default_factory=list)
    to_class_ids: list[Id] = Field(default_factory=list)
    note: str | None = None


class VersionMapping(Contract):
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    changes: list[MappingEntry] = Field(default_factory=list)


class VersionPublishedV1(Contract):
    ontology_id: Id
    tenant: TenantId
    name: str
    version: int = Field(ge=1)
    content_hash: str
    classes: list[ClassSnapshot]
    mapping: VersionMapping | None = Field(None, description="from the previous version, if any")
    published_at: datetime

    @cached_property
    def class_index(self) -> dict[str, ClassSnapshot]:
        """Classes by id (built once per version read, not per label checked)."""
        return {c.id: c for c in self.classes}


class VersionDeprecatedV1(Contract):
    ontology_id: Id
    tenant: TenantId
    version: int = Field(ge=1)
    note: str = ""
    deprecated_at: datetime


class Polarity(StrEnum):
    positive = "positive"
    negative = "negative"
    borderline = "borderline"


class Provenance(Contract):
    source: str = Field(description="e.g. judgment, manual, import")
    judgment_id: Id | None = None
    actor: str | None = None


class ExampleLinkedV1(Contract):
    link_id: Id
    ontology_id: Id
    tenant: TenantId
    version: int = Field(ge=1)
    class_id: Id
    item_id: Id
    region: Geometry | None = None
    segment: TimeSegment | None = None
    polarity: Polarity = Polarity.positive
    note: str | None = None
    provenance: Provenance
    linked_at: datetime


VERSION_PUBLISHED: EventSpec[VersionPublishedV1] = EventSpec(
    type="quorum.taxonomy.version_published.v1",
    topic=TAXONOMY,
    payload=VersionPublishedV1,
    key=lambda d: d.ontology_id,
    subject=lambda d: f"{d.ontology_id}/v{d.version}",
    producer=PRODUCER,
    consumers=("ingest", "assignment", "metrics"),
    summary="A version was published: the full class snapshot and the mapping from the previous one.",
)
EXAMPLE_LINKED: EventSpec[ExampleLinkedV1] = EventSpec(
    type="quorum.taxonomy.example_linked.v1",
    topic=TAXONOMY,
    payload=ExampleLinkedV1,
    key=lambda d: d.ontology_id,
    subject=lambda d: d.link_id,
    producer=PRODUCER,
    consumers=("assignment",),
    summary="A media item was linked as an example of a class.",
)

VERSION_DEPRECATED: EventSpec[VersionDeprecatedV1] = EventSpec(
    type="quorum.taxonomy.version_deprecated.v1",
    topic=TAXONOMY,
    payload=VersionDeprecatedV1,
    key=lambda d: d.ontology_id,
    subject=lambda d: f"{d.ontology_id}/v{d.version}",
    producer=PRODUCER,
    consumers=("ingest", "assignment"),
    summary="A published version was deprecated: new work should move to a later version.",
)

EVENTS = (VERSION_PUBLISHED, VERSION_DEPRECATED, EXAMPLE_LINKED)
