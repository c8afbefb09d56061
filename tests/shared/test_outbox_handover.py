"""Documents handed over to the relay right after their insert, on the real servers: their
events are published from memory exactly once and cleared; whatever the hand-over cannot
take (too many waiting, or a failed send) is still published from the stored outbox."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError

from shared.events import Event
from shared.outbox import OUTBOX, OUTBOX_SINCE, OutboxRelay, create_outbox_indexes, new_document
from tests.kafka_helpers import eventually, read_topic
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


async def _insert(world: World, events: list[Event[Any]]) -> list[dict[str, Any]]:
    docs = [new_document({"_id": e.key}, [e]) for e in events]
    await world.db.things.insert_many(docs)
    return docs


async def _values(world: World, expected: int, timeout: float = 3) -> list[bytes]:
    records = await read_topic(
        world.endpoints.kafka_bootstrap, world.topic, count=expected + 1, timeout=timeout
    )
    return [r.value for r in records]


async def _cleared(world: World) -> bool:
    return await world.db.things.count_documents({OUTBOX_SINCE: {"$exists": True}}) == 0


async def test_handed_over_documents_are_published_once_and_cleared(world: World) -> None:
    await create_outbox_indexes(world.db, ["things"])
    relay = OutboxRelay(
        world.db, ["things"], world.bus, poll_interval=0.05, key_per_document=["things"]
    )
    events = [world.event(f"h{i}", i) for i in range(30)]
    await relay.start()
    try:
        relay.hand_over("things", await _insert(world, events))
        await eventually(lambda: _cleared(world), timeout=10)
        # the regular passes ran meanwhile (poll interval 50 ms): nothing was sent twice
        await asyncio.sleep(0.3)
    finally:
        await relay.stop()
    values = await _values(world, len(events))
    assert sorted(values) == sorted({*values}) and len(values) == len(events)
    assert relay.stats.published == relay.stats.handed_over == len(events)
    doc = await world.db.things.find_one({"_id": "h0"})
    assert doc is not None and not doc.get(OUTBOX)


async def test_hand_over_beyond_its_limit_leaves_the_rest_to_the_stored_outbox(
    world: World,
) -> None:
    relay = OutboxRelay(
        world.db,
        ["things"],
        world.bus,
        poll_interval=0.05,
        key_per_document=["things"],
        handover_limit=5,
    )
    events = [world.event(f"o{i}", i) for i in range(12)]
    relay.hand_over("things", await _insert(world, events))  # relay not started: 5 wait
    assert await relay.publish_handed() == 5
    assert await relay.publish_pending() == 7  # the rest, read from the database
    assert relay.stats.handed_over == 5
    values = await _values(world, len(events))
    assert len(values) == len(events) == len(set(values))
    assert await _cleared(world)


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


async def test_a_failed_hand_over_is_published_from_the_stored_outbox(world: World) -> None:
    await create_outbox_indexes(world.db, ["things"])
    flaky = _FailingOnce(world.bus)
    relay = OutboxRelay(
        world.db,
        ["things"],
        flaky,  # type: ignore[arg-type]
        poll_interval=0.05,
        key_per_document=["things"],
    )
    events = [world.event(f"f{i}", i) for i in range(4)]
    await relay.start()
    try:
        relay.hand_over("things", await _insert(world, events))
        await eventually(lambda: _cleared(world), timeout=10)
    finally:
        await relay.stop()
    assert flaky.failures == 1
    values = await _values(world, len(events))
    assert len(values) == len(events) == len(set(values))


async def test_only_key_per_document_collections_can_be_handed_over(world: World) -> None:
    relay = OutboxRelay(world.db, ["things"], world.bus)
    with pytest.raises(ValueError, match="key-per-document"):
        relay.hand_over("things", [])
