"""Import and export of class lists: COCO ``categories``, and Quorum's own JSON / YAML.

COCO round trip is lossless for COCO's fields: a category ``{id, name,
supercategory}`` becomes a class with id ``str(id)``, the same name, and
``extra = {"coco_id": id, "supercategory": supercategory}``; export writes
them back unchanged. Supercategories are kept as COCO keeps them, as a label
on the category, not as parent classes (COCO's ``person`` is its own
supercategory).

The custom format is ``{"classes": [row, ...]}`` (or a bare list) where a row
has the fields of a class; ``parent`` (a name) may stand for ``parent_id``.
Every bad row is reported with its index and reason; nothing is imported then.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import ValidationError

from services.taxonomy.models import ClassIn, ImportFormat
from services.taxonomy.ontology import ClassIds, check_classes
from shared.contracts.taxonomy import ClassSnapshot
from shared.errors import FieldError
from shared.taxonomy.coco import coco_categories

MAX_ROWS = 20_000


class _PlainYaml(yaml.SafeLoader):
    """YAML without anchors and aliases: a few bytes of aliases can expand to gigabytes."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            mark = event.start_mark
            raise yaml.YAMLError(
                f"anchors and aliases are not accepted (line {mark.line + 1}, column "
                f"{mark.column + 1}): write each class out"
            )
        return super().compose_node(parent, index)


