"""The relay's pending markers on the real servers: an event whose marker a crash left behind
is still published (an event written while the relay clears its document: the fault test
tests/faults/test_relay_race.py)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.outbox.entries import (
    OUTBOX,
    OUTBOX_OLDEST,
    new_document,
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
