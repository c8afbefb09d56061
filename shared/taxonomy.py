"""Label translation between published taxonomy versions, from their events alone.

Every ``quorum.taxonomy.version_published.v1`` event carries the full class
snapshot and the mapping from the previous version, so any service can keep
the versions it consumed (:class:`TaxonomyCache`) and translate labels without
calling the taxonomy service.

Class ids are stable across versions: a rename or a move keeps the id, so a
label keeps its class. One step ``n-1 -> n`` translates a class id so:

* present in both versions -> the same id (deprecated classes included, with a note);
* merged into a target -> the target;
* split -> untranslatable: the label must be split by a person;
* removed -> untranslatable.

Backwards (``n -> n-1``) a class that absorbed others (a merge or split target
that already existed) is ambiguous, a class created by a split goes back to its
source, a class created by merging exactly one source goes back to it, and a
class added in ``n`` has no counterpart. Translation between any two versions
walks the steps in between, so translating ``a -> b`` then ``b -> c`` gives the
same result as ``a -> c`` wherever both are defined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.taxonomy import ClassSnapshot, ClassStatus, MappingEntry, VersionPublishedV1
from shared.events import Event


@dataclass(frozen=True)
class Translated:
    """The outcome for one class id: ``class_id`` is None when it cannot be translated."""

    source_class_id: str
    class_id: str | None
    reason: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.class_id is not None


class UnknownVersion(LookupError):
    """A version that was never published (or not yet consumed) was asked for."""


@dataclass(frozen=True)
class _Step:
    """What one mapping says, indexed for translation in both directions."""

    from_version: int
    to_version: int
    before: frozenset[str]
    after: Mapping[str, ClassSnapshot]
    merged_into: Mapping[str, str]  # source -> target
    split_into: Mapping[str, tuple[str, ...]]  # source -> targets
    merge_sources: Mapping[str, tuple[str, ...]]  # target -> sources
    split_sources: Mapping[str, tuple[str, ...]]  # target -> the classes split into it

    def forward(self, class_id: str) -> tuple[str | None, str | None]:
        version = self.to_version
        if class_id in self.split_into:
            targets = ", ".join(self.split_into[class_id])
            return None, f"split into {targets} in version {version}; choose one"
        target = self.merged_into.get(class_id)
        if target is not None and target != class_id:
            return target, None
        if class_id in self.after:
            return class_id, None
        return None, f"removed in version {version}"

    def backward(self, class_id: str) -> tuple[str | None, str | None]:
        version = self.to_version
        origins = {*self.merge_sources.get(class_id, ()), *self.split_sources.get(class_id, ())}
        if class_id in self.before:
            absorbed = sorted(origins - {class_id})
            if absorbed:
                return None, (
                    f"in version {version} it absorbed {', '.join(absorbed)}; "
                    "cannot tell which class it was before"
                )
            return class_id, None
        if len(origins) == 1:
            return next(iter(origins)), None
        if origins:
            return None, (
                f"created in version {version} from {', '.join(sorted(origins))}; "
                "cannot tell which class it was before"
            )
        return None, f"did not exist before version {version}"


def _step(previous: VersionPublishedV1, current: VersionPublishedV1) -> _Step:
    merged_into: dict[str, str] = {}
    split_into: dict[str, tuple[str, ...]] = {}
    merge_sources: dict[str, list[str]] = {}
    split_sources: dict[str, list[str]] = {}
    changes: Sequence[MappingEntry] = current.mapping.changes if current.mapping else ()
    for change in changes:
        if change.kind == "merged" and len(change.to_class_ids) == 1:
            target = change.to_class_ids[0]
            merge_sources.setdefault(target, []).extend(change.from_class_ids)
            for source in change.from_class_ids:
                merged_into[source] = target
        elif change.kind == "split" and len(change.from_class_ids) == 1:
            source = change.from_class_ids[0]
            split_into[source] = tuple(change.to_class_ids)
            for target in change.to_class_ids:
                split_sources.setdefault(target, []).append(source)
    return _Step(
        from_version=previous.version,
        to_version=current.version,
        before=frozenset(c.id for c in previous.classes),
        after={c.id: c for c in current.classes},
        merged_into=merged_into,
        split_into=split_into,
        merge_sources={k: tuple(v) for k, v in merge_sources.items()},
        split_sources={k: tuple(v) for k, v in split_sources.items()},
    )


@dataclass
class OntologyVersions:
    """The published versions of one ontology that a service knows, by number."""

    versions: dict[int, VersionPublishedV1] = field(default_factory=dict)
    _steps: dict[int, _Step] = field(default_factory=dict)

    def add(self, version: VersionPublishedV1) -> None:
        self.versions[version.version] = version
        self._steps.pop(version.version, None)
        self._steps.pop(version.version + 1, None)

    def get(self, number: int) -> VersionPublishedV1 | None:
        return self.versions.get(number)

    @property
    def latest(self) -> VersionPublishedV1 | None:
        return self.versions[max(self.versions)] if self.versions else None

    def _step_to(self, number: int) -> _Step:
        step = self._steps.get(number)
        if step is None:
            previous, current = self.versions.get(number - 1), self.versions.get(number)
            if previous is None or current is None:
                missing = number - 1 if previous is None else number
                raise UnknownVersion(f"version {missing} is not known")
            step = self._steps[number] = _step(previous, current)
        return step

    def translate(self, class_id: str, from_version: int, to_version: int) -> Translated:
        """Translate one class id from one published version to another."""
        self._require(from_version, to_version)
        start = self.versions[from_version]
        if not any(c.id == class_id for c in start.classes):
            return Translated(class_id, None, f"no class {class_id} in version {from_version}")
        current = class_id
        forward = to_version > from_version
        steps = (
            range(from_version + 1, to_version + 1)
            if forward
            else range(from_version, to_version, -1)
        )
        for number in steps:
            step = self._step_to(number)
            moved, reason = step.forward(current) if forward else step.backward(current)
            if moved is None:
                return Translated(class_id, None, reason)
            current = moved
        notes: list[str] = []
        final = next(c for c in self.versions[to_version].classes if c.id == current)
        original = next(c for c in start.classes if c.id == class_id)
        if final.name != original.name:
            notes.append(f"named {final.name!r} in version {to_version}")
        if final.status is ClassStatus.deprecated:
            notes.append(f"deprecated in version {to_version}")
        return Translated(class_id, current, None, tuple(notes))

    def translate_many(
        self, class_ids: Iterable[str], from_version: int, to_version: int
    ) -> dict[str, Translated]:
        self._require(from_version, to_version)  # also when there is nothing to translate
        return {cid: self.translate(cid, from_version, to_version) for cid in set(class_ids)}

    def _require(self, *numbers: int) -> None:
        for number in numbers:
            if number not in self.versions:
                raise UnknownVersion(f"version {number} is not known")


class TaxonomyCache:
    """Published versions a service consumed, kept in its own database and in memory.

    Feed it ``version_published`` events with :meth:`apply` (idempotent: the same
    version applied twice stores one copy) and call :meth:`load` at start-up.
    """

    COLLECTION = "taxonomy_versions"

    def __init__(self, db: AsyncDatabase[Any]) -> None:
        self.collection = db[self.COLLECTION]
        self._ontologies: dict[tuple[str, str], OntologyVersions] = {}

    async def load(self) -> None:
        async for doc in self.collection.find({}, {"_id": 0}):
            self._remember(VersionPublishedV1.model_validate(doc["snapshot"]))

    async def apply(self, event: Event[VersionPublishedV1]) -> None:
        await self.store(event.data)

    async def store(self, version: VersionPublishedV1) -> None:
        key = f"{version.tenant}/{version.ontology_id}/{version.version}"
        await self.collection.replace_one(
            {"_id": key},
            {"_id": key, "snapshot": version.model_dump(mode="json")},
            upsert=True,
        )
        self._remember(version)

    def _remember(self, version: VersionPublishedV1) -> None:
        key = (version.tenant, version.ontology_id)
        self._ontologies.setdefault(key, OntologyVersions()).add(version)

    def ontology(self, tenant: str, ontology_id: str) -> OntologyVersions | None:
        return self._ontologies.get((tenant, ontology_id))

    def version(self, tenant: str, ontology_id: str, number: int) -> VersionPublishedV1 | None:
        versions = self.ontology(tenant, ontology_id)
        return versions.get(number) if versions else None

    async def fetch(self, tenant: str, ontology_id: str, number: int) -> VersionPublishedV1 | None:
        """A version from memory, else from the database: another replica of the service may
        have consumed it (published versions never change, so what is cached stays true)."""
        found = self.version(tenant, ontology_id, number)
        if found is None:
            doc = await self.collection.find_one({"_id": f"{tenant}/{ontology_id}/{number}"})
            if doc is not None:
                found = VersionPublishedV1.model_validate(doc["snapshot"])
                self._remember(found)
        return found


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
