"""Every replica follows a topic from its end, outside any consumer group: for notifications
each replica must see (a snapshot was stored, so live streams re-read it).

Nothing is committed: a replica that starts follows what is published from then on. A
message that cannot be decoded is logged and skipped (it is the group consumer's to
dead-letter); a callback error is logged and the next message is read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.contracts.spec import EventSpec
from shared.events.codec import BadEvent, EventRegistry, decode
from shared.events.envelope import Event
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.logging import get_logger

log = get_logger(__name__)


class Tail:
    def __init__(
        self,
        settings: KafkaSettings,
        bus: KafkaBus,
        specs: Iterable[EventSpec[Any]],
        on_event: Callable[[Event[Any]], Awaitable[None] | None],
        *,
        name: str,
    ) -> None:
        self.settings = settings
        self.registry = EventRegistry(specs)
        self.topics = sorted({bus.topic(spec.topic) for spec in self.registry})
        self.on_event = on_event
        self.name = name

    async def run(self) -> None:
        """Follow the topics until cancelled (a background loop)."""
        consumer = AIOKafkaConsumer(
            *self.topics,
            **self.settings.client_options(),
            client_id=f"{self.settings.client_id}-{self.name}",
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=self.settings.metadata_max_age_ms,
        )
        await consumer.start()
        try:
            async for record in consumer:
                try:
                    event = decode(
                        record.value, key=record.key, headers=record.headers, registry=self.registry
                    )
                except BadEvent as e:
                    log.warning("undecodable message skipped", tail=self.name, reason=str(e))
                    continue
                if event is None:
                    continue
                try:
                    result = self.on_event(event)
                    if result is not None:
                        await result
                except Exception:
                    log.exception("notification not handled", tail=self.name, type=event.type)
        finally:
            await consumer.stop()
