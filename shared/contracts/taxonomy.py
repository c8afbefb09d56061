"""Event contracts of taxonomy: published versions (full snapshot + mapping) and example links."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Literal

from pydantic import Field

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.contracts.vocabulary import (
    BoundedJson,
    Geometry,
    Id,
    Modality,
    TenantId,
    TimeSegment,
    VersionNumber,
)

#: Classes in one version of an ontology, at the most.
MAX_CLASSES = 20_000

PRODUCER = "taxonomy"

TAXONOMY = Topic(
    "quorum.taxonomy",
    summary="Published ontology versions and example links",
    key="ontology id",
    # a version_published event carries the whole class snapshot; the version's document
    # holds the snapshot and the event, within MongoDB's 16 MB
    max_message_bytes=6 * 1024 * 1024,
)


class ClassStatus(StrEnum):
    active = "active"
    deprecated = "deprecated"


class AttributeSpec(Contract):
    name: Id
    type: str = Field(max_length=16, description="bool | enum | int | float | string")
    values: list[Annotated[str, Field(max_length=100)]] | None = Field(
        None, max_length=200, description="allowed values of an enum attribute"
    )
    required: bool = False


class ClassSnapshot(Contract):
    id: Id = Field(description="stable id, never reused")
    name: str = Field(max_length=200)
    display_name: str | None = Field(None, max_length=200)
    parent_id: Id | None = None
    description: str = Field("", max_length=10_000)
    guideline: str = ""
    synonyms: list[Annotated[str, Field(max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    attributes: list[AttributeSpec] = Field(default_factory=list, max_length=100)
    modalities: list[Modality] = Field(default_factory=list, max_length=5)
    status: ClassStatus = ClassStatus.active
    extra: BoundedJson = Field(default_factory=dict, description="e.g. COCO supercategory")


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
    from_class_ids: list[Id] = Field(default_factory=list, max_length=MAX_CLASSES)
    to_class_ids: list[Id] = Field(default_factory=list, max_length=MAX_CLASSES)
    note: str | None = Field(None, max_length=2_000)


class VersionMapping(Contract):
    from_version: VersionNumber
    to_version: VersionNumber
    changes: list[MappingEntry] = Field(default_factory=list, max_length=10 * MAX_CLASSES)


class VersionPublishedV1(Contract):
    ontology_id: Id
    tenant: TenantId
    name: str = Field(max_length=200)
    version: VersionNumber
    content_hash: str = Field(max_length=100)
    classes: list[ClassSnapshot] = Field(max_length=MAX_CLASSES)
    mapping: VersionMapping | None = Field(None, description="from the previous version, if any")
    published_at: datetime

    @cached_property
    def class_index(self) -> dict[str, ClassSnapshot]:
        """Classes by id (built once per version read, not per label checked)."""
        return {c.id: c for c in self.classes}


class VersionDeprecatedV1(Contract):
    ontology_id: Id
    tenant: TenantId
    version: VersionNumber
    note: str = Field("", max_length=2_000)
    deprecated_at: datetime


class Polarity(StrEnum):
    positive = "positive"
    negative = "negative"
    borderline = "borderline"


class Provenance(Contract):
    source: str = Field(max_length=64, description="e.g. judgment, manual, import")
    judgment_id: Id | None = None
    actor: str | None = Field(None, max_length=256)


class ExampleLinkedV1(Contract):
    link_id: Id
    ontology_id: Id
    tenant: TenantId
    version: VersionNumber
    class_id: Id
    item_id: Id
    region: Geometry | None = None
    segment: TimeSegment | None = None
    polarity: Polarity = Polarity.positive
    note: str | None = Field(None, max_length=2_000)
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
