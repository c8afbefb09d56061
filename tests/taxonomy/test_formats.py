"""Imports of services/taxonomy/formats.py refused row by row: each reason exact, every row
named at once, nothing imported then; and what an accepted import keeps (the round trips
are properties in test_properties.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from services.taxonomy import formats
from services.taxonomy.formats import ImportErrors
from services.taxonomy.models import ImportFormat


def problems(
    document: Any, fmt: ImportFormat = ImportFormat.json, **named: Any
) -> list[tuple[str, str]]:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(ImportErrors) as caught:
        formats.import_classes(raw, fmt, **named)
    assert str(caught.value) == f"{len(caught.value.errors)} problem(s) in the import"
    return [(e.field, e.message) for e in caught.value.errors]


def test_a_document_that_does_not_parse_names_its_format() -> None:
    [(field, message)] = problems(b"{oops", ImportFormat.json)
    assert field == "body" and message.startswith("not valid JSON: ")
    [(field, message)] = problems(b"a: [", ImportFormat.yaml)
    assert field == "body" and message.startswith("not valid YAML: ")
    [(field, message)] = problems(b"\xff\xfe", ImportFormat.yaml)
    assert field == "body" and message.startswith("not valid YAML: ")


def test_yaml_anchors_are_refused_with_where_they_are() -> None:
    raw = b"classes:\n  - &a {name: Car}\n  - *a\n"
    assert problems(raw, ImportFormat.yaml) == [
        (
            "body",
            "not valid YAML: anchors and aliases are not accepted (line 2, column 5): write "
            "each class out",
        )
    ]


def test_yaml_without_anchors_imports() -> None:
    raw = b"classes:\n  - name: Car\n  - {name: Van, parent: Car}\n"
    classes = formats.import_classes(raw, ImportFormat.yaml)
    assert [(c.id, c.name, c.parent_id) for c in classes] == [
        ("car", "Car", None),
        ("van", "Van", "car"),
    ]


@pytest.mark.parametrize("fmt", [ImportFormat.json, ImportFormat.coco])
def test_a_document_without_rows_says_what_it_expected(fmt: ImportFormat) -> None:
    key = "categories" if fmt is ImportFormat.coco else "classes"
    expected = [("body", f"expected a list of {key} or {{{key!r}: [...]}}")]
    assert problems({"other": []}, fmt) == expected
    assert problems("text", fmt) == expected


def test_an_import_has_at_most_its_row_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(formats, "MAX_ROWS", 2)
    rows = [{"name": f"c{i}"} for i in range(3)]
    assert problems(rows) == [("body.classes", "at most 2 rows per import")]
    assert len(formats.import_classes(json.dumps(rows[:2]).encode(), ImportFormat.json)) == 2


def test_every_bad_coco_category_is_named_at_once() -> None:
    document = {
        "categories": [
            "car",
            {"id": True, "name": "a"},
            {"id": -1, "name": " "},
            {"id": 3, "name": "c", "supercategory": 5},
            {"id": "4", "name": "d"},
        ]
    }
    assert problems(document, ImportFormat.coco) == [
        ("categories.0", "a category must be an object"),
        ("categories.1.id", "id must be a whole number >= 0"),
        ("categories.2.id", "id must be a whole number >= 0"),
        ("categories.2.name", "name must be a non-empty string"),
        ("categories.3.supercategory", "supercategory must be a string"),
        ("categories.4.id", "id must be a whole number >= 0"),
    ]


def test_coco_categories_clashing_are_named_by_category() -> None:
    document = {"categories": [{"id": 1, "name": "car"}, {"id": 1, "name": "Car"}]}
    assert problems(document, ImportFormat.coco) == [
        ("categories.1.id", "class id '1' appears twice"),
        ("categories.1.name", "name 'Car' is already used by class '1'"),
    ]


def test_a_coco_category_keeps_every_field_it_came_with() -> None:
    document = {
        "categories": [
            {
                "id": 0,
                "name": "person",
                "supercategory": "person",
                "keypoints": ["nose"],
                "skeleton": [[1, 2]],
                "color": "red",
            },
            {"id": 7, "name": "car"},
        ]
    }
    person, car = formats.import_classes(json.dumps(document).encode(), ImportFormat.coco)
    assert (person.id, person.name) == ("0", "person")
    assert person.extra == {
        "coco_id": 0,
        "supercategory": "person",
        "keypoints": ["nose"],
        "skeleton": [[1, 2]],
        "coco_extra": {"color": "red"},
    }
    assert car.extra == {"coco_id": 7}
    exported = formats.classes_to_coco([person, car])["categories"]
    assert exported[0] == document["categories"][0]
    # COCO requires a supercategory: a category that came without one gets its own name
    assert exported[1] == {"id": 7, "name": "car", "supercategory": "car"}


def test_every_bad_custom_row_is_named_at_once() -> None:
    rows = [
        "car",
        {"name": "a", "parent": 5},
        {"name": "b", "parent": "a", "parent_id": "a"},
        {"name": ""},
        {"names": "c"},
        {"name": "ok"},
    ]
    found = problems({"classes": rows})
    assert found[:3] == [
        ("classes.0", "a class must be an object"),
        ("classes.1.parent", "parent must be a class name"),
        ("classes.2.parent", "give parent or parent_id, not both"),
    ]
    assert [field for field, _ in found[3:]] == [
        "classes.3.name",
        "classes.4.name",
        "classes.4.names",
    ]


def test_a_parent_named_is_found_by_name_whatever_its_case() -> None:
    rows = [
        {"name": "Vehicle"},
        {"name": "Van", "parent": "vehicle"},
        {"id": "x", "name": "X", "parent_id": "van"},
    ]
    classes = formats.custom_to_classes(rows)
    assert [(c.id, c.parent_id) for c in classes] == [
        ("vehicle", None),
        ("van", "vehicle"),
        ("x", "van"),
    ]


def test_every_unknown_parent_name_is_named() -> None:
    rows = [{"name": "Van", "parent": "Truck"}, {"name": "Bus", "parent": "Coach"}]
    assert problems(rows) == [
        ("classes.0.parent", "no class named 'Truck'"),
        ("classes.1.parent", "no class named 'Coach'"),
    ]


def test_generated_ids_avoid_taken_and_given_ones() -> None:
    rows = [{"name": "Car"}, {"id": "car-2", "name": "Auto"}, {"name": "car!"}]
    classes = formats.custom_to_classes(rows, taken_ids=frozenset({"car"}))
    assert [c.id for c in classes] == ["car-3", "car-2", "car-4"]


def test_custom_rows_that_clash_are_refused_by_the_class_rules() -> None:
    assert problems([{"name": "Car"}, {"name": "car"}]) == [
        ("classes.1.name", "name 'car' is already used by class 'car'")
    ]


def test_the_custom_export_is_every_field_of_every_class() -> None:
    classes = formats.custom_to_classes([{"name": "Car", "synonyms": ["auto"]}])
    exported = formats.classes_to_custom(classes)
    assert exported == {"classes": [classes[0].model_dump(mode="json")]}
    assert exported["classes"][0]["synonyms"] == ["auto"]


def test_an_import_avoids_the_ids_the_ontology_has_taken() -> None:
    raw = json.dumps([{"name": "Car"}]).encode()
    [car] = formats.import_classes(raw, ImportFormat.json, taken_ids=frozenset({"car"}))
    assert car.id == "car-2"


def test_a_bad_nested_field_of_a_row_is_named_by_its_path() -> None:
    rows = [{"name": "Car", "attributes": [{"name": "occluded", "type": "colour"}]}]
    assert [field for field, _ in problems(rows)] == ["classes.0.attributes.0.type"]
