"""An event in memory: a CloudEvent of one contract with its typed payload."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from shared.contracts.spec import EventSpec, Topic
from shared.events.trace import new_event_id, new_traceparent, trace_id_of

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Event(Generic[P]):
    """A decoded or to-be-published CloudEvent with a typed payload.

    Slotted: one object for the garbage collector to track per event instead of two
    (events are made and read by the thousand).
    """

    id: str
    type: str
    source: str
    time: datetime
    data: P
    key: str
    topic: Topic
    tenant: str | None = None
    subject: str | None = None
    traceparent: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    @property
    def trace_id(self) -> str | None:
        return trace_id_of(self.traceparent)


def make_event(
    spec: EventSpec[P],
    data: P,
    *,
    source: str,
    tenant: str | None,
    traceparent: str | None = None,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Event[P]:
    """Build an event of ``spec``; the key and subject come from the payload."""
    if not isinstance(data, spec.payload):
        raise TypeError(f"{spec.type} carries {spec.payload.__name__}, not {type(data).__name__}")
    subject = spec.subject(data) if spec.subject else None
    return Event(
        id=event_id or new_event_id(),
        type=spec.type,
        source=source,
        time=time or datetime.now(UTC),
        data=data,
        key=spec.key(data),
        topic=spec.topic,
        tenant=tenant,
        subject=subject,
        traceparent=traceparent or new_traceparent(),
    )
