"""Taxonomy's API schemas (what HTTP clients send and get back) and the records its store keeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.spec import MAX_TEXT, Strict
from shared.contracts.taxonomy import (
    AttributeSpec,
    ClassSnapshot,
    ClassStatus,
    MappingEntry,
    Polarity,
    Provenance,
    VersionPublishedV1,
)
from shared.contracts.vocabulary import (
    BoundedJson,
    Geometry,
    Id,
    Modality,
    TimeSegment,
    VersionNumber,
    bounded_json,
)

ClassId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
AttributeType = Literal["bool", "enum", "int", "float", "string"]


class AttributeIn(Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    type: AttributeType
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = Field(
        None, max_length=200, description="allowed values; required for (and only for) enum"
    )
    required: bool = False

    @model_validator(mode="after")
    def _values_match_type(self) -> Self:
        if self.type == "enum":
            if not self.values:
                raise ValueError("an enum attribute needs values")
            if len(set(self.values)) != len(self.values):
                raise ValueError("enum values must be unique")
        elif self.values is not None:
            raise ValueError(f"only enum attributes have values, not {self.type}")
        return self

    def spec(self) -> AttributeSpec:
        return AttributeSpec(**self.model_dump())


class ClassFields(Strict):
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    guideline: Annotated[str, StringConstraints(max_length=100_000)] = ""
    synonyms: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    attributes: list[AttributeIn] = Field(default_factory=list, max_length=100)
    modalities: list[Modality] = Field(default_factory=list)
    status: ClassStatus = ClassStatus.active
    extra: BoundedJson = Field(
        default_factory=dict, description="free-form, e.g. COCO supercategory; kept as given"
    )


class ClassIn(ClassFields):
    """A class to add. Without ``id`` one is made from the name; ids are never reused."""

    id: ClassId | None = None
    name: Name
    parent_id: ClassId | None = None

    def snapshot(self, class_id: str | None = None, parent_id: str | None = None) -> ClassSnapshot:
        data = self.model_dump(exclude={"id", "attributes"})
        data["attributes"] = [a.spec() for a in self.attributes]
        data["id"] = class_id or self.id or "pending"
        if parent_id is not None:
            data["parent_id"] = parent_id
        return ClassSnapshot(**data)


class ClassPatch(Strict):
    """Fields to change; ``parent_id: null`` makes the class a root."""

    name: Name | None = None
    display_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    parent_id: ClassId | None = None
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    guideline: Annotated[str, StringConstraints(max_length=100_000)] | None = None
    synonyms: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] | None = Field(
        None, max_length=100
    )
    attributes: list[AttributeIn] | None = Field(None, max_length=100)
    modalities: list[Modality] | None = None
    status: ClassStatus | None = None
    extra: BoundedJson | None = None

    def changes(self) -> dict[str, Any]:
        """Only the fields the client sent (so ``parent_id: null`` differs from absent)."""
        out: dict[str, Any] = {}
        for name in self.model_fields_set:
            value = getattr(self, name)
            if name == "attributes" and value is not None:
                value = [a.spec() for a in value]
            if value is None and name != "parent_id" and name != "display_name":
                continue
            out[name] = value
        return out


class OntologyKind(StrEnum):
    coco = "coco"
    custom = "custom"


class OntologyIn(Strict):
    name: Name
    description: Annotated[str, StringConstraints(max_length=10_000)] = ""
    kind: OntologyKind = OntologyKind.custom


class OntologyRecord(BaseModel):
    """An ontology as stored."""

    ontology_id: str
    tenant: str
    name: str
    description: str
    kind: OntologyKind
    created_at: datetime
    created_by: str


class Ontology(BaseModel):
    ontology_id: str
    tenant: str
    name: str
    description: str
    kind: OntologyKind
    latest_version: int | None = Field(None, description="newest published version")
    draft_revision: int | None = Field(None, description="revision of the open draft (ops only)")
    created_at: datetime


class Draft(BaseModel):
    ontology_id: str
    base_version: int | None = Field(description="the published version it started from")
    revision: int = Field(description="send it back as If-Match (the ETag) with every edit")
    classes: list[ClassSnapshot]
    lineage: list[MappingEntry] = Field(description="merges and splits declared in this draft")
    updated_at: datetime
    updated_by: str


class VersionStatus(StrEnum):
    published = "published"
    deprecated = "deprecated"


class Version(BaseModel):
    ontology_id: str
    name: str
    version: int
    content_hash: str
    status: VersionStatus
    classes: list[ClassSnapshot]
    mapping: list[MappingEntry] = Field(description="changes from the previous version")
    published_at: datetime
    published_by: str
    deprecated_at: datetime | None = None
    deprecation_note: str | None = None


class StoredVersion(BaseModel):
    """A published version as stored: the snapshot its event carried, and its status."""

    snapshot: VersionPublishedV1
    status: VersionStatus
    published_by: str
    draft_revision: int | None = None
    deprecated_at: datetime | None = None
    deprecation_note: str | None = None

    @property
    def number(self) -> int:
        return self.snapshot.version

    def view(self) -> Version:
        """The version as readers see it."""
        snapshot = self.snapshot
        return Version(
            ontology_id=snapshot.ontology_id,
            name=snapshot.name,
            version=snapshot.version,
            content_hash=snapshot.content_hash,
            status=self.status,
            classes=snapshot.classes,
            mapping=snapshot.mapping.changes if snapshot.mapping else [],
            published_at=snapshot.published_at,
            published_by=self.published_by,
            deprecated_at=self.deprecated_at,
            deprecation_note=self.deprecation_note,
        )


class VersionSummary(BaseModel):
    version: int
    content_hash: str
    status: VersionStatus
    classes: int
    published_at: datetime


class MergeIn(Strict):
    from_class_ids: list[ClassId] = Field(min_length=1, max_length=100)
    into_class_id: ClassId | None = Field(None, description="merge into this existing class")
    into: ClassIn | None = Field(None, description="or into this new class")
    note: str | None = Field(None, max_length=2000)


class SplitIn(Strict):
    from_class_id: ClassId
    into_class_ids: list[ClassId] = Field(default_factory=list, max_length=100)
    into: list[ClassIn] = Field(default_factory=list, max_length=100)
    note: str | None = Field(None, max_length=2000)


class DeprecateIn(Strict):
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class Diff(BaseModel):
    ontology_id: str
    from_version: int | None
    to_version: int | None = Field(description="None for the draft")
    changes: list[MappingEntry]


class LabelIn(BaseModel):
    """A label to translate: ``class_id`` is translated, every other field is kept."""

    model_config = ConfigDict(extra="allow", str_max_length=MAX_TEXT, allow_inf_nan=False)
    class_id: Id

    @model_validator(mode="after")
    def _bounded_extra(self) -> Self:
        bounded_json(dict(self.model_extra or {}))
        return self


class TranslateIn(Strict):
    from_version: VersionNumber
    to_version: VersionNumber
    labels: list[LabelIn] = Field(max_length=10_000)


class Untranslatable(BaseModel):
    index: int
    class_id: str
    reason: str


class TranslatedLabel(BaseModel):
    index: int
    label: dict[str, Any]
    notes: list[str] = Field(default_factory=list)


class TranslateOut(BaseModel):
    from_version: int
    to_version: int
    translated: list[TranslatedLabel]
    untranslatable: list[Untranslatable]


@dataclass(frozen=True)
class ClassUsage:
    """How much stored work carries a class: pre-label instances, and items with open work."""

    prelabels: int = 0
    open_work_items: int = 0


class ClassImpact(BaseModel):
    class_id: str
    name: str
    changes: list[str]
    example_links: int
    open_work_items: int
    prelabels: int


class Impact(BaseModel):
    ontology_id: str
    base_version: int | None
    draft_revision: int
    classes: list[ClassImpact]
    totals: dict[str, int]


class ExampleIn(Strict):
    item_id: Id
    region: Geometry | None = None
    segment: TimeSegment | None = None
    polarity: Polarity = Polarity.positive
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class Example(BaseModel):
    link_id: str
    ontology_id: str
    version: int = Field(description="version the link was made in")
    class_id: str = Field(description="class in that version")
    current_class_id: str | None = Field(
        None, description="the class it carries forward to, in the version asked for"
    )
    item_id: str
    region: Geometry | None = None
    segment: TimeSegment | None = None
    polarity: Polarity
    note: str | None = None
    provenance: Provenance
    linked_at: datetime


class CandidateStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"


@dataclass(frozen=True)
class Decision:
    """What ops decided about a candidate."""

    status: CandidateStatus
    by: str
    at: datetime
    note: str | None
    link_id: str | None


class Candidate(BaseModel):
    candidate_id: str
    ontology_id: str
    version: int
    item_id: str
    #: what made the item a candidate: a flagged judgment, or an expert's feedback
    judgment_id: str | None = None
    feedback_id: str | None = None
    expert_id: str
    class_ids: list[str]
    flags: list[str]
    justification: str
    status: CandidateStatus
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    link_id: str | None = None


class AcceptIn(Strict):
    class_id: ClassId | None = Field(
        None, description="defaults to the judgment's only labelled class"
    )
    region: Geometry | None = None
    segment: TimeSegment | None = None
    polarity: Polarity = Polarity.borderline
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class RejectIn(Strict):
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ImportFormat(StrEnum):
    coco = "coco"
    json = "json"
    yaml = "yaml"


class ImportResult(BaseModel):
    classes: int
    draft_revision: int
    changes: list[MappingEntry]
