"""The one-call structured decoder reads every message exactly as the step-by-step one does:
the same event from a valid message, the same reason from a broken one, the same silence
for a type the consumer does not handle."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.events import codec
from shared.events.codec import BadEvent, EventRegistry, decode, decode_checked
from tests.shared.bus_world import ITEM_NOTED, THING_CHANGED

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
