"""Ingest's Kafka entry point against the real servers: any CloudEvents producer can
register media on its tenant's request topic; bad requests get a rejection event, undecodable
ones and ones claiming another tenant a dead letter."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.contracts.media import MEDIA, MEDIA_REGISTERED, MEDIA_REJECTED, MEDIA_REQUESTS
from shared.events.codec import EventRegistry, decode
from shared.kafka.dead_letters import dead_letter_reason
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.ingest.bodies import audio_file, image_file, prelabels, registration, video_file
from tests.ingest.conftest import IngestUnderTest
from tests.kafka_helpers import eventually, key_beside, produce, read_all, read_topic
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

OUTCOMES = EventRegistry([MEDIA_REGISTERED, MEDIA_REJECTED])


def sdk_message(
    data: dict[str, Any],
    *,
    mode: str = "structured",
    tenant: str | None = "acme",
    event_id: str | None = None,
) -> tuple[bytes | None, bytes, list[tuple[str, bytes]]]:
    """A registration request written by the official cloudevents SDK's Kafka binding."""
    attributes = {
        "id": event_id or str(uuid.uuid4()),
        "source": "https://client.example/uploader",
        "type": "quorum.media.registration_requested.v1",
        "datacontenttype": "application/json",
        "partitionkey": data.get("external_id", "x"),
    }
    if tenant:
        attributes["tenant"] = tenant
    writer = ce_kafka.to_structured if mode == "structured" else ce_kafka.to_binary
    message = writer(CloudEvent(attributes, data), JSONFormat())
    key = message.key if isinstance(message.key, bytes) else (message.key or "").encode()
    return key, message.value, list(message.headers.items())


def requests_topic(ingest: IngestUnderTest, tenant: str = "acme") -> str:
    return f"{ingest.settings.topic_prefix}{MEDIA_REQUESTS.of_tenant(tenant)}"


async def send(
    ingest: IngestUnderTest,
    *messages: tuple[bytes | None, bytes, list[tuple[str, bytes]]],
    tenant: str = "acme",
) -> None:
    topic = requests_topic(ingest, tenant)
    await produce(ingest.settings.kafka_bootstrap_servers, topic, list(messages))


async def outcomes(ingest: IngestUnderTest, external_id: str) -> list[Any]:
    topic = f"{ingest.settings.topic_prefix}{MEDIA.name}"
    records = await read_all(ingest.settings.kafka_bootstrap_servers, topic)
    found = []
    for record in records:
        event = decode(record.value, key=record.key, headers=record.headers, registry=OUTCOMES)
        if event is not None and event.data.external_id == external_id:
            found.append(event)
    return found


async def by_external_id(
    ingest: IngestUnderTest, external_id: str, tenant: str = "acme"
) -> dict[str, Any] | None:
    response = await ingest.client.get(
        "/v1/media/by-external-id",
        params={"external_id": external_id},
        headers=auth("client", tenant=tenant),
    )
    return response.json() if response.status_code == 200 else None  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["structured", "binary"])
async def test_a_cloudevents_sdk_producer_registers_media(
    ingest: IngestUnderTest, mode: str
) -> None:
    body = registration("image")
    event_id = str(uuid.uuid4())
    await send(ingest, sdk_message(body, mode=mode, event_id=event_id))
    item = await eventually(lambda: by_external_id(ingest, body["external_id"]))
    assert item["status"] == "queued" and item["media"]["sha256"] == body["media"]["sha256"]
    events = await eventually(lambda: outcomes(ingest, body["external_id"]))
    assert [e.type for e in events] == [MEDIA_REGISTERED.type]
    assert events[0].data.request_id == event_id and events[0].key == item["item_id"]

    # re-sent (a new event id, same registration) and redelivered (same id): nothing new
    await send(
        ingest, sdk_message(body, mode=mode), sdk_message(body, mode=mode, event_id=event_id)
    )
    partitions = ingest.settings.topic_partitions
    marker = registration("image", external_id=key_beside(body["external_id"], partitions))
    # on the re-sends' partition, after them: once it is through, they were too
    await send(ingest, sdk_message(marker))
    await eventually(lambda: outcomes(ingest, marker["external_id"]))
    assert len(await outcomes(ingest, body["external_id"])) == 1


