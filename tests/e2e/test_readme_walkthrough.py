"""The README's walkthrough works: the demo data ``make run`` creates (deploy/local/demo.py)
lets the README's own example registration through, with its pre-label checked against the
published demo ontology, and the demo expert is handed the item. Real Kafka and
MongoDB-compatible server, taxonomy, ingest and assignment with their real lifespans."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local import demo
from services.assignment.app import create_app as create_assignment
from services.assignment.settings import AssignmentSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.settings import IngestSettings
from services.taxonomy.app import create_app as create_taxonomy
from services.taxonomy.settings import TaxonomySettings
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, running

pytestmark = pytest.mark.e2e

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_registration() -> dict[str, Any]:
    """The body of the README's ``curl -X POST …/v1/media`` example."""
    match = re.search(r"/v1/media \\\n.*?-d '(\{.*?\})'\n", README.read_text(), re.S)
    assert match, "the README's registration example is gone"
    return json.loads(match.group(1))  # type: ignore[no-any-return]


async def test_the_readme_example_registers_on_the_demo_data(
    make_settings: Callable[..., Any],
) -> None:
    body = readme_registration()
    assert body["prelabels"]["labels"], "the example checks a pre-label against the ontology"
    ingest_settings = make_settings(IngestSettings)
    async with (
        running(create_taxonomy(make_settings(TaxonomySettings))) as taxonomy,
        running(create_ingest(ingest_settings)) as ingest,
        running(create_assignment(make_settings(AssignmentSettings))) as assignment,
    ):
        line = await demo.create(taxonomy, assignment)
        assert "street-scenes" in line and "v1" in line

        async def registered() -> httpx.Response | None:
            response = await ingest.post("/v1/media", json=body, headers=auth("client"))
            return response if response.status_code != 422 else None  # not consumed yet

        created = await eventually(registered)
        assert created.status_code == 201, created.text
        assert created.json()["taxonomy"]["version"] == 1

        async def handed() -> httpx.Response | None:
            response = await assignment.post(
                "/v1/work:next", headers=auth("expert", subject=demo.EXPERT)
            )
            return response if response.status_code == 200 else None  # not consumed yet

        work = await eventually(handed)
        assert work.json()["item_id"] == created.json()["item_id"]
        assert work.json()["form"]["name"]

        assert await demo.create(taxonomy, assignment) == line  # again: nothing new
        listed = await taxonomy.get("/v1/ontologies", headers=auth("ops"))
        assert [o["name"] for o in listed.json()["items"]] == ["Street"]
