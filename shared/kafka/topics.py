"""Topic names under a deployment's prefix, and creating the topics a service needs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from shared.contracts.spec import Topic
from shared.kafka.settings import KafkaSettings

TOPIC_ALREADY_EXISTS = 36


def topic_name(prefix: str, topic: Topic | str) -> str:
    """The real Kafka topic name for a contract topic under a deployment's prefix."""
    name = topic.name if isinstance(topic, Topic) else topic
    return f"{prefix}{name}"


async def ensure_topics(settings: KafkaSettings, topics: Iterable[Topic]) -> None:
    """Create each topic and its dead-letter topic if missing, with the topic's message limit
    (a dead letter carries the original message)."""
    limits: dict[str, int] = {}
    for topic in topics:
        limits[topic_name(settings.topic_prefix, topic)] = topic.max_message_bytes
        if topic.dead_letter:
            limits[topic_name(settings.topic_prefix, topic.dlq)] = topic.max_message_bytes
    await create_topics(settings, sorted(limits), limits)


async def create_topics(
    settings: KafkaSettings, names: Sequence[str], limits: Mapping[str, int] | None = None
) -> None:
    """Create topics that are missing; ``limits``: their ``max.message.bytes`` where not the
    broker's default. A topic that exists keeps its configuration."""
    if not names:
        return
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id=f"{settings.client_id}-admin"
    )
    await admin.start()
    try:
        response = await admin.create_topics(
            [
                NewTopic(
                    name,
                    settings.partitions,
                    settings.replication_factor,
                    topic_configs=(
                        {"max.message.bytes": str(limits[name])}
                        if limits and name in limits
                        else {}
                    ),
                )
                for name in names
            ]
        )
        for topic_error in response.topic_errors:
            name, code = topic_error[0], topic_error[1]
            if code not in (0, TOPIC_ALREADY_EXISTS):
                message = topic_error[2] if len(topic_error) > 2 else ""
                raise KafkaError(f"could not create topic {name}: error {code} {message}")
    finally:
        await admin.close()
