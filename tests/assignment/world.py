"""Building what a handout test needs on a running assignment service, through its API and
its topics only: a rubric, an active project, vetted experts on its roster, registered items."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1
from shared.contracts.taxonomy import VERSION_PUBLISHED, ClassSnapshot, VersionPublishedV1
from shared.events.envelope import make_event
from tests.assignment.conftest import AssignmentUnderTest
from tests.kafka_helpers import eventually
from tests.service_helpers import auth, publish

OPS = auth("ops", subject="ops-ana")


def short_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


async def taxonomy(
    a: AssignmentUnderTest, *class_ids: str, modalities: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """A new ontology's version 1 with ``class_ids`` (of the ``modalities`` given for them),
    published to assignment as taxonomy would (it reaches the service's cache shortly:
    callers retry on a 503); its reference."""
    ontology = short_id("ont")
    only = modalities or {}
    version = VersionPublishedV1(
        ontology_id=ontology,
        tenant="acme",
        name="Street",
        version=1,
        content_hash="sha256:test",
        classes=[
            ClassSnapshot.model_validate(
                {"id": c, "name": c.title(), "modalities": only.get(c, [])}
            )
            for c in class_ids
        ],
        published_at=datetime.now(UTC),
    )
    await publish(a.settings, make_event(VERSION_PUBLISHED, version, source="/t", tenant="acme"))
    return {"ontology_id": ontology, "version": 1}


async def rubric(a: AssignmentUnderTest, template: str = "image_edit_evaluation") -> str:
    """A rubric of its own from ``template`` (version 1)."""
    rubric_id = short_id("rub")
    body = {"rubric_id": rubric_id, "template": template}
    await ok(await a.client.post("/v1/rubrics", json=body, headers=OPS), 201)
    return rubric_id


async def project(
    a: AssignmentUnderTest,
    *,
    status: str = "active",
    required: dict[str, int] | None = None,
    template: str = "image_edit_evaluation",
    **settings: Any,
) -> str:
    """An image project (with a rubric of its own, from ``template``) in ``status``."""
    rubric_id = await rubric(a, template)
    project_id = short_id("p")
    body = {
        "project_id": project_id,
        "name": "Edits",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        "required_skills": required or {},
        **settings,
    }
    await ok(await a.client.post("/v1/projects", json=body, headers=OPS), 201)
    if status != "draft":
        await ok(
            await a.client.post(
                f"/v1/projects/{project_id}/status", json={"status": "active"}, headers=OPS
            )
        )
    if status == "paused":
        await ok(
            await a.client.post(
                f"/v1/projects/{project_id}/status", json={"status": "paused"}, headers=OPS
            )
        )
    return project_id


async def expert(
    a: AssignmentUnderTest,
    *,
    projects: tuple[str, ...] = (),
    state: str = "vetted",
    skills: dict[str, int] | None = None,
    max_leases: int = 3,
) -> str:
    """An expert in ``state`` with ``skills``, on the roster of ``projects``."""
    expert_id = short_id("exp")
    body = {"expert_id": expert_id, "display_name": "E", "capacity": {"max_leases": max_leases}}
    await ok(await a.client.post("/v1/experts", json=body, headers=OPS), 201)
    for target in {"invited": [], "vetting": ["vetting"], "vetted": ["vetting", "vetted"]}.get(
        state, ["vetting", "vetted", state]
    ):
        await ok(
            await a.client.post(
                f"/v1/experts/{expert_id}/state",
                json={"state": target, "reason": "test"},
                headers=OPS,
            )
        )
    for skill, level in (skills or {}).items():
        await ok(
            await a.client.put(
                f"/v1/experts/{expert_id}/skills/{skill}",
                json={"level": level, "note": "test"},
                headers=OPS,
            )
        )
    for project_id in projects:
        await join(a, project_id, expert_id)
    return expert_id


async def join(a: AssignmentUnderTest, project_id: str, expert_id: str) -> None:
    await ok(
        await a.client.post(
            f"/v1/projects/{project_id}/invitations", json={"expert_id": expert_id}, headers=OPS
        ),
        201,
    )
    await ok(
        await a.client.post(
            f"/v1/me/invitations/{project_id}/accept", headers=auth("expert", subject=expert_id)
        )
    )


def image(name: str = "a", width: int = 640, height: int = 480) -> dict[str, Any]:
    """An image file as ingest registers it."""
    return {
        "modality": "image",
        "uri": f"s3://bucket/{name}.png",
        "sha256": uuid.uuid5(uuid.NAMESPACE_URL, name).hex * 2,
        "size_bytes": 1024,
        "width": width,
        "height": height,
        "format": "png",
    }


def audio(name: str = "a", duration_s: float = 10.0) -> dict[str, Any]:
    """An audio file as ingest registers it."""
    return {
        "modality": "audio",
        "uri": f"s3://bucket/{name}.wav",
        "sha256": uuid.uuid5(uuid.NAMESPACE_URL, name).hex * 2,
        "size_bytes": 1024,
        "duration_s": duration_s,
        "sample_rate_hz": 16_000,
        "channels": 1,
    }


def video(name: str = "a", duration_s: float = 10.0) -> dict[str, Any]:
    """A 1280x720 video file as ingest registers it."""
    return {
        "modality": "video",
        "uri": f"s3://bucket/{name}.mp4",
        "sha256": uuid.uuid5(uuid.NAMESPACE_URL, name).hex * 2,
        "size_bytes": 1024,
        "duration_s": duration_s,
        "fps": 25,
        "frame_count": int(duration_s * 25),
        "width": 1280,
        "height": 720,
    }


def text(name: str = "a") -> dict[str, Any]:
    """A text file as ingest registers it."""
    return {
        "modality": "text",
        "uri": f"s3://bucket/{name}.txt",
        "sha256": uuid.uuid5(uuid.NAMESPACE_URL, name).hex * 2,
        "size_bytes": 1024,
        "language": "en",
        "length_chars": 100,
    }


@dataclass(frozen=True)
class Misplaced:
    """A label that does not fit the media it marks (as experts and clients sent them before
    the placement rule), what is wrong with it, and a label that fits instead."""

    name: str
    modality: str
    content: dict[str, Any]
    label: dict[str, Any]
    field: str
    message: str
    fits: dict[str, Any]


#: the classes the labels of :data:`MISPLACED` use, with their modalities
PLACEMENT_CLASSES = ("car", "speech", "explosion")
PLACEMENT_MODALITIES = {"speech": ["audio"], "explosion": ["video"]}
_BOX = {"kind": "box", "x": 0, "y": 0, "width": 10, "height": 10}
#: a sync-review bundle: a video clip, its audio track, the transcript
_AV = {
    "parts": [
        {"name": "clip", "role": "video", "media": video("clip")},
        {"name": "track", "role": "audio_track", "media": audio("track")},
        {"name": "transcript", "role": "transcript", "media": text("transcript")},
    ]
}
MISPLACED = [
    Misplaced(
        "box-past-the-image",
        "image",
        {"media": image("large", 4032, 3024)},
        {"class_id": "car", "geometry": {**_BOX, "x": 5000, "width": 200}},
        "geometry.width",
        "x + width = 5200.0: not inside the 4032x3024 media",
        {"class_id": "car", "geometry": {**_BOX, "x": 3800, "width": 200}},
    ),
    Misplaced(
        "segment-past-the-audio",
        "audio",
        {"media": audio("ten-seconds", 10.0)},
        {"class_id": "speech", "segment": {"start_s": 1, "end_s": 25}},
        "segment.end_s",
        "ends at 25.0s, after the media's 10.0s",
        {"class_id": "speech", "segment": {"start_s": 1, "end_s": 10}},
    ),
    Misplaced(
        "segment-on-a-still-image",
        "image",
        {"media": image("still")},
        {"class_id": "car", "segment": {"start_s": 0, "end_s": 1}},
        "segment",
        "image media has no time segments",
        {"class_id": "car", "geometry": _BOX},
    ),
    Misplaced(
        "part-the-bundle-lacks",
        "multimodal",
        _AV,
        {"class_id": "car", "part": "thumbnail", "geometry": _BOX},
        "part",
        "no part named 'thumbnail'",
        {"class_id": "car", "part": "clip", "geometry": _BOX},
    ),
    Misplaced(
        "box-on-the-text-part",
        "multimodal",
        _AV,
        {"class_id": "car", "part": "transcript", "geometry": _BOX},
        "geometry",
        "text media has no geometry",
        {"class_id": "car", "part": "transcript", "text": "a car passes"},
    ),
    Misplaced(
        "video-class-on-the-audio-part",
        "multimodal",
        _AV,
        {"class_id": "explosion", "part": "track", "segment": {"start_s": 1, "end_s": 2}},
        "class_id",
        "class 'explosion' applies to video only; part 'track' is audio",
        {"class_id": "explosion", "part": "clip", "segment": {"start_s": 1, "end_s": 2}},
    ),
]


def label_answers(*labels: dict[str, Any]) -> dict[str, Any]:
    """Complete answers on the multimodal label QA template correcting the labels."""
    return {
        "verdict": "correct",
        "ratings": {"class_correctness": 2, "temporal_alignment": 3, "guideline_fit": 3},
        "severity": "minor",
        "labels": list(labels),
        "justification": "the pre-labels mark the wrong objects",
    }


def registered(project_id: str, item_id: str | None = None, **content: Any) -> Any:
    item = MediaRegisteredV1.model_validate(
        {
            "item_id": item_id or str(uuid.uuid4()),
            "tenant": "acme",
            "external_id": short_id("ext"),
            "project_id": project_id,
            "modality": "image",
            "registered_at": datetime.now(UTC),
            **content,
        }
    )
    return make_event(MEDIA_REGISTERED, item, source="/ingest", tenant="acme")


async def items(
    a: AssignmentUnderTest, project_id: str, count: int, *, apart_ms: int = 1
) -> list[str]:
    """``count`` items registered in the project ``apart_ms`` apart (by default so the
    returned order is their handout order), once assignment has their units."""
    start = datetime.now(UTC)
    events = [
        registered(project_id, registered_at=start + timedelta(milliseconds=i * apart_ms))
        for i in range(count)
    ]
    await publish(a.settings, *events)
    for event in events:
        await eventually(lambda e=event: known(a, e.data.item_id))
    return [e.data.item_id for e in events]


async def known(a: AssignmentUnderTest, item_id: str) -> Any:
    response = await a.client.get(f"/v1/items/{item_id}", headers=OPS)
    return response.json() if response.status_code == 200 else None


async def next_unit(a: AssignmentUnderTest, expert_id: str) -> Any:
    """The expert's next unit (its JSON), or None on a 204."""
    response = await a.client.post("/v1/work:next", headers=auth("expert", subject=expert_id))
    if response.status_code == 204:
        assert response.headers["Retry-After"].isdigit()
        return None
    return await ok(response)