class ImportErrors(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problem(s) in the import")
        self.errors = errors


#: The media types an import body may be sent as, and the formats each carries (the first
#: when no ``format`` is asked for): an ``application/octet-stream`` body is read as ``format``
#: says, as before JSON and YAML bodies were taken.
MEDIA_TYPES: dict[str, tuple[ImportFormat, ...]] = {
    "application/json": (ImportFormat.json, ImportFormat.coco),
    "application/yaml": (ImportFormat.yaml,),
    "application/octet-stream": (ImportFormat.json, ImportFormat.coco, ImportFormat.yaml),
}


class WrongMediaType(ValueError):
    """An import body of a media type that cannot carry the format asked for."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.errors = [FieldError(field="header.content-type", message=message)]


def format_of(media_type: str, asked: ImportFormat | None) -> ImportFormat:
    """The format of an import body of ``media_type`` (one of :data:`MEDIA_TYPES`), ``asked``
    for or the media type's own; :class:`WrongMediaType` when the two disagree."""
    carried = MEDIA_TYPES.get(media_type)
    if carried is None:
        raise WrongMediaType(f"an import is sent as {', '.join(MEDIA_TYPES)}, not {media_type}")
    if asked is None:
        return carried[0]
    if asked not in carried:
        fits = [t for t, formats in MEDIA_TYPES.items() if asked in formats]
        raise WrongMediaType(
            f"format={asked} is not sent as {media_type}: send it as {' or '.join(fits)}"
        )
    return asked


def parse_document(raw: bytes, fmt: ImportFormat) -> Any:
    try:
        if fmt is ImportFormat.yaml:
            return yaml.load(raw.decode("utf-8"), Loader=_PlainYaml)  # noqa: S506 (safe, no aliases)
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        kind = "YAML" if fmt is ImportFormat.yaml else "JSON"
        raise ImportErrors([FieldError(field="body", message=f"not valid {kind}: {exc}")]) from exc


def import_classes(
    raw: bytes, fmt: ImportFormat, *, taken_ids: frozenset[str] = frozenset()
) -> list[ClassSnapshot]:
    """Parse a document into classes, or raise :class:`ImportErrors` naming every bad row."""
    document = parse_document(raw, fmt)
    if fmt is ImportFormat.coco:
        return coco_to_classes(document)
    return custom_to_classes(document, taken_ids=taken_ids)


def _rows(document: Any, key: str) -> list[Any]:
    rows = document.get(key) if isinstance(document, dict) else document
    if not isinstance(rows, list):
        raise ImportErrors(
            [FieldError(field="body", message=f"expected a list of {key} or {{{key!r}: [...]}}")]
        )
    if len(rows) > MAX_ROWS:
        raise ImportErrors(
            [FieldError(field=f"body.{key}", message=f"at most {MAX_ROWS} rows per import")]
        )
    return rows


def coco_to_classes(document: Any) -> list[ClassSnapshot]:
    rows = _rows(document, "categories")
    errors: list[FieldError] = []
    classes: list[ClassSnapshot] = []
    for index, row in enumerate(rows):
        at = f"categories.{index}"
        if not isinstance(row, dict):
            errors.append(FieldError(field=at, message="a category must be an object"))
            continue
        row_errors: list[FieldError] = []
        coco_id, name = row.get("id"), row.get("name")
        if isinstance(coco_id, bool) or not isinstance(coco_id, int) or coco_id < 0:
            row_errors.append(
                FieldError(field=f"{at}.id", message="id must be a whole number >= 0")
            )
        if not isinstance(name, str) or not name.strip():
            row_errors.append(
                FieldError(field=f"{at}.name", message="name must be a non-empty string")
            )
        supercategory = row.get("supercategory")
        if supercategory is not None and not isinstance(supercategory, str):
            row_errors.append(
                FieldError(field=f"{at}.supercategory", message="supercategory must be a string")
            )
        if row_errors:
            errors.extend(row_errors)
            continue
        assert isinstance(name, str)
        extra: dict[str, Any] = {"coco_id": coco_id}
        if supercategory is not None:
            extra["supercategory"] = supercategory
        for key in ("keypoints", "skeleton"):
            if key in row:
                extra[key] = row[key]
        unknown = sorted(set(row) - {"id", "name", "supercategory", "keypoints", "skeleton"})
        if unknown:
            extra["coco_extra"] = {key: row[key] for key in unknown}
        classes.append(ClassSnapshot(id=str(coco_id), name=name, extra=extra))
    if not errors:
        errors = _prefixed(check_classes(classes), rows_key="categories")
    if errors:
        raise ImportErrors(errors)
    return classes


def _prefixed(errors: list[FieldError], *, rows_key: str) -> list[FieldError]:
    return [
        FieldError(field=e.field.replace("classes.", f"{rows_key}.", 1), message=e.message)
        for e in errors
    ]


def custom_to_classes(
    document: Any, *, taken_ids: frozenset[str] = frozenset()
) -> list[ClassSnapshot]:
    rows = _rows(document, "classes")
    errors: list[FieldError] = []
    parsed: list[tuple[int, ClassIn, str | None]] = []
    for index, row in enumerate(rows):
        at = f"classes.{index}"
        if not isinstance(row, dict):
            errors.append(FieldError(field=at, message="a class must be an object"))
            continue
        fields = dict(row)
        parent_name = fields.pop("parent", None)
        if parent_name is not None and not isinstance(parent_name, str):
            errors.append(FieldError(field=f"{at}.parent", message="parent must be a class name"))
            continue
        if parent_name is not None and fields.get("parent_id") is not None:
            errors.append(
                FieldError(field=f"{at}.parent", message="give parent or parent_id, not both")
            )
            continue
        try:
            parsed.append((index, ClassIn.model_validate(fields), parent_name))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(p) for p in err["loc"])
                errors.append(
                    FieldError(field=f"{at}.{where}" if where else at, message=err["msg"])
                )
    if errors:
        raise ImportErrors(errors)
    allocate = ClassIds({*taken_ids, *(c.id for _, c, _ in parsed if c.id)})
    ids = [cls.id or allocate.new(cls.name) for _, cls, _ in parsed]
    by_name = {cls.name.casefold(): cid for (_, cls, _), cid in zip(parsed, ids, strict=True)}
    classes: list[ClassSnapshot] = []
    for (index, cls, parent_name), cid in zip(parsed, ids, strict=True):
        parent_id = cls.parent_id
        if parent_name is not None:
            parent_id = by_name.get(parent_name.casefold())
            if parent_id is None:
                errors.append(
                    FieldError(
                        field=f"classes.{index}.parent", message=f"no class named {parent_name!r}"
                    )
                )
                continue
        classes.append(cls.snapshot(cid, parent_id))
    if errors:
        raise ImportErrors(errors)
    problems = check_classes(classes)
    if problems:
        raise ImportErrors(problems)
    return classes


def classes_to_coco(classes: list[ClassSnapshot]) -> dict[str, Any]:
    """COCO ``categories``: imported ones exactly as they came; others get ids after them."""
    return {"categories": coco_categories(classes)}


def classes_to_custom(classes: list[ClassSnapshot]) -> dict[str, Any]:
    return {"classes": [c.model_dump(mode="json") for c in classes]}
