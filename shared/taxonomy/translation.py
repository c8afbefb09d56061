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

from shared.contracts.taxonomy import ClassSnapshot, ClassStatus, MappingEntry, VersionPublishedV1


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
        original = start.class_index.get(class_id)
        if original is None:
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
        final = self.versions[to_version].class_index[current]
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
