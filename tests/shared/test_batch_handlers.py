"""Batch handlers of the consumer runner, on the real servers: consecutive events of a
partition are applied together in order; when the batch handler fails, the same events
are applied one by one with the per-event handler's retries and dead letters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from shared.events.codec import encode
from shared.events.envelope import Event
from shared.inbox import Inbox
from shared.kafka.consumer import ConsumerRunner
from shared.kafka.dead_letters import dead_letter_reason
from tests.kafka_helpers import eventually, read_topic
from tests.shared.bus_world import THING_CHANGED, THINGS, World

pytestmark = pytest.mark.integration


def batch_runner(world: World, batch: Any) -> ConsumerRunner:
    runner = ConsumerRunner(
        world.kafka,
        name="it",
        group_id="batches",
        handlers={THING_CHANGED: world.apply},
        batch_handlers={THING_CHANGED: batch},
        bus=world.bus,
        inbox=Inbox(world.db, "it"),
        max_retries=1,
        retry_backoff_ms=10,
    )
    world.runners.append(runner)
    return runner


async def test_events_of_a_partition_are_applied_together_in_order(world: World) -> None:
    sizes: list[int] = []

    async def apply_together(events: Sequence[Event[Any]]) -> Sequence[Event[Any]]:
        sizes.append(len(events))
        for event in events:
            if event.data.n % 10 == 0:
                continue  # left to the per-event handler
            await world.db.effects.update_one(
                {"_id": event.data.thing_id}, {"$push": {"ns": event.data.n}}, upsert=True
            )
        return [e for e in events if e.data.n % 10 == 0]

    events = [world.event("only-key", i) for i in range(1, 200)]
    await world.bus.send_batch([(THINGS, *encode(e)) for e in events])
    await batch_runner(world, apply_together).start()

    async def all_applied() -> dict[str, list[int]] | None:
        effects = await world.effects()
        return effects if len(effects.get("only-key", [])) == 199 else None

    effects = await eventually(all_applied)
    assert max(sizes) > 1  # really applied together
    assert sorted(effects["only-key"]) == list(range(1, 200))  # each exactly once
    # leftovers were applied one by one, by the per-event handler
    assert sorted(n for key, n in world.calls) == list(range(10, 200, 10))


async def test_a_failing_batch_falls_back_to_one_by_one(world: World) -> None:
    async def always_fails(events: Sequence[Event[Any]]) -> Sequence[Event[Any]]:
        raise RuntimeError("the batch path is broken")

    events = [world.event("k", 1), world.event("k", 2, fail=True), world.event("k", 3)]
    await world.bus.send_batch([(THINGS, *encode(e)) for e in events])
    await batch_runner(world, always_fails).start()

    async def done() -> dict[str, list[int]] | None:
        effects = await world.effects()
        return effects if effects.get("k") == [1, 3] else None

    await eventually(done)
    dead = await eventually(
        lambda: read_topic(
            world.endpoints.kafka_bootstrap, f"{world.topic}.dlq", count=1, timeout=5
        )
    )
    assert "cannot change to 2" in (dead_letter_reason(dead[0].headers) or "")
