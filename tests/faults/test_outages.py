"""Outages under a running service: the broker stopped and restarted, the MongoDB-compatible
server (in its persistent mode) stopped and restarted. The service waits, recovers by itself
and loses nothing: what it accepted before and during the outage is stored and published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, MEDIA_REQUESTS
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.faults.media import registered
from tests.ingest.bodies import registration
from tests.ingest.test_kafka import sdk_message
from tests.kafka_helpers import eventually, produce, read_topic
from tests.processes import ServiceProcess
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

CLIENT = auth("client")


@pytest_asyncio.fixture(scope="module")
async def ingest(
    make_settings: Callable[..., Any],
    own_kafka: LocalKafka,
    own_mongo: LocalMongo,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[ServiceProcess]:
    """An ingest process on the module's own servers, with a text project to register into."""
    settings = make_settings(
        IngestSettings,
        kafka_bootstrap_servers=own_kafka.bootstrap,
        mongodb_uri=own_mongo.uri,
        consumer_session_timeout_ms=6_000,
    )
    await ensure_tenant_topics(kafka_settings(settings), [MEDIA_REQUESTS], ["acme"])
    service = ServiceProcess(
        "services.ingest", settings, tmp_path_factory.mktemp("ingest") / "ingest.log"
    )
    await service.start()
    try:
        await publish(settings, project_changed("p-text", modality="text"))
        async with service.client(headers=CLIENT) as client:
            await eventually(lambda: register(client))
        yield service
    finally:
        service.terminate()


async def register(client: httpx.AsyncClient) -> str | None:
    """Register one text item over HTTP; its id, or None if it was not accepted."""
    answer = await client.post("/v1/media", json=registration("text"))
    return answer.json()["item_id"] if answer.status_code == 201 else None


async def published_item_ids(service: ServiceProcess, count: int) -> set[str]:
    """The item ids of ``media.registered`` on the topic, read until ``count`` arrived."""
    settings = service.settings
    topic = settings.topic_prefix + MEDIA.name
    records = await read_topic(settings.kafka_bootstrap_servers, topic, count=count, timeout=90)
    return {event.data.item_id for event in registered(records)}


async def test_a_broker_stopped_and_restarted_under_a_running_service_loses_nothing(
    ingest: ServiceProcess, own_kafka: LocalKafka
) -> None:
    async with ingest.client(headers=CLIENT) as client:
        before = [await register(client) for _ in range(3)]
        own_kafka.stop()
        try:
            await eventually(lambda: _status_is(client, "/readyz", 503))
            # the HTTP entry keeps accepting: what it stores waits in the outbox
            during = [await register(client) for _ in range(5)]
            assert None not in during
        finally:
            own_kafka.start(timeout=120)
        await eventually(lambda: _status_is(client, "/readyz", 200), timeout=60)
        accepted = {*before, *during}
        published = await published_item_ids(ingest, count=1 + len(accepted))
        assert accepted <= published
        # and the Kafka entry consumes again
        body = registration("text")
        topic = ingest.settings.topic_prefix + MEDIA_REQUESTS.of_tenant("acme")
        await produce(ingest.settings.kafka_bootstrap_servers, topic, [sdk_message(body)])
        found = await eventually(lambda: _registered(client, body["external_id"]), timeout=60)
        assert found["project_id"] == "p-text"
    assert ingest.process is not None and ingest.process.poll() is None


async def test_the_database_stopped_and_restarted_under_a_running_service_loses_nothing(
    ingest: ServiceProcess, own_mongo: LocalMongo
) -> None:
    settings = ingest.settings
    topic = settings.topic_prefix + MEDIA_REQUESTS.of_tenant("acme")
    async with ingest.client(headers=CLIENT) as client:
        stored = await eventually(lambda: register(client))
        own_mongo.stop()
        try:
            refused = await client.post("/v1/media", json=registration("text"))
            assert refused.status_code == 503
            assert refused.headers["content-type"] == "application/problem+json"
            # requests arriving over Kafka meanwhile wait for the database: none is dead-lettered
            bodies = [registration("text") for _ in range(5)]
            await produce(settings.kafka_bootstrap_servers, topic, [sdk_message(b) for b in bodies])
            # the consumer has met the outage (beyond the driver's own wait) and retries
            await eventually(
                lambda: _logged(ingest, "infrastructure unavailable; retrying"), timeout=60
            )
        finally:
            own_mongo.start()
        for external_id in [b["external_id"] for b in bodies]:
            found = await eventually(
                lambda external_id=external_id: _registered(client, external_id), timeout=90
            )
            assert found["project_id"] == "p-text"
        kept = await client.get(f"/v1/media/{stored}")
        assert kept.status_code == 200
    assert ingest.process is not None and ingest.process.poll() is None


async def _status_is(client: httpx.AsyncClient, path: str, status: int) -> bool:
    try:
        return (await client.get(path)).status_code == status
    except httpx.TransportError:
        return False


async def _registered(client: httpx.AsyncClient, external_id: str) -> dict[str, Any] | None:
    answer = await client.get("/v1/media/by-external-id", params={"external_id": external_id})
    return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]


async def _logged(service: ServiceProcess, text: str) -> bool:
    return text in service.output(tail=1_000_000)
