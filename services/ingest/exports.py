"""Export formats of resolved items, free of I/O: JSON lines, and COCO for image projects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.ingest.models import MediaItem

JSONL_MEDIA_TYPE = "application/x-ndjson"


def jsonl_line(item: MediaItem) -> bytes:
    """One item as a line of JSON (fields without a value left out)."""
    return item.model_dump_json(exclude_none=True).encode() + b"\n"


def _polygon_area(points: Sequence[tuple[float, float]]) -> float:
    area = 0.0
    for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True):
        area += x1 * y2 - x2 * y1
    return abs(area) / 2


def _rle_box(size: Sequence[int], counts: Sequence[int]) -> tuple[list[float], int]:
    """bbox and area of an uncompressed COCO RLE (column-major runs, zeros first)."""
    height = size[0]
    xs: list[int] = []
    ys: list[int] = []
    position, area = 0, 0
    for run, value in enumerate(counts):
        if run % 2 == 1 and value:
            area += value
            for pixel in (position, position + value - 1):
                xs.append(pixel // height)
                ys.append(pixel % height)
            if position // height != (position + value - 1) // height:
                ys.extend((0, height - 1))  # the run wraps into the next column: every row
        position += value
    if not xs:
        return [0.0, 0.0, 0.0, 0.0], 0
    return [
        float(min(xs)),
        float(min(ys)),
        float(max(xs) - min(xs) + 1),
        float(max(ys) - min(ys) + 1),
    ], area


def coco_image(item: MediaItem, image_id: int) -> dict[str, Any] | None:
    """The COCO ``images`` entry of an image item (None for other media)."""
    media = item.media
    if media is None or media.modality != "image":
        return None
    return {
        "id": image_id,
        "file_name": str(media.uri),
        "width": media.width,
        "height": media.height,
        "quorum_item_id": item.item_id,
        "external_id": item.external_id,
    }


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
            if isinstance(geometry.counts, list):
                annotation["bbox"], annotation["area"] = _rle_box(geometry.size, geometry.counts)
        if label.attributes:
            annotation["attributes"] = label.attributes
        annotations.append(annotation)
    return annotations, skipped


def coco_info(skipped: int) -> dict[str, Any]:
    return {"description": "Quorum export of resolved items", "skipped_labels": skipped}