#: the rated dimensions of the image-edit template every world project uses by default
EDIT_DIMENSIONS = (
    "instruction_adherence",
    "structural_integrity",
    "preservation",
    "visual_quality",
    "style_alignment",
    "character_consistency",
)


def edit_answers(verdict: str = "accept", point: int = 4, **changes: Any) -> dict[str, Any]:
    """Complete answers on the image-edit template (a justification where it is required)."""
    body: dict[str, Any] = {
        "verdict": verdict,
        "ratings": {d: point for d in EDIT_DIMENSIONS},
        "severity": "none",
        **changes,
    }
    if verdict in ("reject", "correct"):
        body.setdefault("justification", "the edit leaves a visible seam on the left")
    return body


async def submit(
    a: AssignmentUnderTest, expert_id: str, handed: dict[str, Any], answers: dict[str, Any]
) -> Any:
    """The expert's submission of ``answers`` on the unit ``handed`` to them."""
    body = {"submission_id": uuid.uuid4().hex, "lease_id": handed["lease_id"], "answers": answers}
    return await a.client.post(
        f"/v1/units/{handed['unit_id']}/judgments",
        json=body,
        headers=auth("expert", subject=expert_id),
    )


async def judge(a: AssignmentUnderTest, expert_id: str, answers: dict[str, Any]) -> dict[str, Any]:
    """The expert takes their next unit and judges it with ``answers``; the unit handed out."""
    handed = await next_unit(a, expert_id)
    assert handed is not None, f"{expert_id} got no unit"
    await ok(await submit(a, expert_id, handed, answers), 201)
    return handed


async def gold(
    a: AssignmentUnderTest, project_id: str, key: dict[str, Any], **body: Any
) -> dict[str, Any]:
    """A gold item registered on the project with ``key`` (an image unless ``body`` says)."""
    gold_id = body.pop("gold_id", None) or short_id("gold")
    payload = {"gold_id": gold_id, "media": image(gold_id), "key": key, **body}
    return await ok(
        await a.client.post(f"/v1/projects/{project_id}/gold", json=payload, headers=OPS), 201
    )


async def item_of(a: AssignmentUnderTest, handed: dict[str, Any]) -> dict[str, Any]:
    """The item behind a unit handed out, as ops see it (gold or not)."""
    return await ok(await a.client.get(f"/v1/items/{handed['item_id']}", headers=OPS))
