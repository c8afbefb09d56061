"""Both outbox publishers stop when told, even when the stop lands in the very tick new work
wakes them: on Python 3.11 ``asyncio.wait_for`` swallowed such a cancellation, the loop ran
on and ``stop()`` waited forever (seen as a hung test and a service deaf to SIGTERM)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from shared.creations import CreationOutbox
from shared.outbox.relay import OutboxRelay
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


def _publishers(world: World) -> list[Any]:
    return [
        OutboxRelay(world.db, ["things"], world.bus, poll_interval=5.0),
        CreationOutbox(world.db, world.bus, {"things": lambda doc: []}, name="stop-test"),
    ]


@pytest.mark.parametrize("kind", [0, 1], ids=["outbox relay", "creation outbox"])
async def test_a_publisher_cancelled_as_it_is_woken_stops(world: World, kind: int) -> None:
    publisher = _publishers(world)[kind]
    await publisher.start()
    task = publisher._task
    try:
        await asyncio.sleep(0.3)  # idle: waiting to be woken
        publisher._wakeup.set()  # work arrives ...
        task.cancel()  # ... and the stop, in the same tick
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the publisher's loop ignored its cancellation"
    finally:
        if not task.done():
            task.cancel()
        await publisher.stop()
