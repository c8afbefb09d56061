"""The event envelope: CloudEvents 1.0 over Kafka, typed payloads, versioned types.

Quorum writes events in the CloudEvents *structured* JSON content mode of the
Kafka protocol binding (``content-type: application/cloudevents+json``) and
reads both structured and binary mode, so any CloudEvents producer can publish
to it. Binary mode is read through the official ``cloudevents`` SDK; structured
mode, the hot path, is serialised and parsed by pydantic-core with the SDK's
attribute checks done inline (the tests prove the SDK and Quorum read each
other's messages). The
``data`` of each event type is a pydantic v2 model declared by its producer in
``services/<producer>/events.py`` as an :class:`EventSpec`.

``type`` carries the schema version (``quorum.media.registered.v1``); a breaking
change is a new :class:`EventSpec` published side by side with the old one.
"""

from __future__ import annotations

import base64
import builtins
import os
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

import pydantic_core
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import BaseModel, ValidationError

P = TypeVar("P", bound=BaseModel)

CONTENT_TYPE = "application/cloudevents+json"
_STRUCTURED_HEADERS = (("content-type", CONTENT_TYPE.encode()),)
_FORMAT = JSONFormat()
_REQUIRED_ATTRS = ("id", "source", "type")
_OPTIONAL_STR_ATTRS = ("subject", "datacontenttype", "dataschema")
_ENVELOPE_ATTRS = frozenset(
    {"id", "source", "type", "specversion", "time", "subject", "datacontenttype", "dataschema"}
)
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")


class BadEvent(ValueError):
    """A message that is not a valid event of a known type; it goes to the dead-letter topic."""


@dataclass(frozen=True)
class Topic:
    """A Kafka topic of the event contracts. ``name`` is unprefixed; see :func:`topic_name`."""

    name: str
    summary: str
    key: str
    dead_letter: bool = True

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"


@dataclass(frozen=True)
class EventSpec(Generic[P]):
    """One versioned event contract: its CloudEvents type, topic, key and payload model."""

    type: str
    topic: Topic
    payload: builtins.type[P]
    key: Callable[[P], str]
    producer: str
    summary: str
    consumers: tuple[str, ...] = ()
    subject: Callable[[P], str | None] | None = None

    def __post_init__(self) -> None:
        parts = self.type.rsplit(".", 1)
        if len(parts) != 2 or not parts[1].startswith("v") or not parts[1][1:].isdigit():
            raise ValueError(f"event type {self.type!r} must end in a version such as .v1")


@dataclass(frozen=True)
class Event(Generic[P]):
    """A decoded or to-be-published CloudEvent with a typed payload."""

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


class EventRegistry:
    """The event types a consumer understands, looked up by CloudEvents ``type``."""

    def __init__(self, specs: Iterable[EventSpec[Any]] = ()) -> None:
        self._specs: dict[str, EventSpec[Any]] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: EventSpec[Any]) -> None:
        existing = self._specs.get(spec.type)
        if existing is not None and existing is not spec:
            raise ValueError(f"event type {spec.type} registered twice")
        self._specs[spec.type] = spec

    def get(self, event_type: str) -> EventSpec[Any] | None:
        return self._specs.get(event_type)

    def __iter__(self) -> Any:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)


def new_traceparent() -> str:
    """A fresh W3C traceparent (version 00, sampled)."""
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def child_traceparent(parent: str | None) -> str:
    """Continue a W3C trace: same trace id, new span id; a fresh trace if there is none."""
    trace = trace_id_of(parent)
    if trace is None:
        return new_traceparent()
    return f"00-{trace}-{os.urandom(8).hex()}-01"


def trace_id_of(traceparent: str | None) -> str | None:
    if not traceparent:
        return None
    parts = traceparent.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        return None
    trace = parts[1].lower()
    if not all(c in "0123456789abcdef" for c in trace) or trace == "0" * 32:
        return None
    return trace


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
        id=event_id or str(uuid.uuid4()),
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


