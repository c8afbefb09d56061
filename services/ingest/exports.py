"""Export formats of resolved items, free of I/O: JSON lines (one item a line), COCO for
image projects (the item's verdict, flags and severity on its image and its flags and each
label's attributes on every annotation; a mask, compressed or not, boxed and measured from
its decoded runs by ``shared.annotation.rle``, the decoder assignment and metrics use), and
time segments as JSON lines (one segment label of a video or audio item, or of a bundle's
video or audio part, a line)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from services.ingest.models import MediaItem
from shared.annotation.rle import box_and_area

JSONL_MEDIA_TYPE = "application/x-ndjson"


def jsonl_line(item: MediaItem) -> bytes:
    """One item as a line of JSON (fields without a value left out)."""
    return item.model_dump_json(exclude_none=True).encode() + b"\n"


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    area = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        area += x1 * y2 - x2 * y1
    return abs(area) / 2


def coco_image(item: MediaItem, image_id: int) -> dict[str, Any] | None:
    """The COCO ``images`` entry of an image item (None for other media)."""
    media = item.media
    if media is None or media.modality != "image":
        return None
    image: dict[str, Any] = {
        "id": image_id,
        "file_name": str(media.uri),
        "width": media.width,
        "height": media.height,
        "quorum_item_id": item.item_id,
        "external_id": item.external_id,
    }
    if item.resolution is not None:
        image["quorum_verdict"] = item.resolution.verdict
        image["quorum_flags"] = item.resolution.flags
        image["quorum_severity"] = item.resolution.severity.value
    return image


def coco_item_annotations(
    item: MediaItem, image_id: int, category_of: Mapping[str, int], first_id: int
) -> tuple[list[dict[str, Any]], int]:
    """The COCO ``annotations`` of an item's final labels, numbered from ``first_id``, and how
    many labels were left out (no geometry, or a class COCO has no category for).
    ``category_of``: class id -> COCO category id."""
    annotations: list[dict[str, Any]] = []
    skipped = 0
    for label in item.final_labels or ():
        geometry = label.geometry
        category = category_of.get(label.class_id)
        if geometry is None or category is None:
            skipped += 1
            continue
        annotation: dict[str, Any] = {
            "id": first_id + len(annotations),
            "image_id": image_id,
            "category_id": category,
            "iscrowd": 0,
        }
        if geometry.kind == "box":
            annotation["bbox"] = [geometry.x, geometry.y, geometry.width, geometry.height]
            annotation["area"] = geometry.width * geometry.height
        elif geometry.kind == "polygon":
            xs = [p[0] for p in geometry.points]
            ys = [p[1] for p in geometry.points]
            annotation["segmentation"] = [[v for point in geometry.points for v in point]]
            annotation["bbox"] = [min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)]
            annotation["area"] = _polygon_area(geometry.points)
        else:
            annotation["segmentation"] = {"size": list(geometry.size), "counts": geometry.counts}
            annotation["iscrowd"] = 1
            # compressed or not, boxed from its decoded runs; a string not in COCO's encoding
            # has no box or area to give
            with contextlib.suppress(ValueError):
                annotation["bbox"], annotation["area"] = box_and_area(geometry)
        if label.attributes:
            annotation["attributes"] = label.attributes
        if item.resolution is not None and item.resolution.flags:
            annotation["flags"] = list(item.resolution.flags)
        annotations.append(annotation)
    return annotations, skipped


def segment_lines(item: MediaItem) -> list[bytes]:
    """The item's time-segment labels, one JSON line each: which item and part, the media
    file, the class, ``start_s`` / ``end_s`` in seconds from the start of the media, the
    label's text and attributes, and the item's verdict and flags."""
    media = {p.name: p.media for p in item.parts or ()}
    lines = []
    for label in item.final_labels or ():
        if label.segment is None:
            continue
        on = media.get(label.part) if label.part is not None else item.media
        line = {
            "item_id": item.item_id,
            "external_id": item.external_id,
            "project_id": item.project_id,
            "part": label.part,
            "uri": str(on.uri) if on is not None else None,
            "modality": on.modality if on is not None else item.modality.value,
            "class_id": label.class_id,
            "start_s": label.segment.start_s,
            "end_s": label.segment.end_s,
            "text": label.text,
            "attributes": dict(label.attributes),
            "verdict": item.resolution.verdict if item.resolution else None,
            "flags": list(item.resolution.flags) if item.resolution else [],
        }
        lines.append(json.dumps(line, separators=(",", ":"), ensure_ascii=False).encode() + b"\n")
    return lines


def coco_info(skipped: int) -> dict[str, Any]:
    return {"description": "Quorum export of resolved items", "skipped_labels": skipped}
