"""A relay killed (SIGKILL) between sending its events and clearing them from the outbox: the
restarted process sends them again (the same event ids), and a downstream consumer applies
each event once.

The kill lands in that window by construction, with real faults of the servers: a backlog is
stored while the broker is paused (SIGSTOP); once the relay has read its first page (500
items' documents; its pending-events gauge says so) and waits on the broker, the database is stopped
(in its persistent mode) and the broker resumed. The page is sent, its clear cannot reach the
database, and the process is killed as soon as the page is on the topic. The database is
started again and a new process sends that page again."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo
from services.ingest.settings import IngestSettings
from services.taxonomy.settings import TaxonomySettings
from shared.contracts.media import MEDIA
from tests.conftest import Endpoints
from tests.faults.media import registered
from tests.ingest.bodies import registration
from tests.kafka_helpers import TopicReader, caught_up, eventually
from tests.processes import ServiceProcess
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

CLIENT = auth("client")
BACKLOG = 2_000
PAGE = 500  # the relay's page (OutboxRelay.batch_size) of documents
#: The events of a page: each item holds two (its media.registered and its client's
#: outcome.registered, written in that order), and the relay publishes nothing written after
#: the page's last document's oldest event: all but that document's outcome.
PAGE_EVENTS = 2 * PAGE - 1


def event_ids(records: list[Any]) -> list[str]:
    return [event.id for event in registered(records)]


async def test_a_relay_killed_between_send_and_clear_is_applied_once_downstream(
    make_settings: Callable[..., Any],
    endpoints: Endpoints,
    own_kafka: LocalKafka,
    own_mongo: LocalMongo,
    tmp_path: Path,
) -> None:
    common = {
        "kafka_bootstrap_servers": own_kafka.bootstrap,
        "mongodb_uri": own_mongo.uri,
        "consumer_session_timeout_ms": 6_000,
    }
    ingest_settings = make_settings(IngestSettings, **common)
    taxonomy = ServiceProcess(
        "services.taxonomy", make_settings(TaxonomySettings, **common), tmp_path / "taxonomy.log"
    )
    first = ServiceProcess("services.ingest", ingest_settings, tmp_path / "ingest.log")
    await taxonomy.start()
    await first.start()
    second = ServiceProcess("services.ingest", ingest_settings, tmp_path / "ingest-2.log")
    topic = ingest_settings.topic_prefix + MEDIA.name
    try:
        await publish(ingest_settings, project_changed("p-text", modality="text"))
        async with first.client(headers=CLIENT) as client:

            async def registered_one() -> bool:
                answer = await client.post("/v1/media", json=registration("text"))
                return answer.status_code == 201

            await eventually(registered_one)
            async with TopicReader(own_kafka.bootstrap, topic, from_beginning=True) as reader:
                await reader.until(lambda got: len(got) >= 1)
                # and its client's outcome, sent with it, is acknowledged and cleared too
                await eventually(lambda: _gauge_is(first, "quorum_outbox_pending_events", 0))
                broker = own_kafka.pid()
                assert broker is not None
                os.kill(broker, signal.SIGSTOP)
                try:
                    for _ in range(BACKLOG // 1_000):
                        body = {"items": [registration("text") for _ in range(1_000)]}
                        answer = await client.post("/v1/media/batch", json=body)
                        assert answer.json()["created"] == 1_000
                    # the relay has read its first page and is sending it to the paused broker
                    await eventually(
                        lambda: _gauge_is(first, "quorum_outbox_pending_events", PAGE_EVENTS)
                    )
                    own_mongo.stop()  # its data is kept: it is in its persistent mode
                finally:
                    os.kill(broker, signal.SIGCONT)
                try:
                    # sent; its clear cannot reach the database
                    await reader.until(lambda got: len(got) >= 1 + PAGE)
                    first.kill()
                finally:
                    own_mongo.start()
                sent_before_kill = len(set(event_ids(reader.records)))
                assert sent_before_kill < 1 + BACKLOG, "killed before the backlog was drained"

                await second.start()
                records = await reader.until(
                    lambda got: len(set(event_ids(got))) >= 1 + BACKLOG, timeout=120
                )
        ids = event_ids(records)
        repeats = len(ids) - len(set(ids))
        assert repeats == PAGE, "the page sent and not cleared is sent again, and only it"

        taxonomy_group = taxonomy.settings.group_id
        await eventually(lambda: caught_up(own_kafka.bootstrap, taxonomy_group, topic), timeout=60)
        consumed = {
            outcome: await taxonomy.metric(
                "quorum_events_consumed_total", consumer="taxonomy", topic=topic, outcome=outcome
            )
            for outcome in ("applied", "duplicate")
        }
        assert consumed["applied"] == 1 + BACKLOG  # each event once
        # the repeats dropped; taxonomy's own consumer may get a few more again (its database
        # was stopped too), and drops them as well
        assert consumed["duplicate"] >= repeats
    finally:
        first.kill()
        second.terminate()
        taxonomy.terminate()


async def _gauge_is(service: ServiceProcess, name: str, value: float) -> bool:
    return await service.metric(name) == value
