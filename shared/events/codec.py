"""Events as Kafka messages: CloudEvents 1.0, structured mode written, both modes read.

Quorum writes events in the CloudEvents *structured* JSON content mode of the
Kafka protocol binding (``content-type: application/cloudevents+json``) and
reads both structured and binary mode, so any CloudEvents producer can publish
to it. Binary mode is read through the official ``cloudevents`` SDK. Structured
mode, the hot path, is serialised by pydantic-core.

Reading has one plain path, :func:`decode_checked`: the JSON, then the envelope as the SDK
checks it, then the data against its contract, naming whatever is wrong. :func:`decode` first
tries one pydantic-core call that does all three at once and hands anything it does not
accept to the plain path; docs/benchmarks.md has the measurement that keeps it, and
``tests/shared/test_decoding.py`` holds the two equal on valid and broken messages alike
(other tests prove the SDK and Quorum read each other's messages). The
``data`` of each event type is a pydantic v2 model declared in :mod:`shared.contracts`
with its :class:`EventSpec`.

``type`` carries the schema version (``quorum.media.registered.v1``); a breaking
change is a new :class:`EventSpec` published side by side with the old one.
"""

from __future__ import annotations

import base64
import builtins
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, NotRequired, TypeVar, Union, cast

import pydantic_core
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    with_config,
)
from typing_extensions import TypedDict  # pydantic needs this one before Python 3.12

from shared.contracts.spec import EventSpec
from shared.events.envelope import Event

P = TypeVar("P", bound=BaseModel)
T_ = TypeVar("T_")

CONTENT_TYPE = "application/cloudevents+json"
#: The Kafka headers of every structured-mode event Quorum writes.
STRUCTURED_HEADERS = (("content-type", CONTENT_TYPE.encode()),)
_FORMAT = JSONFormat()
_REQUIRED_ATTRS = ("id", "source", "type")
_OPTIONAL_STR_ATTRS = ("subject", "datacontenttype", "dataschema")
_ENVELOPE_ATTRS = frozenset(
    {"id", "source", "type", "specversion", "time", "subject", "datacontenttype", "dataschema"}
)
_EXTENSION_NAME = re.compile(r"[a-z0-9]+")
#: Extension attributes Quorum reads into :class:`Event` fields rather than ``extensions``.
_READ_EXTENSIONS = frozenset({"tenant", "traceparent", "partitionkey"})
_NOT_EXTENSIONS = _ENVELOPE_ATTRS | _READ_EXTENSIONS | {"data", "data_base64"}


class BadEvent(ValueError):
    """A message that is not a valid event of a known type; it goes to the dead-letter topic."""


class EventRegistry:
    """The event types a consumer understands, looked up by CloudEvents ``type``."""

    def __init__(self, specs: Iterable[EventSpec[Any]] = ()) -> None:
        self._specs: dict[str, EventSpec[Any]] = {}
        self._structured: TypeAdapter[dict[str, Any]] | None = None
        for spec in specs:
            self.add(spec)

    def add(self, spec: EventSpec[Any]) -> None:
        existing = self._specs.get(spec.type)
        if existing is not None and existing is not spec:
            raise ValueError(f"event type {spec.type} registered twice")
        self._specs[spec.type] = spec
        self._structured = None

    @property
    def structured(self) -> TypeAdapter[dict[str, Any]] | None:
        """Validator of a structured-mode event of any of these types, data included."""
        if self._structured is None and self._specs:
            self._structured = _structured_adapter(list(self._specs.values()))
        return self._structured

    def get(self, event_type: str) -> EventSpec[Any] | None:
        return self._specs.get(event_type)

    def __iter__(self) -> Any:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)


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
    return event.key.encode(), pydantic_core.to_json(attributes), list(STRUCTURED_HEADERS)


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
    tenant: str | None = None,
) -> Event[Any] | None:
    """Decode a Kafka message into a typed event.

    Returns ``None`` for a valid CloudEvent of a type this consumer does not
    handle (topics carry several types). Raises :class:`BadEvent` with the
    reason for anything else: not a CloudEvent, a known type whose data does
    not match its contract, a message key or ``tenant`` extension that
    contradicts the payload or the topic. The event's tenant is ``tenant``, the tenant of
    the message's topic when it is a per-tenant topic; else the ``tenant`` extension, else the
    payload's ``tenant``; handlers that need one check it is there.
    """
    if not value:
        raise BadEvent("empty message value")
    adapter = registry.structured
    if adapter is None or (headers and _is_binary_mode(headers)):
        return decode_checked(value, key, headers, registry, tenant)
    # Structured mode, the hot path: one pydantic-core call parses the JSON, checks
    # the envelope and validates the data against its contract. Anything it does not
    # accept (an unknown type, a malformed message) takes the checked path, which
    # accepts exactly the same valid events and names what is wrong with the others.
    try:
        attributes = adapter.validator.validate_json(value)
    except ValidationError:
        return decode_checked(value, key, headers, registry, tenant)
    names = attributes.keys() - _NOT_EXTENSIONS
    if (names and not all(_EXTENSION_NAME.fullmatch(name) for name in names)) or (
        "data_base64" in attributes
    ):
        return decode_checked(value, key, headers, registry, tenant)
    moment = attributes.get("time")
    if moment is not None:
        parsed = _parse_time(moment)
        if parsed is None:
            return decode_checked(value, key, headers, registry, tenant)
        attributes["time"] = parsed
    spec = registry.get(attributes["type"])
    if spec is None:  # the registry changed since the validator was built
        return decode_checked(value, key, headers, registry, tenant)
    payload = attributes.pop("data")
    return _typed(attributes, spec, payload, key, names, tenant)


