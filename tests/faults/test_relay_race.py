"""An event written to a document while the relay is publishing that document's earlier event
keeps its pending marker, and is published by the next pass.

The write lands in that window by construction: the broker is paused (SIGSTOP) once the relay
has read the document (its pending-events gauge says so), so the relay waits on its send
while the write happens; then the broker resumes and the relay clears what it sent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import uuid
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from deploy.local.kafka import LocalKafka
from shared.outbox.entries import OUTBOX, OUTBOX_OLDEST, new_document, with_events
from shared.outbox.relay import OutboxRelay
from tests.conftest import Endpoints
from tests.kafka_helpers import eventually, read_all
from tests.shared.bus_world import THINGS, World

pytestmark = pytest.mark.integration


async def test_an_event_written_while_its_document_is_published_keeps_its_marker(
    endpoints: Endpoints, mongo_client: AsyncMongoClient[Any], own_kafka: LocalKafka
) -> None:
    world = World(Endpoints(own_kafka.bootstrap, endpoints.mongodb_uri, "own"), mongo_client)
    await world.bus.start()
    try:
        await world.bus.ensure_topics([THINGS])
        first, second = world.event("t1", 1), world.event("t1", 2)
        await world.db.things.insert_one(new_document({"_id": "t1", "v": 1}, [first]))
        relay = OutboxRelay(world.db, ["things"], world.bus, name=f"race-{uuid.uuid4().hex[:8]}")
        broker = own_kafka.pid()
        assert broker is not None
        os.kill(broker, signal.SIGSTOP)
        try:
            passing = asyncio.create_task(relay.publish_pending())

            async def read_and_sending() -> bool:
                gauge = REGISTRY.get_sample_value(
                    "quorum_outbox_pending_events", {"relay": relay.lease.lock_id}
                )
                return gauge == 1

            await eventually(read_and_sending)
            await world.db.things.update_one(
                {"_id": "t1"}, with_events({"$set": {"v": 2}}, [second])
            )
        finally:
            os.kill(broker, signal.SIGCONT)
        assert await passing == 1
        doc = await world.db.things.find_one({"_id": "t1"})
        assert doc is not None and [e["id"] for e in doc[OUTBOX]] == [second.id]
        assert OUTBOX_OLDEST in doc  # still pending: the relay sees it
        assert await relay.publish_pending() == 1
        records = await read_all(own_kafka.bootstrap, world.topic)
        assert [json.loads(r.value)["id"] for r in records] == [first.id, second.id]  # once each
    finally:
        await world.bus.stop()
        await mongo_client.drop_database(world.db.name)
