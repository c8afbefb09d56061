"""Value types of the shared vocabulary (Quorum's design notes) used by several contracts.

These are shapes, not rules: producers validate business constraints (a box
inside its image, a class in the taxonomy version) before they publish.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from shared.contracts.spec import Contract

ID_PATTERN = r"^[^\s\x00-\x1f]{1,256}$"
#: Letters, digits and hyphens: a tenant id ends topic names (``quorum.media.requests.<tenant>``),
#: where a dot would read as a separator and Kafka takes ``.`` and ``_`` for the same character.
TENANT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$"
Id = Annotated[str, Field(min_length=1, max_length=256, pattern=ID_PATTERN)]
TenantId = Annotated[str, Field(min_length=1, max_length=64, pattern=TENANT_PATTERN)]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]

#: Integers MongoDB stores as such (int64) and JSON readers keep exact (2**53).
MAX_INT = 2**53
#: A count or size: 0 up to :data:`MAX_INT`.
Count = Annotated[int, Field(ge=0, le=MAX_INT)]
#: A version or revision number.
MAX_VERSION = 2**31 - 1
VersionNumber = Annotated[int, Field(ge=1, le=MAX_VERSION)]
#: A short name (a key, a flag, a role).
Name = Annotated[str, StringConstraints(min_length=1, max_length=256)]

#: A label attribute's value: a scalar of the taxonomy's attribute types.
AttributeValue = (
    bool
    | Annotated[int, Field(ge=-MAX_INT, le=MAX_INT)]
    | float
    | Annotated[str, Field(max_length=1000)]
    | None
)
Attributes = Annotated[
    dict[Annotated[str, StringConstraints(min_length=1, max_length=64)], AttributeValue],
    Field(max_length=64),
]

#: Free-form JSON (e.g. a class's ``extra``, an alert's evidence), bounded as a whole.
JSON_MAX_DEPTH = 8
JSON_MAX_NODES = 2_000


def bounded_json(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse nesting deeper than :data:`JSON_MAX_DEPTH`, more than :data:`JSON_MAX_NODES`
    values, text over 10,000 characters, or integers beyond :data:`MAX_INT`."""
    nodes = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > JSON_MAX_NODES:
            raise ValueError(f"at most {JSON_MAX_NODES} values")
        if depth > JSON_MAX_DEPTH:
            raise ValueError(f"nested at most {JSON_MAX_DEPTH} deep")
        if isinstance(node, dict):
            for key, item in node.items():
                if len(key) > 256:
                    raise ValueError("keys are at most 256 characters")
                stack.append((item, depth + 1))
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)
        elif isinstance(node, str) and len(node) > 10_000:
            raise ValueError("text values are at most 10,000 characters")
        elif isinstance(node, int) and not isinstance(node, bool) and abs(node) > MAX_INT:
            raise ValueError(f"integers are at most {MAX_INT} in size")
    return value


BoundedJson = Annotated[dict[str, Any], AfterValidator(bounded_json)]


class Modality(StrEnum):
    image = "image"
    video = "video"
    audio = "audio"
    text = "text"
    multimodal = "multimodal"


class Severity(StrEnum):
    critical = "critical"
    major = "major"
    minor = "minor"
    none = "none"


class Box(Contract):
    kind: Literal["box"] = "box"
    x: float = Field(ge=0, description="left edge, pixels")
    y: float = Field(ge=0, description="top edge, pixels")
    width: float = Field(gt=0)
    height: float = Field(gt=0)


class Polygon(Contract):
    kind: Literal["polygon"] = "polygon"
    points: list[tuple[float, float]] = Field(min_length=3, max_length=10_000)


class RleMask(Contract):
    """COCO run-length encoding: ``size`` is [height, width]; ``counts`` compressed or not."""

    kind: Literal["mask"] = "mask"
    size: tuple[
        Annotated[int, Field(ge=1, le=1_000_000)], Annotated[int, Field(ge=1, le=1_000_000)]
    ]
    counts: (
        Annotated[str, Field(max_length=1_000_000)]
        | Annotated[list[Annotated[int, Field(ge=0, le=MAX_INT)]], Field(max_length=1_000_000)]
    )


Geometry = Annotated[Box | Polygon | RleMask, Field(discriminator="kind")]


class TimeSegment(Contract):
    start_s: float = Field(ge=0, description="seconds from the start of the media")
    end_s: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.end_s < self.start_s:
            raise ValueError("end_s must not be before start_s")
        return self


class Label(Contract):
    """One label on an item: a class, and where (geometry, segment) or what (text)."""

    class_id: Id
    confidence: Confidence | None = None
    geometry: Geometry | None = None
    segment: TimeSegment | None = None
    text: str | None = Field(None, max_length=10_000, description="caption or transcript")
    attributes: Attributes = Field(default_factory=dict)
    part: Name | None = Field(None, description="bundle part the label refers to")


class TaxonomyRef(Contract):
    ontology_id: Id
    version: VersionNumber
