"""The shape rule of media content, free of I/O: a single-modality item has ``media`` of its
modality; a bundle has named parts, each name once. Ingest checks registrations with it and
assignment the gold and qualification items ops register."""

from __future__ import annotations

from collections.abc import Sequence

from shared.contracts.media import BundlePart, MediaFile
from shared.contracts.vocabulary import Modality
from shared.errors import FieldError


def _err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def shape_errors(
    modality: Modality | str,
    media: MediaFile | None,
    parts: Sequence[BundlePart] | None,
    at: str = "",
) -> list[FieldError]:
    """Every problem of the content's shape, each at ``<at>media`` or ``<at>parts...``."""
    errors = []
    if modality == "multimodal":
        if not parts:
            errors.append(_err(f"{at}parts", "a multimodal item needs parts"))
        if media is not None:
            errors.append(_err(f"{at}media", "a multimodal item has parts, not media"))
        seen: set[str] = set()
        for index, part in enumerate(parts or ()):
            if part.name in seen:
                errors.append(
                    _err(f"{at}parts.{index}.name", f"part name {part.name!r} is used twice")
                )
            seen.add(part.name)
    else:
        if media is None:
            errors.append(_err(f"{at}media", f"a {modality} item needs media"))
        elif media.modality != modality:
            errors.append(
                _err(f"{at}media.modality", f"media is {media.modality}, item is {modality}")
            )
        if parts:
            errors.append(_err(f"{at}parts", "only multimodal items have parts"))
    return errors
