"""The outbox relay stops when told, even when the stop lands in the very tick new work wakes
it: on Python 3.11 ``asyncio.wait_for`` swallowed such a cancellation, the loop ran on and
``stop()`` waited forever (seen as a hung test and a service deaf to SIGTERM)."""

from __future__ import annotations

import asyncio

import pytest

from shared.outbox.relay import OutboxRelay
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


async def test_a_relay_cancelled_as_it_is_woken_stops(world: World) -> None:
    relay = OutboxRelay(world.db, ["things"], world.bus, poll_interval=5.0)
    await relay.start()
    task = relay._task
    assert task is not None
    try:
        await asyncio.sleep(0.3)  # idle: waiting to be woken
        relay.wake()  # work arrives ...
        task.cancel()  # ... and the stop, in the same tick
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, "the relay's loop ignored its cancellation"
    finally:
        if not task.done():
            task.cancel()
        await relay.stop()
