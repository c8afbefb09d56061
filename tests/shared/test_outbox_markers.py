"""The relay's pending markers on the real servers, and the order they keep: an event whose
marker a crash left behind is still published, and a key's events leave in write order across
passes (an event written while the relay clears its document: tests/faults/test_relay_race.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.outbox.entries import (
    OUTBOX,
    OUTBOX_OLDEST,
    new_document,
    with_events,
)
from shared.outbox.relay import OutboxRelay
from tests.kafka_helpers import eventually, read_all, read_topic
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


async def _published(world: World, expected: int) -> list[Any]:
    records = await read_topic(
        world.endpoints.kafka_bootstrap, world.topic, count=expected, timeout=5
    )
    return records if len(records) >= expected else []


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

        async def cleared() -> bool:
            doc = await world.db.things.find_one({"_id": "t9"})
            return doc is not None and not doc.get(OUTBOX)

        await eventually(cleared)
    finally:
        await relay.stop()


async def test_events_of_one_key_keep_their_order_across_passes(world: World) -> None:
    """A key's events in two documents, and a pass that reads only one of them: an event of
    the document read is not sent before an older one of the document left for later."""
    first, second, third = (world.event("k", n) for n in (1, 2, 3))
    await world.db.things.insert_one(new_document({"_id": "x"}, [first]))
    await world.db.things.insert_one(new_document({"_id": "z"}, [second]))
    await world.db.things.update_one({"_id": "x"}, with_events({}, [third]))
    relay = OutboxRelay(world.db, ["things"], world.bus, batch_size=1)
    passes = [await relay.publish_pending() for _ in range(4)]
    assert passes == [1, 1, 1, 0]  # one page a pass, the third held back in the first
    records = await read_all(world.endpoints.kafka_bootstrap, world.topic)
    assert [json.loads(r.value)["data"]["n"] for r in records] == [1, 2, 3]
