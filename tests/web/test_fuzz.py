"""Schemathesis against the console's own OpenAPI document (its session routes; the pages and
the API proxy are the services', fuzzed with each service): no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py)."""

from __future__ import annotations

import pytest

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from tests.fuzzing import fuzz_tests

pytestmark = pytest.mark.integration

base_url, test_every_operation_answers_as_documented = fuzz_tests(create_app, ConsoleSettings)
