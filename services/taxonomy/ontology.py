"""Ontology rules, free of I/O: class graph checks, draft edits, diffs and content hashes.

A draft is a list of :class:`ClassSnapshot` plus the merges and splits declared
while editing it (``lineage``). Every edit returns a new list or raises
:class:`Invalid` naming each failing field; nothing is half applied.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from shared.contracts.taxonomy import ClassSnapshot, ClassStatus, MappingEntry
from shared.errors import FieldError

_SLUG = re.compile(r"[^a-z0-9]+")
#: Fields whose change is reported as ``changed`` (with the field names in the note).
_OTHER_FIELDS = ("display_name", "description", "synonyms", "attributes", "modalities", "extra")


class Invalid(ValueError):
    """An edit that breaks a rule; ``errors`` names every failing field."""

    def __init__(self, errors: Sequence[FieldError], status: int = 422) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = list(errors)
        self.status = status


def _err(where: str, message: str) -> FieldError:
    return FieldError(field=where, message=message)


@dataclass
class WorkingDraft:
    """The editable state of a draft: its classes and the merges/splits declared so far."""

    base_version: int
    classes: list[ClassSnapshot]
    lineage: list[MappingEntry] = field(default_factory=list)
    #: ids in the version the draft started from (a removed one may come back)
    base_ids: frozenset[str] = frozenset()
    #: ids of every class ever published in this ontology (never reused for another class)
    published_ids: frozenset[str] = frozenset()

    def get(self, class_id: str) -> ClassSnapshot | None:
        return next((c for c in self.classes if c.id == class_id), None)

    def ids(self) -> set[str]:
        return {c.id for c in self.classes}


def check_classes(classes: Sequence[ClassSnapshot], where: str = "classes") -> list[FieldError]:
    """Every structural rule of one version: unique ids and names, known parents, no cycles."""
    errors: list[FieldError] = []
    by_id: dict[str, ClassSnapshot] = {}
    names: dict[str, str] = {}
    for index, cls in enumerate(classes):
        at = f"{where}.{index}"
        if cls.id in by_id:
            errors.append(_err(f"{at}.id", f"class id {cls.id!r} appears twice"))
        by_id.setdefault(cls.id, cls)
        folded = cls.name.casefold()
        if folded in names:
            errors.append(
                _err(f"{at}.name", f"name {cls.name!r} is already used by class {names[folded]!r}")
            )
        names.setdefault(folded, cls.id)
        errors.extend(_check_attributes(cls, at))
    for index, cls in enumerate(classes):
        at = f"{where}.{index}.parent_id"
        if cls.parent_id is None:
            continue
        if cls.parent_id == cls.id:
            errors.append(_err(at, "a class cannot be its own parent"))
        elif cls.parent_id not in by_id:
            errors.append(_err(at, f"unknown parent {cls.parent_id!r}"))
    if not errors:
        found = _first_cycle(classes, by_id)
        if found is not None:
            index, cycle = found
            errors.append(_err(f"{where}.{index}.parent_id", f"parent cycle: {' -> '.join(cycle)}"))
    return errors


def _check_attributes(cls: ClassSnapshot, at: str) -> list[FieldError]:
    errors = []
    seen: set[str] = set()
    for i, attr in enumerate(cls.attributes):
        if attr.name in seen:
            errors.append(_err(f"{at}.attributes.{i}.name", f"attribute {attr.name!r} twice"))
        seen.add(attr.name)
    return errors


def _first_cycle(
    classes: Sequence[ClassSnapshot], by_id: dict[str, ClassSnapshot]
) -> tuple[int, list[str]] | None:
    """The first class (by index) whose parents lead into a cycle, and the cycle; in linear
    time: a walk stops at a class an earlier walk found free of cycles."""
    settled: set[str] = set()
    for index, cls in enumerate(classes):
        path: list[str] = []
        on_path: dict[str, int] = {}
        current: str | None = cls.id
        while current is not None and current not in settled:
            if current in on_path:
                return index, [*path[on_path[current] :], current]
            on_path[current] = len(path)
            path.append(current)
            parent = by_id.get(current)
            current = parent.parent_id if parent else None
        settled.update(path)
    return None


def slug(name: str) -> str:
    return _SLUG.sub("-", name.casefold()).strip("-")[:48] or "class"


class ClassIds:
    """Readable class ids made from names, never one taken: ``traffic-light``, then
    ``traffic-light-2``, ``-3``, ...: the first free one, found without counting from 2
    again for each name (many names with one slug stay linear)."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self._next: dict[str, int] = {}  # slug -> the first suffix that may be free

    def new(self, name: str) -> str:
        base = slug(name)
        candidate, n = base, self._next.get(base, 2)
        while candidate in self.taken:
            candidate = f"{base}-{n}"
            n += 1
        self._next[base] = n
        self.taken.add(candidate)
        return candidate


def new_class_id(name: str, taken: Iterable[str]) -> str:
    """A readable id from the name, never one in ``taken`` (one id; see :class:`ClassIds`)."""
    return ClassIds(taken).new(name)


