"""The creation outbox on the real servers: documents inserted with the events of their
creation are published from memory, and whatever memory cannot vouch for (a failed send, an
insert that raised, too many waiting, a writer that crashed) is read back from the
collection and published with the events' first ids. Nothing is lost."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.creations import WRITERS, CreationOutbox, OutboxUnavailable, stored_envelope
from shared.events.codec import encode
from shared.events.envelope import Event, make_event
from shared.outbox.entries import HIDE_OUTBOX
from tests.kafka_helpers import eventually, read_topic
from tests.shared.bus_world import THING_CHANGED, ThingChanged, World

pytestmark = pytest.mark.integration


def render(doc: Mapping[str, Any]) -> list[Event[Any]]:
    """The test collection's renderer: a thing's creation event, built from the document."""
    return [
        make_event(
            THING_CHANGED,
            ThingChanged(thing_id=doc["_id"], n=doc["n"]),
            source="/test",
            tenant="acme",
            **stored_envelope(doc),
        )
    ]


def outbox(world: World, bus: Any = None, **options: Any) -> CreationOutbox:
    return CreationOutbox(world.db, bus or world.bus, {"things": render}, name="it", **options)


async def insert(
    box: CreationOutbox, world: World, first: int, count: int
) -> dict[str, Event[Any]]:
    """Insert ``count`` things through a creation batch; their events by thing id."""
    events = {f"c{n}": world.event(f"c{n}", n) for n in range(first, first + count)}
    with box.batch("things") as batch:
        docs = [batch.stamp({"_id": key, "n": e.data.n}, [e]) for key, e in events.items()]
        await world.db.things.insert_many(docs)
        for key in events:
            batch.inserted(key)
    return events


async def published(world: World, expected: int, timeout: float = 3) -> list[dict[str, Any]]:
    """Every event on the topic (waiting for one more than expected, to see extras)."""
    records = await read_topic(
        world.endpoints.kafka_bootstrap, world.topic, count=expected + 1, timeout=timeout
    )
    return [json.loads(r.value) for r in records]


def ids(values: list[dict[str, Any]]) -> list[str]:
    return sorted(v["id"] for v in values)


async def test_events_are_published_from_memory_once_and_the_watermark_follows(
    world: World,
) -> None:
    box = outbox(world)
    await box.start()
    try:
        events = await insert(box, world, 0, 30)
        await eventually(lambda: asyncio.sleep(0, box.waiting == 0 and not box._open), timeout=10)
        values = await published(world, len(events))
        assert ids(values) == sorted(e.id for e in events.values())
        assert box.stats.from_memory == 30 and box.stats.read_back == 0
        # what was published lies at or below the stored watermark after the next heartbeat
        stored = await world.db.things.find().to_list()
        highest = max(doc["_outbox_seq"] for doc in stored)
        record = await eventually(
            lambda: world.db[WRITERS].find_one(
                {"_id": box.writer_id, "through": {"$gte": highest}}
            ),
            timeout=5,
        )
        assert record["outbox"] == "it"
        # callers never see the bookkeeping
        shown = await world.db.things.find_one({"_id": "c0"}, HIDE_OUTBOX)
        assert shown == {"_id": "c0", "n": 0}
    finally:
        await box.stop()
    assert await world.db[WRITERS].find_one({"_id": box.writer_id}) is None  # stopped clean


async def test_a_rendered_event_is_the_event_first_published(world: World) -> None:
    box = outbox(world)
    await box.start()
    try:
        events = await insert(box, world, 0, 1)
        doc = await world.db.things.find_one({"_id": "c0"})
    finally:
        await box.stop()
    (original,) = events.values()
    (again,) = render(doc)
    assert json.loads(encode(again)[1]) == json.loads(encode(original)[1])


async def test_documents_of_an_insert_that_raised_are_read_back_if_stored(world: World) -> None:
    box = outbox(world, retry_interval=0.05)
    await box.start()
    events = [world.event(f"r{n}", n) for n in range(6)]

    async def insert_then_lose_the_connection() -> None:
        with box.batch("things") as batch:
            docs = [batch.stamp({"_id": e.key, "n": e.data.n}, [e]) for e in events]
            await world.db.things.insert_many(docs[:4])  # stored, but the caller never knew
            raise RuntimeError("connection lost (injected)")

    try:
        with pytest.raises(RuntimeError, match="connection lost"):
            await insert_then_lose_the_connection()
        await eventually(lambda: asyncio.sleep(0, not box._read_back), timeout=10)
    finally:
        await box.stop()
    values = await published(world, 4)
    assert ids(values) == sorted(e.id for e in events[:4])  # the two never stored: nothing
    assert box.stats.read_back == 4


class _FailingOnce:
    """The real bus, except that its first batch fails as if the broker were unreachable."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.failures = 0

    async def send_batch(self, messages: Any) -> None:
        if self.failures == 0:
            self.failures += 1
            raise KafkaConnectionError("broker unreachable (injected)")
        await self.bus.send_batch(messages)


