"""What a running service holds: MongoDB, the Kafka bus, the outbox relay, consumers.

Each service's ``app.py`` builds one :class:`Runtime` from its settings and gives its stores
the runtime's database and outbox; :func:`shared.http.app.create_service_app` starts and stops
it in the FastAPI lifespan. Nothing here is module-global, so tests can run several services
in one process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from shared.contracts.spec import EventSpec, Topic
from shared.inbox import Inbox
from shared.kafka.consumer import BatchHandler, ConsumerRunner, Handler
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.logging import get_logger
from shared.mongo import CollectionIndexes, connect, ensure_indexes, ping
from shared.outbox.entries import Outbox, create_outbox_indexes
from shared.outbox.relay import OutboxRelay
from shared.settings import Environment, ServiceSettings
from shared.supervision import Loops

log = get_logger(__name__)


@dataclass
class RuntimeSpec:
    """What a service declares about its storage and messaging."""

    indexes: Sequence[CollectionIndexes] = ()
    outbox_collections: Sequence[str] = ()
    published_topics: Sequence[Topic] = ()
    consumed: Mapping[EventSpec[Any], Handler] = field(default_factory=dict)
    #: optional batch handlers for some of the consumed types (see ConsumerRunner)
    consumed_in_batches: Mapping[EventSpec[Any], BatchHandler] = field(default_factory=dict)
    #: consumed types whose handlers are idempotent by construction: no inbox for them
    consumed_without_inbox: Sequence[EventSpec[Any]] = ()
    #: loops that run while the service does (started last, cancelled first); each handles
    #: its own errors (an outage, one bad record) and is started again should it raise
    #: all the same (:class:`shared.supervision.Loops`)
    background: Sequence[Callable[[], Coroutine[Any, Any, None]]] = ()
    #: called when the consumer's partitions are about to move, after it committed
    on_partitions_revoked: Sequence[Callable[[], Awaitable[None]]] = ()


def kafka_settings(settings: ServiceSettings) -> KafkaSettings:
    return KafkaSettings.of(settings, client_id=f"quorum-{settings.service_name}")


class Runtime:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.kafka = kafka_settings(settings)
        self.client: AsyncMongoClient[Any] = connect(
            settings.mongodb_uri, app_name=f"quorum-{settings.service_name}"
        )
        self.db: AsyncDatabase[Any] = self.client[settings.database_name]
        self.bus = KafkaBus(self.kafka)
        #: given to the service's stores: they write events with their state changes
        self.outbox = Outbox()
        self.relay: OutboxRelay | None = None
        self.consumer: ConsumerRunner | None = None
        #: the relay's, the consumer's and the background loops: restarted should they
        #: raise, and the service unready while one is down
        self.loops = Loops()
        self._background: list[asyncio.Task[None]] = []

    async def start(self, spec: RuntimeSpec) -> None:
        """Indexes, topics, producer, relay, then consumers (so handlers can publish)."""
        await ensure_indexes(self.db, spec.indexes)
        await create_outbox_indexes(self.db, spec.outbox_collections)
        await self.bus.start()
        topics = {*spec.published_topics, *(s.topic for s in spec.consumed)}
        await self.bus.ensure_topics(sorted(topics, key=lambda t: t.name))
        self.bus.create_tenant_topics_on_send(spec.published_topics)
        if spec.outbox_collections:
            self.relay = OutboxRelay(
                self.db,
                spec.outbox_collections,
                self.bus,
                poll_interval=self.settings.outbox_poll_interval_ms / 1000,
                name=f"outbox-{self.settings.service_name}",
                loops=self.loops,
            )
            self.outbox.relay_to(self.relay.wake)
            await self.relay.start()
        if spec.consumed:
            inbox = Inbox(self.db, self.settings.service_name)
            await inbox.create_indexes()
            self.consumer = ConsumerRunner(
                self.kafka,
                name=self.settings.service_name,
                group_id=self.settings.group_id,
                handlers=spec.consumed,
                bus=self.bus,
                inbox=inbox,
                max_retries=self.settings.consumer_max_retries,
                retry_backoff_ms=self.settings.consumer_retry_backoff_ms,
                session_timeout_ms=self.settings.consumer_session_timeout_ms,
                commit_interval_ms=self.settings.consumer_commit_interval_ms,
                batch_handlers=spec.consumed_in_batches,
                without_inbox=spec.consumed_without_inbox,
                loops=self.loops,
                on_revoked=spec.on_partitions_revoked,
            )
            await self.consumer.start()
        self._background = [
            self.loops.start(getattr(loop, "__qualname__", "background"), loop)
            for loop in spec.background
        ]
        log.info("runtime started", settings=self.settings.safe_dump())
        if (
            self.settings.environment is Environment.production
            and self.kafka.security_protocol == "PLAINTEXT"
        ):
            log.warning(
                "Kafka connections are neither encrypted nor authenticated, so the broker "
                "cannot tell tenants' clients apart: set QUORUM_KAFKA_SECURITY_PROTOCOL=SASL_SSL "
                "and this service's credentials (docs/operations.md, Security)"
            )

    async def stop(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background = []
        if self.consumer is not None:
            await self.consumer.stop()
        if self.relay is not None:
            await self.relay.stop()
        await self.bus.stop()
        await self.client.close()

    def readiness(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """What ``/readyz`` checks: the servers answer, and no loop is down."""
        return {
            "mongodb": lambda: ping(self.client),
            "kafka": self.bus.ping,
            "loops": self.loops.check,
        }
