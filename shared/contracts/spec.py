"""What an event contract is: a payload model, a topic, a key and a versioned type."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import annotated_types
from pydantic import BaseModel, ConfigDict

P = TypeVar("P", bound=BaseModel)


#: No text field of a contract is longer, unless it says less; no number is infinite or NaN.
MAX_TEXT = 100_000

#: The producer or consumer of a contract outside Quorum: a tenant's own systems, bound to
#: that tenant's per-tenant topics by the broker's ACLs (:mod:`shared.kafka.acls`).
CLIENT_SYSTEMS = "client systems"


class Contract(BaseModel):
    """Base of every event payload.

    Consumers are tolerant readers: a field added to a v1 payload later is
    ignored by older consumers (removing or changing a field needs a v2). Every value is
    bounded: text up to :data:`MAX_TEXT` unless a field says less, numbers finite.
    """

    model_config = ConfigDict(
        extra="ignore", frozen=True, str_max_length=MAX_TEXT, allow_inf_nan=False
    )


def max_length(model: builtins.type[BaseModel], field: str) -> int:
    """The most characters (or items) ``model``'s ``field`` takes: the limit to derive the
    limits of what is composed into it from (a prefix and an id, a reason and a note), so a
    request refused at its own field never fails later at the event's."""
    for constraint in model.model_fields[field].metadata:
        if isinstance(constraint, annotated_types.MaxLen):
            return int(constraint.max_length)
    raise ValueError(f"{model.__name__}.{field} has no max_length")


class Strict(BaseModel):
    """A request body: unknown fields refused, text and numbers bounded."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT, allow_inf_nan=False)


@dataclass(frozen=True)
class Topic:
    """A Kafka topic of the event contracts. ``name`` is unprefixed: a deployment may put a
    prefix before it (``QUORUM_TOPIC_PREFIX``)."""

    name: str
    summary: str
    key: str
    dead_letter: bool = True
    #: The largest message the topic takes (its ``max.message.bytes``; Kafka's default is 1 MiB).
    max_message_bytes: int = 1024 * 1024
    #: One topic per tenant, ``<name>.<tenant>``: an event's tenant is its topic's, so the
    #: broker's ACLs decide who may publish for which tenant. Consumed by pattern; each
    #: tenant's topic is created when the tenant is added (``quorum-tenant-topics``).
    per_tenant: bool = False

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def of_tenant(self, tenant: str) -> str:
        """The (unprefixed) topic of one tenant of a per-tenant topic."""
        if not self.per_tenant:
            raise ValueError(f"{self.name} is one topic for every tenant")
        return f"{self.name}.{tenant}"


@dataclass(frozen=True)
class EventSpec(Generic[P]):
    """One versioned event contract: its CloudEvents type, topic, key and payload model.

    ``type`` ends in the schema version (``quorum.media.registered.v1``); a breaking change
    is a new spec (``.v2``) published side by side with the old one.
    """

    type: str
    topic: Topic
    payload: builtins.type[P]
    key: Callable[[P], str]
    producer: str
    summary: str
    consumers: tuple[str, ...] = ()
    subject: Callable[[P], str | None] | None = None
    #: For a consumer that answers bad data itself (e.g. with a rejection event) rather
    #: than dead-lettering it: data that does not match ``payload`` is decoded as this
    #: looser model instead. Valid data still costs one validation, against ``payload``.
    lenient: builtins.type[BaseModel] | None = None

    def __post_init__(self) -> None:
        parts = self.type.rsplit(".", 1)
        if len(parts) != 2 or not parts[1].startswith("v") or not parts[1][1:].isdigit():
            raise ValueError(f"event type {self.type!r} must end in a version such as .v1")
