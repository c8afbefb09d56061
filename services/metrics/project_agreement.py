"""A project's agreement kept incrementally from its items' judgments, free of I/O.

An item's judgments are :class:`Entry` values: per expert and rubric version, the expert's
latest judgment of the item with the agreement fields it gives (``services.metrics.fields``).
:class:`ProjectAgreement` holds one :class:`View` per selection of judgments: all rubric
versions (:data:`ALL`) and each rubric version met. A view keeps a
:class:`~services.metrics.agreement.Tally` per field, and :meth:`ProjectAgreement.replace_item`
moves an item from its entries before a judgment to its entries after it: each tally takes
the item's ratings before and after (``Tally.replace``), so one judgment costs time in the
fields and experts of its item, never in the judgments stored, and nothing per item is held
in memory.

In a view an expert's judgment of an item is their latest (by ``submitted_at``, then judgment
id) among the entries the view selects. Field values:

* an ordinary field (``verdict``, ``severity``, ``rating.<dimension>``, ``class``) has the
  value that judgment gives it, and no value when it gives none;
* a *presence* field (``flag.<name>``, ``class.<class_id>``) counts, while a judgment of
  the view raises it, on every judged item: true for an expert whose judgment raised it,
  false otherwise. The tally of a presence field that occurs starts as a copy of the view's
  :data:`LATEST` tally (every judgment false), then takes the item that raised it: the same
  state as if the field had been known from the start, in time independent of the items.
  When no judgment of the view raises it any more (the ones that did were replaced), the
  field is dropped, so the state is always a function of the latest judgments alone.

Rolling windows are views over the entries submitted since a cutoff (``since``),
built from the items judged since then.

**Taxonomy versions.** An entry keeps the classes of its judgment as judged, with the taxonomy
version it answered. A project's state is given a ``translate`` function (entry -> fields):
the service's translates the class fields to the latest published version of the entry's
ontology through the published mappings (``shared.taxonomy``), so labels of different
versions are compared as classes of one version; a class that cannot be translated (split,
removed) gives no class value. The state is rebuilt when a version is published.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.metrics.agreement import Tally, Value
from services.metrics.agreement.scale import normalize
from services.metrics.agreement.spatial_temporal import judged_labels
from services.metrics.fields import BINARY_SCALE, is_presence, own_fields, scale_of
from shared.contracts.vocabulary import Label
from shared.contracts.work import JudgmentSubmittedV1

#: the view of every rubric version
ALL = -1
#: the rubric version of judgments without a rubric reference
NO_RUBRIC = 0
#: the pseudo-field of every judgment (each expert's judgment of each item, as false)
LATEST = "@latest"
FALSE = normalize(False)
TRUE = normalize(True)


@dataclass(frozen=True)
class Entry:
    """An expert's judgment of an item, reduced to what agreement needs."""

    judgment_id: str
    expert_id: str
    rubric_version: int
    submitted_at: datetime
    fields: Mapping[str, Value]
    #: the taxonomy version the judgment answered: (ontology id, version)
    taxonomy: tuple[str, int] | None = None
    #: its labels with a region or a time segment (spatial and temporal agreement)
    placed: tuple[Label, ...] = ()

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.submitted_at, self.judgment_id)

    @classmethod
    def of(cls, judgment: JudgmentSubmittedV1) -> Entry:
        return cls(
            judgment.judgment_id,
            judgment.expert_id,
            judgment.rubric_ref.version if judgment.rubric_ref is not None else NO_RUBRIC,
            # as MongoDB keeps it (milliseconds): stored and fresh entries order alike
            judgment.submitted_at.replace(
                microsecond=judgment.submitted_at.microsecond // 1000 * 1000
            ),
            {name: normalize(value) for name, value in own_fields(judgment).items()},
            None
            if judgment.taxonomy is None
            else (judgment.taxonomy.ontology_id, judgment.taxonomy.version),
            tuple(
                label
                for label in judged_labels(judgment)
                if label.geometry is not None or label.segment is not None
            ),
        )


def merged(entries: Sequence[Entry], entry: Entry) -> list[Entry]:
    """The entries with ``entry`` in place of the expert's entry of the same rubric version
    when it is later (kept out when it is earlier)."""
    out = []
    placed = False
    for held in entries:
        if held.expert_id == entry.expert_id and held.rubric_version == entry.rubric_version:
            out.append(entry if held.order < entry.order else held)
            placed = True
        else:
            out.append(held)
    if not placed:
        out.append(entry)
    return out


def chosen(entries: Iterable[Entry], view: int, since: datetime | None = None) -> dict[str, Entry]:
    """Per expert, their latest entry the view selects (submitted at or after ``since``)."""
    out: dict[str, Entry] = {}
    for e in entries:
        if view != ALL and e.rubric_version != view:
            continue
        if since is not None and e.submitted_at < since:
            continue
        held = out.get(e.expert_id)
        if held is None or held.order < e.order:
            out[e.expert_id] = e
    return out


#: an entry's fields as a project compares them (class fields in one taxonomy version)
Translate = Callable[[Entry], Mapping[str, Value]]


def as_judged(entry: Entry) -> Mapping[str, Value]:
    return entry.fields


def translated_fields(
    entry: Entry, translate_class: Callable[[str], str | None]
) -> dict[str, Value]:
    """The entry's fields with each class id put through ``translate_class`` (None: the class
    cannot be translated, and gives no value)."""
    out: dict[str, Value] = {}
    for name, value in entry.fields.items():
        if name == "class":
            target = translate_class(str(value))
            if target is not None:
                out[name] = target
        elif name.startswith("class."):
            target = translate_class(name.removeprefix("class."))
            if target is not None:
                out[f"class.{target}"] = value
        else:
            out[name] = value
    return out


