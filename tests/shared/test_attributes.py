"""The type rule of a label's attribute values (shared/taxonomy/attributes.py), which ingest
applies to pre-labels and assignment to corrected labels."""

from __future__ import annotations

from typing import Any

import pytest

from shared.contracts.taxonomy import AttributeSpec
from shared.taxonomy.attributes import attribute_problem


def spec(type_: str, values: list[str] | None = None) -> AttributeSpec:
    return AttributeSpec(name="a", type=type_, values=values)


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("bool", True),
        ("bool", False),
        ("int", 3),
        ("int", -2),
        ("float", 2.5),
        ("float", 3),
        ("string", ""),
        ("string", "x"),
        ("enum", "partial"),
        ("date", 1),
        ("date", None),
    ],
    ids=[
        "bool-true",
        "bool-false",
        "int",
        "int-negative",
        "float",
        "float-int",
        "string-empty",
        "string",
        "enum",
        "unknown-type-int",
        "unknown-type-none",
    ],
)
def test_a_value_of_the_attribute_type_has_no_problem(type_: str, value: Any) -> None:
    assert attribute_problem(spec(type_, ["none", "partial"]), value) is None


@pytest.mark.parametrize(
    ("type_", "value"),
    [
        ("bool", 1),
        ("bool", "true"),
        ("bool", None),
        ("int", True),
        ("int", 2.5),
        ("int", "3"),
        ("float", False),
        ("float", "2.5"),
        ("float", None),
        ("string", 1),
        ("string", None),
    ],
    ids=[
        "bool-int",
        "bool-text",
        "bool-none",
        "int-bool",
        "int-float",
        "int-text",
        "float-bool",
        "float-text",
        "float-none",
        "string-int",
        "string-none",
    ],
)
def test_a_value_of_another_type_must_be_the_attribute_type(type_: str, value: Any) -> None:
    assert attribute_problem(spec(type_), value) == f"must be {type_}"


@pytest.mark.parametrize(
    ("values", "value", "message"),
    [
        (["none", "partial"], "heavy", "must be one of none, partial"),
        (["none", "partial"], "None", "must be one of none, partial"),
        (["none", "partial"], 1, "must be one of none, partial"),
        (["only"], None, "must be one of only"),
        (None, "none", "must be one of "),
        ([], "none", "must be one of "),
    ],
    ids=["unlisted", "other-case", "not-text", "none", "no-values", "empty-values"],
)
def test_an_enum_value_must_be_one_of_its_values(
    values: list[str] | None, value: Any, message: str
) -> None:
    assert attribute_problem(spec("enum", values), value) == message
