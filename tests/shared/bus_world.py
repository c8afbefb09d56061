"""A tiny contract (``it.thing.changed.v1`` keyed by thing id) and a test world around it, so
each bus and outbox mechanism is tested on its own against the real servers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.spec import Contract, EventSpec, Topic
from shared.events.envelope import Event, make_event
from shared.inbox import Inbox
from shared.kafka.consumer import ConsumerRunner
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from tests.conftest import OWN_TOPIC_PREFIXES, Endpoints

THINGS = Topic("it.things", summary="test things", key="thing id")


class ThingChanged(Contract):
    thing_id: str
    n: int
    fail: bool = False


THING_CHANGED: EventSpec[ThingChanged] = EventSpec(
    type="it.thing.changed.v1",
    topic=THINGS,
    payload=ThingChanged,
    key=lambda d: d.thing_id,
    producer="test",
    summary="a thing changed",
)


class ItemNoted(Contract):
    item_id: str
    tenant: str


ITEM_NOTED: EventSpec[ItemNoted] = EventSpec(
    type="it.item.noted.v1",
    topic=THINGS,
    payload=ItemNoted,
    key=lambda d: d.item_id,
    producer="test",
    summary="an item was noted",
)


class World:
    """One test's isolated topics, database, producer and a consumer that records effects."""

    def __init__(self, endpoints: Endpoints, client: AsyncMongoClient[Any]) -> None:
        run = uuid.uuid4().hex[:8]
        OWN_TOPIC_PREFIXES.add(f"it{run}.")
        self.endpoints = endpoints
        self.kafka = KafkaSettings(
            endpoints.kafka_bootstrap, topic_prefix=f"it{run}.", partitions=3
        )
        self.db: AsyncDatabase[Any] = client[f"it_{run}"]
        self.bus = KafkaBus(self.kafka)
        self.calls: list[tuple[str, int]] = []
        self.runners: list[ConsumerRunner] = []

    @property
    def topic(self) -> str:
        return self.bus.topic(THINGS)

    async def apply(self, event: Event[ThingChanged]) -> None:
        """The effect under test: count and order of applications per thing."""
        self.calls.append((event.data.thing_id, event.data.n))
        if event.data.fail:
            raise ValueError(f"thing {event.data.thing_id} cannot change to {event.data.n}")
        await self.db.effects.update_one(
            {"_id": event.data.thing_id}, {"$push": {"ns": event.data.n}}, upsert=True
        )

    def runner(
        self, group: str = "g1", handler: Callable[[Event[Any]], Awaitable[None]] | None = None
    ) -> ConsumerRunner:
        runner = ConsumerRunner(
            self.kafka,
            name="it",
            group_id=group,
            handlers={THING_CHANGED: handler or self.apply},
            bus=self.bus,
            inbox=Inbox(self.db, "it"),
            max_retries=2,
            retry_backoff_ms=10,
        )
        self.runners.append(runner)
        return runner

    def event(self, thing_id: str, n: int, fail: bool = False) -> Event[ThingChanged]:
        return make_event(
            THING_CHANGED,
            ThingChanged(thing_id=thing_id, n=n, fail=fail),
            source="/test",
            tenant="acme",
        )

    async def effects(self) -> dict[str, list[int]]:
        return {doc["_id"]: doc["ns"] async for doc in self.db.effects.find()}