async def test_bad_and_conflicting_requests_get_rejection_events(ingest: IngestUnderTest) -> None:
    bad = registration("image", project_id="nope", media=image_file(width=0))
    bad_id = str(uuid.uuid4())
    good = registration("image")
    conflicting = {**good, "media": image_file()}
    await send(ingest, sdk_message(bad, event_id=bad_id), sdk_message(good))
    await eventually(lambda: by_external_id(ingest, good["external_id"]))
    await send(ingest, sdk_message(conflicting))

    rejected = await eventually(lambda: outcomes(ingest, bad["external_id"]))
    assert [e.type for e in rejected] == [MEDIA_REJECTED.type]
    data = rejected[0].data
    assert data.request_id == bad_id and rejected[0].key == bad["external_id"]
    # the bad media and the unknown project, named together
    assert {r.field for r in data.reasons} == {"data.media.image.width", "data.project_id"}

    async def conflict_rejected() -> list[Any]:
        return [
            e for e in await outcomes(ingest, good["external_id"]) if e.type == MEDIA_REJECTED.type
        ]

    conflict = await eventually(conflict_rejected)
    assert conflict[0].data.reasons[0].field == "data.external_id"
    item = await by_external_id(ingest, good["external_id"])
    assert item is not None and item["media"]["sha256"] == good["media"]["sha256"]  # unchanged

    unknown_project = registration("image", project_id="nope")
    await send(ingest, sdk_message(unknown_project))
    refused = await eventually(lambda: outcomes(ingest, unknown_project["external_id"]))
    assert "unknown project" in refused[0].data.reasons[0].message

    # a refused request redelivered (same event id) is not refused twice
    await send(ingest, sdk_message(bad, event_id=bad_id))
    partitions = ingest.settings.topic_partitions
    marker = registration("image", external_id=key_beside(bad["external_id"], partitions))
    await send(ingest, sdk_message(marker))
    await eventually(lambda: outcomes(ingest, marker["external_id"]))
    assert len(await outcomes(ingest, bad["external_id"])) == 1


async def test_prelabels_outside_their_media_get_a_rejection_naming_each_field(
    ingest: IngestUnderTest,
) -> None:
    parts = [
        {"name": "clip", "role": "video", "media": video_file()},
        {"name": "track", "role": "audio_track", "media": audio_file(duration_s=10.0)},
    ]
    body = registration(
        "multimodal",
        parts=parts,
        prelabels=prelabels(
            {"class_id": "explosion", "part": "track", "segment": {"start_s": 1, "end_s": 25}},
            {
                "class_id": "car",
                "part": "clip",
                "geometry": {"kind": "mask", "size": [1, 1], "counts": [1]},
            },
        ),
    )
    await send(ingest, sdk_message(body))
    [rejected] = await eventually(lambda: outcomes(ingest, body["external_id"]))
    assert rejected.type == MEDIA_REJECTED.type
    assert [(r.field, r.message) for r in rejected.data.reasons] == [
        (
            "data.prelabels.labels.0.class_id",
            "class 'explosion' applies to video only; part 'track' is audio",
        ),
        ("data.prelabels.labels.0.segment.end_s", "ends at 25.0s, after the media's 10.0s"),
        ("data.prelabels.labels.1.geometry.size", "mask size [1, 1] is not [720, 1280]"),
    ]
    assert await by_external_id(ingest, body["external_id"]) is None


async def test_a_request_with_more_errors_than_a_rejection_holds_is_still_rejected_saying_so(
    ingest: IngestUnderTest,
) -> None:
    """1,500 pre-label segments past the track's end: 1,500 errors, more than the 1,000 reasons
    a rejection carries. The client still gets a rejection (not silence, not a dead letter):
    the first 999 reasons and one that counts the rest."""
    late = [{"class_id": "car", "segment": {"start_s": 9, "end_s": 12}}] * 1_500
    body = registration("video", prelabels=prelabels(*late))
    await send(ingest, sdk_message(body))
    [rejected] = await eventually(lambda: outcomes(ingest, body["external_id"]))
    assert rejected.type == MEDIA_REJECTED.type
    reasons = rejected.data.reasons
    assert len(reasons) == 1_000
    assert reasons[0].field == "data.prelabels.labels.0.segment.end_s"
    assert reasons[998].field == "data.prelabels.labels.998.segment.end_s"
    assert (reasons[-1].field, reasons[-1].message) == (
        "data",
        "and 501 more errors (only the first are listed)",
    )
    assert await by_external_id(ingest, body["external_id"]) is None


