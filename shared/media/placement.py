"""Labels against the media they mark, free of I/O: the one rule ingest applies to pre-labels
and assignment to corrected labels, gold keys and qualification keys.

Every problem of every label is returned at once, each at ``<at>.<index>.<field>``:

* ``class_id``: a class the taxonomy version lacks (when its ``classes`` are given); a class
  whose ``modalities`` list is not empty used on media of another modality. On a single-modality
  item that is the item's modality; on a bundle it is the modality of the label's part (a class
  of bundles, ``multimodal``, applies to every part too), and for a label on no part any part's
  modality or ``multimodal``;
* ``part``: a bundle's located label (geometry or segment) names its part, and that part
  exists; a single-modality item's labels name no part;
* ``geometry``: only on image and video media, inside the frame (``geometry.width`` /
  ``geometry.height``: a box's right and bottom edges; ``geometry.points.<i>``: the first
  polygon point outside; ``geometry.size``: a mask is ``[height, width]``);
* ``segment``: only on video and audio media, ending within the duration (``segment.end_s``);
  a text label on text media carries none.

Edges and ends are compared with a tolerance of :data:`EPSILON`.

Refused, never clipped: a label outside its media is a mistake of whoever drew it (a model, a
reviewer, ops writing a key), and clipping would silently turn it into a label nobody drew (a
box at x = 5,000 on a 4,032-pixel-wide image into a sliver at the edge). The sender sees what
is wrong and sends a label that fits.

A label is placed only where its media is known: on a single-modality item without media (a
shape error of its own) nothing is placed; a label on a missing part is not placed either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.contracts.media import AudioFile, BundlePart, ImageFile, MediaFile, TextFile, VideoFile
from shared.contracts.taxonomy import ClassSnapshot
from shared.contracts.vocabulary import Box, Label, Modality, Polygon, RleMask
from shared.errors import FieldError

#: How far past an edge or the end a label may reach (float noise of its producer).
EPSILON = 1e-6


def _err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def label_errors(
    labels: Sequence[Label],
    *,
    modality: Modality | str,
    media: MediaFile | None,
    parts: Sequence[BundlePart] | None,
    classes: Mapping[str, ClassSnapshot] | None = None,
    taxonomy: str = "the taxonomy version",
    at: str,
) -> list[FieldError]:
    """Every problem of ``labels`` on an item of ``modality`` with ``media`` (single-modality)
    or ``parts`` (a bundle), each at ``<at>.<index>...``, in the labels' order. ``classes``:
    the taxonomy version's classes by id (``None``: classes are not checked); ``taxonomy``
    names that version in the message about a class it lacks."""
    bundle = modality == Modality.multimodal
    named = {p.name: p.media for p in parts or ()}
    errors: list[FieldError] = []
    for index, label in enumerate(labels):
        here = f"{at}.{index}"
        located = label.geometry is not None or label.segment is not None
        part_errors: list[FieldError] = []
        target: MediaFile | None = None
        known_part = True
        if bundle:
            if label.part is not None:
                target = named.get(label.part)
                if target is None:
                    known_part = False
                    part_errors.append(_err(f"{here}.part", f"no part named {label.part!r}"))
            elif located:
                known_part = False
                part_errors.append(_err(f"{here}.part", "say which part a located label is on"))
        else:
            if label.part is not None:
                part_errors.append(
                    _err(f"{here}.part", "only labels of multimodal items name a part")
                )
            target = media
        if classes is not None:
            errors.extend(
                _class_errors(label, classes, taxonomy, str(modality), target, named, here)
                if known_part
                else _unknown_class(label, classes, taxonomy, here)
            )
        errors.extend(part_errors)
        if target is not None:
            errors.extend(_placement_errors(label, target, here))
    return errors


def _unknown_class(
    label: Label, classes: Mapping[str, ClassSnapshot], taxonomy: str, at: str
) -> list[FieldError]:
    if label.class_id in classes:
        return []
    return [_err(f"{at}.class_id", f"no class {label.class_id!r} in {taxonomy}")]


def _class_errors(
    label: Label,
    classes: Mapping[str, ClassSnapshot],
    taxonomy: str,
    modality: str,
    target: MediaFile | None,
    parts: Mapping[str, MediaFile],
    at: str,
) -> list[FieldError]:
    """The label's class exists and applies where the label is."""
    cls = classes.get(label.class_id)
    if cls is None:
        return _unknown_class(label, classes, taxonomy, at)
    if not cls.modalities:
        return []
    allowed = set(cls.modalities)
    applies = f"class {cls.id!r} applies to {', '.join(cls.modalities)} only"
    if modality != Modality.multimodal:
        if modality in allowed:
            return []
        return [_err(f"{at}.class_id", applies)]
    if Modality.multimodal in allowed:
        return []
    if target is not None:  # on a part: the part's modality
        if target.modality in allowed:
            return []
        return [_err(f"{at}.class_id", f"{applies}; part {label.part!r} is {target.modality}")]
    if any(m.modality in allowed for m in parts.values()):  # the whole bundle
        return []
    return [_err(f"{at}.class_id", f"{applies}; no part of the bundle is")]


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
        # the first point outside only: a polygon has up to 10,000 points
        for i, (x, y) in enumerate(geometry.points):
            if not (-EPSILON <= x <= width + EPSILON and -EPSILON <= y <= height + EPSILON):
                return [_err(f"{at}.points.{i}", f"point ({x}, {y}) is not {bounds}")]
        return []
    if isinstance(geometry, RleMask) and list(geometry.size) != [height, width]:
        return [_err(f"{at}.size", f"mask size {list(geometry.size)} is not [{height}, {width}]")]
    return []
