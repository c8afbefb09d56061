"""Schemathesis against the ingest service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import seed

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from tests.fuzzing import SEED, call, fuzz_settings, served

pytestmark = pytest.mark.integration

schema = schemathesis.openapi.from_dict(create_app(IngestSettings(environment="test")).openapi())


@pytest.fixture(scope="module")
def base_url(make_settings: Callable[..., Any]) -> Iterator[str]:
    with served(create_app(make_settings(IngestSettings))) as base:
        yield base


@schema.parametrize()
@fuzz_settings
@seed(SEED)
def test_every_operation_answers_as_documented(case: Any, base_url: str) -> None:
    call(case, base_url)