def _check_id_free(draft: WorkingDraft, class_id: str, where: str) -> None:
    if class_id in draft.ids():
        raise Invalid([_err(where, f"class id {class_id!r} is already in the draft")], 409)
    if class_id in draft.published_ids and class_id not in draft.base_ids:
        raise Invalid(
            [
                _err(
                    where,
                    f"class id {class_id!r} belonged to a class removed in an earlier version; "
                    "ids are never reused: choose another id",
                )
            ],
            409,
        )


def _validated(classes: list[ClassSnapshot], where: str) -> list[ClassSnapshot]:
    errors = check_classes(classes)
    if errors:
        # name the field of the edited class where possible
        raise Invalid([FieldError(field=where, message=e.message) for e in errors])
    return classes


def add_class(draft: WorkingDraft, cls: ClassSnapshot, *, id_given: bool) -> ClassSnapshot:
    if id_given:
        _check_id_free(draft, cls.id, "body.id")
    else:
        cls = cls.model_copy(
            update={"id": new_class_id(cls.name, draft.ids() | draft.published_ids)}
        )
    draft.classes = _validated([*draft.classes, cls], "body")
    return cls


def update_class(draft: WorkingDraft, class_id: str, changes: dict[str, object]) -> ClassSnapshot:
    current = _require(draft, class_id)
    updated = ClassSnapshot.model_validate({**current.model_dump(), **changes, "id": class_id})
    draft.classes = _validated([updated if c.id == class_id else c for c in draft.classes], "body")
    return updated


def remove_class(draft: WorkingDraft, class_id: str) -> None:
    _require(draft, class_id)
    children = sorted(c.id for c in draft.classes if c.parent_id == class_id)
    if children:
        raise Invalid(
            [
                _err(
                    "path.class_id",
                    f"class {class_id!r} has children {', '.join(children)}: "
                    "move or remove them first",
                )
            ],
            409,
        )
    draft.classes = [c for c in draft.classes if c.id != class_id]
    _forget_in_lineage(draft, class_id)


def _retarget(draft: WorkingDraft, gone: set[str], target: str) -> None:
    """Earlier merges and splits of this draft into a class now merged away point at its target."""
    draft.lineage = [
        entry.model_copy(
            update={
                "to_class_ids": list(
                    dict.fromkeys(target if t in gone else t for t in entry.to_class_ids)
                )
            }
        )
        for entry in draft.lineage
    ]


def _forget_in_lineage(draft: WorkingDraft, class_id: str) -> None:
    """A removed class is no longer the target of a merge or split of this draft."""
    kept = []
    for entry in draft.lineage:
        targets = [t for t in entry.to_class_ids if t != class_id]
        if entry.kind == "split" and len(targets) >= 1:
            kept.append(entry.model_copy(update={"to_class_ids": targets}))
        elif entry.kind == "merged" and targets:
            kept.append(entry)
    draft.lineage = kept


def merge(
    draft: WorkingDraft,
    sources: Sequence[str],
    *,
    into_id: str | None,
    into_new: ClassSnapshot | None,
    id_given: bool = False,
    note: str | None = None,
) -> ClassSnapshot:
    """Merge ``sources`` into one class: an existing one (``into_id``) or a new one."""
    if (into_id is None) == (into_new is None):
        raise Invalid([_err("body", "give exactly one of into_class_id and into")])
    errors = [
        _err(f"body.from_class_ids.{i}", f"no class {s!r} in the draft")
        for i, s in enumerate(sources)
        if draft.get(s) is None
    ]
    if len(set(sources)) != len(sources):
        errors.append(_err("body.from_class_ids", "a class is named twice"))
    if errors:
        raise Invalid(errors)
    classes = list(draft.classes)
    if into_new is not None:
        if id_given:
            _check_id_free(draft, into_new.id, "body.into.id")
        else:
            into_new = into_new.model_copy(
                update={"id": new_class_id(into_new.name, draft.ids() | draft.published_ids)}
            )
        target = into_new
        # the new class may take a source's name: the sources go away in the same edit
        classes = [c for c in classes if c.id not in sources]
        classes.append(target)
    else:
        assert into_id is not None
        existing = draft.get(into_id)
        if existing is None:
            raise Invalid([_err("body.into_class_id", f"no class {into_id!r} in the draft")])
        target = existing
        classes = [c for c in classes if c.id == into_id or c.id not in sources]
    gone = set(sources) - {target.id}
    _retarget(draft, gone, target.id)
    if target.parent_id in gone:
        raise Invalid([_err("body", "the target cannot be a child of a merged class")])
    # children of merged classes move to the target
    classes = [
        c.model_copy(update={"parent_id": target.id}) if c.parent_id in gone else c for c in classes
    ]
    draft.classes = _validated(classes, "body")
    draft.lineage.append(
        MappingEntry(
            kind="merged", from_class_ids=list(sources), to_class_ids=[target.id], note=note
        )
    )
    return target


