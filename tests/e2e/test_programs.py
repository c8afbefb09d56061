"""The five review programs of issue 20, each run through the public APIs as an operations
lead, a client and experts would run it, and checked by what the client gets back: ingest's
item (verdict, flags, severity, ratings, final labels), the JSON lines export, the COCO export
of image projects, the segments export of video and audio, the per-judgment export
(assignment, one judgment a line under a per-project pseudonym) and the tenant's outcome
topic. One stack (taxonomy, ingest, assignment with their real lifespans, real Kafka and the
real MongoDB-compatible server) serves the module; each program has its own ontology,
project and experts."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.assignment.app import create_app as create_assignment
from services.assignment.settings import AssignmentSettings
from services.ingest.app import create_app as create_ingest
from services.ingest.handlers.projects import Projects
from services.ingest.handlers.registration import Registrations
from services.ingest.settings import IngestSettings
from services.taxonomy.app import create_app as create_taxonomy
from services.taxonomy.settings import TaxonomySettings
from shared.contracts.media import MEDIA_REQUESTS
from shared.contracts.outcomes import OUTCOMES
from shared.http.service import service_of
from shared.kafka.topics import ensure_tenant_topics, topic_name
from shared.runtime import kafka_settings
from tests.ingest.bodies import sha
from tests.ingest.test_kafka import sdk_message
from tests.kafka_helpers import eventually, produce, read_all
from tests.service_helpers import auth, running

pytestmark = pytest.mark.e2e

TENANT = "acme"
OPS = auth("ops", subject="ops-lead-rosa")
CLIENT = auth("client", subject="acme-uploader")
JUSTIFY = "the labels do not match what the media shows"


# --- the stack and small helpers ---


@dataclass
class Stack:
    taxonomy: httpx.AsyncClient
    ingest: httpx.AsyncClient
    assignment: httpx.AsyncClient
    ingest_app: Any
    ingest_settings: IngestSettings

    @property
    def bootstrap(self) -> str:
        return self.ingest_settings.kafka_bootstrap_servers

    def topic(self, name: str) -> str:
        return topic_name(self.ingest_settings.topic_prefix, name)


@pytest_asyncio.fixture(scope="module")
async def stack(make_settings: Callable[..., Any]) -> AsyncIterator[Stack]:
    ingest_settings = make_settings(IngestSettings)
    # the tenant's own topics, made when the tenant is added (quorum-tenant-topics acme)
    await ensure_tenant_topics(
        kafka_settings(ingest_settings), [MEDIA_REQUESTS, OUTCOMES], [TENANT]
    )
    ingest_app = create_ingest(ingest_settings)
    async with (
        running(create_taxonomy(make_settings(TaxonomySettings))) as taxonomy,
        running(ingest_app) as ingest,
        running(create_assignment(make_settings(AssignmentSettings))) as assignment,
    ):
        consumer = service_of(ingest_app).runtime.consumer
        assert consumer is not None
        await consumer.wait_assigned()
        yield Stack(taxonomy, ingest, assignment, ingest_app, ingest_settings)


async def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: "
        f"{response.status_code} {response.text[:2000]}"
    )
    return response.json() if response.content else None


async def settled(
    call: Callable[[], Awaitable[httpx.Response]],
    *,
    retry_on: tuple[int, ...],
    timeout: float = 60,
) -> httpx.Response:
    """``call`` again while it answers ``retry_on`` (a fact another service publishes is not
    consumed yet), at most ``timeout`` seconds; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        response = await call()
        if response.status_code not in retry_on or time.monotonic() > deadline:
            return response
        await asyncio.sleep(0.1)


async def publish_ontology(
    stack: Stack, name: str, classes: list[dict[str, Any]]
) -> dict[str, Any]:
    """Ops create an ontology, add its classes to the draft and publish version 1: the
    taxonomy reference projects name."""
    created = await ok(
        await stack.taxonomy.post("/v1/ontologies", json={"name": name}, headers=OPS), 201
    )
    ontology_id = created["ontology_id"]
    draft = await stack.taxonomy.get(f"/v1/ontologies/{ontology_id}/draft", headers=OPS)
    etag = draft.headers["ETag"]
    for cls in classes:
        added = await stack.taxonomy.post(
            f"/v1/ontologies/{ontology_id}/draft/classes",
            json=cls,
            headers={**OPS, "If-Match": etag},
        )
        await ok(added, 201)
        etag = added.headers["ETag"]
    published = await stack.taxonomy.post(
        f"/v1/ontologies/{ontology_id}/draft/publish", headers={**OPS, "If-Match": etag}
    )
    return {"ontology_id": ontology_id, "version": (await ok(published, 201))["version"]}


async def onboard(
    stack: Stack, expert_id: str, skills: dict[str, int], state: str = "vetted"
) -> dict[str, str]:
    """One onboarding call (profile, attested skills, state); the expert's headers."""
    body = {
        "expert_id": expert_id,
        "display_name": expert_id.title(),
        "skills": [
            {"skill": s, "level": level, "note": "portfolio reviewed"}
            for s, level in skills.items()
        ],
        "state": state,
        "reason": "screened for the program",
    }
    await ok(await stack.assignment.post("/v1/experts", json=body, headers=OPS), 201)
    return auth("expert", subject=expert_id)


async def open_project(
    stack: Stack, project: dict[str, Any], experts: dict[str, dict[str, str]]
) -> None:
    """Create the project, activate it, invite the roster in one call; each expert accepts."""
    await ok(await stack.assignment.post("/v1/projects", json=project, headers=OPS), 201)
    project_id = project["project_id"]
    await ok(
        await stack.assignment.post(
            f"/v1/projects/{project_id}/status", json={"status": "active"}, headers=OPS
        )
    )
    if experts:
        batch = {"batch_id": f"{project_id}-roster", "expert_ids": sorted(experts)}
        invited = await stack.assignment.post(
            f"/v1/projects/{project_id}/invitations:batch", json=batch, headers=OPS
        )
        assert (await ok(invited, 201))["invited"] == len(experts)
        for headers in experts.values():
            await ok(
                await stack.assignment.post(
                    f"/v1/me/invitations/{project_id}/accept", headers=headers
                )
            )