async def test_events_of_a_failed_send_are_read_back_and_published(world: World) -> None:
    flaky = _FailingOnce(world.bus)
    box = outbox(world, flaky, retry_interval=0.05)
    await box.start()
    try:
        events = await insert(box, world, 0, 5)
        await eventually(lambda: asyncio.sleep(0, not box._read_back and not box._open), timeout=10)
    finally:
        await box.stop()
    assert flaky.failures == 1
    values = await published(world, len(events))
    assert ids(values) == sorted(e.id for e in events.values())
    assert box.stats.read_back == 5 and box.stats.from_memory == 0


async def test_beyond_the_memory_limit_events_are_read_back(world: World) -> None:
    box = outbox(world, memory_limit=5)
    await box.start()
    try:
        first = await insert(box, world, 0, 4)  # held in memory
        second = await insert(box, world, 4, 3)  # 4 + 3 > 5: left to be read back
        await eventually(lambda: asyncio.sleep(0, not box._read_back and not box._open), timeout=10)
    finally:
        await box.stop()
    values = await published(world, 7)
    assert ids(values) == sorted(e.id for e in [*first.values(), *second.values()])
    assert box.stats.from_memory == 4 and box.stats.read_back == 3


async def test_a_crashed_writer_is_recovered_above_its_watermark_only(world: World) -> None:
    crashed = outbox(world, writer_timeout=0.6)
    await crashed.start()
    before = await insert(crashed, world, 0, 3)
    await eventually(lambda: asyncio.sleep(0, not crashed._open), timeout=10)
    assert crashed._task is not None
    crashed._task.cancel()  # the process dies: nothing more is published, no clean stop
    with pytest.raises(asyncio.CancelledError):
        await crashed._task
    await crashed._heartbeat()  # its last watermark: past the first three
    lost = await insert(crashed, world, 3, 4)  # stored, never published
    rescuer = outbox(world, writer_timeout=0.6)
    await asyncio.sleep(0.7)  # the crashed writer's heartbeat goes stale
    await rescuer.start()
    try:
        await eventually(lambda: asyncio.sleep(0, rescuer.stats.recovered == 4), timeout=10)
    finally:
        await rescuer.stop()
    values = await published(world, 7)
    assert ids(values) == sorted(e.id for e in [*before.values(), *lost.values()])
    recovered = {v["id"]: v for v in values if v["id"] in {e.id for e in lost.values()}}
    for event in lost.values():  # the same events: ids, times, traces, data
        assert recovered[event.id] == json.loads(encode(event)[1])
    assert await world.db[WRITERS].find_one({"_id": crashed.writer_id}) is None


async def test_a_writer_whose_heartbeat_is_not_stored_takes_no_documents(world: World) -> None:
    box = outbox(world)
    with pytest.raises(OutboxUnavailable, match="retry shortly"), box.batch("things"):
        pass  # never started: no heartbeat stored
    await box.start()
    try:
        with box.batch("things"):
            pass
        box._beaten_at = (box._beaten_at or 0) - box.writer_timeout  # heartbeats failing
        with pytest.raises(OutboxUnavailable), box.batch("things"):
            pass
    finally:
        await box.stop()
    with pytest.raises(ValueError, match="not a creation outbox collection"):
        box.batch("others").__enter__()


class _Outage:
    """The real bus while ``down`` is false; an unreachable broker while it is true."""

    def __init__(self, bus: Any) -> None:
        self.bus = bus
        self.down = True

    async def send_batch(self, messages: Any) -> None:
        if self.down:
            raise KafkaConnectionError("broker unreachable (injected)")
        await self.bus.send_batch(messages)


async def test_a_broker_outage_stops_neither_the_heartbeat_nor_new_documents(
    world: World,
) -> None:
    broker = _Outage(world.bus)
    box = outbox(world, broker, retry_interval=0.05, heartbeat_interval=0.1, writer_timeout=1.0)
    await box.start()
    try:
        first = await insert(box, world, 0, 3)
        await asyncio.sleep(1.2)  # longer than a writer may go without a stored heartbeat
        second = await insert(box, world, 3, 3)  # still taken: the heartbeat went on
        broker.down = False
        await eventually(lambda: asyncio.sleep(0, not box._read_back and not box._open), timeout=10)
    finally:
        await box.stop()
    values = await published(world, 6)
    assert ids(values) == sorted(e.id for e in [*first.values(), *second.values()])
