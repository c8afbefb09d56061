"""``field-capture``: a capture program's uploader registers field recordings over its
tenant's Kafka topic, with capture metadata (device, environment, consent reference). The
evaluation program needs a verified audio skill: two newcomers take the qualification set
first (one passes and is granted the skill, one fails and is never handed the work); the
program starts with a small roster, the recordings outgrow it before the due date, and ops
invite the experts the demand proposes — only qualified ones, by verified skill and
capacity."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from deploy.demo import program as p
from deploy.demo.api import eventually
from deploy.demo.crowd import Crowd, Persona, Truth, perceive

NAME = "field-capture"
TITLE = "Field capture over Kafka, qualified experts invited as demand grows"
CLASSES = ("bird_call", "chainsaw", "rain", "engine")
SKILL = "domain.field_audio"
QA = {"class_correctness": 5, "temporal_alignment": 5, "guideline_fit": 5}


def answer(
    persona: Persona, unit: dict[str, Any], truth: Truth, n: int, rng: random.Random
) -> dict[str, Any]:
    seen = perceive(persona, truth.classes[0], list(CLASSES), rng)
    prelabel = truth.extra["prelabel"]
    if seen == prelabel:
        return {"verdict": "accept", "ratings": QA, "severity": "none"}
    start, end = truth.extra["segment"]
    return {
        "verdict": "correct",
        "labels": [{"class_id": seen, "segment": {"start_s": start, "end_s": end}}],
        "ratings": {**QA, "class_correctness": 1},
        "severity": "minor",
        "justification": f"The sound is {seen.replace('_', ' ')}, not {prelabel.replace('_', ' ')}.",
    }


async def run(ctx: p.Context) -> p.Report:
    api, rng = ctx.api, ctx.rng(NAME)
    project_id = ctx.id("forest-audio")
    report = p.Report(NAME, TITLE, project_id)
    started = time.monotonic()
    veterans = [
        Persona(ctx.id(f"fc-{name}"), {SKILL: level}, accuracy=acc, think_s=think)
        for name, level, acc, think in (
            ("hal", 4, 0.95, 0.02),
            ("uma", 3, 0.93, 0.05),
            ("vic", 4, 0.94, 0.03),
            ("wes", 3, 0.9, 0.05),
            ("xia", 2, 0.95, 0.02),  # xia's level is below the bar
        )
    ]
    passes = Persona(ctx.id("fc-ivy"), {}, accuracy=0.98)
    fails = Persona(ctx.id("fc-jay"), {}, accuracy=0.05)
    n_items = ctx.n(80, floor=30)

    ctx.progress("setting up", 0, 1)
    taxonomy = await p.publish_ontology(
        api,
        ctx.id("Field sounds"),
        [{"id": c, "name": c.replace("_", " ").title(), "modalities": ["audio"]} for c in CLASSES],
    )
    await p.create_rubric(api, project_id, template="multimodal_label_qa")
    truths: dict[str, Truth] = {}

    def recording(
        name: str, cls: str, prelabel: str, external_id: str = ""
    ) -> tuple[dict[str, Any], str]:
        start = round(rng.uniform(0.2, 1.5), 1)
        end = round(start + rng.uniform(0.8, 2.0), 1)
        media = ctx.media.audio(
            f"{project_id}/{name}", duration_s=4.0, events=[(cls, start, end)], seed=len(truths)
        )
        truths[media.uri] = Truth(
            external_id or name,
            classes=(cls,),
            extra={"prelabel": prelabel, "segment": (start, end)},
        )
        labels = {
            "model_name": "sound-tagger",
            "model_version": "1.4",
            "labels": [
                {
                    "class_id": prelabel,
                    "confidence": round(rng.uniform(0.5, 0.95), 2),
                    "segment": {"start_s": start, "end_s": end},
                }
            ],
        }
        return {"media": media.descriptor(), "prelabels": labels}, media.uri

    qualification_items = []
    for q in range(4):
        cls = CLASSES[q]
        prelabel = cls if q % 2 == 0 else CLASSES[(q + 1) % len(CLASSES)]
        item, uri = recording(f"qualification-{q}", cls, prelabel)
        key = answer(Persona("key", {}, accuracy=1.0), {}, truths[uri], 0, rng)
        qualification_items.append({**item, "key": key})
    qualification = {
        "set_id": ctx.id("field-audio-l3"),
        "name": "Field audio, level 3",
        "skill": SKILL,
        "level": 3,
        "modality": "audio",
        "rubric": {"rubric_id": project_id, "version": 1},
        "taxonomy": taxonomy,
        "threshold": 0.75,
        "items": qualification_items,
    }
    await api.call(
        "assignment",
        "POST",
        "/v1/qualifications",
        json=qualification,
        retry_on=(409,),
        expect=(201,),
        **p.OPS,
    )  # 409 until it has the taxonomy
    for persona in veterans:
        await p.onboard(api, persona)
    for persona in (passes, fails):
        await p.onboard(api, persona, state="vetting")
        await api.call(
            "assignment",
            "POST",
            f"/v1/experts/{persona.expert_id}/qualifications",
            json={"set_id": qualification["set_id"]},
            expect=(201,),
            **p.OPS,
        )

    ctx.progress("qualification", 0, 2)
    newcomers = Crowd(api, [passes, fails], truths, answer, seed=ctx.seed)

    async def attempts_done() -> bool:
        finished = 0
        for persona in (passes, fails):
            found = await api.json(
                "assignment", "GET", f"/v1/experts/{persona.expert_id}/qualifications", **p.OPS
            )
            finished += any(a["state"] != "open" for a in found["items"])
        return finished == 2

    await newcomers.work_until(attempts_done, timeout=120, what="the qualification attempts")
    outcome = {}
    for persona in (passes, fails):
        found = await api.json(
            "assignment", "GET", f"/v1/experts/{persona.expert_id}/qualifications", **p.OPS
        )
        outcome[persona.expert_id] = found["items"][0]
        await api.call(
            "assignment",
            "POST",
            f"/v1/experts/{persona.expert_id}/state",
            json={"state": "vetted", "reason": "background check done"},
            **p.OPS,
        )
    profile = await api.json("assignment", "GET", f"/v1/experts/{passes.expert_id}", **p.OPS)
    granted = next((s for s in profile["skills"] if s["skill"] == SKILL), None)
    report.check(
        "the newcomer who passes the qualification is granted the verified skill; the other fails",
        outcome[passes.expert_id]["state"] == "passed"
        and outcome[fails.expert_id]["state"] == "failed"
        and granted is not None
        and granted["verified"]["method"] == "qualification",
        f"{passes.expert_id}: {outcome[passes.expert_id]['state']} "
        f"({outcome[passes.expert_id].get('score')}); {fails.expert_id}: "
        f"{outcome[fails.expert_id]['state']} ({outcome[fails.expert_id].get('score')})",
    )

    due = (datetime.now(UTC) + timedelta(minutes=30)).isoformat()
    project = {
        "project_id": project_id,
        "name": "Forest field recordings",
        "modality": "audio",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": project_id},
        "required_skills": {SKILL: 3},
        "overlap": {"k": 1},
        "due_at": due,
    }
    first_roster = veterans[:1]
    await p.open_project(api, project, first_roster)

    ctx.progress("recordings over Kafka", 0, n_items)
    bodies = []
    capture = {
        "device": "recorder-3",
        "environment": "forest",
        "consent_ref": "permit/2026/117",
        "tags": ["dawn"],
    }
    for i in range(n_items):
        cls = rng.choice(CLASSES)
        prelabel = cls if rng.random() < 0.85 else rng.choice([c for c in CLASSES if c != cls])
        external_id = f"field/{ctx.run}/{i}"
        item, _ = recording(f"field-{i:04d}", cls, prelabel, external_id)
        bodies.append(
            {
                "external_id": external_id,
                "project_id": project_id,
                "modality": "audio",
                "capture": capture,
                **item,
            }
        )
    await p.register_kafka(api, bodies)
    report.registered = n_items

    async def outgrown() -> dict[str, Any] | None:
        demand = await api.json("assignment", "GET", f"/v1/projects/{project_id}/demand", **p.OPS)
        return demand if demand["pending_units"] >= n_items and demand["outgrown"] else None

    demand = await eventually(outgrown, timeout=60, what="the demand to outgrow the roster")
    proposed = {x["expert_id"]: x for x in demand["proposals"]}
    below = [x for x in proposed.values() if x["skills"].get(SKILL, 0) < 3]
    ours = {x.expert_id for x in [*veterans, passes, fails]}
    report.check(
        "the recordings outgrow the roster; the demand proposes qualified experts only (the "
        "newcomer who passed, not the one who failed nor the one below the level)",
        bool(proposed)
        and not below
        and passes.expert_id in proposed
        and fails.expert_id not in proposed
        and veterans[-1].expert_id not in proposed,
        f"{demand['pending_units']} units need {demand['hours_needed']:.2f} h, the roster has "
        f"{demand['hours_available']:.3f} h before the due date; proposed (of this run): "
        f"{sorted(set(proposed) & ours)}",
    )
    invited = [x for x in [*veterans, passes] if x.expert_id in proposed]
    await p.invite(api, project_id, invited, batch=f"{project_id}-proposals")

    crowd = p.crowd_of(ctx, [*first_roster, *invited, fails], truths, answer)
    await p.judge_until_resolved(
        ctx, crowd, report, project_id, n_items, "every recording to be resolved"
    )
    by_failed = [s for s in crowd.submitted if s.expert_id == fails.expert_id]
    idle = await api.call(
        "assignment", "POST", "/v1/work:next", role="expert", subject=fails.expert_id, expect=(204,)
    )
    report.check(
        "the expert who failed the qualification is never handed the program's work",
        not by_failed,
        f"{len(by_failed)} judgments; work:next says {idle.headers.get('Quorum-No-Work-Reason')}",
    )

    def classes_of(line: dict[str, Any]) -> tuple[str, ...]:
        return tuple(sorted({x["class_id"] for x in line["final_labels"]}))

    lines = await p.exported_when_complete(api, project_id, n_items)
    p.check_export(report, lines, truths, classes_of, accuracy=0.9)
    consent = sum(1 for x in lines if (x.get("capture") or {}).get("consent_ref"))
    report.check(
        "every exported recording keeps its consent reference",
        consent == len(lines),
        f"{consent} of {len(lines)}",
    )
    await p.throughput(ctx, project_id, report)
    report.seconds = time.monotonic() - started
    return report
