"""Schemathesis against the taxonomy service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py)."""

from __future__ import annotations

import pytest

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings
from tests.fuzzing import fuzz_tests, reach_test

pytestmark = pytest.mark.integration

base_url, test_every_operation_answers_as_documented = fuzz_tests(create_app, TaxonomySettings)
test_each_role_an_operation_admits_got_past_its_role_check = reach_test(
    create_app, TaxonomySettings
)