def encode(event: Event[Any]) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Encode as a Kafka message in structured mode: ``(key, value, headers)``.

    The whole envelope, ``data`` included, is serialised in one call by
    pydantic-core (Rust); the tests prove the official SDK reads the result.
    """
    attributes: dict[str, Any] = {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "specversion": "1.0",
        "time": _utc(event.time),
        "datacontenttype": "application/json",
    }
    if event.subject:
        attributes["subject"] = event.subject
    if event.tenant:
        attributes["tenant"] = event.tenant
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
    attributes.update(event.extensions)
    attributes["data"] = event.data
    return event.key.encode(), pydantic_core.to_json(attributes), list(_STRUCTURED_HEADERS)


def _utc(moment: datetime) -> datetime:
    """RFC 3339 needs an offset: naive times are taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def decode(
    value: bytes | None,
    *,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    registry: EventRegistry,
) -> Event[Any] | None:
    """Decode a Kafka message into a typed event.

    Returns ``None`` for a valid CloudEvent of a type this consumer does not
    handle (topics carry several types). Raises :class:`BadEvent` with the
    reason for anything else: not a CloudEvent, a known type whose data does
    not match its contract, a message key or ``tenant`` extension that
    contradicts the payload. The event's tenant is the ``tenant`` extension,
    else the payload's ``tenant``; handlers that need one check it is there.
    """
    if not value:
        raise BadEvent("empty message value")
    header_map = dict(headers or ())
    try:
        if any(name.startswith("ce_") for name in header_map):  # binary content mode
            message = ce_kafka.KafkaMessage(headers=header_map, key=key, value=value)
            ce = cast(CloudEvent, ce_kafka.from_binary(message, _FORMAT, CloudEvent))
            attributes, data = dict(ce.get_attributes()), ce.get_data()
        else:  # structured content mode: the whole event is the value
            attributes, data = _read_structured(value)
    except BadEvent:
        raise
    except (BaseCloudEventException, ValueError, TypeError, KeyError) as exc:
        raise BadEvent(f"not a CloudEvents 1.0 message: {exc}") from exc
    except Exception as exc:  # the SDK raises assorted errors for malformed input
        raise BadEvent(f"not a CloudEvents 1.0 message: {type(exc).__name__}: {exc}") from exc
    spec = registry.get(attributes["type"])
    if spec is None:
        return None
    try:
        if isinstance(data, (bytes, str)):
            payload = spec.payload.model_validate_json(data)
        elif isinstance(data, dict):
            payload = spec.payload.model_validate(data)
        else:
            raise BadEvent(f"{spec.type}: data must be a JSON object")
    except ValidationError as exc:
        raise BadEvent(_validation_reason(spec, exc)) from exc
    return _typed(attributes, spec, payload, key)


def _not_ce(reason: str) -> BadEvent:
    return BadEvent(f"not a CloudEvents 1.0 message: {reason}")


def _read_structured(value: bytes) -> tuple[dict[str, Any], Any]:
    """Read a structured-mode JSON event and check its attributes as CloudEvents 1.0 says.

    The checks are those of the SDK's :class:`CloudEvent` constructor (required
    attributes present, non-empty strings; optional ones well typed; extension
    names lowercase letters and digits), done inline because this runs once per
    consumed message.
    """
    try:
        attributes = pydantic_core.from_json(value)
    except ValueError as exc:
        raise _not_ce(f"the value is not JSON ({exc})") from exc
    if not isinstance(attributes, dict):
        raise _not_ce("the value is not a JSON object")
    if attributes.get("specversion") != "1.0":
        raise _not_ce(f"specversion {attributes.get('specversion')!r}")
    for name in _REQUIRED_ATTRS:
        if not isinstance(attributes.get(name), str) or not attributes[name]:
            raise _not_ce(f"attribute {name!r} must be a non-empty string")
    for name in _OPTIONAL_STR_ATTRS:
        if name in attributes and (not isinstance(attributes[name], str) or not attributes[name]):
            raise _not_ce(f"attribute {name!r} must be a non-empty string")
    data = attributes.pop("data", None)
    if "data_base64" in attributes:
        encoded = attributes.pop("data_base64")
        if data is not None or not isinstance(encoded, str):
            raise _not_ce("data_base64 must be a string and excludes data")
        data = base64.b64decode(encoded)
    for name in attributes:
        if name not in _ENVELOPE_ATTRS and not _EXTENSION_NAME.fullmatch(name):
            raise _not_ce(f"extension attribute name {name!r} must be lowercase letters and digits")
    if "time" in attributes:
        moment = attributes["time"]
        try:
            parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else None
        except ValueError:
            parsed = None
        if parsed is None or parsed.tzinfo is None:
            raise _not_ce("time must be an RFC 3339 timestamp with an offset")
        attributes["time"] = parsed
    return attributes, data


def _typed(
    attrs: Mapping[str, Any], spec: EventSpec[Any], payload: BaseModel, key: bytes | None
) -> Event[Any]:
    expected_key = spec.key(payload)
    if key is not None and key.decode("utf-8", "replace") != expected_key:
        raise BadEvent(
            f"{spec.type}: message key {key!r} does not match the payload key {expected_key!r}"
        )
    extensions = {
        name: val
        for name, val in attrs.items()
        if name not in _ENVELOPE_ATTRS and name not in ("tenant", "traceparent", "partitionkey")
    }
    tenant = attrs.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise BadEvent(f"{spec.type}: tenant extension must be a string")
    data_tenant = getattr(payload, "tenant", None)
    if tenant is not None and data_tenant is not None and tenant != data_tenant:
        raise BadEvent(f"{spec.type}: tenant extension {tenant!r} differs from data.tenant")
    traceparent = attrs.get("traceparent")
    return Event(
        id=attrs["id"],
        type=spec.type,
        source=attrs["source"],
        time=attrs.get("time") or datetime.now(UTC),
        data=payload,
        key=expected_key,
        topic=spec.topic,
        tenant=tenant or data_tenant,
        subject=attrs.get("subject"),
        traceparent=traceparent if isinstance(traceparent, str) else None,
        extensions=extensions,
    )


def _validation_reason(spec: EventSpec[Any], exc: ValidationError) -> str:
    problems = "; ".join(
        f"data.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:20]
    )
    return f"{spec.type}: data does not match the contract: {problems}"


def topic_name(prefix: str, topic: Topic | str) -> str:
    """The real Kafka topic name for a contract topic under a deployment's prefix."""
    name = topic.name if isinstance(topic, Topic) else topic
    return f"{prefix}{name}"
