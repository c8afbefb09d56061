"""Who may call what on taxonomy: the role-by-endpoint matrix of its OpenAPI document, on the
real servers (tests/access.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings
from tests.access import Operation, Seeds, check_operation, operations_of
from tests.taxonomy.test_api import (
    build_v1,
    link_when_known,
    register_items,
    service,  # noqa: F401  (the service of the module, a fixture)
    start_draft,
)

pytestmark = pytest.mark.integration

OPERATIONS = operations_of(create_app(TaxonomySettings(environment="test")))


@pytest_asyncio.fixture(scope="module")
async def seeds(service: tuple[httpx.AsyncClient, Any]) -> Seeds:  # noqa: F811
    """An ontology of tenant acme with version 1 published, a draft open and an example."""
    client, settings = service
    oid, _ = await build_v1(client)
    await register_items(settings, f"{oid}-item-1")
    linked = await link_when_known(
        client,
        f"/v1/ontologies/{oid}/versions/1/classes/car/examples",
        {"item_id": f"{oid}-item-1", "polarity": "positive"},
    )
    etag = await start_draft(client, oid)
    base = f"/v1/ontologies/{oid}"
    return Seeds(
        values={
            "ontology_id": oid,
            "version": "1",
            "class_id": "car",
            "link_id": linked.json()["link_id"],
            "from": "1",
            "to": "1",
            "If-Match": etag,
        },
        reads=[base, f"{base}/draft", f"{base}/versions/1", f"{base}/versions/1/examples"],
        bodies={
            "POST /v1/ontologies/{ontology_id}/draft/classes": {"id": "zz", "name": "ZZ"},
            "POST /v1/ontologies/{ontology_id}/draft/merges": {
                "from_class_ids": ["truck"],
                "into_class_id": "car",
            },
            "POST /v1/ontologies/{ontology_id}/draft/splits": {
                "from_class_id": "bird",
                "into": [{"name": "Sparrow"}, {"name": "Crow"}],
            },
            "PATCH /v1/ontologies/{ontology_id}/draft/classes/{class_id}": {"name": "Auto"},
            "POST /v1/ontologies/{ontology_id}/translate": {
                "from_version": 1,
                "to_version": 1,
                "labels": [{"class_id": "car"}],
            },
            "POST /v1/ontologies/{ontology_id}/versions/{version}/classes/{class_id}/examples": {
                "item_id": f"{oid}-item-1",
                "polarity": "positive",
            },
        },
        settings=settings,
    )


@pytest.mark.parametrize("operation", OPERATIONS, ids=str)
async def test_each_role_and_tenant_gets_what_the_operation_declares(
    service: tuple[httpx.AsyncClient, Any],  # noqa: F811
    seeds: Seeds,
    operation: Operation,
) -> None:
    await check_operation(service[0], operation, seeds)
