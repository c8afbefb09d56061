"""Value types of the shared vocabulary (Quorum's design notes) used by several contracts.

These are shapes, not rules: producers validate business constraints (a box
inside its image, a class in the taxonomy version) before they publish.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import Field, model_validator

from shared.contracts.spec import Contract

Id = Annotated[str, Field(min_length=1, max_length=256, pattern=r"^[^\s\x00-\x1f]+$")]
TenantId = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
]
Confidence = Annotated[float, Field(ge=0.0, le=1.0)]


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
    size: tuple[int, int]
    counts: str | list[int]


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
    text: str | None = Field(None, max_length=100_000, description="caption or transcript")
    attributes: dict[str, Any] = Field(default_factory=dict)
    part: str | None = Field(None, description="bundle part the label refers to")


class TaxonomyRef(Contract):
    ontology_id: Id
    version: int = Field(ge=1)
