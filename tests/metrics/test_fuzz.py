"""Schemathesis against the metrics service's OpenAPI document: no 5xx, and every answer's
status, content type and body as documented (see tests/fuzzing.py). The cases draw project
ids from a project of tenant acme that has judgments and resolved pre-labelled items, so the
agreement, pre-label and throughput routes answer figures, not only 404 (``window`` is an
enum: its values are drawn from the document)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from tests.fuzzing import FuzzEstate, fuzz_tests, reach_test
from tests.kafka_helpers import eventually
from tests.metrics.judgments import project_judgments, submitted
from tests.metrics.prelabel_events import seeded as seeded_prelabels
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

PROJECT = "p-fuzzed"


async def _seed(base_url: str, settings: MetricsSettings) -> None:
    judgments = project_judgments(PROJECT, items=6)
    await publish(settings, *(submitted(j) for j in judgments))
    registrations, resolutions, _ = seeded_prelabels(PROJECT, per_class=5)
    await publish(settings, *registrations, *resolutions)
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:

        async def seeded() -> bool:
            response = await client.get(f"/v1/projects/{PROJECT}/agreement", headers=auth("ops"))
            prelabels = await client.get(f"/v1/projects/{PROJECT}/prelabels", headers=auth("ops"))
            return response.status_code == 200 and prelabels.status_code == 200

        await eventually(seeded, timeout=60)


def estate(base_url: str, settings: MetricsSettings, app: FastAPI) -> FuzzEstate:
    with ThreadPoolExecutor(1) as pool:  # its own event loop, beside pytest's
        pool.submit(asyncio.run, _seed(base_url, settings)).result()
    return FuzzEstate(
        values={
            "project_id": [PROJECT],
            "field": ["verdict", "rating.clarity", "flag.ambiguous", "class.cat"],
            "rubric_version": [1, 2],
            "model_version": ["v1", "v2"],
        }
    )


# the agreement stream runs until its client goes: served here with a short life, so that each
# case of it on the seeded project reads the whole stream (its first events) and ends
base_url, test_every_operation_answers_as_documented = fuzz_tests(
    create_app, MetricsSettings, estate, stream_max_seconds=0.5
)
test_each_role_an_operation_admits_got_past_its_role_check = reach_test(create_app, MetricsSettings)
