"""Unknown fields of a body read into a tolerant contract are named, nested ones included."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from shared.contracts.spec import Contract
from shared.errors import FieldError, unknown_fields


class Point(Contract):
    x: int
    label: str = Field("", alias="name")


class Shape(Contract):
    points: list[Point]
    anchors: dict[int, Point] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)


def found(raw: dict[str, Any], model: type[BaseModel] = Shape) -> list[str]:
    return [e.field for e in unknown_fields(raw, model.model_validate(raw))]


def test_a_body_of_known_fields_has_none_unknown() -> None:
    raw = {"points": [{"x": 1, "name": "a"}], "anchors": {"1": {"x": 2}}, "tags": ["t"]}
    assert found(raw) == []


def test_every_unknown_key_is_named_where_it_is() -> None:
    raw = {
        "points": [{"x": 1}, {"x": 2, "y": 3}],
        "anchors": {"1": {"x": 1, "z": 0}},
        "colour": "red",
    }
    assert found(raw) == ["body.points.1.y", "body.anchors.1.z", "body.colour"]


def test_a_field_is_known_by_its_alias_not_its_python_name() -> None:
    assert found({"x": 1, "label": "a"}, Point) == ["body.label"]
    assert found({"x": 1, "name": "a"}, Point) == []


def test_the_error_says_unknown_field() -> None:
    assert unknown_fields({"x": 1, "q": 2}, Point(x=1), "body.p") == [
        FieldError(field="body.p.q", message="unknown field")
    ]