async def test_a_request_that_fails_its_schema_is_rejected_with_the_rule_errors_of_the_rest(
    ingest: IngestUnderTest,
) -> None:
    """A typo in an enum and a pre-label segment past the end of the track, in one
    rejection: the modality is taken from the media to check the rest."""
    body = {
        **registration(
            "video",
            prelabels=prelabels(
                {"class_id": "car", "confidence": 1.5},
                {"class_id": "car", "segment": {"start_s": 9, "end_s": 12}},
            ),
        ),
        "modality": "vidoe",
    }
    await send(ingest, sdk_message(body))
    [rejected] = await eventually(lambda: outcomes(ingest, body["external_id"]))
    assert rejected.type == MEDIA_REJECTED.type
    assert {r.field for r in rejected.data.reasons} == {
        "data.modality",
        "data.prelabels.labels.0.confidence",
        "data.prelabels.labels.1.segment.end_s",
    }
    assert await by_external_id(ingest, body["external_id"]) is None


async def test_a_request_belongs_to_the_tenant_of_its_topic(ingest: IngestUnderTest) -> None:
    """The tenant is the topic's: a request needs no tenant extension, and one on another
    tenant's topic registers there, not here."""
    untagged = registration("image")
    await send(ingest, sdk_message(untagged, tenant=None))
    item = await eventually(lambda: by_external_id(ingest, untagged["external_id"]))
    assert item["tenant"] == "acme"

    betas = registration("image", project_id="nope")  # beta has no such project: refused
    await send(ingest, sdk_message(betas, tenant="beta"), tenant="beta")
    refused = await eventually(lambda: outcomes(ingest, betas["external_id"]))
    assert [(e.type, e.tenant, e.data.tenant) for e in refused] == [
        (MEDIA_REJECTED.type, "beta", "beta")
    ]


async def test_a_tenant_added_while_ingest_runs_is_served_without_a_restart(
    ingest: IngestUnderTest,
) -> None:
    settings = kafka_settings(ingest.settings)
    await ensure_tenant_topics(settings, [MEDIA_REQUESTS], ["gamma"])
    body = registration("image", project_id="nope")
    await send(ingest, sdk_message(body, tenant=None), tenant="gamma")
    # found with the next metadata read (kafka_metadata_max_age_ms, 2 s here)
    refused = await eventually(lambda: outcomes(ingest, body["external_id"]), timeout=30)
    assert refused[0].tenant == "gamma" and "unknown project" in refused[0].data.reasons[0].message


async def test_poison_messages_are_dead_lettered_and_later_ones_flow(
    ingest: IngestUnderTest,
) -> None:
    after = registration("image")
    forged = registration("image")
    await send(
        ingest,
        (b"k1", b"\x00 not json at all", []),
        (b"k2", json.dumps({"specversion": "1.0", "id": "x"}).encode(), []),
        sdk_message(forged, tenant="beta"),  # on acme's topic, claiming to be beta's
        sdk_message(after),
    )
    await eventually(lambda: by_external_id(ingest, after["external_id"]))
    dlq = f"{requests_topic(ingest)}.dlq"

    async def dead_letters() -> list[Any]:
        records = await read_topic(ingest.settings.kafka_bootstrap_servers, dlq, count=3, timeout=5)
        return records if len(records) >= 3 else []

    records = await eventually(dead_letters)
    by_key = {r.key: r for r in records}
    assert by_key[b"k1"].value == b"\x00 not json at all"  # the original bytes
    assert "not a CloudEvents" in (dead_letter_reason(by_key[b"k1"].headers) or "")
    assert "not a CloudEvents" in (dead_letter_reason(by_key[b"k2"].headers) or "")
    reason = dead_letter_reason(by_key[forged["external_id"].encode()].headers) or ""
    assert "tenant extension 'beta' differs from the tenant of the topic, 'acme'" in reason
    for tenant in ("acme", "beta"):
        assert await by_external_id(ingest, forged["external_id"], tenant) is None


async def raw_outcomes(ingest: IngestUnderTest, external_id: str) -> list[Any]:
    topic = f"{ingest.settings.topic_prefix}{MEDIA.name}"
    records = await read_all(ingest.settings.kafka_bootstrap_servers, topic)
    return [r for r in records if json.loads(r.value)["data"].get("external_id") == external_id]
