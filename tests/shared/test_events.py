"""The CloudEvents envelope: round trip, interoperability with the official SDK, bad input."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.contracts.catalog import ALL_EVENTS
from shared.contracts.media import (
    MEDIA_REJECTED,
    REGISTRATION_REQUESTED,
    MediaRegistration,
    MediaRejectedV1,
    RegistrationRequest,
    RejectionReason,
)
from shared.contracts.spec import EventSpec
from shared.events.codec import BadEvent, EventRegistry, decode, encode
from shared.events.envelope import make_event
from shared.events.trace import child_traceparent, new_event_id, trace_id_of

REGISTRY = EventRegistry(ALL_EVENTS)


def rejected(tenant: str = "acme") -> MediaRejectedV1:
    return MediaRejectedV1(
        external_id="ext-1",
        tenant=tenant,
        reasons=[RejectionReason(field="project_id", message="unknown project")],
        rejected_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_round_trip_keeps_every_attribute() -> None:
    event = make_event(MEDIA_REJECTED, rejected(), source="/quorum/ingest", tenant="acme")
    key, value, headers = encode(event)
    assert dict(headers)["content-type"] == b"application/cloudevents+json"
    body = json.loads(value)
    assert body["specversion"] == "1.0"
    assert body["type"] == "quorum.media.rejected.v1"
    assert body["tenant"] == "acme"
    decoded = decode(value, key=key, headers=headers, registry=REGISTRY)
    assert decoded is not None
    assert decoded.id == event.id
    assert decoded.data == event.data
    assert decoded.key == "ext-1"
    assert decoded.tenant == "acme"
    assert decoded.trace_id == trace_id_of(event.traceparent)


def test_official_sdk_reads_what_quorum_writes() -> None:
    event = make_event(MEDIA_REJECTED, rejected(), source="/quorum/ingest", tenant="acme")
    key, value, headers = encode(event)
    message = ce_kafka.KafkaMessage(headers=dict(headers), key=key, value=value)
    ce = ce_kafka.from_structured(message, JSONFormat(), CloudEvent)
    assert ce.get_id() == event.id
    assert ce.get_type() == "quorum.media.rejected.v1"
    assert ce.get_extension("tenant") == "acme"
    assert ce.get_data()["reasons"][0]["field"] == "project_id"  # type: ignore[index]


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_quorum_reads_what_the_official_sdk_writes(mode: str) -> None:
    ce = CloudEvent(
        {
            "id": "evt-1",
            "source": "https://client.example/registrar",
            "type": "quorum.media.registration_requested.v1",
            "tenant": "acme",
            "partitionkey": "ext-9",
            "datacontenttype": "application/json",
        },
        {
            "external_id": "ext-9",
            "project_id": "p1",
            "modality": "text",
            "media": {
                "modality": "text",
                "uri": "https://cdn.example/a.txt",
                "sha256": "a" * 64,
                "size_bytes": 10,
                "language": "en",
                "length_chars": 10,
            },
        },
    )
    writer = ce_kafka.to_structured if mode == "structured" else ce_kafka.to_binary
    message = writer(ce, JSONFormat())
    decoded = decode(
        message.value,
        key=message.key if isinstance(message.key, bytes) else (message.key or "").encode(),
        headers=list(message.headers.items()),
        registry=REGISTRY,
    )
    assert decoded is not None
    assert decoded.type == REGISTRATION_REQUESTED.type
    assert decoded.tenant == "acme"
    assert decoded.data.external_id == "ext-9"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty"),
        (b"\xff\xfe not json", "not a CloudEvents"),
        (b"[1,2,3]", "not a CloudEvents"),
        (b'{"id": "1", "type": "x"}', "not a CloudEvents"),
    ],
)
def test_garbage_is_a_bad_event_with_a_reason(value: bytes, reason: str) -> None:
    with pytest.raises(BadEvent, match=reason):
        decode(value, key=None, headers=[], registry=REGISTRY)


def test_known_type_with_wrong_data_names_the_field() -> None:
    body = {
        "id": "1",
        "source": "/x",
        "type": "quorum.media.rejected.v1",
        "specversion": "1.0",
        "data": {"external_id": "e", "tenant": "acme", "reasons": [], "rejected_at": "nope"},
    }
    with pytest.raises(BadEvent) as info:
        decode(json.dumps(body).encode(), key=b"e", headers=[], registry=REGISTRY)
    assert "data.reasons" in str(info.value)
    assert "data.rejected_at" in str(info.value)


def _request(
    data: object, mode: str = "structured", tenant: str | None = "acme"
) -> tuple[bytes, list[tuple[str, bytes]]]:
    attributes = {"id": "req-1", "source": "/client", "type": REGISTRATION_REQUESTED.type}
    if tenant is not None:
        attributes["tenant"] = tenant
    event = CloudEvent(attributes=attributes, data=data)  # type: ignore[arg-type]
    to = ce_kafka.to_structured if mode == "structured" else ce_kafka.to_binary
    message = to(event, JSONFormat())
    return message.value, list(message.headers.items())


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_a_lenient_spec_reads_bad_data_loosely_and_good_data_strictly(mode: str) -> None:
    registry = EventRegistry([REGISTRATION_REQUESTED])
    good = {
        "external_id": "e1",
        "project_id": "p",
        "modality": "text",
        "media": {
            "modality": "text",
            "uri": "s3://b/e1.txt",
            "sha256": "a" * 64,
            "size_bytes": 3,
            "language": "en",
            "length_chars": 3,
        },
    }
    value, headers = _request(good, mode)
    decoded = decode(value, key=b"e1", headers=headers, registry=registry)
    assert decoded is not None and isinstance(decoded.data, MediaRegistration)
    bad = {**good, "modality": "smell", "media": {"uri": "ftp://x"}}
    value, headers = _request(bad, mode)
    decoded = decode(value, key=b"e1", headers=headers, registry=registry)
    assert decoded is not None and type(decoded.data) is RegistrationRequest
    assert decoded.data.external_id == "e1" and decoded.tenant == "acme"
    # data the lenient model cannot read either is still a bad event, with the strict reasons
    value, headers = _request({"project_id": "p"}, mode)
    with pytest.raises(BadEvent, match=r"data\.external_id"):
        decode(value, key=None, headers=headers, registry=registry)


def test_unknown_type_is_ignored_not_dead_lettered() -> None:
    body = {
        "id": "1",
        "source": "/x",
        "type": "com.other.thing.v1",
        "specversion": "1.0",
        "data": {},
    }
    assert decode(json.dumps(body).encode(), key=None, headers=[], registry=REGISTRY) is None


def test_key_and_tenant_must_match_the_payload() -> None:
    event = make_event(MEDIA_REJECTED, rejected(), source="/quorum/ingest", tenant="acme")
    _, value, headers = encode(event)
    with pytest.raises(BadEvent, match="key"):
        decode(value, key=b"other", headers=headers, registry=REGISTRY)
    spoofed = make_event(MEDIA_REJECTED, rejected(tenant="acme"), source="/x", tenant="evil")
    key, value, headers = encode(spoofed)
    with pytest.raises(BadEvent, match="tenant"):
        decode(value, key=key, headers=headers, registry=REGISTRY)


def test_type_must_carry_a_version() -> None:
    with pytest.raises(ValueError, match="version"):
        EventSpec(
            type="quorum.media.registered",
            topic=MEDIA_REJECTED.topic,
            payload=MediaRejectedV1,
            key=lambda d: d.external_id,
            producer="x",
            summary="x",
        )


def test_trace_context_continues_the_trace() -> None:
    event = make_event(MEDIA_REJECTED, rejected(), source="/x", tenant="acme")
    child = child_traceparent(event.traceparent)
    assert trace_id_of(child) == event.trace_id
    assert child != event.traceparent
    assert trace_id_of(child_traceparent(None)) is not None


def test_every_contract_type_is_unique_and_versioned() -> None:
    types = [spec.type for spec in ALL_EVENTS]
    assert len(types) == len(set(types))
    assert all(t.startswith("quorum.") and t.rsplit(".", 1)[1].startswith("v") for t in types)


def _structured(**changes: object) -> bytes:
    """A valid structured-mode ``quorum.media.rejected.v1`` event, with ``changes`` applied
    (a value of ``None`` removes the attribute)."""
    event = make_event(MEDIA_REJECTED, rejected(), source="/quorum/ingest", tenant="acme")
    body = json.loads(encode(event)[1])
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return json.dumps(body).encode()


def test_extensions_and_optional_attributes_are_read() -> None:
    value = _structured(myext="v1", partitionkey="ext-1", subject=None, time=None)
    decoded = decode(value, key=b"ext-1", headers=[], registry=REGISTRY)
    assert decoded is not None
    assert decoded.extensions == {"myext": "v1"}
    assert decoded.subject is None
    assert decoded.time.tzinfo is not None  # no time attribute: the time it was read


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"specversion": "0.3"}, "specversion"),
        ({"id": ""}, "'id' must be a non-empty string"),
        ({"source": 7}, "'source' must be a non-empty string"),
        ({"subject": ""}, "'subject' must be a non-empty string"),
        ({"time": "2026-01-02T03:04:05"}, "time must be an RFC 3339 timestamp"),
        ({"time": "yesterday"}, "time must be an RFC 3339 timestamp"),
        ({"Bad_Name": "x"}, "extension attribute name"),
        ({"data_base64": "e30="}, "data_base64"),
        ({"data": None}, "data must be a JSON object"),
        ({"tenant": "evil"}, "differs from data.tenant"),
    ],
)
def test_malformed_structured_events_name_the_problem(
    changes: dict[str, object], reason: str
) -> None:
    with pytest.raises(BadEvent, match=reason):
        decode(_structured(**changes), key=b"ext-1", headers=[], registry=REGISTRY)


def test_a_registry_reads_only_its_types_and_learns_new_ones() -> None:
    registry = EventRegistry([REGISTRATION_REQUESTED])
    assert decode(_structured(), key=b"ext-1", headers=[], registry=registry) is None
    registry.add(MEDIA_REJECTED)
    decoded = decode(_structured(), key=b"ext-1", headers=[], registry=registry)
    assert decoded is not None and decoded.type == MEDIA_REJECTED.type


def test_event_ids_are_random_uuids() -> None:
    ids = [new_event_id() for _ in range(1000)]
    assert len(set(ids)) == len(ids)
    for event_id in ids:
        parsed = uuid.UUID(event_id)
        assert str(parsed) == event_id
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


@pytest.mark.parametrize("mode", ["structured", "binary"])
def test_an_event_of_a_tenants_topic_is_that_tenants_whatever_it_claims(mode: str) -> None:
    registry = EventRegistry([REGISTRATION_REQUESTED])
    data = {"external_id": "e1"}
    for claimed in (None, "acme"):
        value, headers = _request(data, mode, tenant=claimed)
        decoded = decode(value, key=None, headers=headers, registry=registry, tenant="acme")
        assert decoded is not None and decoded.tenant == "acme"
    value, headers = _request(data, mode, tenant="beta")
    with pytest.raises(BadEvent, match=r"tenant extension 'beta' differs from .* 'acme'"):
        decode(value, key=None, headers=headers, registry=registry, tenant="acme")
