"""The relay's pending markers on the real servers: an event written while the relay clears
its document is still published, and so is one whose marker a crash left behind."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.outbox.entries import (
    OUTBOX,
    OUTBOX_OLDEST,
    create_outbox_indexes,
    new_document,
    with_events,
)
from shared.outbox.relay import OutboxRelay
from tests.kafka_helpers import eventually, read_topic
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


async def _published(world: World, expected: int) -> list[Any]:
    records = await read_topic(
        world.endpoints.kafka_bootstrap, world.topic, count=expected, timeout=5
    )
    return records if len(records) >= expected else []


async def test_event_written_during_clear_keeps_its_marker(world: World) -> None:
    await create_outbox_indexes(world.db, ["things"])
    first, second = world.event("t1", 1), world.event("t1", 2)
    await world.db.things.insert_one(new_document({"_id": "t1", "v": 1}, [first]))
    relay = OutboxRelay(world.db, ["things"], world.bus)
    original_clear = relay._clear

    async def clear_racing_a_writer(published: Any) -> None:
        # another request writes a new event on the same document just before the clear
        await world.db.things.update_one({"_id": "t1"}, with_events({"$set": {"v": 2}}, [second]))
        await original_clear(published)

    relay._clear = clear_racing_a_writer  # type: ignore[method-assign]
    assert await relay.publish_pending() == 1
    doc = await world.db.things.find_one({"_id": "t1"})
    assert doc is not None and [e["id"] for e in doc[OUTBOX]] == [second.id]
    assert OUTBOX_OLDEST in doc  # still visible to the relay
    relay._clear = original_clear  # type: ignore[method-assign]
    assert await relay.publish_pending() == 1
    records = await eventually(lambda: _published(world, 2))
    assert [r.value for r in records].count(records[0].value) == 1


async def test_a_marker_lost_in_a_crash_is_restored_by_the_sweep(world: World) -> None:
    event = world.event("t9", 9)
    stranded = new_document({"_id": "t9"}, [event])
    del stranded[OUTBOX_OLDEST]  # as if the relay died between its two writes
    await world.db.things.insert_one(stranded)
    relay = OutboxRelay(world.db, ["things"], world.bus, poll_interval=0.05)
    await relay.start()
    try:
        records = await eventually(lambda: _published(world, 1))
        assert records[0].key == b"t9"
    finally:
        await relay.stop()
    await asyncio.sleep(0)
    doc = await world.db.things.find_one({"_id": "t9"})
    assert doc is not None and not doc.get(OUTBOX)
