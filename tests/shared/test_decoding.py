"""The one-call structured decoder reads every message exactly as the step-by-step one does:
the same event from a valid message, the same reason from a broken one, the same silence
for a type the consumer does not handle."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.spec import Contract, EventSpec
from shared.events import codec
from shared.events.codec import BadEvent, EventRegistry, decode, decode_checked, encode
from shared.events.envelope import make_event
from tests.shared.bus_world import ITEM_NOTED, THING_CHANGED, ThingChanged

REGISTRY = EventRegistry([THING_CHANGED, ITEM_NOTED])
HEADERS = [("content-type", b"application/cloudevents+json")]

junk = st.one_of(st.just(""), st.integers(), st.none(), st.text(max_size=4))

#: Ways to break (or vary) a valid message, applied zero to two at a time.
MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "id": junk,
    "source": junk,
    "type": st.sampled_from([ITEM_NOTED.type, "it.other.v1", 7, ""]),
    "specversion": st.sampled_from(["0.3", 1]),
    "time": st.sampled_from(
        ["2024-05-01T10:00:00+02:00", "2024-05-01T10:00:00", "yesterday", 5, None]
    ),
    "subject": junk,
    "tenant": st.sampled_from(["globex", 5, None]),
    "colour": st.text(max_size=3),  # a well-named extension
    "Bad_Name": st.just("x"),  # not a valid extension name
    "data_base64": st.just("e30="),
    "data": st.one_of(
        st.fixed_dictionaries({"thing_id": st.just("t1"), "n": st.text(max_size=2)}),
        st.fixed_dictionaries({"item_id": st.just("t1"), "tenant": st.just("acme")}),
        st.text(max_size=4),
        st.none(),
    ),
}


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, bytes | None]:
    attributes: dict[str, Any] = {
        "id": "e-1",
        "source": "/test",
        "type": draw(st.sampled_from([THING_CHANGED.type] * 5 + ["it.other.v1"])),
        "specversion": "1.0",
        "time": "2024-05-01T10:00:00.250Z",
        "tenant": "acme",
        "data": {"thing_id": "t1", "n": draw(st.integers(-5, 5)), "fail": draw(st.booleans())},
    }
    for name in draw(st.lists(st.sampled_from(sorted(MUTATIONS)), max_size=2, unique=True)):
        if draw(st.integers(0, 4)) == 0:
            attributes.pop(name, None)  # left out
        else:
            attributes[name] = draw(MUTATIONS[name])
    key = draw(st.sampled_from([b"t1", b"t1", b"t2", None]))
    return json.dumps(attributes).encode(), key


def outcome(read: Any, value: bytes, key: bytes | None) -> Any:
    try:
        event = read(value, key=key, headers=HEADERS, registry=REGISTRY)
    except BadEvent as exc:
        return ("bad", str(exc))
    if event is None:
        return None
    fields = {
        name: getattr(event, name)
        for name in ("id", "type", "source", "data", "key", "tenant", "subject", "traceparent")
    }
    fields["extensions"] = dict(event.extensions)
    if b'"time"' in value:  # without one, each read takes the time it is read at
        fields["time"] = event.time
    return fields


def checked(value: bytes, *, key: bytes | None, headers: Any, registry: EventRegistry) -> Any:
    return decode_checked(value, key, headers, registry)


@settings(max_examples=400)
@given(messages())
def test_the_fast_decoder_reads_every_message_as_the_checked_one(
    message: tuple[bytes, bytes | None],
) -> None:
    value, key = message
    assert outcome(decode, value, key) == outcome(checked, value, key)


def test_a_valid_message_takes_the_fast_path_and_gives_the_same_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = json.dumps(
        {
            "id": "e-1",
            "source": "/test",
            "type": THING_CHANGED.type,
            "specversion": "1.0",
            "time": "2024-05-01T10:00:00Z",
            "tenant": "acme",
            "data": {"thing_id": "t1", "n": 3},
        }
    ).encode()
    plain = outcome(checked, value, b"t1")

    def not_taken(*_: Any) -> None:
        raise AssertionError("a valid structured event fell back to the checked path")

    monkeypatch.setattr(codec, "decode_checked", not_taken)
    fast = outcome(decode, value, b"t1")
    assert isinstance(fast, dict) and fast["data"].n == 3
    assert fast == plain


def _binary(key: bytes) -> tuple[bytes, list[tuple[str, bytes]]]:
    """A valid event in binary content mode (written by the CloudEvents SDK)."""
    ce = CloudEvent(
        {"id": "e-1", "source": "/test", "type": THING_CHANGED.type, "tenant": "acme"},
        {"thing_id": "t1", "n": 3},
    )
    message = ce_kafka.to_binary(ce, JSONFormat())
    return message.value, list(message.headers.items())


def _base64() -> tuple[bytes, list[tuple[str, bytes]]]:
    """A valid structured event whose data is in ``data_base64``."""
    encoded = base64.b64encode(json.dumps({"thing_id": "t1", "n": 3}).encode()).decode()
    attributes = {
        "id": "e-1",
        "source": "/test",
        "type": THING_CHANGED.type,
        "specversion": "1.0",
        "tenant": "acme",
        "data_base64": encoded,
    }
    return json.dumps(attributes).encode(), HEADERS


#: Valid messages the fast decoder hands to the checked one, one per reason it does.
FALLBACKS = {"binary-mode": _binary, "data-base64": lambda _key: _base64()}


@pytest.mark.parametrize("make", FALLBACKS.values(), ids=list(FALLBACKS))
@pytest.mark.parametrize(
    ("key", "tenant"),
    [
        (b"t1", None),
        (b"t2", None),  # a key the payload contradicts
        (b"t1", "globex"),  # the topic's tenant, not the one the event claims
        (b"t1", "acme"),
    ],
)
def test_a_message_the_fast_decoder_passes_on_is_checked_with_its_key_and_tenant(
    make: Any, key: bytes, tenant: str | None
) -> None:
    value, headers = make(key)

    def read(decoder: Any) -> Any:
        try:
            event = decoder(value, key=key, headers=headers, registry=REGISTRY, tenant=tenant)
        except BadEvent as exc:
            return ("bad", str(exc))
        return event and (event.key, event.tenant, event.data, event.id)

    def step_by_step(value: bytes, **named: Any) -> Any:
        return decode_checked(value, named["key"], named["headers"], REGISTRY, named["tenant"])

    fast, checked_ = read(decode), read(step_by_step)
    assert fast == checked_
    accepted = key == b"t1" and tenant != "globex"
    assert (fast[0] != "bad") == accepted, fast


def _value(**changes: Any) -> bytes:
    attributes = {
        "id": "e-1",
        "source": "/test",
        "type": THING_CHANGED.type,
        "specversion": "1.0",
        "time": "2024-05-01T10:00:00Z",
        "data": {"thing_id": "t1", "n": 3},
        **changes,
    }
    return json.dumps({k: v for k, v in attributes.items() if v is not ...}).encode()


NOT_CE = "not a CloudEvents 1.0 message: "


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"[1]", NOT_CE + "the value is not a JSON object"),
        (_value(specversion="0.3"), NOT_CE + "specversion '0.3'"),
        (_value(specversion=...), NOT_CE + "specversion None"),
        (
            _value(data_base64=5, data=...),
            NOT_CE + "data_base64 must be a string and excludes data",
        ),
        (_value(data_base64="e30="), NOT_CE + "data_base64 must be a string and excludes data"),
        (_value(time="yesterday"), NOT_CE + "time must be an RFC 3339 timestamp with an offset"),
        (_value(tenant=5), "it.thing.changed.v1: tenant extension must be a string"),
        (
            _value(data={"thing_id": "t1", "n": "x", "fail": "maybe"}),
            "it.thing.changed.v1: data does not match the contract: data.n: Input should be a "
            "valid integer, unable to parse string as an integer; data.fail: Input should be a "
            "valid boolean, unable to interpret input",
        ),
    ],
)
def test_each_refusal_says_exactly_what_is_wrong(value: bytes, reason: str) -> None:
    for read in (decode, checked):
        with pytest.raises(BadEvent) as caught:
            read(value, key=None, headers=HEADERS, registry=REGISTRY)
        assert str(caught.value) == reason


def test_a_value_that_is_not_json_says_so_with_the_parsers_reason() -> None:
    with pytest.raises(BadEvent) as caught:
        decode(b"{nope", key=None, headers=HEADERS, registry=REGISTRY)
    assert str(caught.value).startswith(NOT_CE + "the value is not JSON (")


def test_data_in_base64_is_decoded_as_the_data() -> None:
    value = _value(data=..., data_base64="eyJ0aGluZ19pZCI6ICJ0MSIsICJuIjogNH0=")
    event = decode(value, key=b"t1", headers=HEADERS, registry=REGISTRY)
    assert event is not None and (event.data.thing_id, event.data.n) == ("t1", 4)


def test_a_key_that_is_not_utf8_is_compared_as_read_with_replacements() -> None:
    with pytest.raises(BadEvent) as caught:
        decode(_value(), key=b"t\xff", headers=HEADERS, registry=REGISTRY)
    assert str(caught.value) == (
        "it.thing.changed.v1: message key b't\\xff' does not match the payload key 't1'"
    )


def test_an_event_keeps_its_source_subject_topic_and_trace_context() -> None:
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    value = _value(subject="t1-subject", traceparent=trace, source="/things")
    for read in (decode, checked):
        event = read(value, key=b"t1", headers=HEADERS, registry=REGISTRY)
        assert event is not None
        assert (event.source, event.subject, event.topic, event.traceparent) == (
            "/things",
            "t1-subject",
            THING_CHANGED.topic,
            trace,
        )
    untraced = decode(_value(traceparent=...), key=b"t1", headers=HEADERS, registry=REGISTRY)
    assert untraced is not None and untraced.traceparent is None


@pytest.mark.parametrize(
    "specs", [[THING_CHANGED], [ITEM_NOTED, THING_CHANGED]], ids=["one", "two"]
)
def test_every_registered_type_takes_the_fast_path(
    specs: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = EventRegistry(specs)

    def not_taken(*_: Any) -> None:
        raise AssertionError("a valid structured event fell back to the checked path")

    monkeypatch.setattr(codec, "decode_checked", not_taken)
    event = decode(_value(), key=b"t1", headers=HEADERS, registry=registry)
    assert event is not None and event.type == THING_CHANGED.type


def test_a_type_registered_twice_by_another_spec_is_refused() -> None:
    registry = EventRegistry([THING_CHANGED])
    registry.add(THING_CHANGED)  # the same spec again: nothing changes
    twin = type(THING_CHANGED)(**{**THING_CHANGED.__dict__})
    with pytest.raises(ValueError, match=r"^event type it.thing.changed.v1 registered twice$"):
        registry.add(twin)
    assert registry.get(THING_CHANGED.type) is THING_CHANGED


def test_an_encoded_event_says_its_data_is_json_and_keeps_its_instant() -> None:
    berlin = datetime(2024, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    naive = datetime(2024, 5, 1, 10, 0)
    for moment, instant in [(berlin, "2024-05-01T12:00:00+02:00"), (naive, "2024-05-01T10:00:00Z")]:
        event = make_event(
            THING_CHANGED, ThingChanged(thing_id="t1", n=1), source="/t", tenant=None, time=moment
        )
        _, value, _ = encode(event)
        attributes = json.loads(value)
        assert attributes["datacontenttype"] == "application/json"
        decoded = decode(value, key=b"t1", headers=HEADERS, registry=REGISTRY)
        assert decoded is not None
        assert decoded.time == datetime.fromisoformat(instant)
        assert decoded.time.utcoffset() is not None


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"time": 5}, NOT_CE + "time must be an RFC 3339 timestamp with an offset"),
        ({"data": 5}, "it.thing.changed.v1: data must be a JSON object"),
    ],
)
def test_a_time_or_data_of_the_wrong_type_is_refused_by_name(
    changes: dict[str, Any], reason: str
) -> None:
    for read in (decode, checked):
        with pytest.raises(BadEvent) as caught:
            read(_value(**changes), key=None, headers=HEADERS, registry=REGISTRY)
        assert str(caught.value) == reason


def test_an_event_read_from_a_tenants_topic_is_that_tenants_on_the_fast_path_too() -> None:
    plain = decode(_value(), key=b"t1", headers=HEADERS, registry=REGISTRY, tenant="globex")
    assert plain is not None and plain.tenant == "globex"
    with pytest.raises(BadEvent) as caught:
        decode(
            _value(tenant="acme"), key=b"t1", headers=HEADERS, registry=REGISTRY, tenant="globex"
        )
    assert str(caught.value) == (
        "it.thing.changed.v1: tenant extension 'acme' differs from the tenant of the topic, "
        "'globex': publish to that tenant's topic"
    )


def test_a_valid_message_with_an_extension_takes_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def not_taken(*_: Any) -> None:
        raise AssertionError("a valid structured event fell back to the checked path")

    monkeypatch.setattr(codec, "decode_checked", not_taken)
    event = decode(_value(colour="red"), key=b"t1", headers=HEADERS, registry=REGISTRY)
    assert event is not None and event.extensions == {"colour": "red"}


def test_a_binary_message_missing_attributes_says_which() -> None:
    with pytest.raises(BadEvent) as caught:
        decode(b"{}", key=b"k", headers=[("ce_id", b"1")], registry=REGISTRY)
    reason = str(caught.value)
    assert reason.startswith("not a CloudEvents 1.0 message: ")
    assert "Missing required attribute: 'source'" in reason


class Things(Contract):
    things: list[ThingChanged]


THINGS_NOTED: EventSpec[Things] = EventSpec(
    type="it.things.noted.v1",
    topic=THING_CHANGED.topic,
    payload=Things,
    key=lambda d: "batch",
    producer="test",
    summary="many things",
)


def test_a_contract_refusal_names_nested_fields_and_at_most_twenty() -> None:
    registry = EventRegistry([THINGS_NOTED])
    bad = [{"thing_id": "t", "n": "x"} for _ in range(25)]
    value = _value(type=THINGS_NOTED.type, data={"things": bad})
    for read in (decode, checked):
        with pytest.raises(BadEvent) as caught:
            read(value, key=None, headers=HEADERS, registry=registry)
        problems = str(caught.value).split(": data does not match the contract: ")[1].split("; ")
        assert len(problems) == 20
        assert problems[0] == (
            "data.things.0.n: Input should be a valid integer, unable to parse string as an integer"
        )


def test_a_registry_of_no_types_reads_every_event_as_not_its_own() -> None:
    assert decode(_value(), key=b"t1", headers=HEADERS, registry=EventRegistry()) is None


def test_an_empty_message_says_so() -> None:
    for value in (b"", None):
        with pytest.raises(BadEvent) as caught:
            decode(value, key=None, headers=HEADERS, registry=REGISTRY)
        assert str(caught.value) == "empty message value"
