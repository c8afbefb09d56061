"""Schemathesis against the metrics service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py)."""

from __future__ import annotations

import pytest

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from tests.fuzzing import fuzz_tests, reach_test

pytestmark = pytest.mark.integration

base_url, test_every_operation_answers_as_documented = fuzz_tests(create_app, MetricsSettings)
test_each_role_an_operation_admits_got_past_its_role_check = reach_test(create_app, MetricsSettings)
