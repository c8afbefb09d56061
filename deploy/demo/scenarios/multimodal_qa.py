"""``multimodal-qa``: clips of a road camera — video with the event's class on a time
segment, the audio track (experts judge its audio-visual sync offset in milliseconds) and a
text transcript — pre-labelled by a model that takes cyclists for pedestrians at night.
A targeted agreement sample gets two judges; occlusion and rare-class flags go to
adjudication; flagged judgments become taxonomy candidates that ops accept as example
links; midway ops publish a taxonomy version that splits ``vehicle`` into ``car`` and
``van``, move the project to it, and translate earlier labels. The pre-label alert must
flag the confused class and leave the unbiased ones alone, and its recommendation must reach
routing: the pending clips the model pre-labelled with that class are handed out first."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any

from deploy.demo import program as p
from deploy.demo.api import DemoError, eventually
from deploy.demo.crowd import Crowd, Persona, Truth, media_uri, perceive

NAME = "multimodal-qa"
TITLE = "Multimodal label QA, a model confused at night"
V1_CLASSES = ("vehicle", "pedestrian", "cyclist")
V2_CLASSES = ("car", "van", "pedestrian", "cyclist")
SYNC = "av_sync_offset_ms"


def rubric(template: dict[str, Any]) -> dict[str, Any]:
    definition = dict(template)
    definition["dimensions"] = [
        d for d in template["dimensions"] if d["name"] != "guideline_fit"
    ] + [
        {
            "name": SYNC,
            "title": "Audio-visual sync offset (ms)",
            "description": "How far the soundtrack runs ahead (+) or behind (-) the picture.",
            "scale_min": -50,
            "scale_max": 50,
            "anchors": {"0": "In sync."},
        }
    ]
    return definition


def true_class(rng: random.Random, version: int) -> str:
    cls = rng.choice(V1_CLASSES)
    if cls == "vehicle" and version == 2:
        return rng.choice(("car", "van"))
    return cls


def answer(
    persona: Persona, unit: dict[str, Any], truth: Truth, n: int, rng: random.Random
) -> dict[str, Any]:
    classes = list(V2_CLASSES if truth.extra["version"] == 2 else V1_CLASSES)
    adjudicating = unit.get("kind") == "adjudication"
    seen = truth.classes[0] if adjudicating else perceive(persona, truth.classes[0], classes, rng)
    prelabel = truth.extra["prelabel"]
    start, end = truth.extra["segment"]
    offset = truth.extra["offset_ms"] + round(rng.gauss(0, 6))
    ratings = {
        "class_correctness": 5 if seen == prelabel else 2,
        "temporal_alignment": rng.choice((4, 5)),
        SYNC: max(-50, min(50, offset)),
    }
    flags = []
    if truth.extra.get("occluded") and rng.random() < 0.9:
        flags.append("occlusion")
    if truth.extra.get("rare") and rng.random() < 0.9:
        flags.append("rare_class")
    answers: dict[str, Any] = {"ratings": ratings, "flags": flags}
    if seen == prelabel:
        return {**answers, "verdict": "accept", "severity": "none"}
    segment = {"class_id": seen, "segment": {"start_s": start, "end_s": end}, "part": "clip"}
    return {
        **answers,
        "verdict": "correct",
        "severity": "minor",
        "labels": [segment],
        "justification": f"The moving object is a {seen}, not a {prelabel}.",
    }


async def run(ctx: p.Context) -> p.Report:
    api, rng = ctx.api, ctx.rng(NAME)
    project_id = ctx.id("road-clips")
    report = p.Report(NAME, TITLE, project_id)
    started = time.monotonic()
    skill = {"modality.video": 3}
    roster = [
        Persona(ctx.id("mm-ana"), skill, accuracy=0.95),
        Persona(ctx.id("mm-ben"), skill, accuracy=0.93, confusions={"cyclist": "pedestrian"}),
        Persona(ctx.id("mm-cy"), skill, accuracy=0.9, think_s=0.05),
        Persona(ctx.id("mm-dee"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
        Persona(ctx.id("mm-eve"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
        Persona(ctx.id("mm-fin"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
    ]
    n_items = ctx.n(130, floor=100)
    split_at = int(n_items * 0.7)

    ctx.progress("setting up", 0, 1)
    v1 = await p.publish_ontology(
        api,
        ctx.id("Road events"),
        [{"id": c, "name": c.title(), "modalities": ["video"]} for c in V1_CLASSES],
    )
    templates = await api.json("assignment", "GET", "/v1/rubric-templates", **p.OPS)
    template = next(t for t in templates["items"] if t["name"] == "multimodal_label_qa")
    await p.create_rubric(api, project_id, definition=rubric(template["definition"]))
    for persona in roster:
        await p.onboard(api, persona)
    project = {
        "project_id": project_id,
        "name": "Road camera clips",
        "modality": "multimodal",
        "taxonomy": v1,
        "rubric": {"rubric_id": project_id},
        "required_skills": skill,
        # a targeted agreement sample: 30 % of the clips get two judges
        "overlap": {"k": 1, "iaa_share": 0.3, "k_iaa": 2},
        "adjudication": {
            "adjudicator_skill": "role.adjudicator",
            "adjudicator_min_level": 4,
            "escalate_flags": ["occlusion", "rare_class"],
            # sync offsets are milliseconds: their spread is measured, not escalated
            "max_rating_spread": 100,
        },
    }
    await p.open_project(api, project, roster)

    truths: dict[str, Truth] = {}

    def clip(i: int, version: int) -> dict[str, Any]:
        cls = true_class(rng, version)
        night = i % 2 == 1
        prelabel = "pedestrian" if cls == "cyclist" and night and rng.random() < 0.8 else cls
        start = round(rng.uniform(0.2, 1.0), 1)
        end = round(start + rng.uniform(0.8, 1.6), 1)
        offset = rng.choice((0, 0, 0, 20, -20, 40))
        base = f"{project_id}/{i:04d}"
        video = ctx.media.video(
            f"{base}-clip",
            duration_s=3.0,
            fps=10,
            width=192,
            height=144,
            scene="night" if night else "day",
            segments=[(cls, start, end)],
            audio_offset_ms=offset,
            seed=i,
        )
        sound = ctx.media.audio(f"{base}-sound", duration_s=3.0, events=[(cls, start, end)], seed=i)
        transcript = ctx.media.text(
            f"{base}-transcript", f"[{start:.1f}s] dispatcher: {cls} crossing, camera 4."
        )
        external_id = f"clip/{ctx.run}/{i}"
        truths[video.uri] = Truth(
            external_id,
            classes=(cls,),
            hard=night,
            extra={
                "version": version,
                "prelabel": prelabel,
                "segment": (start, end),
                "offset_ms": offset,
                "occluded": rng.random() < 0.06,
                "rare": i % 25 == 7,
                "night": night,
            },
        )
        return {
            "external_id": external_id,
            "project_id": project_id,
            "modality": "multimodal",
            "parts": [
                {"name": "clip", "role": "video", "media": video.descriptor()},
                {"name": "soundtrack", "role": "audio_track", "media": sound.descriptor()},
                {"name": "transcript", "role": "transcript", "media": transcript.descriptor()},
            ],
            "capture": {
                "device": "camera-4",
                "environment": "night" if night else "day",
                "tags": ["road"],
            },
            "prelabels": {
                "model_name": "road-detector",
                "model_version": "3.0",
                "labels": [
                    {
                        "class_id": prelabel,
                        "confidence": round(rng.uniform(0.55, 0.98), 2),
                        "segment": {"start_s": start, "end_s": end},
                        "part": "clip",
                    }
                ],
            },
        }

    first = []
    for i in range(split_at):
        first.append(clip(i, 1))
        ctx.progress("making clips", i + 1, n_items)
    by_external = {t.external_id: t for t in truths.values()}
    by_item = {i: by_external[e] for e, i in (await p.register_http(api, first)).items()}
    report.registered = split_at
    crowd = p.crowd_of(ctx, roster, truths, answer)
    # the experts stop with a backlog left whenever they pause: the alert lane evaluates a
    # project once it is quiet, and assignment then raises the priority of the pending clips
    # of the alert's class, which the next handouts show
    backlog = max(16, n_items // 6)

    def all_but_backlog(expected: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            now = await p.progress(api, project_id)
            return bool(now["items"] >= expected and now["units"]["open"] <= backlog)

        return check

    def is_confusion(alert: dict[str, Any]) -> bool:
        return alert["kind"] == "prelabel_error" and any(
            r["target"] == "pedestrian" for r in alert["recommendations"]
        )

    await crowd.work_until(
        all_but_backlog(split_at),
        timeout=600,
        stalled=p.stuck(api, project_id),
        what="the first clips, but a backlog",
    )
    await asyncio.sleep(ctx.lane_pause_s)
    confused = next((a for a in await p.alerts(api, project_id) if is_confusion(a)), None)
    if confused is not None:  # raised in this pause: the backlog is pending
        await routed_first(ctx, report, project_id, by_item, truths, crowd)

    # ops split vehicle into car and van, publish version 2 and move the project to it
    ctx.progress("publishing taxonomy v2", 0, 1)
    ontology = f"/v1/ontologies/{v1['ontology_id']}"
    draft = await api.call("taxonomy", "POST", f"{ontology}/draft", expect=(201,), **p.OPS)
    split = {
        "from_class_id": "vehicle",
        "into": [
            {"id": "car", "name": "Car", "modalities": ["video"]},
            {"id": "van", "name": "Van", "modalities": ["video"]},
        ],
        "note": "vans and cars need different guidelines",
    }
    split_done = await api.call(
        "taxonomy",
        "POST",
        f"{ontology}/draft/splits",
        json=split,
        headers={"If-Match": draft.headers["ETag"]},
        expect=(200,),
        **p.OPS,
    )
    v2 = await api.json(
        "taxonomy",
        "POST",
        f"{ontology}/draft/publish",
        headers={"If-Match": split_done.headers["ETag"]},
        expect=(201,),
        **p.OPS,
    )
    await api.call(
        "assignment",
        "PATCH",
        f"/v1/projects/{project_id}",
        json={"taxonomy": {"ontology_id": v1["ontology_id"], "version": v2["version"]}},
        **p.OPS,
    )
    earlier = [{"class_id": c} for c in V1_CLASSES]
    translated = await api.json(
        "taxonomy",
        "POST",
        f"{ontology}/translate",
        json={"from_version": 1, "to_version": v2["version"], "labels": earlier},
        **p.OPS,
    )
    kept = sorted(x["label"]["class_id"] for x in translated["translated"])
    untranslatable = {x["class_id"]: x["reason"] for x in translated["untranslatable"]}
    report.check(
        "version 2 splits vehicle: earlier labels translate, the split class asks for review",
        "vehicle" in untranslatable and {"pedestrian", "cyclist"} <= set(kept),
        f"translated {kept}; untranslatable: {untranslatable}",
    )
    second = []
    for i in range(split_at, n_items):
        second.append(clip(i, 2))
        ctx.progress("making clips", i + 1, n_items)
    by_external = {t.external_id: t for t in truths.values()}
    registered = await p.register_http(api, second)  # 422 until ingest has version 2
    by_item.update({i: by_external[e] for e, i in registered.items()})
    report.registered = n_items
    await crowd.work_until(
        all_but_backlog(n_items),
        timeout=600,
        stalled=p.stuck(api, project_id),
        what="all but a backlog",
    )
    if confused is None:
        ctx.progress("waiting for the pre-label alert", 0, 1)
        confused = await p.wait_for_alert(
            ctx, project_id, is_confusion, "the pre-label alert on pedestrian"
        )
        if confused is not None:
            await routed_first(ctx, report, project_id, by_item, truths, crowd)
    report.check(
        "the model's night-time confusion is caught: a pre-label alert on pedestrian",
        confused is not None,
        confused["summary"] if confused else "no alert",
    )
    done = await p.judge_until_resolved(
        ctx, crowd, report, project_id, n_items, "every clip to be resolved"
    )
    report.check(
        "escalated clips (flags, disagreement) are resolved by adjudication",
        done["resolved"].get("adjudication", 0) > 0,
        str(done["resolved"]),
    )
    raised = await p.alerts(api, project_id)
    report.alerts = raised
    wrong = [
        r["target"]
        for a in raised
        if a["kind"] == "prelabel_error"
        for r in a["recommendations"]
        if r["target"] != "pedestrian"
    ]
    report.check(
        "no pre-label alert on the classes the model gets right", not wrong, ", ".join(wrong)
    )
    priorities = await api.json(
        "metrics", "GET", f"/v1/projects/{project_id}/priorities", **p.CLIENT
    )
    ranked = [c["class_id"] for c in priorities["classes"]]
    report.notes.append(f"active-learning class priorities (fused ranks): {ranked[:4]}")

    # flagged judgments became candidate examples; ops accept one as an example link
    async def candidates() -> list[dict[str, Any]] | None:
        found = await api.json("taxonomy", "GET", f"{ontology}/candidates", **p.OPS)
        return found["items"] or None

    try:
        pending = await eventually(candidates, timeout=30, what="taxonomy candidates")
    except DemoError:  # reported as a missed truth below
        pending = []
    linked = None
    for candidate in pending:
        truth = by_item.get(candidate["item_id"])
        if candidate["status"] != "pending" or truth is None:
            continue
        if truth.extra["version"] != candidate["version"]:
            continue
        # ops look at the clip and link it to its class, where the event is
        start, end = truth.extra["segment"]
        decision = {
            "class_id": truth.classes[0],
            "segment": {"start_s": start, "end_s": end},
            "polarity": "borderline",
            "note": "a good edge case for the guidelines",
        }
        linked = await api.json(
            "taxonomy",
            "POST",
            f"{ontology}/candidates/{candidate['candidate_id']}/accept",
            json=decision,
            **p.OPS,
        )
        break
    examples = []
    if linked is not None:
        version = linked["version"]
        examples = (
            await api.json("taxonomy", "GET", f"{ontology}/versions/{version}/examples", **p.OPS)
        )["items"]
    report.check(
        "flagged judgments become taxonomy candidates, and an accepted one an example link",
        bool(pending) and bool(examples),
        f"{len(pending)} candidates; {len(examples)} example links",
    )

    def classes_of(line: dict[str, Any]) -> tuple[str, ...]:
        return tuple(sorted({x["class_id"] for x in line["final_labels"]}))

    lines = await p.exported_when_complete(api, project_id, n_items)
    p.check_export(report, lines, truths, classes_of, accuracy=0.9)
    await p.agreement(api, project_id, report, ["verdict", "class", f"rating.{SYNC}"])
    spatial = await api.json(
        "metrics", "GET", f"/v1/projects/{project_id}/agreement/spatial", **p.OPS
    )
    sync, pooled = spatial["sync_offsets"], spatial["sync_offsets"]["pooled_sd"]
    value = pooled["value"]
    report.check(
        "the judges' A/V sync offsets spread as their known noise: a pooled SD of 6 ms (35 %)",
        value is not None and abs(value - 6) <= 0.35 * 6,
        f"pooled SD {value} ms, 95 % interval {pooled['ci']}, over {sync['items']} clips",
    )
    segments = spatial["segments"]
    report.notes.append(
        f"segments: mean IoU {segments['mean_iou']['value']}, event F1 "
        f"{segments['event_f1']['value']} over {segments['items']} clips with two judges"
    )
    await p.throughput(ctx, project_id, report)
    report.seconds = time.monotonic() - started
    return report


async def routed_first(
    ctx: p.Context,
    report: p.Report,
    project_id: str,
    by_item: dict[str, Truth],
    truths: dict[str, Truth],
    crowd: Crowd,
) -> None:
    """Once assignment has taken the alert, the clips the model pre-labelled pedestrian are
    the pending ones raised, and a reviewer who joins now is handed them first: the
    recommendation reached routing."""
    api = ctx.api

    async def raised() -> list[tuple[str, float]] | None:
        pending = []  # (pre-label, priority) of the pending items with an open review unit
        for item_id, truth in by_item.items():
            item = await api.json("assignment", "GET", f"/v1/items/{item_id}", **p.OPS)
            reviewable = any(u["kind"] == "review" and u["state"] == "open" for u in item["units"])
            if item.get("resolution") is None and reviewable:
                pending.append((truth.extra["prelabel"], float(item.get("priority") or 0.0)))
        suspects = [prio for prelabel, prio in pending if prelabel == "pedestrian"]
        return pending if not suspects or max(suspects) > 0 else None

    try:  # assignment takes the alert from the metrics topic
        pending = await eventually(raised, timeout=30, what="the backlog's priorities")
    except DemoError as exc:
        report.check("the alert reaches routing", False, str(exc))
        return
    suspects = [prio for prelabel, prio in pending if prelabel == "pedestrian" and prio > 0]
    others = [prio for prelabel, prio in pending if prelabel != "pedestrian"]
    newcomer = Persona(ctx.id("mm-gus"), {"modality.video": 3})
    await p.onboard(api, newcomer)
    await p.invite(api, project_id, [newcomer], batch=f"{project_id}-late")
    # a replica hands out from a list of candidates (and knows rosters) at most 5 s old, read
    # again in the background by the first request after that: wait, then one handout
    await asyncio.sleep(5.5)
    rng = ctx.rng("routing")

    async def hand() -> str | None:
        handed = await api.call(
            "assignment",
            "POST",
            "/v1/work:next",
            role="expert",
            subject=newcomer.expert_id,
            expect=(200, 204),
        )
        if handed.status_code == 204:
            return None
        unit = handed.json()
        truth = truths[media_uri(unit["content"])]
        await crowd.submit(
            newcomer.expert_id, unit, answer(newcomer, unit, truth, 0, rng), gold=False
        )
        return str(truth.extra["prelabel"])

    first = await hand()
    await asyncio.sleep(1.0)
    k = min(3, len(suspects) - (first == "pedestrian"))
    order = [await hand() for _ in range(k)]
    report.check(
        "the alert reaches routing: a reviewer who joins is handed the pending clips the "
        "model pre-labelled pedestrian first",
        (k > 0 or first == "pedestrian") and order == ["pedestrian"] * k,
        f"{len(suspects)} pending pedestrian clips raised to priority "
        f"{max(suspects, default=0.0):.2f}, {len(others)} others at "
        f"{max(others, default=0.0):.2f}; handed after the list's refresh: {order} "
        f"(before it: {first})",
    )
