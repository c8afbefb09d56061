"""Ingest over HTTP against the real servers: modalities, pre-labels, projects,
idempotency, batches, status from downstream events, lists, exports and access."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest.handlers import items
from services.ingest.handlers.projects import Projects
from shared.contracts.media import MEDIA, MEDIA_REGISTERED
from shared.contracts.vocabulary import Label
from shared.contracts.work import (
    ITEM_RESOLVED,
    PROJECT_CHANGED,
    WORK_CREATED,
    ItemResolvedV1,
    Resolution,
    WorkKind,
    WorkUnitEventV1,
)
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import make_event
from shared.http.service import service_of
from tests.ingest.bodies import (
    audio_file,
    image_file,
    prelabels,
    registration,
    text_file,
    video_file,
)
from tests.ingest.conftest import IngestUnderTest
from tests.kafka_helpers import caught_up, eventually, read_all
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

CLIENT = auth("client")


async def post(ingest: IngestUnderTest, body: Any, **headers: str) -> Any:
    return await ingest.client.post("/v1/media", json=body, headers={**CLIENT, **headers})


def fields(response: Any) -> set[str]:
    return {e["field"] for e in response.json()["errors"]}


@pytest.mark.parametrize("modality", ["image", "video", "audio", "text", "multimodal"])
async def test_each_modality_registers(ingest: IngestUnderTest, modality: str) -> None:
    body = registration(
        modality, capture={"device": "rig-2", "consent_ref": "c-9", "tags": ["studio"]}
    )
    response = await post(ingest, body)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["status"] == "queued" and item["modality"] == modality
    assert item["capture"]["consent_ref"] == "c-9"
    assert response.headers["location"] == f"/v1/media/{item['item_id']}"
    fetched = await ingest.client.get(f"/v1/media/{item['item_id']}", headers=CLIENT)
    assert fetched.json() == item


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            registration("image", media=image_file(width=0, sha256="XYZ", uri="ftp://x/y")),
            {"body.media.image.width", "body.media.image.sha256", "body.media.image.uri"},
        ),
        (
            registration(
                "video", media={**registration("video")["media"], "fps": 0, "frame_count": 0}
            ),
            {"body.media.video.fps", "body.media.video.frame_count"},
        ),
        (
            registration(
                "audio",
                media={**registration("audio")["media"], "sample_rate_hz": 0, "channels": 0},
            ),
            {"body.media.audio.sample_rate_hz", "body.media.audio.channels"},
        ),
        (
            registration("text", media={**registration("text")["media"], "language": "x"}),
            {"body.media.text.language"},
        ),
        (registration("image", media=None), {"body.media"}),
        (registration("image", media=registration("audio")["media"]), {"body.media.modality"}),
        (
            registration(
                "multimodal",
                parts=[
                    {"name": "a", "role": "source_image", "media": image_file()},
                    {"name": "a", "role": "edited_image", "media": image_file()},
                ],
            ),
            {"body.parts.1.name"},
        ),
        (registration("multimodal", media=image_file()), {"body.media"}),
        (
            registration("image", parts=[{"name": "a", "role": "x", "media": image_file()}]),
            {"body.parts"},
        ),
        (registration("image", surprise=1), {"body.surprise"}),
    ],
)
async def test_invalid_items_name_every_bad_field(
    ingest: IngestUnderTest, body: dict[str, Any], expected: set[str]
) -> None:
    response = await post(ingest, body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert expected <= fields(response), response.json()
    assert (
        await ingest.client.get(
            "/v1/media/by-external-id", params={"external_id": body["external_id"]}, headers=CLIENT
        )
    ).status_code == 404


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            registration(
                "image",
                prelabels=prelabels(
                    {
                        "class_id": "car",
                        "confidence": 0.9,
                        "geometry": {"kind": "box", "x": 600, "y": 10, "width": 100, "height": 20},
                    },
                ),
            ),
            {"body.prelabels.labels.0.geometry.width"},
        ),
        (
            registration("image", prelabels=prelabels({"class_id": "boat"})),
            {"body.prelabels.labels.0.class_id"},
        ),
        (
            registration(
                "image",
                prelabels=prelabels(
                    {"class_id": "car", "attributes": {"truncation": "heavy", "colour": "red"}},
                ),
            ),
            {
                "body.prelabels.labels.0.attributes.truncation",
                "body.prelabels.labels.0.attributes.colour",
            },
        ),
        (
            registration(
                "image",
                prelabels=prelabels(
                    {
                        "class_id": "person",
                        "geometry": {"kind": "polygon", "points": [[0, 0], [700, 0], [0, 5]]},
                    },
                ),
            ),
            {"body.prelabels.labels.0.geometry.points.1"},
        ),
        (
            registration(
                "image",
                prelabels=prelabels(
                    {
                        "class_id": "person",
                        "geometry": {"kind": "mask", "size": [10, 10], "counts": [100]},
                    },
                ),
            ),
            {"body.prelabels.labels.0.geometry.size"},
        ),
        (
            registration("image", prelabels=prelabels({"class_id": "siren"})),
            {"body.prelabels.labels.0.class_id"},
        ),
        (
            registration(
                "video",
                prelabels=prelabels(
                    {"class_id": "car", "segment": {"start_s": 9, "end_s": 12}},
                ),
            ),
            {"body.prelabels.labels.0.segment.end_s"},
        ),
        (
            registration(
                "audio",
                prelabels=prelabels(
                    {
                        "class_id": "siren",
                        "geometry": {"kind": "box", "x": 0, "y": 0, "width": 1, "height": 1},
                    },
                ),
            ),
            {"body.prelabels.labels.0.geometry"},
        ),
        (
            registration("image", prelabels=prelabels({"class_id": "car", "confidence": 1.5})),
            {"body.prelabels.labels.0.confidence"},
        ),
        (
            registration(
                "multimodal",
                prelabels=prelabels(
                    {
                        "class_id": "edit_ok",
                        "part": "nope",
                        "geometry": {"kind": "box", "x": 0, "y": 0, "width": 1, "height": 1},
                    },
                ),
            ),
            {"body.prelabels.labels.0.part"},
        ),
        (
            registration(
                "image", project_id="p-unpublished", prelabels=prelabels({"class_id": "car"})
            ),
            {"body.prelabels"},
        ),
        (registration("text", prelabels=prelabels({"class_id": "car"})), {"body.prelabels"}),
    ],
)
async def test_prelabels_are_checked_against_the_taxonomy_and_the_media(
    ingest: IngestUnderTest, body: dict[str, Any], expected: set[str]
) -> None:
    response = await post(ingest, body)
    assert response.status_code == 422, response.text
    assert expected <= fields(response), response.json()


def av_bundle(*labels: dict[str, Any]) -> dict[str, Any]:
    """A sync-review bundle (a video clip, its audio track, the transcript) with pre-labels."""
    parts = [
        {"name": "clip", "role": "video", "media": video_file()},
        {"name": "track", "role": "audio_track", "media": audio_file(duration_s=10.0)},
        {"name": "transcript", "role": "transcript", "media": text_file()},
    ]
    return registration("multimodal", parts=parts, prelabels=prelabels(*labels))


def on(modality: str, media: dict[str, Any], *labels: dict[str, Any]) -> dict[str, Any]:
    return registration(modality, media=media, prelabels=prelabels(*labels))


BOX = {"kind": "box", "x": 0, "y": 0, "width": 1, "height": 1}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            on(
                "image",
                image_file(width=4032, height=3024),
                {"class_id": "car", "geometry": {**BOX, "x": 5000, "width": 200}},
            ),
            "geometry.width",
            "x + width = 5200.0: not inside the 4032x3024 media",
        ),
        (
            on(
                "audio",
                audio_file(duration_s=10.0),
                {"class_id": "siren", "segment": {"start_s": 1, "end_s": 25}},
            ),
            "segment.end_s",
            "ends at 25.0s, after the media's 10.0s",
        ),
        (
            on("image", image_file(), {"class_id": "car", "segment": {"start_s": 0, "end_s": 1}}),
            "segment",
            "image media has no time segments",
        ),
        (
            av_bundle({"class_id": "car", "part": "thumbnail", "geometry": BOX}),
            "part",
            "no part named 'thumbnail'",
        ),
        (
            av_bundle({"class_id": "car", "part": "transcript", "geometry": BOX}),
            "geometry",
            "text media has no geometry",
        ),
        (
            av_bundle(
                {"class_id": "explosion", "part": "track", "segment": {"start_s": 1, "end_s": 2}}
            ),
            "class_id",
            "class 'explosion' applies to video only; part 'track' is audio",
        ),
    ],
    ids=[
        "box-past-the-image",
        "segment-past-the-audio",
        "segment-on-an-image",
        "unknown-part",
        "box-on-the-text-part",
        "video-class-on-the-audio-part",
    ],
)
async def test_prelabels_that_do_not_fit_their_media_are_refused_naming_the_field(
    ingest: IngestUnderTest, body: dict[str, Any], field: str, message: str
) -> None:
    response = await post(ingest, body)
    assert response.status_code == 422, response.text
    assert {"field": f"body.prelabels.labels.0.{field}", "message": message} in response.json()[
        "errors"
    ]
    stored = await ingest.client.get(
        "/v1/media/by-external-id", params={"external_id": body["external_id"]}, headers=CLIENT
    )
    assert stored.status_code == 404


async def test_a_video_class_on_the_video_part_of_a_bundle_is_registered(
    ingest: IngestUnderTest,
) -> None:
    segment = {"start_s": 1, "end_s": 2}
    body = av_bundle(
        {"class_id": "explosion", "part": "clip", "segment": segment},
        {"class_id": "siren", "part": "track", "segment": segment},
    )
    response = await post(ingest, body)
    assert response.status_code == 201, response.text


async def test_valid_prelabels_are_kept_with_the_project_taxonomy_version(
    ingest: IngestUnderTest,
) -> None:
    body = registration(
        "multimodal",
        prelabels=prelabels(
            {
                "class_id": "edit_ok",
                "part": "edited",
                "confidence": 0.7,
                "geometry": {"kind": "box", "x": 10, "y": 10, "width": 630, "height": 470},
            },
            {"class_id": "edit_ok", "text": "the sky was made orange"},
        ),
    )
    response = await post(ingest, body)
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["taxonomy"] == {"ontology_id": "street", "version": 1}
    assert len(item["prelabels"]["labels"]) == 2


@pytest.mark.parametrize(
    ("project_id", "modality", "message"),
    [
        ("nope", "image", "unknown project"),
        ("p-closed", "image", "is closed"),
        ("p-audio", "image", "takes audio items"),
    ],
)
async def test_unknown_closed_or_mismatched_projects_are_refused(
    ingest: IngestUnderTest, project_id: str, modality: str, message: str
) -> None:
    response = await post(ingest, registration(modality, project_id=project_id))
    assert response.status_code == 422
    assert any(message in e["message"] for e in response.json()["errors"]), response.json()


def box(x: float, width: float, **over: Any) -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": 0, "width": width, "height": 10, **over}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                **registration(
                    "video",
                    prelabels=prelabels(
                        {"class_id": "car", "confidence": 1.5},
                        {"class_id": "car", "segment": {"start_s": 9, "end_s": 12}},
                    ),
                ),
                "modality": "vidoe",
            },
            {
                "body.modality",
                "body.prelabels.labels.0.confidence",
                "body.prelabels.labels.1.segment.end_s",
            },
        ),
        (
            registration("image", project_id="nope", media=image_file(width=0)),
            {"body.media.image.width", "body.project_id"},
        ),
        (
            registration(
                "image",
                capture={"device": 7},
                prelabels={"model_name": "", "labels": [{"class_id": "boat"}]},
            ),
            {
                "body.capture.device",
                "body.prelabels.model_name",
                "body.prelabels.model_version",
                "body.prelabels.labels.0.class_id",
            },
        ),
        (
            registration(
                "multimodal",
                parts=[
                    {"name": "source", "role": "source_image", "media": image_file(width=0)},
                    {"name": "edited", "role": "edited_image", "media": image_file()},
                ],
                prelabels=prelabels(
                    {"class_id": "edit_ok", "part": "source", "geometry": box(0, 1)},
                    {"class_id": "edit_ok", "part": "edited", "geometry": box(600, 100)},
                    {"class_id": "boat", "part": "edited"},
                ),
            ),
            {
                "body.parts.0.media.image.width",
                "body.prelabels.labels.1.geometry.width",
                "body.prelabels.labels.2.class_id",
            },
        ),
        (
            registration(
                "multimodal",
                parts=[
                    {"name": "source", "role": "source_image", "media": image_file(width=0)},
                    {"name": "edited", "role": "edited_image", "media": image_file()},
                    {"name": "edited", "role": "edited_image", "media": image_file()},
                ],
            ),
            {"body.parts.0.media.image.width", "body.parts.2.name"},
        ),
        (
            registration("image", surprise=1, prelabels=prelabels({"class_id": "boat"})),
            {"body.surprise", "body.prelabels.labels.0.class_id"},
        ),
        (
            {"external_id": "only-an-id", "project_id": "nope"},
            {"body.modality", "body.project_id"},
        ),
    ],
    ids=[
        "enum-typo-and-a-segment-past-the-end",
        "bad-media-and-an-unknown-project",
        "bad-capture-and-model-and-an-unknown-class",
        "bad-part-and-labels-on-the-readable-parts",
        "bad-part-and-a-name-used-twice",
        "unknown-field-and-an-unknown-class",
        "no-modality-no-media-and-an-unknown-project",
    ],
)
async def test_a_schema_error_and_the_rule_errors_of_the_rest_are_named_together(
    ingest: IngestUnderTest, body: dict[str, Any], expected: set[str]
) -> None:
    """Every error at once: what fails the schema, and what the readable rest breaks; a rule
    error that only echoes an unreadable field (a missing media, a label on an unreadable
    part) is not named."""
    response = await post(ingest, body)
    assert response.status_code == 422, response.text
    assert fields(response) == expected, response.json()
    stored = await ingest.client.get(
        "/v1/media/by-external-id", params={"external_id": body["external_id"]}, headers=CLIENT
    )
    assert stored.status_code == 404


async def test_a_batch_item_that_fails_its_schema_names_the_rule_errors_of_its_rest_too(
    ingest: IngestUnderTest,
) -> None:
    bad = registration("image", surprise=1, prelabels=prelabels({"class_id": "boat"}))
    response = await ingest.client.post(
        "/v1/media/batch", json={"items": [registration("image"), bad]}, headers=CLIENT
    )
    assert response.status_code == 200, response.text
    created, rejected = response.json()["results"]
    assert created["outcome"] == "created" and rejected["outcome"] == "rejected"
    assert {e["field"] for e in rejected["errors"]} == {
        "body.items.1.surprise",
        "body.items.1.prelabels.labels.0.class_id",
    }


async def test_a_body_that_is_not_json_or_not_an_object_is_a_422_naming_the_body(
    ingest: IngestUnderTest,
) -> None:
    for content in (b"{not json", b"[1, 2]"):
        response = await ingest.client.post(
            "/v1/media", content=content, headers={**CLIENT, "content-type": "application/json"}
        )
        assert response.status_code == 422, response.text
        assert fields(response) == {"body"}


async def test_idempotent_resends_conflicts_and_idempotency_keys(ingest: IngestUnderTest) -> None:
    body = registration("image")
    first = await post(ingest, body, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    replay = await post(ingest, body, **{"Idempotency-Key": "k-1"})
    assert replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    resend = await post(ingest, body)
    assert resend.status_code == 200 and resend.json()["item_id"] == first.json()["item_id"]
    other = registration("image")
    reused_key = await post(ingest, other, **{"Idempotency-Key": "k-1"})
    assert reused_key.status_code == 422 and fields(reused_key) == {"header.idempotency-key"}
    conflicting = {**body, "media": image_file()}
    conflict = await post(ingest, conflicting)
    assert conflict.status_code == 409 and fields(conflict) == {"body.external_id"}
    # the stored item did not change, and only one registration was published
    stored = await ingest.client.get(
        "/v1/media/by-external-id", params={"external_id": body["external_id"]}, headers=CLIENT
    )
    assert stored.json() == first.json()
    topic = f"{ingest.settings.topic_prefix}{MEDIA.name}"
    registry = EventRegistry([MEDIA_REGISTERED])

    async def published() -> list[Any]:
        records = await read_all(ingest.settings.kafka_bootstrap_servers, topic)
        events = [decode(r.value, key=r.key, headers=r.headers, registry=registry) for r in records]
        return [e for e in events if e is not None and e.data.external_id == body["external_id"]]

    events = await eventually(published)
    assert len(events) == 1
    assert events[0].key == first.json()["item_id"]


async def test_batch_gives_an_outcome_per_item(ingest: IngestUnderTest) -> None:
    known = registration("image")
    first = await post(ingest, known)
    assert first.status_code == 201
    known_id = first.json()["item_id"]
    same_content = image_file(seed="shared-content")
    items = [
        registration("image", media=same_content),  # created
        known,  # existing
        {**known, "media": image_file()},  # conflict
        registration("image", project_id="nope"),  # rejected by rule
        {"external_id": "broken"},  # rejected by shape
        registration(
            "image", media=image_file(seed="shared-content")
        ),  # created, duplicate content
    ]
    items.append(dict(items[0]))  # the same registration twice in one batch
    response = await ingest.client.post("/v1/media/batch", json={"items": items}, headers=CLIENT)
    assert response.status_code == 200, response.text
    body = response.json()
    outcomes = [r["outcome"] for r in body["results"]]
    assert outcomes == [
        "created",
        "existing",
        "conflict",
        "rejected",
        "rejected",
        "created",
        "existing",
    ]
    assert (body["created"], body["existing"], body["rejected"]) == (2, 2, 3)
    results = body["results"]
    assert {e["field"] for e in results[4]["errors"]} >= {
        "body.items.4.project_id",
        "body.items.4.modality",
    }
    assert results[3]["errors"][0]["field"] == "body.items.3.project_id"
    assert results[5]["duplicate_of"] == results[0]["item_id"]
    assert results[6]["item_id"] == results[0]["item_id"]
    assert results[1]["item_id"] == known_id
    created = await ingest.client.get(f"/v1/media/{results[5]['item_id']}", headers=CLIENT)
    assert created.json()["duplicate_of"] == results[0]["item_id"]
    too_many = await ingest.client.post(
        "/v1/media/batch", json={"items": [known] * 1001}, headers=CLIENT
    )
    assert too_many.status_code == 422


async def test_a_batch_of_valid_items_and_malformed_batches(ingest: IngestUnderTest) -> None:
    items = [registration(m) for m in ("image", "video", "multimodal")]
    first = await ingest.client.post("/v1/media/batch", json={"items": items}, headers=CLIENT)
    assert first.status_code == 200, first.text
    assert [r["outcome"] for r in first.json()["results"]] == ["created"] * 3
    again = await ingest.client.post("/v1/media/batch", json={"items": items}, headers=CLIENT)
    assert [r["outcome"] for r in again.json()["results"]] == ["existing"] * 3
    assert [r["item_id"] for r in again.json()["results"]] == [
        r["item_id"] for r in first.json()["results"]
    ]
    for body, field in [
        (b"{not json", "body"),
        (b"{}", "body.items"),
        (b'{"items": []}', "body.items"),
        (b'{"items": [{}], "more": 1}', "body.more"),
        (b'{"items": {"a": 1}}', "body.items"),
    ]:
        bad = await ingest.client.post(
            "/v1/media/batch",
            content=body,
            headers={**CLIENT, "Content-Type": "application/json"},
        )
        assert bad.status_code == 422, body
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in bad.json()["errors"]}, (body, bad.json())


async def test_status_follows_review_and_resolution_then_exports(
    ingest: IngestUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = registration("image", project_id="p-image")
    item = (await post(ingest, body)).json()
    item_id = item["item_id"]
    now = datetime.now(UTC)
    unit = WorkUnitEventV1(
        unit_id="u1",
        item_id=item_id,
        project_id="p-image",
        tenant="acme",
        kind=WorkKind.review,
        at=now,
    )
    final = [
        Label(
            class_id="car", geometry={"kind": "box", "x": 10, "y": 20, "width": 30, "height": 40}
        ),
        Label(class_id="person", geometry={"kind": "polygon", "points": [(0, 0), (4, 0), (4, 3)]}),
        Label(class_id="person"),
    ]
    resolved = ItemResolvedV1(
        item_id=item_id,
        project_id="p-image",
        tenant="acme",
        final_labels=final,
        method=Resolution.consensus,
        judgment_ids=["j1", "j2"],
        agreement=1.0,
        resolved_at=now,
    )
    await publish(ingest.settings, make_event(WORK_CREATED, unit, source="/a", tenant="acme"))

    async def status_is(expected: str) -> dict[str, Any] | None:
        current = (await ingest.client.get(f"/v1/media/{item_id}", headers=CLIENT)).json()
        return current if current["status"] == expected else None

    await eventually(lambda: status_is("in_review"))
    await publish(ingest.settings, make_event(ITEM_RESOLVED, resolved, source="/a", tenant="acme"))
    done = await eventually(lambda: status_is("resolved"))
    assert done["resolution"]["method"] == "consensus"
    assert done["resolution"]["judgment_ids"] == ["j1", "j2"]
    assert [lbl["class_id"] for lbl in done["final_labels"]] == ["car", "person", "person"]
    # a late lifecycle event does not move it back: once ingest has committed past it
    await publish(ingest.settings, make_event(WORK_CREATED, unit, source="/a", tenant="acme"))
    bootstrap = ingest.settings.kafka_bootstrap_servers
    work = ingest.settings.topic_prefix + WORK_CREATED.topic.name
    await eventually(lambda: caught_up(bootstrap, ingest.settings.group_id, work))
    assert (await status_is("resolved")) is not None

    lines = await ingest.client.get(
        "/v1/media/export", params={"project_id": "p-image"}, headers=CLIENT
    )
    assert lines.headers["content-type"].startswith("application/x-ndjson")
    exported = [json.loads(line) for line in lines.text.splitlines()]
    assert item_id in {e["item_id"] for e in exported}
    assert all(e["status"] == "resolved" for e in exported)
    coco = (
        await ingest.client.get(
            "/v1/media/export", params={"project_id": "p-image", "format": "coco"}, headers=CLIENT
        )
    ).json()
    with monkeypatch.context() as patched:  # annotations spilled to disk: the same document
        patched.setattr(items, "SPOOL_BYTES", 1)
        spilled = await ingest.client.get(
            "/v1/media/export", params={"project_id": "p-image", "format": "coco"}, headers=CLIENT
        )
    assert spilled.json() == coco
    image = next(i for i in coco["images"] if i["quorum_item_id"] == item_id)
    annotations = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    assert [(categories[a["category_id"]], a["bbox"]) for a in annotations] == [
        ("Car", [10, 20, 30, 40]),
        ("Person", [0, 0, 4, 3]),
    ]
    assert annotations[1]["area"] == 6
    assert coco["info"]["skipped_labels"] >= 1  # the label without geometry
    not_image = await ingest.client.get(
        "/v1/media/export", params={"project_id": "p-audio", "format": "coco"}, headers=CLIENT
    )
    assert not_image.status_code == 422


async def test_list_filters_and_pages(ingest: IngestUnderTest) -> None:
    created = []
    for _ in range(5):
        created.append((await post(ingest, registration("audio"))).json()["item_id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"project_id": "p-audio", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await ingest.client.get("/v1/media", params=params, headers=CLIENT)).json()
        seen.extend(i["item_id"] for i in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(created) <= set(seen) and len(seen) == len(set(seen))
    assert seen[: len(created)] == list(reversed(created))  # newest first
    modality = (
        await ingest.client.get("/v1/media", params={"modality": "audio"}, headers=CLIENT)
    ).json()
    assert {i["modality"] for i in modality["items"]} == {"audio"}
    future = (
        await ingest.client.get(
            "/v1/media", params={"registered_from": "2999-01-01T00:00:00Z"}, headers=CLIENT
        )
    ).json()
    assert future["items"] == []
    bad = await ingest.client.get("/v1/media", params={"cursor": "garbage"}, headers=CLIENT)
    assert bad.status_code == 400 and fields(bad) == {"query.cursor"}


async def test_tenants_and_roles(ingest: IngestUnderTest) -> None:
    item = (await post(ingest, registration("text"))).json()
    url = f"/v1/media/{item['item_id']}"
    assert (await ingest.client.get(url, headers=auth("ops"))).status_code == 200
    assert (
        await ingest.client.get(url, headers=auth("client", tenant="globex"))
    ).status_code == 404
    assert (await ingest.client.get(url, headers=auth("ops", tenant="globex"))).status_code == 404
    other = await ingest.client.get(
        "/v1/media/by-external-id",
        params={"external_id": item["external_id"]},
        headers=auth("client", tenant="globex"),
    )
    assert other.status_code == 404
    listed = (await ingest.client.get("/v1/media", headers=auth("client", tenant="globex"))).json()
    assert listed["items"] == []
    # the other tenant has no such project either: its registration is refused
    refused = await ingest.client.post(
        "/v1/media", json=registration("text"), headers=auth("client", tenant="globex")
    )
    assert refused.status_code == 422 and "unknown project" in refused.text
    # roles and missing tokens: the generated matrix, tests/ingest/test_access.py


async def test_concurrent_registrations_of_one_external_id_make_one_item(
    ingest: IngestUnderTest,
) -> None:
    body = registration("image")
    responses = await asyncio.gather(*(post(ingest, body) for _ in range(6)))
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] * 5 + [201], [r.text for r in responses]
    assert len({r.json()["item_id"] for r in responses}) == 1
    conflicting = await asyncio.gather(
        post(ingest, {**body, "media": image_file()}), post(ingest, {**body, "media": image_file()})
    )
    assert [r.status_code for r in conflicting] == [409, 409]


async def test_duplicate_content_names_the_first_item_across_calls_and_races(
    ingest: IngestUnderTest,
) -> None:
    first = await post(ingest, registration("image", media=image_file(seed="dup-a")))
    assert first.status_code == 201 and first.json()["duplicate_of"] is None
    later = await post(ingest, registration("image", media=image_file(seed="dup-a")))
    assert later.json()["duplicate_of"] == first.json()["item_id"]
    # two more in one batch: both name the first item, not each other
    batch = await ingest.client.post(
        "/v1/media/batch",
        json={"items": [registration("image", media=image_file(seed="dup-a")) for _ in range(2)]},
        headers=CLIENT,
    )
    assert [r["duplicate_of"] for r in batch.json()["results"]] == [first.json()["item_id"]] * 2
    # new content sent by six requests at once: one item holds it, the others name it
    racing = await asyncio.gather(
        *(post(ingest, registration("image", media=image_file(seed="dup-b"))) for _ in range(6))
    )
    assert [r.status_code for r in racing] == [201] * 6
    holders = [r.json()["item_id"] for r in racing if r.json()["duplicate_of"] is None]
    assert len(holders) == 1
    assert {r.json()["duplicate_of"] for r in racing} == {None, holders[0]}
    # another project may hold the same content on its own
    other = await post(
        ingest, registration("image", project_id="p-image-2", media=image_file(seed="dup-a"))
    )
    assert other.status_code == 201, other.text
    assert other.json()["duplicate_of"] is None


async def test_an_older_project_revision_never_overrides_a_newer_one(
    ingest: IngestUnderTest,
) -> None:
    late = project_changed("p-rev", modality="text", status="active", revision=1)
    await publish(
        ingest.settings,
        project_changed("p-rev", modality="text", status="closed", revision=2),
        late,  # arrives after revision 2
    )
    inbox = service_of(ingest.app).runtime.db["inbox_ingest"]

    async def late_one_applied() -> bool:
        return await inbox.find_one({"_id": late.id}) is not None

    await eventually(late_one_applied)
    assert await _refused_as_closed(ingest, registration("text", project_id="p-rev"))
    await publish(ingest.settings, project_changed("p-rev", modality="text", revision=3))

    async def reopened() -> bool:
        response = await post(ingest, registration("text", project_id="p-rev"))
        return response.status_code == 201

    assert await eventually(reopened)


async def test_two_tenants_projects_of_one_name_are_apart(ingest: IngestUnderTest) -> None:
    """A project is the tenant's: another tenant's project of the same id, and its changes,
    never touch it."""
    await publish(
        ingest.settings,
        project_changed("p-twin", modality="text", revision=1),
        project_changed("p-twin", tenant="beta", modality="text", status="closed", revision=5),
    )

    async def open_for_acme() -> bool:
        response = await post(ingest, registration("text", project_id="p-twin"))
        return response.status_code == 201

    assert await eventually(open_for_acme)
    # beta's change is on another key, maybe another partition: wait until both are consumed
    projects = ingest.settings.topic_prefix + PROJECT_CHANGED.topic.name
    bootstrap = ingest.settings.kafka_bootstrap_servers
    await eventually(lambda: caught_up(bootstrap, ingest.settings.group_id, projects))
    store = service_of(ingest.app).get(Projects).store
    beta = await store.get("beta", "p-twin")
    acme = await store.get("acme", "p-twin")
    assert beta is not None and beta.status == "closed" and beta.tenant == "beta"
    assert acme is not None and acme.status == "active" and acme.revision == 1


async def _refused_as_closed(ingest: IngestUnderTest, body: dict[str, Any]) -> bool:
    response = await post(ingest, body)
    return response.status_code == 422 and "is closed" in response.text


async def test_a_project_closed_through_another_replica_is_refused_soon_after(
    ingest: IngestUnderTest,
) -> None:
    """Registrations read a project at most every PROJECT_CACHE_S: a change that another
    replica consumed (written to the shared database, not seen by this one) applies soon."""
    await publish(ingest.settings, project_changed("p-other", modality="text", revision=1))

    async def open_for_text() -> bool:
        response = await post(ingest, registration("text", project_id="p-other"))
        return response.status_code == 201

    assert await eventually(open_for_text)  # and now read recently by this replica
    here = service_of(ingest.app).get(Projects)
    other_replica = Projects(here.store)  # its own cache, the same database
    await other_replica.on_project_changed(
        project_changed("p-other", modality="text", status="closed", revision=2)
    )
    assert await eventually(
        lambda: _refused_as_closed(ingest, registration("text", project_id="p-other")),
        timeout=5,
    )


async def test_a_body_over_the_limit_is_a_413_and_stores_nothing(ingest: IngestUnderTest) -> None:
    body = registration("image")
    body["capture"] = {"tags": ["x" * 100] * 100}
    big = json.dumps({"items": [body] * 400}).encode()  # over 4 MiB
    assert len(big) > ingest.settings.http_max_body_bytes
    response = await ingest.client.post(
        "/v1/media/batch", content=big, headers={**CLIENT, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    lookup = await ingest.client.get(
        "/v1/media/by-external-id", params={"external_id": body["external_id"]}, headers=CLIENT
    )
    assert lookup.status_code == 404


async def test_values_no_store_could_hold_are_422s_naming_the_field(
    ingest: IngestUnderTest,
) -> None:
    body = registration("image")
    body["media"]["size_bytes"] = 2**70
    label = {"class_id": "car", "confidence": 0.5, "attributes": {f"a{i}": i for i in range(100)}}
    body["prelabels"] = prelabels(label)
    response = await post(ingest, body)
    assert response.status_code == 422
    assert {"body.media.image.size_bytes", "body.prelabels.labels.0.attributes"} <= fields(response)
    not_a_number = registration(
        "image", prelabels=prelabels({"class_id": "car", "confidence": 0.5})
    )
    text = json.dumps(not_a_number).replace('"confidence": 0.5', '"confidence": NaN')
    response = await ingest.client.post(
        "/v1/media", content=text, headers={**CLIENT, "Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert "body.prelabels.labels.0.confidence" in fields(response)
