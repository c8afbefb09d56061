"""A topic's message limit is part of its contract: the topic is created with it, an event
over it is refused where it is written (not later, stopping the relay), and a message under it
but over Kafka's default goes through the outbox and the consumer."""

from __future__ import annotations

import pytest

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.events.envelope import Event, make_event
from shared.kafka.consumer import ConsumerRunner
from shared.outbox.entries import EventTooLarge, create_outbox_indexes, new_document
from shared.outbox.relay import OutboxRelay
from tests.kafka_helpers import eventually
from tests.shared.bus_world import World

pytestmark = pytest.mark.integration

LARGE = Topic("it.large", summary="large things", key="thing id", max_message_bytes=4 * 2**20)


class Blob(Contract):
    thing_id: str
    parts: list[str]


BLOB: EventSpec[Blob] = EventSpec(
    type="it.blob.stored.v1",
    topic=LARGE,
    payload=Blob,
    key=lambda d: d.thing_id,
    producer="test",
    summary="a blob",
)


def blob(megabytes: int) -> Event[Blob]:
    parts = ["x" * 100_000] * (10 * megabytes)
    return make_event(BLOB, Blob(thing_id="b1", parts=parts), source="/test", tenant="acme")


def test_an_event_over_its_topics_limit_is_refused_where_it_is_written() -> None:
    with pytest.raises(EventTooLarge) as refused:
        new_document({"_id": "b1"}, [blob(5)])
    assert refused.value.limit < 4 * 2**20 < refused.value.size


async def test_a_message_over_kafkas_default_goes_through_the_outbox_to_the_consumer(
    world: World,
) -> None:
    await world.bus.ensure_topics([LARGE])
    await world.db.blobs.insert_one(new_document({"_id": "b1"}, [blob(2)]))  # 2 MB
    await create_outbox_indexes(world.db, ["blobs"])
    seen: list[int] = []

    async def receive(event: Event[Blob]) -> None:
        seen.append(sum(len(part) for part in event.data.parts))

    runner = ConsumerRunner(
        world.kafka, name="it", group_id="large", handlers={BLOB: receive}, bus=world.bus
    )
    world.runners.append(runner)
    await runner.start()
    relay = OutboxRelay(world.db, ["blobs"], world.bus, poll_interval=0.05)
    await relay.start()
    try:
        assert await eventually(lambda: _seen(seen), timeout=30)
    finally:
        await relay.stop()
    assert seen == [2_000_000]


async def _seen(seen: list[int]) -> bool:
    return bool(seen)
