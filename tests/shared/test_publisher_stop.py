"""The outbox relay stops when told, even when the stop lands in the very tick new work wakes
it: on Python 3.11 ``asyncio.wait_for`` swallowed such a cancellation, the loop ran on and
``stop()`` waited forever (seen as a hung test and a service deaf to SIGTERM)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from prometheus_client import REGISTRY

from shared.outbox.relay import OutboxRelay
from tests.kafka_helpers import eventually
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration


async def test_a_relay_stopped_as_it_is_woken_stops(world: World) -> None:
    name = f"stop-{uuid.uuid4().hex[:8]}"
    relay = OutboxRelay(world.db, ["things"], world.bus, poll_interval=5.0, name=name)
    await relay.start()

    async def idle() -> bool:
        """Waiting to be woken: it has made its first pass (its gauge is set)."""
        labels = {"relay": relay.lease.lock_id}
        return REGISTRY.get_sample_value("quorum_outbox_pending_events", labels) is not None

    await eventually(idle)
    relay.wake()  # work arrives ...
    async with asyncio.timeout(5):  # the relay's loop would ignore the stop and run on
        await relay.stop()  # ... and the stop, in the same tick (awaited at once)
