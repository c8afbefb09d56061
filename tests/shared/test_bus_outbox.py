"""The bus and the outbox against the real Kafka broker and MongoDB-compatible server.

A tiny contract (``it.thing.changed.v1`` keyed by thing id) stands in for the
services' events so each mechanism is tested on its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from shared.contracts.media import MediaRejectedV1, RejectionReason
from shared.contracts.outcomes import OUTCOME_REJECTED
from shared.events.codec import encode
from shared.events.envelope import Event, make_event
from shared.inbox import Inbox
from shared.kafka.consumer import ConsumerRunner
from shared.kafka.dead_letters import dead_letter_reason
from shared.logging import configure_logging, get_logger
from shared.outbox.entries import (
    OUTBOX,
    OUTBOX_OLDEST,
    create_outbox_indexes,
    new_document,
    outbox_entries,
    with_events,
)
from shared.outbox.relay import OutboxRelay
from tests.kafka_helpers import caught_up, eventually, produce, read_topic
from tests.shared.bus_world import ITEM_NOTED, THING_CHANGED, THINGS, ItemNoted, ThingChanged, World

pytestmark = pytest.mark.integration


async def test_relay_killed_before_publishing_publishes_after_restart(world: World) -> None:
    # The state write and its event land together; the relay dies before publishing.
    await world.db.things.insert_one(new_document({"_id": "t1", "v": 1}, [world.event("t1", 1)]))
    await create_outbox_indexes(world.db, ["things"])
    doomed = OutboxRelay(world.db, ["things"], world.bus, lease_seconds=0.5)
    await doomed.start()
    await doomed.stop()  # killed before its first pass completes (or right after): nothing lost
    runner = world.runner()
    await runner.start()
    relay = OutboxRelay(world.db, ["things"], world.bus, poll_interval=0.05, lease_seconds=0.5)
    await relay.start()
    try:
        assert await eventually(lambda: _effects_equal(world, {"t1": [1]}))
        doc = await world.db.things.find_one({"_id": "t1"})
        assert (
            doc is not None and not doc.get(OUTBOX) and OUTBOX_OLDEST not in doc and doc["v"] == 1
        )
    finally:
        await relay.stop()


async def test_state_change_and_event_in_one_update(world: World) -> None:
    await world.db.things.insert_one({"_id": "t3", "v": 0})
    for n in (1, 2, 3):
        await world.db.things.update_one(
            {"_id": "t3"}, with_events({"$set": {"v": n}}, [world.event("t3", n)])
        )
    relay = OutboxRelay(world.db, ["things"], world.bus)
    assert await relay.publish_pending() == 3
    assert await relay.publish_pending() == 0
    records = await read_topic(world.endpoints.kafka_bootstrap, world.topic, count=3)
    assert [r.key for r in records] == [b"t3"] * 3
    runner = world.runner()
    await runner.start()
    assert await eventually(lambda: _effects_equal(world, {"t3": [1, 2, 3]}))


async def test_only_one_relay_holds_the_lease(world: World) -> None:
    await world.db.things.insert_one(new_document({"_id": "t4"}, [world.event("t4", 1)]))
    first = OutboxRelay(world.db, ["things"], world.bus, lease_seconds=30)
    second = OutboxRelay(world.db, ["things"], world.bus, lease_seconds=30)
    assert await first.publish_pending() == 1
    await world.db.things.update_one({"_id": "t4"}, with_events({}, [world.event("t4", 2)]))
    assert await second.publish_pending() == 0  # the first still holds the lease
    assert await first.publish_pending() == 1


async def test_redelivered_event_changes_nothing(world: World) -> None:
    event = world.event("t5", 1)
    world_bus = world.bus
    await world_bus.publish(event)
    await world_bus.publish(event)  # the same event id again
    await world_bus.publish(world.event("t5", 2))
    runner = world.runner()
    await runner.start()
    # the copy came between the two on the same partition: applied 2 means it was handled
    assert await eventually(lambda: _effects_equal(world, {"t5": [1, 2]}))
    assert world.calls == [("t5", 1), ("t5", 2)]


async def test_types_without_inbox_are_neither_looked_up_nor_marked(world: World) -> None:
    await world.bus.publish(world.event("t6", 1))
    await world.bus.publish(world.event("t6", 2))
    runner = ConsumerRunner(
        world.kafka,
        name="it",
        group_id="no-inbox",
        handlers={THING_CHANGED: world.apply},
        bus=world.bus,
        inbox=Inbox(world.db, "it"),
        without_inbox=[THING_CHANGED],
    )
    world.runners.append(runner)
    await runner.start()
    assert await eventually(lambda: _effects_equal(world, {"t6": [1, 2]}))
    await runner.finish_pending()  # marks and commits of what was applied are done
    assert await world.db["inbox_it"].count_documents({}) == 0
    marking = world.runner(group="with-inbox")  # the same events through the inbox
    await marking.start()
    assert await eventually(lambda: _inbox_count(world, 2))


async def _inbox_count(world: World, expected: int) -> bool:
    return await world.db["inbox_it"].count_documents({}) == expected


async def test_poison_messages_go_to_the_dlq_and_the_partition_flows(world: World) -> None:
    good_before = world.event("k", 1)
    bad_handler = world.event("k", 2, fail=True)
    good_after = world.event("k", 3)
    messages = [encode(good_before)]
    messages.append(
        (b"k", b"{not json at all", [("content-type", b"application/cloudevents+json")])
    )
    messages.append(encode(bad_handler))
    messages.append(encode(good_after))
    await produce(world.endpoints.kafka_bootstrap, world.topic, messages)
    runner = world.runner()
    await runner.start()
    assert await eventually(lambda: _effects_equal(world, {"k": [1, 3]}))
    dlq = await read_topic(world.endpoints.kafka_bootstrap, f"{world.topic}.dlq", count=2)
    assert len(dlq) == 2
    undecodable, failed = dlq
    assert undecodable.value == b"{not json at all"  # the original bytes
    assert "not a CloudEvents" in (dead_letter_reason(undecodable.headers) or "")
    assert failed.value == messages[2][1]
    reason = dead_letter_reason(failed.headers) or ""
    assert "ValueError" in reason and "cannot change to 2" in reason
    assert dict(failed.headers)["quorum-dlq-attempts"] == b"3"  # first try + 2 retries
    assert world.calls.count(("k", 2)) == 3


async def test_per_key_order_is_kept(world: World) -> None:
    events = [world.event(f"key{i % 5}", i) for i in range(100)]
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in events])
    runner = world.runner()
    await runner.start()
    expected = {f"key{k}": [i for i in range(100) if i % 5 == k] for k in range(5)}
    assert await eventually(lambda: _effects_equal(world, expected))


async def test_restarted_consumer_resumes_from_committed_offsets(world: World) -> None:
    first_half = [world.event(f"r{i % 7}", i) for i in range(60)]
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in first_half])
    first = world.runner("resume")
    await first.start()
    await eventually(lambda: _count_effects(world, 60))
    await first.stop()
    calls_before = len(world.calls)
    second_half = [world.event(f"r{i % 7}", i) for i in range(60, 120)]
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in second_half])
    second = world.runner("resume")
    await second.start()
    expected = {f"r{k}": [i for i in range(120) if i % 7 == k] for k in range(7)}
    assert await eventually(lambda: _effects_equal(world, expected))
    # the restarted consumer started at the committed offsets: it saw only the new events
    assert len(world.calls) - calls_before == 60


async def test_send_batch_partitions_like_send_and_keeps_order(world: World) -> None:
    await world.bus.publish(world.event("same", 1))  # aiokafka's send
    batch = [world.event("same", n) for n in range(2, 6)]
    batch += [world.event(f"other{i}", 0) for i in range(20)]
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in batch])  # the batch API
    records = await read_topic(world.endpoints.kafka_bootstrap, world.topic, count=25)
    same = [r for r in records if r.key == b"same"]
    assert len({r.partition for r in same}) == 1
    assert [json.loads(r.value or b"")["data"]["n"] for r in same] == [1, 2, 3, 4, 5]
    assert len({r.partition for r in records}) > 1
    with pytest.raises(MessageSizeTooLargeError):
        await world.bus.send_batch([(THINGS, b"big", b"x" * 2_000_000, [])])


async def test_rebalance_mid_stream_applies_every_event_once_in_order(world: World) -> None:
    # A second consumer joins while the first is applying batches (and has the next one
    # fetched): every event is applied exactly once and each key's events stay in order.
    async def slow_apply(event: Event[ThingChanged]) -> None:
        if event.data.n % 50 == 0:
            await asyncio.sleep(0.01)
        await world.apply(event)

    events = [world.event(f"k{i % 11}", i) for i in range(3000)]
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in events[:1500]])
    first = world.runner("rebalance", handler=slow_apply)
    await first.start()
    await eventually(lambda: _count_effects(world, 200))
    second = world.runner("rebalance", handler=slow_apply)
    await second.start()
    await world.bus.send_batch([(THINGS, *_kv(e)) for e in events[1500:]])
    expected = {f"k{k}": [i for i in range(3000) if i % 11 == k] for k in range(11)}
    assert await eventually(lambda: _effects_equal(world, expected), timeout=60)
    # every record committed: nothing is left to be applied again
    bootstrap = world.endpoints.kafka_bootstrap
    await eventually(lambda: caught_up(bootstrap, "rebalance", world.topic), timeout=60)
    assert await world.effects() == expected


async def test_handler_log_lines_carry_the_event_context(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("it", json=True)
    handler_log = get_logger("tests.handler")  # first used after configure_logging
    try:
        traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
        noted = make_event(
            ITEM_NOTED,
            ItemNoted(item_id="item-7", tenant="acme"),
            source="/test",
            tenant="acme",
            traceparent=traceparent,
        )
        changed = make_event(
            THING_CHANGED,
            ThingChanged(thing_id="item-7", n=1),
            source="/test",
            tenant="acme",
            traceparent=traceparent,
        )
        applied: list[str] = []

        async def handle(event: Event[Any]) -> None:
            handler_log.info("handling", seen_type=event.type)
            applied.append(event.id)

        runner = ConsumerRunner(
            world.kafka,
            name="it",
            group_id="log-context",
            handlers={ITEM_NOTED: handle, THING_CHANGED: handle},
            bus=world.bus,
            inbox=Inbox(world.db, "it"),
        )
        world.runners.append(runner)
        await runner.start()
        await world.bus.send_batch([(THINGS, *_kv(noted)), (THINGS, *_kv(changed))])
        assert await eventually(lambda: _async(len(applied) == 2))
        handler_log.info("after the handlers")
        lines = [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if line.startswith("{")
        ]
        by_type = {line["seen_type"]: line for line in lines if line["event"] == "handling"}
        with_item = by_type[ITEM_NOTED.type]
        assert with_item.get("event_id") == noted.id
        assert with_item.get("event_type") == ITEM_NOTED.type
        assert with_item.get("tenant") == "acme"
        assert with_item.get("item_id") == "item-7"
        assert with_item.get("trace_id") == "0af7651916cd43dd8448eb211c80319c"
        assert with_item.get("service") == "it"
        without_item = by_type[THING_CHANGED.type]
        assert without_item.get("event_id") == changed.id
        assert without_item.get("tenant") == "acme"
        assert without_item.get("trace_id") == "0af7651916cd43dd8448eb211c80319c"
        assert "item_id" not in without_item  # the payload has none
        outside = next(line for line in lines if line["event"] == "after the handlers")
        assert "event_id" not in outside and "trace_id" not in outside
    finally:
        logging.getLogger().handlers.clear()


async def _async(value: bool) -> bool:
    return value


def _kv(event: Event[Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    return encode(event)


async def _effects_equal(world: World, expected: dict[str, list[int]]) -> bool:
    return await world.effects() == expected


async def _count_effects(world: World, count: int) -> bool:
    return sum(len(v) for v in (await world.effects()).values()) >= count


def test_dead_letter_reason_is_absent_on_normal_messages() -> None:
    assert dead_letter_reason([("content-type", b"x")]) is None


def test_an_event_of_a_per_tenant_topic_is_stored_for_its_tenants_topic() -> None:
    payload = MediaRejectedV1(
        external_id="x-1",
        tenant="acme",
        reasons=[RejectionReason(field="data", message="no")],
        rejected_at=datetime.now(UTC),
    )
    event = make_event(OUTCOME_REJECTED, payload, source="/t", tenant="acme")
    (entry,) = outbox_entries([event])
    assert entry["topic"] == "quorum.outcomes.acme"  # the relay puts the prefix before it
    # without a tenant it has no topic: refused before anything is written
    untenanted = make_event(OUTCOME_REJECTED, payload, source="/t", tenant=None)
    with pytest.raises(ValueError, match="needs a tenant"):
        new_document({"_id": "x"}, [untenanted])
