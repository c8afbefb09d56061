"""Properties of translation, diffs and COCO round trips over generated ontologies."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.taxonomy import formats, ontology
from services.taxonomy.models import ImportFormat
from shared.contracts.taxonomy import ClassSnapshot, VersionMapping, VersionPublishedV1
from shared.taxonomy.translation import OntologyVersions

NAMES = [f"c{i}" for i in range(40)]


def _publish(
    versions: OntologyVersions, classes: list[ClassSnapshot], draft: ontology.WorkingDraft
) -> None:
    previous = versions.latest
    number = previous.version + 1 if previous else 1
    mapping = (
        VersionMapping(
            from_version=previous.version,
            to_version=number,
            changes=ontology.diff(previous.classes, classes, draft.lineage),
        )
        if previous
        else None
    )
    versions.add(
        VersionPublishedV1(
            ontology_id="o",
            tenant="t",
            name="o",
            version=number,
            content_hash=ontology.content_hash(classes),
            classes=classes,
            mapping=mapping,
            published_at=datetime.now(UTC),
        )
    )


@st.composite
def version_chains(draw: st.DrawFn) -> OntologyVersions:
    """A few published versions, each made from the last by random draft edits."""
    versions = OntologyVersions()
    fresh = iter(NAMES)
    classes = [ClassSnapshot(id=n, name=n.upper()) for n in (next(fresh) for _ in range(5))]
    _publish(versions, classes, ontology.WorkingDraft(0, classes))
    for _ in range(draw(st.integers(1, 4))):
        latest = versions.latest
        assert latest is not None
        draft = ontology.WorkingDraft(
            latest.version,
            list(latest.classes),
            base_ids=frozenset(c.id for c in latest.classes),
            published_ids=frozenset(c.id for v in versions.versions.values() for c in v.classes),
        )
        for _ in range(draw(st.integers(1, 4))):
            ids = sorted(
                c.id for c in draft.classes if not any(k.parent_id == c.id for k in draft.classes)
            )
            op = draw(st.sampled_from(["add", "remove", "rename", "merge", "split"]))
            try:
                if op == "add":
                    name = next(fresh)
                    ontology.add_class(
                        draft, ClassSnapshot(id=name, name=name.upper()), id_given=True
                    )
                elif op == "remove" and len(ids) > 2:
                    ontology.remove_class(draft, draw(st.sampled_from(ids)))
                elif op == "rename" and ids:
                    target = draw(st.sampled_from(ids))
                    ontology.update_class(draft, target, {"name": f"{target}-{next(fresh)}"})
                elif op == "merge" and len(ids) >= 2:
                    sources = draw(
                        st.lists(st.sampled_from(ids), min_size=1, max_size=3, unique=True)
                    )
                    if draw(st.booleans()):
                        rest = [i for i in ids if i not in sources] or ids
                        ontology.merge(
                            draft, sources, into_id=draw(st.sampled_from(rest)), into_new=None
                        )
                    else:
                        name = next(fresh)
                        ontology.merge(
                            draft,
                            sources,
                            into_id=None,
                            into_new=ClassSnapshot(id=name, name=name.upper()),
                            id_given=True,
                        )
                elif op == "split" and ids:
                    source = draw(st.sampled_from(ids))
                    new = [next(fresh) for _ in range(draw(st.integers(1, 2)))]
                    others = [i for i in ids if i != source]
                    existing = draw(st.lists(st.sampled_from(others), max_size=1)) if others else []
                    if len(new) + len(existing) >= 2:
                        ontology.split(
                            draft,
                            source,
                            into_ids=existing,
                            into_new=[(ClassSnapshot(id=n, name=n.upper()), True) for n in new],
                        )
            except ontology.Invalid:
                continue  # an edit the rules refuse leaves the draft as it was
        if draft.classes and ontology.diff(latest.classes, draft.classes, draft.lineage):
            _publish(versions, list(draft.classes), draft)
    return versions


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version_chains(), st.data())
def test_translating_through_a_version_equals_translating_directly(
    versions: OntologyVersions, data: st.DataObject
) -> None:
    numbers = sorted(versions.versions)
    a, b, c = (data.draw(st.sampled_from(numbers)) for _ in range(3))
    for cls in versions.versions[a].classes:
        ab = versions.translate(cls.id, a, b)
        if ab.class_id is None:
            continue
        bc = versions.translate(ab.class_id, b, c)
        ac = versions.translate(cls.id, a, c)
        if bc.class_id is not None and ac.class_id is not None:
            assert bc.class_id == ac.class_id, (cls.id, a, b, c)
        if bc.class_id is not None and (a <= b <= c or a >= b >= c):
            assert ac.class_id == bc.class_id  # along one direction, defined means defined


@settings(max_examples=150, deadline=None)
@given(version_chains())
def test_a_round_trip_to_a_version_and_back_is_the_identity_where_defined(
    versions: OntologyVersions,
) -> None:
    numbers = sorted(versions.versions)
    for a in numbers:
        for b in numbers:
            for cls in versions.versions[a].classes:
                there = versions.translate(cls.id, a, b)
                if there.class_id is None:
                    continue
                back = versions.translate(there.class_id, b, a)
                assert back.class_id in (None, cls.id)
                if a == b:
                    assert there.class_id == cls.id


categories = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.integers(0, 10_000),
            "name": st.text(min_size=1, max_size=20).filter(lambda s: s.strip() != ""),
            "supercategory": st.text(max_size=20),
        }
    ),
    max_size=30,
    unique_by=(lambda c: c["id"], lambda c: c["name"].casefold()),
)


@settings(max_examples=200, deadline=None)
@given(categories)
def test_a_coco_export_reimports_to_the_same_categories(cats: list[dict[str, object]]) -> None:
    classes = formats.import_classes(json.dumps({"categories": cats}).encode(), ImportFormat.coco)
    exported = formats.classes_to_coco(classes)
    assert exported["categories"] == sorted(cats, key=lambda c: c["id"])  # type: ignore[arg-type, return-value]
    again = formats.import_classes(json.dumps(exported).encode(), ImportFormat.coco)
    assert formats.classes_to_coco(again) == exported


def test_coco_rows_with_problems_are_all_named() -> None:
    bad = {
        "categories": [
            {"id": 1, "name": "person"},
            {"id": "2", "name": "car"},
            {"id": 3},
            {"id": 1, "name": "bike"},
            {"id": 4, "name": "Person"},
            "nope",
        ]
    }
    try:
        formats.import_classes(json.dumps(bad).encode(), ImportFormat.coco)
    except formats.ImportErrors as exc:
        fields = [e.field for e in exc.errors]
    else:
        raise AssertionError("a bad COCO file was accepted")
    assert fields == ["categories.1.id", "categories.2.name", "categories.5"]


def test_diff_of_a_version_with_itself_is_empty() -> None:
    classes = [ClassSnapshot(id="a", name="A"), ClassSnapshot(id="b", name="B", parent_id="a")]
    assert ontology.diff(classes, classes) == []
    assert ontology.content_hash(classes) == ontology.content_hash(list(reversed(classes)))


def _plain_new_id(name: str, taken: set[str]) -> str:
    """The definition: the slug, else the slug with the first free suffix from 2."""
    base, n = ontology.slug(name), 1
    candidate = base
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


@given(
    st.lists(st.sampled_from(["Car", "car", "CAR!", "Car 2", "car-2", "Bus", "x"]), max_size=40),
    st.sets(st.sampled_from(["car", "car-2", "car-3", "car-2-2", "bus-2", "x"]), max_size=6),
)
def test_ids_made_in_turn_are_the_first_free_ones(names: list[str], taken: set[str]) -> None:
    ids = ontology.ClassIds(taken)
    plain = set(taken)
    for name in names:
        expected = _plain_new_id(name, plain)
        assert ids.new(name) == expected
        plain.add(expected)


def _plain_cycle(classes: list[ClassSnapshot]) -> tuple[int, list[str]] | None:
    """The definition: the first class whose walk up its parents meets a class twice."""
    by_id = {c.id: c for c in classes}
    for index, cls in enumerate(classes):
        path = [cls.id]
        current = cls.parent_id
        while current is not None:
            path.append(current)
            if current in path[:-1]:
                return index, path[path.index(current) :]
            current = by_id[current].parent_id if current in by_id else None
    return None


@given(st.lists(st.integers(0, 12), min_size=1, max_size=13))
def test_the_cycle_found_is_the_first_by_the_definition(parents: list[int]) -> None:
    classes = [
        ClassSnapshot(
            id=f"c{i}", name=f"C{i}", parent_id=f"c{p}" if p < len(parents) and p != i else None
        )
        for i, p in enumerate(parents)
    ]
    errors = ontology.check_classes(classes)
    expected = _plain_cycle(classes)
    cycles = [e for e in errors if "parent cycle" in e.message]
    if expected is None:
        assert not cycles
    else:
        index, cycle = expected
        assert [(e.field, e.message) for e in cycles] == [
            (f"classes.{index}.parent_id", f"parent cycle: {' -> '.join(cycle)}")
        ]


def test_a_chain_of_twenty_thousand_classes_is_checked_and_imported() -> None:
    rows = [{"name": "c0"}, *({"name": f"c{i}", "parent": f"c{i - 1}"} for i in range(1, 20_000))]
    classes = formats.import_classes(json.dumps({"classes": rows}).encode(), ImportFormat.json)
    assert len(classes) == 20_000 and classes[-1].parent_id == "c19998"
    marks = str.maketrans("0123456789", "!@#$%^&*()")  # names differ, their slug does not
    names = ["Car", *(f"Car {str(i).translate(marks)}" for i in range(1, 15_000))]
    same = formats.import_classes(
        json.dumps({"classes": [{"name": name} for name in names]}).encode(), ImportFormat.json
    )
    assert [c.id for c in same[:3]] == ["car", "car-2", "car-3"]  # one slug, 15,000 names
    assert len({c.id for c in same}) == 15_000