def split(
    draft: WorkingDraft,
    source: str,
    *,
    into_ids: Sequence[str],
    into_new: Sequence[tuple[ClassSnapshot, bool]],
    note: str | None = None,
) -> list[ClassSnapshot]:
    """Split ``source`` into existing classes and/or new ones; ``source`` is removed."""
    _require(draft, source, where="body.from_class_id")
    if any(source in entry.to_class_ids for entry in draft.lineage):
        raise Invalid(
            [
                _err(
                    "body.from_class_id",
                    f"class {source!r} received a merge or split in this draft; publish that "
                    "first, then split it in the next version",
                )
            ],
            409,
        )
    if len(into_ids) + len(into_new) < 2:
        raise Invalid([_err("body.into", "a split needs at least two target classes")])
    children = sorted(c.id for c in draft.classes if c.parent_id == source)
    if children:
        raise Invalid(
            [
                _err(
                    "body.from_class_id",
                    f"class {source!r} has children {', '.join(children)}: move them first",
                )
            ],
            409,
        )
    errors = []
    for i, target_id in enumerate(into_ids):
        if target_id == source:
            errors.append(_err(f"body.into_class_ids.{i}", "the split class cannot be a target"))
        elif draft.get(target_id) is None:
            errors.append(_err(f"body.into_class_ids.{i}", f"no class {target_id!r} in the draft"))
    if errors:
        raise Invalid(errors)
    ids = ClassIds(draft.ids() | draft.published_ids)
    targets: list[ClassSnapshot] = []
    for i, (new, id_given) in enumerate(into_new):
        if id_given:
            _check_id_free(draft, new.id, f"body.into.{i}.id")
            if new.id in ids.taken:
                raise Invalid([_err(f"body.into.{i}.id", f"class id {new.id!r} is taken")], 409)
            ids.taken.add(new.id)
        else:
            new = new.model_copy(update={"id": ids.new(new.name)})
        targets.append(new)
    classes = [c for c in draft.classes if c.id != source] + targets
    draft.classes = _validated(classes, "body")
    target_ids = [*into_ids, *(t.id for t in targets)]
    draft.lineage.append(
        MappingEntry(kind="split", from_class_ids=[source], to_class_ids=target_ids, note=note)
    )
    return targets


def _require(draft: WorkingDraft, class_id: str, where: str = "path.class_id") -> ClassSnapshot:
    cls = draft.get(class_id)
    if cls is None:
        raise Invalid([_err(where, f"no class {class_id!r} in the draft")], 404)
    return cls


def diff(
    before: Sequence[ClassSnapshot],
    after: Sequence[ClassSnapshot],
    declared: Sequence[MappingEntry] = (),
) -> list[MappingEntry]:
    """Every change from ``before`` to ``after``; merges and splits come from ``declared``."""
    old = {c.id: c for c in before}
    new = {c.id: c for c in after}
    changes: list[MappingEntry] = []
    explained_gone: set[str] = set()
    explained_new: set[str] = set()
    for entry in declared:
        sources = [s for s in entry.from_class_ids if s in old]
        targets = [t for t in entry.to_class_ids if t in new]
        if not sources or not targets:
            continue
        changes.append(
            entry.model_copy(update={"from_class_ids": sources, "to_class_ids": targets})
        )
        explained_gone.update(s for s in sources if s not in new)
        explained_new.update(t for t in targets if t not in old)
    for cid in new:
        if cid not in old and cid not in explained_new:
            changes.append(MappingEntry(kind="added", to_class_ids=[cid]))
    for cid in old:
        if cid not in new and cid not in explained_gone:
            changes.append(MappingEntry(kind="removed", from_class_ids=[cid]))
    for cid, cls in new.items():
        prior = old.get(cid)
        if prior is None:
            continue
        same = {"from_class_ids": [cid], "to_class_ids": [cid]}
        if prior.name != cls.name:
            changes.append(
                MappingEntry(kind="renamed", note=f"{prior.name!r} -> {cls.name!r}", **same)
            )
        if prior.parent_id != cls.parent_id:
            changes.append(
                MappingEntry(
                    kind="moved", note=f"parent {prior.parent_id} -> {cls.parent_id}", **same
                )
            )
        if prior.guideline != cls.guideline:
            changes.append(MappingEntry(kind="guideline_changed", **same))
        if prior.status != cls.status:
            kind = "deprecated" if cls.status is ClassStatus.deprecated else "reactivated"
            changes.append(MappingEntry(kind=kind, **same))
        other = [f for f in _OTHER_FIELDS if getattr(prior, f) != getattr(cls, f)]
        if other:
            changes.append(MappingEntry(kind="changed", note=", ".join(other), **same))
    return changes


def content_hash(classes: Sequence[ClassSnapshot]) -> str:
    """sha256 over the canonical JSON of the classes, in id order."""
    canonical = [c.model_dump(mode="json") for c in sorted(classes, key=lambda c: c.id)]
    raw = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(raw.encode()).hexdigest()
