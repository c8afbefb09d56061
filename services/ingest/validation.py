"""Registration rules, free of I/O: the item's shape, its project, and its pre-labels
against the project's published taxonomy version.

Every function returns the list of problems (field path + message), so a client
sees every reason at once, over HTTP (422 problem+json) or Kafka (a
``media.rejected`` event).
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.media import MediaRegistration
from shared.contracts.taxonomy import VersionPublishedV1
from shared.contracts.work import ProjectChangedV1, ProjectStatus
from shared.errors import FieldError
from shared.media import placement
from shared.media import shape as media_shape
from shared.taxonomy.attributes import attribute_errors


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
    """Pre-labels against the project's taxonomy version (class, attributes) and the media
    they mark (``shared.media.placement``: refused, never clipped, when outside it)."""
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
    labels = prelabels.labels
    errors = placement.label_errors(
        labels,
        modality=registration.modality,
        media=registration.media,
        parts=registration.parts,
        classes=taxonomy.class_index,
        taxonomy=f"taxonomy {taxonomy.ontology_id} version {taxonomy.version}",
        at="prelabels.labels",
    )
    for index, label in enumerate(labels):
        cls = taxonomy.class_index.get(label.class_id)
        if cls is not None:
            errors.extend(attribute_errors(label.attributes, cls, f"prelabels.labels.{index}"))
    return errors


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
