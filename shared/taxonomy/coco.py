"""COCO ``categories`` of a published version (for exports of classes and of annotations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.contracts.taxonomy import ClassSnapshot


def coco_categories(classes: Sequence[ClassSnapshot]) -> list[dict[str, Any]]:
    """COCO ``categories`` of a version: classes imported from COCO keep their id, name and
    supercategory exactly; others get ids after the largest, and their parent's name (or
    their own) as supercategory."""
    by_id = {c.id: c for c in classes}
    used: set[int] = set()
    categories: list[dict[str, Any]] = []
    pending: list[ClassSnapshot] = []
    for cls in classes:
        coco_id = cls.extra.get("coco_id")
        if isinstance(coco_id, int) and not isinstance(coco_id, bool) and coco_id not in used:
            used.add(coco_id)
            categories.append(_category(cls, coco_id, by_id))
        elif cls.id.isdigit() and int(cls.id) not in used:
            used.add(int(cls.id))
            categories.append(_category(cls, int(cls.id), by_id))
        else:
            pending.append(cls)
    next_id = max(used, default=0) + 1
    for cls in sorted(pending, key=lambda c: c.id):
        categories.append(_category(cls, next_id, by_id))
        next_id += 1
    categories.sort(key=lambda c: c["id"])
    return categories


def _category(cls: ClassSnapshot, coco_id: int, by_id: dict[str, ClassSnapshot]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": coco_id, "name": cls.name}
    if "supercategory" in cls.extra:
        out["supercategory"] = cls.extra["supercategory"]
    else:
        parent = by_id.get(cls.parent_id) if cls.parent_id else None
        out["supercategory"] = parent.name if parent else cls.name
    for key in ("keypoints", "skeleton"):
        if key in cls.extra:
            out[key] = cls.extra[key]
    out.update(cls.extra.get("coco_extra") or {})
    return out
