"""A registration that fails its schema, still checked as far as it can be read, free of I/O.

A client whose request has a typo in ``modality`` and a pre-label segment past the end of the
track hears of both in one answer (HTTP 422, or one ``media.rejected`` event), not of the typo
first and of the segment once it is fixed.

The schema errors say what cannot be read: a top-level field, one part of a bundle, one
pre-label (or the model fields of the pre-labels, which no rule reads). The rest is read as a
registration, with stand-ins for the fields that could not be, and checked by
:func:`services.ingest.validation.all_errors`. Its errors are numbered back to the request's
parts and pre-labels, and dropped when they only echo what could not be read: a bundle whose
parts are all unreadable has no parts, but that is not a second error; a label on an unreadable
part is not checked. What the rules check depends on what they could read: without a readable
project id there is no project, so its pre-labels cannot be checked against its taxonomy.

A ``modality`` that cannot be read is taken from the media (a video file is a video item), from
the parts (a bundle), else from the project; the rules' own verdict on the modality is then
not reported (the schema error says it already).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.ingest import validation
from shared.contracts.media import MediaRegistration, PreLabels
from shared.contracts.taxonomy import VersionPublishedV1
from shared.contracts.work import ProjectChangedV1
from shared.errors import FieldError

#: What stands in for a required field that cannot be read (the rules see a valid value).
STAND_IN = "unreadable"
#: A rule error's field on a part or a pre-label of the read rest, numbered as in the rest.
_NUMBERED = re.compile(r"^(parts|prelabels\.labels)\.(\d+)(?=\.|$)")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Each failing field of a pydantic error, as ``media.image.width``."""
    return [
        FieldError(field=".".join(str(p) for p in err["loc"]), message=err["msg"])
        for err in exc.errors()
    ]


@dataclass(frozen=True)
class Unreadable:
    """A registration's data that is not a valid registration: its schema errors and the
    part of it the rules can still check."""

    schema_errors: list[FieldError]
    #: the readable rest, with stand-ins; None when nothing of it can be checked
    rest: MediaRegistration | None = None
    #: the project id, when it can be read (the project to check the rest against)
    project_id: str | None = None
    #: fields the rest has no reading of: rule errors at or under them are not reported
    unread: frozenset[str] = frozenset()
    #: the modality is to be taken from the project (neither it nor the media could be read)
    modality_of_project: bool = False
    #: the request's index of each part and each pre-label of the rest
    parts: tuple[int, ...] = ()
    labels: tuple[int, ...] = ()


def read(data: Any) -> Unreadable:
    """Read ``data`` as far as it can be: its schema errors and the readable rest."""
    try:
        registration = MediaRegistration.model_validate(data)
    except ValidationError as exc:
        return _rest_of(data, exc)
    return Unreadable([], registration, registration.project_id)


def _rest_of(data: Any, exc: ValidationError) -> Unreadable:
    errors = field_errors(exc)
    if not isinstance(data, Mapping):
        return Unreadable(errors)
    fields = MediaRegistration.model_fields
    bad: set[str] = set()  # top-level fields that cannot be read at all
    bad_parts: set[int] = set()
    bad_labels: set[int] = set()
    header: set[str] = set()  # the pre-labels' fields other than labels that cannot be read
    for error in exc.errors():
        loc = error["loc"]
        if not loc:
            return Unreadable(errors)
        top = str(loc[0])
        if top == "parts" and len(loc) > 1 and isinstance(loc[1], int):
            bad_parts.add(loc[1])
        elif top == "prelabels" and len(loc) > 2 and loc[1] == "labels" and isinstance(loc[2], int):
            bad_labels.add(loc[2])
        elif top == "prelabels" and len(loc) > 1 and loc[1] != "labels":
            header.add(str(loc[1]))
        else:
            bad.add(top)
    rest: dict[str, Any] = {k: v for k, v in data.items() if k in fields and k not in bad}
    unread = {name for name in bad if name in fields}

    parts, lost_parts = _readable_parts(rest, bad_parts)
    if bad_parts and not parts:
        unread.add("parts")
    labels = _readable_labels(rest, header, bad_labels, lost_parts)

    project_id = rest.get("project_id")
    if "project_id" not in rest:
        rest["project_id"] = STAND_IN
        unread.add("project_id")
    if "external_id" not in rest:
        rest["external_id"] = STAND_IN
    modality_of_project = False
    if "modality" not in rest:
        unread.add("modality")
        media = rest.get("media")
        if isinstance(media, Mapping) and isinstance(media.get("modality"), str):
            rest["modality"] = media["modality"]
        elif rest.get("parts"):
            rest["modality"] = "multimodal"
        else:  # taken from the project when the rest is checked
            rest["modality"] = "image"
            modality_of_project = True
    try:
        registration = MediaRegistration.model_validate(rest)
    except ValidationError:  # a stand-in the schema refuses: the schema errors are all there is
        return Unreadable(errors)
    return Unreadable(
        errors,
        registration,
        project_id if isinstance(project_id, str) else None,
        frozenset(unread),
        modality_of_project,
        parts,
        labels,
    )


