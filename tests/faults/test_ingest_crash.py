"""The crash test of tests/perf/ingest_crash.py in a reduced size: ingest killed (SIGKILL) in
the middle of a stream of registration requests over Kafka, and a new process started. Every
requested item is stored once and published; the new process resumes from the committed
offsets and the outbox the dead one left."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, MEDIA_REQUESTS
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.faults.media import registered
from tests.ingest.bodies import registration
from tests.ingest.test_kafka import sdk_message
from tests.kafka_helpers import TopicReader, eventually, produce
from tests.processes import ServiceProcess
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

REQUESTS = 3_000


def external_ids(records: list[Any]) -> set[str]:
    return {event.data.external_id for event in registered(records)}


async def test_ingest_killed_mid_stream_stores_and_publishes_every_request_once(
    make_settings: Callable[..., Any], mongo_client: AsyncMongoClient[Any], tmp_path: Path
) -> None:
    settings = make_settings(IngestSettings, consumer_session_timeout_ms=6_000)
    await ensure_tenant_topics(kafka_settings(settings), [MEDIA_REQUESTS], ["acme"])
    first = ServiceProcess("services.ingest", settings, tmp_path / "ingest.log")
    second = ServiceProcess("services.ingest", settings, tmp_path / "ingest-2.log")
    await first.start()
    try:
        await publish(settings, project_changed("p-text", modality="text"))
        async with first.client(headers=auth("client")) as client:

            async def project_known() -> bool:
                answer = await client.post("/v1/media", json=registration("text"))
                return answer.status_code == 201

            await eventually(project_known)
        bootstrap = settings.kafka_bootstrap_servers
        bodies = [registration("text") for _ in range(REQUESTS)]
        wanted = {body["external_id"] for body in bodies}
        async with TopicReader(bootstrap, settings.topic_prefix + MEDIA.name) as reader:
            topic = settings.topic_prefix + MEDIA_REQUESTS.of_tenant("acme")
            await produce(bootstrap, topic, [sdk_message(body) for body in bodies])
            await reader.until(lambda got: len(external_ids(got) & wanted) >= REQUESTS // 4)
            first.kill()
            published_at_kill = len(external_ids(reader.records) & wanted)
            assert published_at_kill < REQUESTS, "killed mid-stream"

            await second.start()
            await reader.until(lambda got: external_ids(got) >= wanted, timeout=120)
        media = mongo_client[settings.database_name]["media"]
        stored = await media.count_documents({"external_id": {"$in": sorted(wanted)}})
        assert stored == REQUESTS
    finally:
        first.kill()
        second.terminate()