async def register(stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    """The client registers over HTTP (422 while ingest has not consumed the project or
    its taxonomy version yet)."""
    response = await settled(
        lambda: stack.ingest.post("/v1/media", json=body, headers=CLIENT), retry_on=(422,)
    )
    return await ok(response, 201)  # type: ignore[no-any-return]


@dataclass
class Judged:
    """What the experts of a program submitted, to compare with the exports."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    def add(self, expert_id: str, unit: dict[str, Any], answers: dict[str, Any]) -> None:
        kind = unit.get("kind", "review")
        self.rows.append({"expert": expert_id, "item_id": unit["item_id"], "kind": kind, **answers})


async def next_unit(stack: Stack, expert: dict[str, str], timeout: float = 60) -> dict[str, Any]:
    """The expert's next unit, waiting while there is nothing for them yet."""

    async def handed() -> dict[str, Any] | None:
        response = await stack.assignment.post("/v1/work:next", headers=expert)
        assert response.status_code in (200, 204), response.text
        return response.json() if response.status_code == 200 else None

    return await eventually(handed, timeout=timeout)  # type: ignore[no-any-return]


async def submit(
    stack: Stack, expert: dict[str, str], unit: dict[str, Any], answers: dict[str, Any]
) -> httpx.Response:
    body = {
        "submission_id": f"s-{uuid.uuid4().hex[:12]}",
        "lease_id": unit["lease_id"],
        "answers": answers,
    }
    return await settled(  # 503 while assignment has not consumed the taxonomy version
        lambda: stack.assignment.post(
            f"/v1/units/{unit['unit_id']}/judgments", json=body, headers=expert
        ),
        retry_on=(503,),
    )


async def judge(
    stack: Stack,
    judged: Judged,
    expert_id: str,
    unit: dict[str, Any],
    answers: dict[str, Any],
) -> None:
    await ok(await submit(stack, auth("expert", subject=expert_id), unit, answers), 201)
    judged.add(expert_id, unit, answers)


async def resolved(stack: Stack, item_id: str) -> dict[str, Any]:
    """The client's item once it is resolved."""

    async def check() -> dict[str, Any] | None:
        item = await ok(await stack.ingest.get(f"/v1/media/{item_id}", headers=CLIENT))
        return item if item["status"] == "resolved" else None

    return await eventually(check, timeout=60)  # type: ignore[no-any-return]


async def jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, f"{response.request.url.path}: {response.text[:2000]}"
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


async def export(stack: Stack, project_id: str, fmt: str) -> Any:
    response = await stack.ingest.get(
        "/v1/media/export", params={"project_id": project_id, "format": fmt}, headers=CLIENT
    )
    return await ok(response) if fmt == "coco" else await jsonl(response)


async def outcome_events(
    stack: Stack, external_ids: set[str], *types: str, experts: str
) -> list[dict[str, Any]]:
    """The CloudEvents on the tenant's outcome topic about these external ids, once each of
    them has one of each of ``types`` (short names: registered, resolved, rejected); none
    names an expert (ids starting with ``experts``)."""
    topic = stack.topic(OUTCOMES.of_tenant(TENANT))
    wanted = {(e, f"quorum.outcome.{t}.v1") for e in external_ids for t in types}

    async def check() -> list[dict[str, Any]] | None:
        events = []
        for record in await read_all(stack.bootstrap, topic):
            event = json.loads(record.value)
            if record.key is not None and record.key.decode() in external_ids:
                events.append({**event, "key": record.key.decode()})
        return events if wanted <= {(e["key"], e["type"]) for e in events} else None

    events: list[dict[str, Any]] = await eventually(check, timeout=60)
    assert experts not in json.dumps(events), "an outcome names an expert"
    return events


def resolutions_on_topic(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The latest resolved outcome per external id."""
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        if event["type"] == "quorum.outcome.resolved.v1":
            data = event["data"]
            held = latest.get(event["key"])
            if held is None or data["resolution"]["revision"] >= held["resolution"]["revision"]:
                latest[event["key"]] = data
    return latest


async def check_judgment_export(
    stack: Stack, project_id: str, judged: Judged, rubric_versions: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """The per-judgment export: one line per judgment of the project's items (never of a gold
    or qualification copy), each judge under one pseudonym across the project's items, no
    expert's id anywhere; the answers as submitted. The client and ops read the same."""
    path = f"/v1/projects/{project_id}/judgments/export"
    lines = await jsonl(await stack.assignment.get(path, headers=CLIENT))
    as_ops = await jsonl(await stack.assignment.get(path, headers=OPS))
    assert sorted(json.dumps(x, sort_keys=True) for x in as_ops) == sorted(
        json.dumps(x, sort_keys=True) for x in lines
    )
    text = json.dumps(lines)
    for expert_id in {row["expert"] for row in judged.rows}:
        assert expert_id not in text, f"{expert_id} is named in the per-judgment export"
    assert len(lines) == len(judged.rows), lines

    def same(line: dict[str, Any], row: dict[str, Any]) -> bool:
        return (
            line["item_id"] == row["item_id"]
            and line["kind"] == row["kind"]
            and line.get("verdict") == row.get("verdict")
            and line.get("ratings", {}) == row.get("ratings", {})
            and sorted(line.get("flags", [])) == sorted(row.get("flags", []))
        )

    pseudonyms: dict[str, set[str]] = {}
    for row in judged.rows:
        matches = [line for line in lines if same(line, row)]
        assert len(matches) == 1, (row, lines)
        line = matches[0]
        assert line["judge"].startswith("judge-")
        pseudonyms.setdefault(row["expert"], set()).add(line["judge"])
        severity = row.get("severity")
        assert line.get("severity") in ({severity} if severity else {None, "none"}), line
        assert (line.get("justification") or "") == row.get("justification", "")
        assert line["submitted_at"]
        if rubric_versions is not None:
            assert line["rubric"]["version"] == rubric_versions[row["item_id"]]
    for expert_id, names in pseudonyms.items():
        assert len(names) == 1, f"{expert_id} has pseudonyms {names} within one project"
    assert len({next(iter(n)) for n in pseudonyms.values()}) == len(pseudonyms)
    return lines


# --- media ---


def image(name: str, width: int = 4032, height: int = 3024) -> dict[str, Any]:
    return {
        "modality": "image",
        "uri": f"s3://acme-media/{name}.jpg",
        "sha256": sha(name),
        "size_bytes": 2_000_000,
        "width": width,
        "height": height,
        "format": "jpeg",
    }


def video(name: str, duration_s: float = 10.0) -> dict[str, Any]:
    return {
        "modality": "video",
        "uri": f"s3://acme-media/{name}.mp4",
        "sha256": sha(name),
        "size_bytes": 40_000_000,
        "duration_s": duration_s,
        "fps": 25,
        "frame_count": int(duration_s * 25),
        "width": 1920,
        "height": 1080,
        "has_audio": True,
    }


def audio(name: str, duration_s: float = 10.0) -> dict[str, Any]:
    return {
        "modality": "audio",
        "uri": f"s3://acme-media/{name}.wav",
        "sha256": sha(name),
        "size_bytes": 1_600_000,
        "duration_s": duration_s,
        "sample_rate_hz": 16_000,
        "channels": 1,
    }


def text(name: str, length: int = 60) -> dict[str, Any]:
    return {
        "modality": "text",
        "uri": f"s3://acme-media/{name}.txt",
        "sha256": sha(name),
        "size_bytes": length,
        "language": "en",
        "length_chars": length,
    }


def box(class_id: str, x: float, y: float, w: float, h: float, **attributes: Any) -> dict[str, Any]:
    label: dict[str, Any] = {
        "class_id": class_id,
        "geometry": {"kind": "box", "x": x, "y": y, "width": w, "height": h},
    }
    if attributes:
        label["attributes"] = attributes
    return label


def segment(class_id: str, start_s: float, end_s: float, part: str | None = None) -> dict[str, Any]:
    label: dict[str, Any] = {"class_id": class_id, "segment": {"start_s": start_s, "end_s": end_s}}
    if part is not None:
        label["part"] = part
    return label


def prelabels(*labels: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": "scout", "model_version": "4.2", "labels": list(labels)}


def classes_of(labels: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((label["class_id"], label.get("part")) for label in labels)


QA = {"class_correctness": 5, "temporal_alignment": 5, "guideline_fit": 5}


# --- program 1: multimodal QA with time segments and adjudication ---


async def test_multimodal_qa_resolves_by_consensus_and_by_adjudication_and_exports_its_segments(
    stack: Stack,
) -> None:
    taxonomy = await publish_ontology(
        stack,
        "Incidents",
        [
            {"id": "explosion", "name": "Explosion", "modalities": ["video"]},
            {"id": "siren", "name": "Siren", "modalities": ["audio"]},
            {"id": "glass_break", "name": "Glass break", "modalities": ["audio"]},
        ],
    )
    await ok(
        await stack.assignment.post(
            "/v1/rubrics",
            json={"rubric_id": "av-qa", "template": "multimodal_label_qa"},
            headers=OPS,
        ),
        201,
    )
    ana = await onboard(stack, "p1-ana", {"modality.video": 3})
    ben = await onboard(stack, "p1-ben", {"modality.video": 3})
    cy = await onboard(stack, "p1-cy", {"modality.video": 4, "role.adjudicator": 4})
    project = {
        "project_id": "av-incidents",
        "name": "Audio-visual incidents",
        "modality": "multimodal",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": "av-qa"},
        "required_skills": {"modality.video": 3},
        "overlap": {"k": 2},
        "adjudication": {"adjudicator_skill": "role.adjudicator", "adjudicator_min_level": 4},
    }
    await open_project(stack, project, {"p1-ana": ana, "p1-ben": ben, "p1-cy": cy})

    def clip(n: int) -> dict[str, Any]:
        return {
            "external_id": f"av/{n}",
            "project_id": "av-incidents",
            "modality": "multimodal",
            "parts": [
                {"name": "clip", "role": "video", "media": video(f"av-{n}-clip")},
                {"name": "soundtrack", "role": "audio_track", "media": audio(f"av-{n}-sound")},
            ],
            "prelabels": prelabels(
                segment("explosion", 2.0, 3.0, part="clip"),
                segment("siren", 1.0, 4.0, part="soundtrack"),
                segment("glass_break", 6.0, 6.5, part="soundtrack"),
            ),
        }

    agreed = (await register(stack, clip(1)))["item_id"]
    disputed = (await register(stack, clip(2)))["item_id"]
    kept = clip(2)["prelabels"]["labels"]
    without_glass = kept[:2]
    answers: dict[tuple[str, str], dict[str, Any]] = {
        ("p1-ana", agreed): {"verdict": "accept", "ratings": QA, "severity": "none"},
        ("p1-ben", agreed): {
            "verdict": "accept",
            "ratings": {**QA, "temporal_alignment": 4},
            "severity": "none",
            "flags": ["rare_class"],
        },
        ("p1-ana", disputed): {"verdict": "accept", "ratings": QA, "severity": "none"},
        ("p1-ben", disputed): {
            "verdict": "correct",
            "ratings": {**QA, "class_correctness": 4},
            "severity": "minor",
            "labels": without_glass,
            "justification": "no glass breaks in the soundtrack; the model heard a door",
        },
    }
    judged = Judged()
    for expert_id, headers in (("p1-ana", ana), ("p1-ben", ben)):
        for _ in range(2):
            unit = await next_unit(stack, headers)
            await judge(stack, judged, expert_id, unit, answers[(expert_id, unit["item_id"])])

    # the two judges disagree on the disputed clip: an adjudication unit for cy, who sees
    # both answers and keeps the pre-labels, the rare class with them
    unit = await next_unit(stack, cy)
    assert unit["item_id"] == disputed and unit["kind"] == "adjudication"
    assert len(unit["judgments"]) == 2
    adjudicated = {
        "verdict": "accept",
        "ratings": QA,
        "severity": "none",
        "flags": ["rare_class"],
    }
    await judge(stack, judged, "p1-cy", unit, adjudicated)

    first = await resolved(stack, agreed)
    assert first["resolution"]["method"] == "consensus"
    assert first["resolution"]["verdict"] == "accept"
    assert classes_of(first["final_labels"]) == classes_of(kept)
    assert first["resolution"]["flags"] == []  # one judge of two is no majority
    assert first["resolution"]["flag_counts"] == {"rare_class": 1}
    assert first["resolution"]["ratings"]["temporal_alignment"] == 4.5
    assert first["resolution"]["rating_spread"]["temporal_alignment"] == 1
    second = await resolved(stack, disputed)
    assert second["resolution"]["method"] == "adjudication"
    assert second["resolution"]["verdict"] == "accept"
    assert second["resolution"]["flags"] == ["rare_class"]
    assert {e["code"] for e in second["resolution"]["escalation"]} == {"disagreement"}
    assert ("glass_break", "soundtrack") in classes_of(second["final_labels"])
    assert second["resolution"]["taxonomy"] == taxonomy
    assert first["resolution"]["agreement"] is not None and first["resolution"]["figures"]
    assert "p1-" not in json.dumps([first, second])  # no expert named to the client

    lines = await export(stack, "av-incidents", "jsonl")
    assert {x["item_id"]: x["resolution"]["verdict"] for x in lines} == {
        agreed: "accept",
        disputed: "accept",
    }
    segments = await export(stack, "av-incidents", "segments")
    glass = [s for s in segments if s["class_id"] == "glass_break"]
    assert len(segments) == 6 and len(glass) == 2
    rare = next(s for s in glass if s["item_id"] == disputed)
    assert (rare["part"], rare["modality"], rare["start_s"], rare["end_s"]) == (
        "soundtrack",
        "audio",
        6.0,
        6.5,
    )
    assert rare["uri"] == "s3://acme-media/av-2-sound.wav" and rare["flags"] == ["rare_class"]
    explosion = next(s for s in segments if s["class_id"] == "explosion" and s["item_id"] == agreed)
    assert explosion["uri"] == "s3://acme-media/av-1-clip.mp4" and explosion["modality"] == "video"

    events = await outcome_events(stack, {"av/1", "av/2"}, "registered", "resolved", experts="p1-")
    on_topic = resolutions_on_topic(events)
    assert on_topic["av/2"]["resolution"]["method"] == "adjudication"
    assert on_topic["av/2"]["final_labels"] == second["final_labels"]
    assert on_topic["av/1"]["resolution"]["flag_counts"] == {"rare_class": 1}

    exported = await check_judgment_export(stack, "av-incidents", judged)
    kinds = sorted(line["kind"] for line in exported)
    assert kinds == ["adjudication", "review", "review", "review", "review"]
    assert all(x["taxonomy"] == taxonomy for x in exported)
    by_ben = next(x for x in exported if x["item_id"] == disputed and x.get("verdict") == "correct")
    assert classes_of(by_ben["labels"]) == classes_of(without_glass)
    by_ana = next(
        x
        for x in exported
        if x["item_id"] == disputed and x["kind"] == "review" and x.get("verdict") == "accept"
    )
    assert classes_of(by_ana["labels"]) == classes_of(kept)  # the accepted pre-labels


# --- program 2: image evaluation, with a rubric change mid-program ---


async def test_image_evaluation_keeps_each_items_rubric_version_across_a_rubric_change(
    stack: Stack,
) -> None:
    taxonomy = await publish_ontology(
        stack,
        "Street objects",
        [
            {
                "id": "car",
                "name": "Car",
                "modalities": ["image"],
                "attributes": [{"name": "occluded", "type": "bool"}],
            },
            {"id": "person", "name": "Person", "modalities": ["image"]},
            {"id": "bicycle", "name": "Bicycle", "modalities": ["image"]},
        ],
    )
    await ok(
        await stack.assignment.post(
            "/v1/rubrics",
            json={"rubric_id": "street-eval", "template": "multimodal_label_qa"},
            headers=OPS,
        ),
        201,
    )
    dora = await onboard(stack, "p2-dora", {"modality.image": 3})
    eli = await onboard(stack, "p2-eli", {"modality.image": 3})
    project = {
        "project_id": "street-eval",
        "name": "Street object evaluation",
        "modality": "image",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": "street-eval"},
        "required_skills": {"modality.image": 2},
        "overlap": {"k": 2},
    }
    await open_project(stack, project, {"p2-dora": dora, "p2-eli": eli})

    def photo(n: int) -> dict[str, Any]:
        return {
            "external_id": f"street/{n}",
            "project_id": "street-eval",
            "modality": "image",
            "media": image(f"street-{n}"),
            "prelabels": prelabels(
                box("car", 100, 200, 300, 150), box("person", 900, 400, 120, 380)
            ),
        }

    before = (await register(stack, photo(1)))["item_id"]
    judged = Judged()
    for expert_id, headers, points in (("p2-dora", dora, 5), ("p2-eli", eli, 4)):
        unit = await next_unit(stack, headers)
        assert unit["item_id"] == before and unit["rubric"]["version"] == 1
        answers: dict[str, Any] = {
            "verdict": "accept",
            "ratings": {**QA, "guideline_fit": points},
            "severity": "none",
        }
        await judge(stack, judged, expert_id, unit, answers)

    # ops tighten the rubric: version 2 asks how tight the boxes are; the project follows it
    current = await ok(await stack.assignment.get("/v1/rubrics/street-eval", headers=OPS))
    definition = current["latest"]["definition"]
    definition["dimensions"].append(
        {
            "name": "box_tightness",
            "title": "Box tightness",
            "scale_min": 1,
            "scale_max": 5,
            "anchors": {"1": "Boxes far from the object.", "5": "Boxes touch the object."},
        }
    )
    added = await stack.assignment.post(
        "/v1/rubrics/street-eval/versions", json={"definition": definition}, headers=OPS
    )
    assert (await ok(added, 201))["version"] == 2
    await ok(
        await stack.assignment.patch(
            "/v1/projects/street-eval",
            json={"rubric": {"rubric_id": "street-eval", "version": 2}},
            headers=OPS,
        )
    )

    after = (await register(stack, photo(2)))["item_id"]
    corrected = [box("car", 100, 200, 300, 150, occluded=True), box("bicycle", 900, 400, 120, 380)]
    for expert_id, headers, points in (("p2-dora", dora, 5), ("p2-eli", eli, 4)):
        unit = await next_unit(stack, headers)
        assert unit["item_id"] == after and unit["rubric"]["version"] == 2
        answers = {
            "verdict": "correct",
            "ratings": {**QA, "guideline_fit": points},
            "severity": "minor",
            "flags": ["occlusion"],
            "labels": corrected,
            "justification": "the second object is a bicycle, and the car is behind a van",
        }
        refused = await ok(await submit(stack, headers, unit, answers), 422)
        assert "body.answers.ratings.box_tightness" in {e["field"] for e in refused["errors"]}
        answers["ratings"] = {**answers["ratings"], "box_tightness": 4}
        await judge(stack, judged, expert_id, unit, answers)

    accepted, changed = await resolved(stack, before), await resolved(stack, after)
    assert accepted["resolution"]["rubric"] == {"rubric_id": "street-eval", "version": 1}
    assert changed["resolution"]["rubric"] == {"rubric_id": "street-eval", "version": 2}
    assert accepted["resolution"]["verdict"] == "accept"
    assert classes_of(accepted["final_labels"]) == [("car", None), ("person", None)]
    assert changed["resolution"]["verdict"] == "correct"
    assert changed["resolution"]["method"] == "consensus"
    assert changed["resolution"]["flags"] == ["occlusion"]
    assert changed["resolution"]["severity"] == "minor"
    assert changed["resolution"]["ratings"]["box_tightness"] == 4
    assert "box_tightness" not in accepted["resolution"]["ratings"]
    assert classes_of(changed["final_labels"]) == [("bicycle", None), ("car", None)]

    coco = await export(stack, "street-eval", "coco")
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    images = {i["quorum_item_id"]: i for i in coco["images"]}
    assert images[before]["quorum_verdict"] == "accept"
    assert images[after]["quorum_verdict"] == "correct"
    assert images[after]["quorum_flags"] == ["occlusion"]
    assert images[after]["quorum_severity"] == "minor"
    by_image: dict[str, list[dict[str, Any]]] = {before: [], after: []}
    for annotation in coco["annotations"]:
        item_id = next(k for k, v in images.items() if v["id"] == annotation["image_id"])
        by_image[item_id].append(annotation)
    assert sorted(categories[a["category_id"]] for a in by_image[before]) == ["Car", "Person"]
    assert sorted(a["bbox"] for a in by_image[before]) == [
        [100, 200, 300, 150],
        [900, 400, 120, 380],
    ]
    car = next(a for a in by_image[after] if categories[a["category_id"]] == "Car")
    assert car["attributes"] == {"occluded": True} and car["flags"] == ["occlusion"]
    assert sorted(categories[a["category_id"]] for a in by_image[after]) == ["Bicycle", "Car"]

    lines = await export(stack, "street-eval", "jsonl")
    assert {x["item_id"]: x["resolution"]["rubric"]["version"] for x in lines} == {
        before: 1,
        after: 2,
    }
    events = await outcome_events(stack, {"street/1", "street/2"}, "resolved", experts="p2-")
    on_topic = resolutions_on_topic(events)
    assert on_topic["street/2"]["resolution"]["rubric"]["version"] == 2
    assert classes_of(on_topic["street/1"]["final_labels"]) == [("car", None), ("person", None)]

    await check_judgment_export(stack, "street-eval", judged, rubric_versions={before: 1, after: 2})


# --- program 3: visual-quality ratings (a ratings-only rubric) ---


async def test_visual_quality_ratings_resolve_to_the_median_with_its_spread_and_no_verdict(
    stack: Stack,
) -> None:
    rubric = {
        "rubric_id": "visual-quality",
        "definition": {
            "name": "Visual quality",
            "description": "Rate the rendering; no verdict is asked.",
            "verdicts": [],
            "dimensions": [
                {
                    "name": "visual_quality",
                    "title": "Visual quality",
                    "anchors": {"1": "Unusable.", "5": "Clean and seamless."},
                },
                {"name": "sharpness", "title": "Sharpness"},
            ],
            "flags": [{"name": "watermark", "title": "Watermark"}],
        },
    }
    await ok(await stack.assignment.post("/v1/rubrics", json=rubric, headers=OPS), 201)
    fay = await onboard(stack, "p3-fay", {"modality.image": 3})
    gus = await onboard(stack, "p3-gus", {"modality.image": 3})
    project = {
        "project_id": "render-quality",
        "name": "Render quality",
        "modality": "image",
        "rubric": {"rubric_id": "visual-quality"},
        "overlap": {"k": 2},
    }
    await open_project(stack, project, {"p3-fay": fay, "p3-gus": gus})
    renders = []
    for n in (1, 2):
        body = {
            "external_id": f"render/{n}",
            "project_id": "render-quality",
            "modality": "image",
            "media": image(f"render-{n}", 1024, 1024),
        }
        renders.append((await register(stack, body))["item_id"])
    clean, marked = renders
    answers: dict[tuple[str, str], dict[str, Any]] = {
        ("p3-fay", clean): {"ratings": {"visual_quality": 3, "sharpness": 4}},
        ("p3-gus", clean): {"ratings": {"visual_quality": 4, "sharpness": 4}},
        ("p3-fay", marked): {
            "ratings": {"visual_quality": 2, "sharpness": 1},
            "flags": ["watermark"],
        },
        ("p3-gus", marked): {
            "ratings": {"visual_quality": 2, "sharpness": 2},
            "flags": ["watermark"],
        },
    }
    judged = Judged()
    for expert_id, headers in (("p3-fay", fay), ("p3-gus", gus)):
        for _ in range(2):
            unit = await next_unit(stack, headers)
            await judge(stack, judged, expert_id, unit, answers[(expert_id, unit["item_id"])])

    first, second = await resolved(stack, clean), await resolved(stack, marked)
    assert first["resolution"]["verdict"] is None and first["final_labels"] == []
    assert first["resolution"]["method"] == "consensus"
    # two raters: the midpoint of their points, not the harsher one
    assert first["resolution"]["ratings"] == {"visual_quality": 3.5, "sharpness": 4.0}
    assert first["resolution"]["rating_spread"] == {"visual_quality": 1.0, "sharpness": 0.0}
    assert second["resolution"]["ratings"] == {"visual_quality": 2.0, "sharpness": 1.5}
    assert second["resolution"]["flags"] == ["watermark"]
    assert second["resolution"]["flag_counts"] == {"watermark": 2}

    coco = await export(stack, "render-quality", "coco")
    assert coco["annotations"] == []
    images = {i["external_id"]: i for i in coco["images"]}
    assert images["render/2"]["quorum_flags"] == ["watermark"]
    assert images["render/1"].get("quorum_verdict") is None
    lines = await export(stack, "render-quality", "jsonl")
    assert {x["external_id"]: x["resolution"]["ratings"]["visual_quality"] for x in lines} == {
        "render/1": 3.5,
        "render/2": 2.0,
    }
    events = await outcome_events(stack, {"render/1", "render/2"}, "resolved", experts="p3-")
    on_topic = resolutions_on_topic(events)
    assert on_topic["render/1"]["resolution"]["ratings"] == {
        "visual_quality": 3.5,
        "sharpness": 4.0,
    }
    assert on_topic["render/1"]["resolution"]["rating_spread"]["visual_quality"] == 1.0

    exported = await check_judgment_export(stack, "render-quality", judged)
    assert all(line.get("verdict") is None for line in exported)


# --- program 4: field capture over Kafka, reviewed by experts who passed a qualification ---


async def test_field_capture_over_kafka_is_reviewed_by_the_expert_who_passed_the_qualification(
    stack: Stack,
) -> None:
    taxonomy = await publish_ontology(
        stack,
        "Field sounds",
        [
            {"id": "bird_call", "name": "Bird call", "modalities": ["audio"]},
            {"id": "chainsaw", "name": "Chainsaw", "modalities": ["audio"]},
        ],
    )
    await ok(
        await stack.assignment.post(
            "/v1/rubrics",
            json={"rubric_id": "field-qa", "template": "multimodal_label_qa"},
            headers=OPS,
        ),
        201,
    )
    skill = "domain.field_audio"
    correction: dict[str, Any] = {
        "verdict": "correct",
        "labels": [segment("bird_call", 1.0, 2.0)],
        "ratings": {**QA, "class_correctness": 1},
        "severity": "minor",
        "justification": "the sound is a bird call, not a chainsaw",
    }
    acceptance: dict[str, Any] = {"verdict": "accept", "ratings": QA, "severity": "none"}
    qualification = {
        "set_id": "field-audio-l3",
        "name": "Field audio, level 3",
        "skill": skill,
        "level": 3,
        "modality": "audio",
        "rubric": {"rubric_id": "field-qa", "version": 1},
        "taxonomy": taxonomy,
        "threshold": 0.8,
        "items": [
            {
                "media": audio("qual-1", 5.0),
                "prelabels": prelabels(segment("chainsaw", 0.5, 2.0)),
                "key": acceptance,
            },
            {
                "media": audio("qual-2", 5.0),
                "prelabels": prelabels(segment("chainsaw", 1.0, 2.0)),
                "key": correction,
            },
        ],
    }
    created = await settled(  # 409 while assignment has not consumed the taxonomy version
        lambda: stack.assignment.post("/v1/qualifications", json=qualification, headers=OPS),
        retry_on=(409,),
    )
    await ok(created, 201)
    hal = await onboard(stack, "p4-hal", {}, state="vetting")
    ivy = await onboard(stack, "p4-ivy", {}, state="vetting")
    for expert_id, headers, second_answer in (
        ("p4-hal", hal, correction),
        ("p4-ivy", ivy, acceptance),  # misses the mislabelled bird call
    ):
        await ok(
            await stack.assignment.post(
                f"/v1/experts/{expert_id}/qualifications",
                json={"set_id": "field-audio-l3"},
                headers=OPS,
            ),
            201,
        )
        for qualifying in (acceptance, second_answer):
            unit = await next_unit(stack, headers, timeout=10)
            assert unit["kind"] == "qualification"
            await ok(await submit(stack, headers, unit, qualifying), 201)

    async def outcome(expert_id: str, headers: dict[str, str]) -> dict[str, Any] | None:
        await stack.assignment.get("/v1/me/qualifications", headers=headers)
        attempts = await ok(
            await stack.assignment.get(f"/v1/experts/{expert_id}/qualifications", headers=OPS)
        )
        attempt = attempts["items"][0]
        return attempt if attempt["state"] != "open" else None

    passed = await eventually(lambda: outcome("p4-hal", hal))
    failed = await eventually(lambda: outcome("p4-ivy", ivy))
    assert (passed["state"], passed["score"]) == ("passed", 1.0)
    assert failed["state"] == "failed" and failed["score"] < 0.8
    profile = await ok(await stack.assignment.get("/v1/experts/p4-hal", headers=OPS))
    granted = next(s for s in profile["skills"] if s["skill"] == skill)
    assert granted["level"] == 3 and granted["verified"]["method"] == "qualification"

    # ops vet both; only the expert who passed holds the skill the project requires
    for expert_id in ("p4-hal", "p4-ivy"):
        await ok(
            await stack.assignment.post(
                f"/v1/experts/{expert_id}/state",
                json={"state": "vetted", "reason": "background check done"},
                headers=OPS,
            )
        )
    project = {
        "project_id": "forest-audio",
        "name": "Forest field recordings",
        "modality": "audio",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": "field-qa"},
        "required_skills": {skill: 3},
        "overlap": {"k": 1},
    }
    await open_project(stack, project, {"p4-hal": hal, "p4-ivy": ivy})

    # the field recorder's uploader publishes CloudEvents on the tenant's request topic
    async def ingest_knows_the_project() -> bool:
        known = await service_of(stack.ingest_app).get(Projects).get(TENANT, "forest-audio")
        version = (
            await service_of(stack.ingest_app)
            .get(Registrations)
            .taxonomy.fetch(TENANT, taxonomy["ontology_id"], taxonomy["version"])
        )
        return known is not None and version is not None

    await eventually(ingest_knows_the_project)
    capture = {
        "device": "recorder-3",
        "environment": "forest",
        "consent_ref": "permit/2026/117",
        "tags": ["dawn"],
    }

    def recording(n: int, labels: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "external_id": f"field/{n}",
            "project_id": "forest-audio",
            "modality": "audio",
            "media": audio(f"field-{n}", 5.0),
            "capture": capture,
            "prelabels": prelabels(*labels),
        }

    good = recording(1, [segment("bird_call", 0.5, 1.5)])
    mislabelled = recording(2, [segment("chainsaw", 1.0, 2.0)])
    broken = {**recording(3, [segment("bird_call", 4.0, 9.0)]), "modality": "sound"}
    request_ids = {body["external_id"]: str(uuid.uuid4()) for body in (good, mislabelled, broken)}
    await produce(
        stack.bootstrap,
        stack.topic(MEDIA_REQUESTS.of_tenant(TENANT)),
        [
            sdk_message(b, event_id=request_ids[b["external_id"]])
            for b in (good, mislabelled, broken)
        ],
    )
    events = await outcome_events(stack, {"field/1", "field/2"}, "registered", experts="p4-")
    registered = {
        e["key"]: e["data"] for e in events if e["type"] == "quorum.outcome.registered.v1"
    }
    assert registered["field/1"]["request_id"] == request_ids["field/1"]
    item_of = {key: data["item_id"] for key, data in registered.items()}

    rejected = await outcome_events(stack, {"field/3"}, "rejected", experts="p4-")
    reasons = {r["field"] for r in rejected[0]["data"]["reasons"]}
    assert {"data.modality", "data.prelabels.labels.0.segment.end_s"} <= reasons
    assert rejected[0]["data"]["request_id"] == request_ids["field/3"]
    kept = await ok(
        await stack.ingest.get(
            "/v1/media/rejections", params={"external_id": "field/3"}, headers=CLIENT
        )
    )
    assert {r["field"] for r in kept["rejections"][0]["reasons"]} == reasons

    # the expert who failed is vetted but lacks the skill: told so, never handed the work
    # (a replica reuses an expert's profile for up to 1 s: her vetting reaches it within that)
    async def idle_reason() -> str | None:
        idle = await stack.assignment.post("/v1/work:next", headers=ivy)
        assert idle.status_code == 204, idle.text
        reason = idle.headers["Quorum-No-Work-Reason"]
        return reason if reason != "nothing_left" else None

    assert await eventually(idle_reason, timeout=5) == "missing_skill"
    answers: dict[str, dict[str, Any]] = {
        item_of["field/1"]: acceptance,
        item_of["field/2"]: {**correction, "ratings": {**QA, "class_correctness": 2}},
    }
    judged = Judged()
    for _ in range(2):
        unit = await next_unit(stack, hal)
        assert unit.get("kind", "review") == "review"
        assert unit["content"]["capture"]["device"] == "recorder-3"
        await judge(stack, judged, "p4-hal", unit, answers[unit["item_id"]])

    first = await resolved(stack, item_of["field/1"])
    second = await resolved(stack, item_of["field/2"])
    assert first["capture"]["consent_ref"] == "permit/2026/117"
    assert first["resolution"]["method"] == "single" and first["resolution"]["verdict"] == "accept"
    assert [(s["class_id"], s["segment"]) for s in first["final_labels"]] == [
        ("bird_call", {"start_s": 0.5, "end_s": 1.5})
    ]
    assert second["resolution"]["verdict"] == "correct"
    assert [(s["segment"]["start_s"], s["class_id"]) for s in second["final_labels"]] == [
        (1.0, "bird_call")
    ]
    segments = await export(stack, "forest-audio", "segments")
    assert sorted(
        (s["external_id"], s["class_id"], s["start_s"], s["end_s"]) for s in segments
    ) == [
        ("field/1", "bird_call", 0.5, 1.5),
        ("field/2", "bird_call", 1.0, 2.0),
    ]
    assert {s["modality"] for s in segments} == {"audio"}
    on_topic = resolutions_on_topic(
        await outcome_events(stack, {"field/1", "field/2"}, "resolved", experts="p4-")
    )
    assert on_topic["field/2"]["resolution"]["verdict"] == "correct"
    assert on_topic["field/2"]["final_labels"] == second["final_labels"]

    exported = await check_judgment_export(stack, "forest-audio", judged)  # no qualification copy
    assert {line["item_id"] for line in exported} == set(item_of.values())


# --- program 5: image-edit bundles, with gold ---


EDIT_DIMENSIONS = (
    "instruction_adherence",
    "structural_integrity",
    "preservation",
    "visual_quality",
    "style_alignment",
    "character_consistency",
)


def edit_ratings(points: int) -> dict[str, int]:
    return dict.fromkeys(EDIT_DIMENSIONS, points)


def bundle(name: str) -> list[dict[str, Any]]:
    return [
        {"name": "source", "role": "source_image", "media": image(f"{name}-source", 1024, 768)},
        {"name": "instruction", "role": "instruction", "media": text(f"{name}-instruction")},
        {"name": "edited", "role": "edited_image", "media": image(f"{name}-edited", 1024, 768)},
    ]


async def test_image_edit_bundles_resolve_with_verdicts_safety_flags_and_gold_kept_out_of_outcomes(
    stack: Stack,
) -> None:
    await ok(
        await stack.assignment.post(
            "/v1/rubrics",
            json={"rubric_id": "edit-eval", "template": "image_edit_evaluation"},
            headers=OPS,
        ),
        201,
    )
    jon = await onboard(stack, "p5-jon", {"modality.multimodal": 3})
    kim = await onboard(stack, "p5-kim", {"modality.multimodal": 4})
    project = {
        "project_id": "image-edits",
        "name": "Image edits",
        "modality": "multimodal",
        "rubric": {"rubric_id": "edit-eval"},
        "overlap": {"k": 1},
        "gold_rate": 0.5,
    }
    await open_project(stack, project, {"p5-jon": jon, "p5-kim": kim})
    gold_answers = {
        "verdict": "reject",
        "ratings": edit_ratings(2),
        "severity": "major",
        "justification": "the face changed and the sky has seams along the edit",
    }
    gold = {"gold_id": "edit-gold-1", "parts": bundle("gold-1"), "key": gold_answers}
    stored = await ok(
        await stack.assignment.post("/v1/projects/image-edits/gold", json=gold, headers=OPS), 201
    )
    assert "verdict" in stored["tolerances"]["decisive"]

    edits = {}
    for n in (1, 2, 3):
        body = {
            "external_id": f"edit/{n}",
            "project_id": "image-edits",
            "modality": "multimodal",
            "parts": bundle(f"edit-{n}"),
        }
        edits[f"edit/{n}"] = (await register(stack, body))["item_id"]
    unsafe: dict[str, Any] = {
        "verdict": "reject",
        "flags": ["unsafe"],
        "severity": "critical",
        "justification": "the edit exposes a stranger's home address on the door sign",
    }
    answers: dict[str, dict[str, Any]] = {
        edits["edit/1"]: {"verdict": "accept", "ratings": edit_ratings(5), "severity": "none"},
        edits["edit/2"]: {
            "verdict": "infeasible",
            "justification": "the instruction asks to show the room from behind the wall",
        },
        edits["edit/3"]: unsafe,
    }
    gold_uri = "s3://acme-media/gold-1-source.jpg"

    def is_gold(unit: dict[str, Any]) -> bool:
        return any(p["media"]["uri"] == gold_uri for p in unit["content"]["parts"])

    judged = Judged()
    gold_copies: set[str] = set()
    reviewed: set[str] = set()
    while reviewed != set(edits.values()):
        unit = await next_unit(stack, jon)
        if is_gold(unit):  # the expert sees an ordinary unit; the test knows the media
            gold_copies.add(unit["item_id"])
            assert unit.get("kind", "review") == "review"
            await ok(await submit(stack, jon, unit, gold_answers), 201)
            continue
        await judge(stack, judged, "p5-jon", unit, answers[unit["item_id"]])
        reviewed.add(unit["item_id"])
    assert gold_copies, "gold_rate 0.5 serves the gold item among the first units"

    # a single judge's critical severity goes to adjudication: kim, at the adjudicator's level
    while True:
        unit = await next_unit(stack, kim)
        if is_gold(unit):
            gold_copies.add(unit["item_id"])
            await ok(await submit(stack, kim, unit, gold_answers), 201)
            continue
        break
    assert unit["kind"] == "adjudication" and unit["item_id"] == edits["edit/3"]
    await judge(stack, judged, "p5-kim", unit, {**unsafe, "severity": "major"})

    accepted = await resolved(stack, edits["edit/1"])
    infeasible = await resolved(stack, edits["edit/2"])
    refused = await resolved(stack, edits["edit/3"])
    assert accepted["resolution"]["verdict"] == "accept"
    assert accepted["resolution"]["ratings"] == {d: 5.0 for d in EDIT_DIMENSIONS}
    assert infeasible["resolution"]["verdict"] == "infeasible"
    assert infeasible["resolution"]["ratings"] == {} and infeasible["final_labels"] == []
    assert refused["resolution"]["method"] == "adjudication"
    assert [e["code"] for e in refused["resolution"]["escalation"]] == ["severity"]
    assert refused["resolution"]["flags"] == ["unsafe"]
    assert refused["resolution"]["severity"] == "major"
    assert refused["resolution"]["verdict"] == "reject" and refused["final_labels"] == []

    lines = await export(stack, "image-edits", "jsonl")
    assert {x["external_id"]: x["resolution"]["verdict"] for x in lines} == {
        "edit/1": "accept",
        "edit/2": "infeasible",
        "edit/3": "reject",
    }
    unsafe_items = [x["external_id"] for x in lines if "unsafe" in x["resolution"]["flags"]]
    assert unsafe_items == ["edit/3"]  # a client can filter unsafe content
    coco = await stack.ingest.get(
        "/v1/media/export", params={"project_id": "image-edits", "format": "coco"}, headers=CLIENT
    )
    assert coco.status_code == 422  # bundles are not COCO images; the JSON lines carry them

    on_topic = resolutions_on_topic(
        await outcome_events(stack, set(edits), "registered", "resolved", experts="p5-")
    )
    assert set(on_topic) == set(edits)  # gold copies are nobody's outcome
    assert on_topic["edit/3"]["resolution"]["flags"] == ["unsafe"]
    assert on_topic["edit/2"]["resolution"]["verdict"] == "infeasible"

    ledger = await ok(
        await stack.assignment.get(
            "/v1/ledger", params={"project_id": "image-edits", "format": "json"}, headers=OPS
        )
    )
    rows = {r["expert_id"]: r for r in ledger["items"]}
    assert rows["p5-jon"]["gold_scored"] == 1 and rows["p5-jon"]["gold_score"] == 1.0
    assert rows["p5-kim"]["adjudications"] == 1

    exported = await check_judgment_export(stack, "image-edits", judged)
    assert not {line["item_id"] for line in exported} & gold_copies