def _is_binary_mode(headers: Sequence[tuple[str, bytes]]) -> bool:
    for name, _ in headers:  # noqa: SIM110 (a loop costs less than any() per message)
        if name.startswith("ce_"):
            return True
    return False


def decode_checked(
    value: bytes,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]] | None,
    registry: EventRegistry,
    tenant: str | None = None,
) -> Event[Any] | None:
    """Decode either content mode step by step, with the reason for whatever is wrong."""
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
        payload = _validate(spec.payload, data)
    except BadEvent as exc:
        raise BadEvent(f"{spec.type}: {exc}") from exc
    except ValidationError as exc:
        if spec.lenient is None:
            raise BadEvent(_validation_reason(spec, exc)) from exc
        try:
            payload = _validate(spec.lenient, data)
        except ValidationError:
            raise BadEvent(_validation_reason(spec, exc)) from exc
    return _typed(attributes, spec, payload, key, attributes.keys() - _NOT_EXTENSIONS, tenant)


def _validate(model: builtins.type[BaseModel], data: Any) -> BaseModel:
    if isinstance(data, (bytes, str)):
        return model.model_validate_json(data)
    if isinstance(data, dict):
        return model.model_validate(data)
    raise BadEvent("data must be a JSON object")


def _not_ce(reason: str) -> BadEvent:
    return BadEvent(f"not a CloudEvents 1.0 message: {reason}")


def _parse_time(moment: Any) -> datetime | None:
    """An RFC 3339 timestamp with an offset, else ``None``."""
    try:
        parsed = datetime.fromisoformat(moment) if isinstance(moment, str) else None
    except ValueError:
        return None
    if parsed is None or parsed.tzinfo is None:
        return None
    return parsed


def _read_structured(value: bytes) -> tuple[dict[str, Any], Any]:
    """Read a structured-mode JSON event and check its attributes as CloudEvents 1.0 says.

    The checks are those of the SDK's :class:`CloudEvent` constructor (required
    attributes present, non-empty strings; optional ones well typed; extension
    names lowercase letters and digits).
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
        parsed = _parse_time(attributes["time"])
        if parsed is None:
            raise _not_ce("time must be an RFC 3339 timestamp with an offset")
        attributes["time"] = parsed
    return attributes, data


def _typed(
    attrs: Mapping[str, Any],
    spec: EventSpec[Any],
    payload: BaseModel,
    key: bytes | None,
    extension_names: Set[str],
    topic_tenant: str | None,
) -> Event[Any]:
    expected_key = spec.key(payload)
    if key is not None and key.decode("utf-8", "replace") != expected_key:
        raise BadEvent(
            f"{spec.type}: message key {key!r} does not match the payload key {expected_key!r}"
        )
    extensions = {name: attrs[name] for name in extension_names}
    tenant = attrs.get("tenant")
    if tenant is not None and not isinstance(tenant, str):
        raise BadEvent(f"{spec.type}: tenant extension must be a string")
    if topic_tenant is not None:
        if tenant is not None and tenant != topic_tenant:
            raise BadEvent(
                f"{spec.type}: tenant extension {tenant!r} differs from the tenant of the "
                f"topic, {topic_tenant!r}: publish to that tenant's topic"
            )
        tenant = topic_tenant
    # a field, read from the instance dict: getattr on a model without one is slow
    data_tenant = payload.__dict__.get("tenant")
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


_NonEmptyString = Annotated[str, StringConstraints(strict=True, min_length=1)]


@with_config(ConfigDict(extra="allow"))
class _StructuredEvent(TypedDict, Generic[T_, P]):
    """A structured-mode event of type ``T_`` (a ``Literal``) with data ``P``; extensions pass."""

    id: _NonEmptyString
    source: _NonEmptyString
    type: T_
    specversion: Literal["1.0"]
    time: NotRequired[_NonEmptyString]
    subject: NotRequired[_NonEmptyString]
    datacontenttype: NotRequired[_NonEmptyString]
    dataschema: NotRequired[_NonEmptyString]
    data: P


def _structured_adapter(specs: Sequence[EventSpec[Any]]) -> TypeAdapter[dict[str, Any]]:
    """One validator for the structured events of ``specs``, chosen by their ``type``."""
    envelope: Any = _StructuredEvent  # parametrised at run time: a type checker cannot follow
    literal: Any = Literal
    members = [envelope[literal[spec.type], spec.payload] for spec in specs]
    schema: Any = (
        members[0]
        if len(members) == 1
        else Annotated[Union[tuple(members)], Field(discriminator="type")]  # noqa: UP007
    )
    return TypeAdapter(schema)


def _validation_reason(spec: EventSpec[Any], exc: ValidationError) -> str:
    problems = "; ".join(
        f"data.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()[:20]
    )
    return f"{spec.type}: data does not match the contract: {problems}"
