"""Every list endpoint pages the same way: ``limit`` and ``cursor`` in, ``{items, next_cursor}``
out (``shared/http/pagination.py``); none answers a bare array. And the helpers they share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI

from services.assignment.app import create_app as assignment_app
from services.assignment.settings import AssignmentSettings
from services.ingest.app import create_app as ingest_app
from services.ingest.settings import IngestSettings
from services.taxonomy.app import create_app as taxonomy_app
from services.taxonomy.settings import TaxonomySettings
from shared.errors import FieldError, differences
from shared.http.pagination import cursor_time, decode_cursor, encode_cursor, page_of
from shared.http.problems import Problem

APPS: dict[str, Callable[[], FastAPI]] = {
    "ingest": lambda: ingest_app(IngestSettings(environment="test")),
    "assignment": lambda: assignment_app(AssignmentSettings(environment="test")),
    "taxonomy": lambda: taxonomy_app(TaxonomySettings(environment="test")),
}
#: Lists that answer otherwise, and why.
UNPAGED = {
    # staffing proposals: the best few experts to invite, at most `limit` (a ranking)
    "GET /v1/projects/{project_id}/proposals",
}


def _json_answers(app: FastAPI) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """Each GET operation with its 200 JSON schema (its reference resolved)."""
    spec = app.openapi()
    schemas = spec["components"]["schemas"]
    found = []
    for path, operations in spec["paths"].items():
        operation = operations.get("get")
        if operation is None:
            continue
        answer = operation["responses"].get("200", {}).get("content", {})
        schema = answer.get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "")
        if ref:
            schema = schemas[ref.rpartition("/")[2]]
        found.append((f"GET {path}", operation, schema))
    return found


@pytest.mark.parametrize("service", sorted(APPS))
def test_no_list_endpoint_answers_a_bare_array(service: str) -> None:
    bare = [
        name
        for name, _, schema in _json_answers(APPS[service]())
        if schema.get("type") == "array" and name not in UNPAGED
    ]
    assert bare == []


@pytest.mark.parametrize("service", sorted(APPS))
def test_every_page_of_a_list_is_asked_for_by_limit_and_cursor(service: str) -> None:
    pages = [
        (name, operation)
        for name, operation, schema in _json_answers(APPS[service]())
        if set(schema.get("properties", {})) == {"items", "next_cursor"}
    ]
    assert pages
    for name, operation in pages:
        parameters = {p["name"] for p in operation.get("parameters", [])}
        assert {"limit", "cursor"} <= parameters, name
        assert "400" in operation["responses"], name  # a cursor this API did not make


def test_a_full_page_has_a_cursor_holding_the_key_of_its_last_item() -> None:
    page = page_of(["a", "b"], 2, lambda item: [item])
    assert page.items == ["a", "b"]
    assert page.next_cursor is not None and decode_cursor(page.next_cursor, str) == ["b"]
    assert page_of(["a"], 2, lambda item: [item]).next_cursor is None
    assert page_of([], 2, lambda item: [item]).next_cursor is None


def test_a_time_in_a_cursor_reads_back_as_it_was_and_anything_else_is_a_400() -> None:
    moment = datetime(2026, 12, 1, 9, 30, 0, 123000, tzinfo=UTC)
    [text] = decode_cursor(encode_cursor([moment]), str)
    assert cursor_time(text) == moment
    for bad in ("yesterday", "2026-12-01T09:30:00"):  # not a time; no offset
        with pytest.raises(Problem) as raised:
            cursor_time(bad)
        assert raised.value.status == 400


def test_a_body_sent_again_names_each_field_that_differs_with_its_first_value() -> None:
    first = {"name": "Ana", "capacity": {"max_leases": 2, "hours": 10}, "ids": ["a", "b"]}
    assert differences(first, first) == []
    again = {"name": "Ana", "capacity": {"max_leases": 3, "hours": 10}, "ids": ["a", "c"]}
    assert differences(first, again) == [
        FieldError(
            field="body.capacity.max_leases",
            message="differs from the first request with this id: 2",
        ),
        FieldError(field="body.ids.1", message='differs from the first request with this id: "b"'),
    ]
    longer = {**first, "ids": ["a", "b", "c"], "extra": True}
    assert [e.field for e in differences(first, longer)] == ["body.ids", "body.extra"]