class View:
    """The tallies of one selection of a project's judgments, per field."""

    def __init__(self, translate: Translate = as_judged) -> None:
        self.translate = translate
        self.tallies: dict[str, Tally] = {LATEST: Tally(BINARY_SCALE)}
        #: fields changed since :meth:`take_changed`
        self.changed: set[str] = set()

    def fields(self) -> dict[str, Tally]:
        """The agreement fields (without the pseudo-field)."""
        return {name: t for name, t in self.tallies.items() if name != LATEST}

    def replace_item(self, before: Mapping[str, Entry], after: Mapping[str, Entry]) -> None:
        latest = self.tallies[LATEST]
        old_fields = {x: self.translate(e) for x, e in before.items()}
        new_fields = {x: self.translate(e) for x, e in after.items()}
        names: set[str] = set()
        for fields in (*old_fields.values(), *new_fields.values()):
            names.update(fields)
        for name in sorted(names):
            if name not in self.tallies:
                # a presence field's first occurrence: every judgment so far is false on it
                self.tallies[name] = (
                    copy.deepcopy(latest) if is_presence(name) else Tally(scale_of(name))
                )
        for name, tally in self.tallies.items():
            if name == LATEST:
                old = dict.fromkeys(before, FALSE)
                new = dict.fromkeys(after, FALSE)
            elif is_presence(name):
                old = {x: f.get(name, FALSE) for x, f in old_fields.items()}
                new = {x: f.get(name, FALSE) for x, f in new_fields.items()}
            else:
                old = {x: f[name] for x, f in old_fields.items() if name in f}
                new = {x: f[name] for x, f in new_fields.items() if name in f}
            if tally.replace(old, new):
                self.changed.add(name)
        for name in [n for n in names if is_presence(n)]:
            if TRUE not in self.tallies[name].value_counts:
                del self.tallies[name]  # raised by no judgment any more
                self.changed.add(name)

    def take_changed(self) -> set[str]:
        changed, self.changed = self.changed, set()
        return changed


class ProjectAgreement:
    """The views of one project (all rubric versions, each version), kept by increments.

    While every judgment of the project answers one rubric version, the view of all
    versions and the view of that version are the same selection: they are one
    :class:`View` under both keys, updated once. The first judgment of another version
    splits them (a copy of the tallies, bounded by their size, not by the items)."""

    def __init__(self, since: datetime | None = None, translate: Translate = as_judged) -> None:
        #: only entries submitted at or after this count (a rolling window), all when None
        self.since = since
        self.translate = translate
        self.views: dict[int, View] = {ALL: View(translate)}
        #: the one version whose view is the view of all versions, while there is one
        self._alias: int | None = None
        self._fresh = True

    def replace_item(self, before: Sequence[Entry], after: Sequence[Entry]) -> None:
        """An item's entries go from ``before`` to ``after`` (one judgment applied)."""
        met = {e.rubric_version for e in (*before, *after)}
        if self._fresh and met:
            self._fresh = False
            if len(met) == 1:
                self._alias = next(iter(met))
                self.views[self._alias] = self.views[ALL]
        if self._alias is not None and met - {self._alias}:
            self.views[self._alias] = copy.deepcopy(self.views[ALL])
            self._alias = None
        for version in sorted({ALL, *met}):
            if version == self._alias:
                continue  # the same view as ALL, updated with it
            view = self.views.get(version)
            if view is None:
                view = self.views[version] = View(self.translate)
            view.replace_item(
                chosen(before, version, self.since), chosen(after, version, self.since)
            )

    @classmethod
    def of_items(
        cls,
        items: Iterable[Sequence[Entry]],
        since: datetime | None = None,
        translate: Translate = as_judged,
    ) -> ProjectAgreement:
        """Built from each item's entries (a rebuild, or a window's figures)."""
        project = cls(since, translate)
        for entries in items:
            project.replace_item((), entries)
        return project

    def take_changed(self) -> dict[int, set[str]]:
        """Per view, the fields changed since the last call."""
        taken: dict[int, set[str]] = {}
        out = {}
        for version, view in self.views.items():
            if id(view) not in taken:
                taken[id(view)] = view.take_changed()
            if taken[id(view)]:
                out[version] = taken[id(view)]
        return out


def entry_document(entry: Entry) -> dict[str, Any]:
    """Plain, BSON-safe data (field names may hold dots: they are never keys)."""
    return {
        "judgment_id": entry.judgment_id,
        "expert_id": entry.expert_id,
        "rubric_version": entry.rubric_version,
        "submitted_at": entry.submitted_at,
        "fields": [[name, value] for name, value in sorted(entry.fields.items())],
        "taxonomy": None if entry.taxonomy is None else list(entry.taxonomy),
        "placed": [label.model_dump(mode="json", exclude_none=True) for label in entry.placed],
    }


def entry_of(document: Mapping[str, Any]) -> Entry:
    return Entry(
        document["judgment_id"],
        document["expert_id"],
        int(document["rubric_version"]),
        document["submitted_at"],
        {name: normalize(value) for name, value in document["fields"]},
        _taxonomy(document.get("taxonomy")),
        tuple(Label.model_validate(label) for label in document.get("placed", ())),
    )


def _taxonomy(stored: Any) -> tuple[str, int] | None:
    return None if stored is None else (str(stored[0]), int(stored[1]))
