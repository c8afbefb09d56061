"""Label attributes against a class's attribute specs, free of I/O: the one rule ingest (for
pre-labels) and assignment (for corrected labels) both apply."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.contracts.taxonomy import AttributeSpec, ClassSnapshot
from shared.errors import FieldError


def attribute_problem(spec: AttributeSpec, value: Any) -> str | None:
    """Why ``value`` does not fit the attribute's type (``None``: it fits). A type the
    taxonomy does not know takes any value."""
    number = not isinstance(value, bool)
    ok = {
        "bool": isinstance(value, bool),
        "int": number and isinstance(value, int),
        "float": number and isinstance(value, (int, float)),
        "string": isinstance(value, str),
        "enum": isinstance(value, str) and value in (spec.values or ()),
    }.get(spec.type, True)
    if ok:
        return None
    if spec.type == "enum":
        return f"must be one of {', '.join(spec.values or ())}"
    return f"must be {spec.type}"


def attribute_errors(
    attributes: Mapping[str, Any], cls: ClassSnapshot, at: str
) -> list[FieldError]:
    """Every problem of a label's ``attributes`` against its class, each at
    ``<at>.attributes.<name>``: an attribute the class does not have, a value of the wrong
    type, in the label's order; then each required attribute missing, in the class's order."""
    errors = []
    specs = {a.name: a for a in cls.attributes}
    for name, value in attributes.items():
        spec = specs.get(name)
        if spec is None:
            errors.append(
                FieldError(
                    field=f"{at}.attributes.{name}",
                    message=f"class {cls.id!r} has no such attribute",
                )
            )
            continue
        problem = attribute_problem(spec, value)
        if problem:
            errors.append(FieldError(field=f"{at}.attributes.{name}", message=problem))
    for spec in cls.attributes:
        if spec.required and spec.name not in attributes:
            errors.append(
                FieldError(field=f"{at}.attributes.{spec.name}", message="required by the class")
            )
    return errors
