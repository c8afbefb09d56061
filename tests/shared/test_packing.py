"""Packed sends equal sends one by one: every message on the partition ``send`` puts it on,
in the same order within each partition, with the same key, value and headers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from aiokafka.errors import MessageSizeTooLargeError

from shared.contracts.spec import Topic
from tests.kafka_helpers import read_topic
from tests.shared.bus_world import THINGS, World

pytestmark = pytest.mark.integration

ONE_BY_ONE = Topic("it.things.one-by-one", summary="the same messages, sent one by one", key="k")


def by_partition(records: list[Any]) -> dict[int, list[tuple[Any, ...]]]:
    out: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for record in records:
        out[record.partition].append((record.key, record.value, tuple(record.headers)))
    return dict(out)


async def test_packed_messages_land_where_and_in_the_order_send_puts_them(world: World) -> None:
    await world.bus.ensure_topics([ONE_BY_ONE])
    big = b"B" * 600_000  # more than a record batch holds (256 KiB): a batch of its own
    messages = [
        (f"k{i % 7}".encode(), f"v{i}".encode(), [("h", str(i).encode())]) for i in range(300)
    ]
    messages.insert(150, (b"k3", big, []))  # between packed messages of its partition
    messages.append((b"k3", b"after-big", []))
    await world.bus.send_batch([(THINGS, key, value, headers) for key, value, headers in messages])
    for key, value, headers in messages:
        await world.bus.send(ONE_BY_ONE, key, value, headers)
    bootstrap = world.endpoints.kafka_bootstrap
    packed = await read_topic(bootstrap, world.topic, count=len(messages))
    one_by_one = await read_topic(bootstrap, world.bus.topic(ONE_BY_ONE), count=len(messages))
    assert len(packed) == len(one_by_one) == len(messages)
    assert by_partition(packed) == by_partition(one_by_one)
    assert len(by_partition(packed)) > 1


async def test_a_message_over_its_topics_limit_is_refused_as_send_refuses_it(
    world: World,
) -> None:
    over = b"x" * (THINGS.max_message_bytes + 1)
    with pytest.raises(MessageSizeTooLargeError):
        await world.bus.send_batch([(THINGS, b"big", over, [])])
    with pytest.raises(MessageSizeTooLargeError):
        await world.bus.send(THINGS, b"big", over, [])