def _readable_parts(rest: dict[str, Any], bad: set[int]) -> tuple[tuple[int, ...], set[str]]:
    """Keep the parts that can be read; their request indexes and the names of the others."""
    raw = rest.get("parts")
    if not isinstance(raw, list):
        return (), set()
    kept = tuple(i for i in range(len(raw)) if i not in bad)
    rest["parts"] = [raw[i] for i in kept]
    lost = {
        name
        for i in bad
        if i < len(raw)
        and isinstance(raw[i], Mapping)
        and isinstance(name := raw[i].get("name"), str)
    }
    return kept, lost


def _readable_labels(
    rest: dict[str, Any], header: set[str], bad: set[int], lost_parts: set[str]
) -> tuple[int, ...]:
    """Keep the pre-labels that can be read and are on a part that can be read; stand-ins
    for their model fields; their request indexes."""
    raw = rest.get("prelabels")
    if not isinstance(raw, Mapping):
        return ()
    prelabels = {k: v for k, v in raw.items() if k in PreLabels.model_fields}
    for name in header & {"model_name", "model_version"}:
        prelabels[name] = STAND_IN
    labels = prelabels.get("labels")
    kept: tuple[int, ...] = ()
    if isinstance(labels, list):
        kept = tuple(
            i
            for i, label in enumerate(labels)
            if i not in bad and not (isinstance(label, Mapping) and label.get("part") in lost_parts)
        )
        prelabels["labels"] = [labels[i] for i in kept]
    rest["prelabels"] = prelabels
    return kept


def every_error(
    unreadable: Unreadable,
    project: ProjectChangedV1 | None,
    taxonomy: VersionPublishedV1 | None,
) -> list[FieldError]:
    """The schema errors, then the rule errors of the readable rest against its project (None
    when unknown or not readable) and the project's taxonomy version, numbered as in the
    request."""
    rest = unreadable.rest
    if rest is None:
        return list(unreadable.schema_errors)
    unread = set(unreadable.unread)
    if unreadable.modality_of_project:
        if project is not None:
            rest = rest.model_copy(update={"modality": project.modality})
        else:  # no modality to check the content's shape against
            unread |= {"media", "parts"}
    kept = []
    for error in validation.all_errors(rest, project, taxonomy):
        field = _numbered_back(error.field, unreadable)
        if not any(field == u or field.startswith(f"{u}.") for u in unread):
            kept.append(FieldError(field=field, message=error.message))
    return [*unreadable.schema_errors, *kept]


def _numbered_back(field: str, unreadable: Unreadable) -> str:
    match = _NUMBERED.match(field)
    if match is None:
        return field
    indexes: Sequence[int] = unreadable.parts if match[1] == "parts" else unreadable.labels
    position = int(match[2])
    if position >= len(indexes):
        return field
    return f"{match[1]}.{indexes[position]}{field[match.end() :]}"
