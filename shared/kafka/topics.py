"""Topic names under a deployment's prefix, and creating the topics a service needs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError

from shared.contracts.spec import Topic
from shared.contracts.vocabulary import TENANT_PATTERN
from shared.kafka.settings import KafkaSettings

TOPIC_ALREADY_EXISTS = 36


_TENANT = TENANT_PATTERN.removeprefix("^").removesuffix("$")


def topic_name(prefix: str, topic: Topic | str) -> str:
    """The real Kafka topic name for a contract topic under a deployment's prefix."""
    name = topic.name if isinstance(topic, Topic) else topic
    return f"{prefix}{name}"


def tenant_topics(prefix: str, topic: Topic) -> str:
    """A regular expression of every tenant's topic of a per-tenant ``topic`` (not their
    dead-letter topics); the tenant id is its one group."""
    return f"{re.escape(topic_name(prefix, topic))}\\.({_TENANT})"


def tenant_of(prefix: str, topic: Topic, name: str) -> str | None:
    """The tenant whose topic of the per-tenant ``topic`` is ``name``, else ``None``."""
    found = re.fullmatch(tenant_topics(prefix, topic), name)
    return found.group(1) if found else None


async def ensure_topics(settings: KafkaSettings, topics: Iterable[Topic]) -> None:
    """Create each topic and its dead-letter topic if missing, with the topic's message limit
    (a dead letter carries the original message). Per-tenant topics are created per tenant
    (:func:`ensure_tenant_topics`)."""
    limits: dict[str, int] = {}
    for topic in topics:
        if topic.per_tenant:
            continue
        limits[topic_name(settings.topic_prefix, topic)] = topic.max_message_bytes
        if topic.dead_letter:
            limits[topic_name(settings.topic_prefix, topic.dlq)] = topic.max_message_bytes
    await create_topics(settings, sorted(limits), limits)


async def ensure_tenant_topics(
    settings: KafkaSettings, topics: Iterable[Topic], tenants: Iterable[str]
) -> list[str]:
    """Create the topics of ``tenants`` of each per-tenant topic, and their dead-letter
    topics, if missing; return their names."""
    limits: dict[str, int] = {}
    for topic in topics:
        for tenant in tenants:
            name = topic_name(settings.topic_prefix, topic.of_tenant(tenant))
            limits[name] = topic.max_message_bytes
            if topic.dead_letter:
                limits[f"{name}.dlq"] = topic.max_message_bytes
    await create_topics(settings, sorted(limits), limits)
    return sorted(limits)


async def create_topics(
    settings: KafkaSettings, names: Sequence[str], limits: Mapping[str, int] | None = None
) -> None:
    """Create topics that are missing; ``limits``: their ``max.message.bytes`` where not the
    broker's default. A topic that exists keeps its configuration."""
    if not names:
        return
    admin = AIOKafkaAdminClient(
        **settings.client_options(), client_id=f"{settings.client_id}-admin"
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
