"""Registration rules, free of I/O: the item's shape, its project, and its pre-labels
against the project's published taxonomy version.

Every function returns the list of problems (field path + message), so a client
sees every reason at once, over HTTP (422 problem+json) or Kafka (a
``media.rejected`` event).
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.media import (
    AudioFile,
    ImageFile,
    MediaFile,
    MediaRegistration,
    TextFile,
    VideoFile,
)
from shared.contracts.taxonomy import ClassSnapshot, VersionPublishedV1
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask
from shared.contracts.work import ProjectChangedV1, ProjectStatus
from shared.errors import FieldError
from shared.media import shape as media_shape
from shared.taxonomy.attributes import attribute_errors

EPSILON = 1e-6


def _err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def shape_errors(registration: MediaRegistration) -> list[FieldError]:
    """A single-modality item has ``media`` of its modality; a bundle has named parts."""
    return media_shape.shape_errors(registration.modality, registration.media, registration.parts)


def project_errors(
    registration: MediaRegistration, project: ProjectChangedV1 | None
) -> list[FieldError]:
    if project is None:
        return [
            _err(
                "project_id",
                f"unknown project {registration.project_id!r}: create it in assignment first",
            )
        ]
    if project.status is ProjectStatus.closed:
        return [_err("project_id", f"project {registration.project_id!r} is closed")]
    if project.modality != registration.modality:
        return [
            _err(
                "modality",
                f"project {registration.project_id!r} takes {project.modality} items, "
                f"not {registration.modality}",
            )
        ]
    return []


def prelabel_errors(
    registration: MediaRegistration,
    project: ProjectChangedV1,
    taxonomy: VersionPublishedV1 | None,
) -> list[FieldError]:
    """Pre-labels against the project's taxonomy version and the media's bounds."""
    prelabels = registration.prelabels
    if prelabels is None or not prelabels.labels:
        return []
    ref = project.taxonomy
    if ref is None:
        return [
            _err(
                "prelabels",
                f"project {registration.project_id!r} has no taxonomy version, so pre-label "
                "classes cannot be checked",
            )
        ]
    if taxonomy is None:
        return [
            _err(
                "prelabels",
                f"taxonomy {ref.ontology_id} version {ref.version} of the project is not "
                "published (or not yet known to ingest); publish it, then register again",
            )
        ]
    classes = taxonomy.class_index
    parts = {p.name: p.media for p in registration.parts or ()}
    errors: list[FieldError] = []
    for index, label in enumerate(prelabels.labels):
        at = f"prelabels.labels.{index}"
        cls = classes.get(label.class_id)
        if cls is None:
            errors.append(
                _err(
                    f"{at}.class_id",
                    f"no class {label.class_id!r} in taxonomy {taxonomy.ontology_id} "
                    f"version {taxonomy.version}",
                )
            )
        else:
            errors.extend(_class_errors(label, cls, registration.modality, at))
        if registration.modality == "multimodal":
            if label.part is None:
                if label.geometry is not None or label.segment is not None:
                    errors.append(_err(f"{at}.part", "say which part a located label is on"))
                continue
            media = parts.get(label.part)
            if media is None:
                errors.append(_err(f"{at}.part", f"no part named {label.part!r}"))
                continue
        else:
            if label.part is not None:
                errors.append(_err(f"{at}.part", "only labels of multimodal items name a part"))
            media = registration.media
        if media is not None:
            errors.extend(_placement_errors(label, media, at))
    return errors


def _class_errors(label: Label, cls: ClassSnapshot, modality: str, at: str) -> list[FieldError]:
    errors = []
    if cls.modalities and modality not in cls.modalities and modality != "multimodal":
        allowed = ", ".join(cls.modalities)
        errors.append(_err(f"{at}.class_id", f"class {cls.id!r} applies to {allowed} only"))
    errors.extend(attribute_errors(label.attributes, cls, at))
    return errors


def _placement_errors(label: Label, media: MediaFile, at: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if label.geometry is not None:
        if isinstance(media, (ImageFile, VideoFile)):
            errors.extend(_geometry_errors(label, media.width, media.height, f"{at}.geometry"))
        else:
            errors.append(_err(f"{at}.geometry", f"{media.modality} media has no geometry"))
    if label.segment is not None:
        if isinstance(media, (VideoFile, AudioFile)):
            if label.segment.end_s > media.duration_s + EPSILON:
                errors.append(
                    _err(
                        f"{at}.segment.end_s",
                        f"ends at {label.segment.end_s}s, after the media's {media.duration_s}s",
                    )
                )
        else:
            errors.append(_err(f"{at}.segment", f"{media.modality} media has no time segments"))
    if label.text is not None and isinstance(media, TextFile) and label.segment is not None:
        errors.append(_err(f"{at}.segment", "text labels carry no segment"))
    return errors


def _geometry_errors(label: Label, width: int, height: int, at: str) -> list[FieldError]:
    geometry = label.geometry
    bounds = f"inside the {width}x{height} media"
    if isinstance(geometry, Box):
        errors = []
        if geometry.x + geometry.width > width + EPSILON:
            errors.append(
                _err(f"{at}.width", f"x + width = {geometry.x + geometry.width}: not {bounds}")
            )
        if geometry.y + geometry.height > height + EPSILON:
            errors.append(
                _err(f"{at}.height", f"y + height = {geometry.y + geometry.height}: not {bounds}")
            )
        return errors
    if isinstance(geometry, Polygon):
        for i, (x, y) in enumerate(geometry.points):
            if not (-EPSILON <= x <= width + EPSILON and -EPSILON <= y <= height + EPSILON):
                return [_err(f"{at}.points.{i}", f"point ({x}, {y}) is not {bounds}")]
        return []
    if isinstance(geometry, RleMask) and list(geometry.size) != [height, width]:
        return [_err(f"{at}.size", f"mask size {list(geometry.size)} is not [{height}, {width}]")]
    return []


def all_errors(
    registration: MediaRegistration,
    project: ProjectChangedV1 | None,
    taxonomy: VersionPublishedV1 | None,
) -> Sequence[FieldError]:
    errors = shape_errors(registration) + project_errors(registration, project)
    if errors:
        return errors
    assert project is not None
    return prelabel_errors(registration, project, taxonomy)
