"""Sending many messages at once, packed into record batches: one open batch per partition.

The library path is ``AIOKafkaProducer.send`` per message. Packing with aiokafka's batch
API (``create_batch`` / ``send_batch``) puts each message on the partition ``send`` would
(the producer's own partitioner, on the same key), keeps the order within each partition,
and costs a fraction of ``send`` per message: docs/benchmarks.md has the measurement that
keeps it. ``tests/shared/test_packing.py`` holds the two paths equal, record by record.

A message over its topic's limit is refused by the broker, packed or not; the outbox refuses
such an event before it is stored (:mod:`shared.outbox.entries`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

#: (topic name, key, value, headers): a message as the producer sends it.
Message = tuple[str, bytes | None, bytes, Sequence[tuple[str, bytes]]]


async def send_packed(
    producer: AIOKafkaProducer,
    partitioner: DefaultPartitioner,
    messages: Sequence[Message],
) -> None:
    """Send ``messages`` in order and wait until every one is acknowledged."""
    partitions: dict[str, list[int]] = {}
    placed: dict[tuple[str, bytes | None], int] = {}  # keys repeat: hash each once
    open_batches: dict[tuple[str, int], Any] = {}
    deliveries: list[asyncio.Future[Any]] = []
    for name, key, value, headers in messages:
        headers = list(headers)  # aiokafka's record builder takes a list only
        partition = placed.get((name, key)) if key is not None else None
        if partition is None:
            choices = partitions.get(name)
            if choices is None:
                choices = partitions[name] = sorted(await producer.partitions_for(name))
            partition = partitioner(key, choices, choices)
            if key is not None:
                placed[name, key] = partition
        where = (name, partition)
        batch = open_batches.get(where)
        if batch is None:
            batch = open_batches[where] = producer.create_batch()
        if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
            deliveries.append(await producer.send_batch(batch, name, partition=partition))
            batch = open_batches[where] = producer.create_batch()
            batch.append(key=key, value=value, timestamp=None, headers=headers)
    for (name, partition), batch in open_batches.items():
        deliveries.append(await producer.send_batch(batch, name, partition=partition))
    for delivery in deliveries:
        await delivery
