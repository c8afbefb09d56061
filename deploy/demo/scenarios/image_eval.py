"""``image-eval``: street images judged against a rubric with written justifications and
edge-case and novel-pattern flags. Midway ops publish rubric version 2, which adds a box
tightness dimension and tightens the justification rule, and move the project to it: each
item keeps the version it was judged under, and the form refuses a short justification.
Experts send guideline feedback that reaches ops' queue; gold items measure each expert's
consistency, which the system's estimate must bracket."""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from deploy.demo import program as p
from deploy.demo.crowd import Persona, Truth, perceive

NAME = "image-eval"
TITLE = "Image evaluation, a rubric change mid-program"
CLASSES = ("car", "person", "bicycle", "traffic_sign")
BOX = {"kind": "box", "x": 60.0, "y": 40.0, "width": 120.0, "height": 100.0}
QA = {"class_correctness": 5, "temporal_alignment": 5, "guideline_fit": 5}
SHORT = "Wrong class for the object."
LONG = "The boxed object is a {seen}, not a {prelabel}: look at its outline and wheels."


def rubric_v1(template: dict[str, Any]) -> dict[str, Any]:
    definition = dict(template)
    definition["flags"] = [
        *template["flags"],
        {
            "name": "novel_pattern",
            "title": "Novel pattern",
            "description": "Something the guidelines do not cover yet.",
        },
    ]
    return definition


def rubric_v2(v1: dict[str, Any]) -> dict[str, Any]:
    definition = dict(v1)
    definition["dimensions"] = [
        *v1["dimensions"],
        {
            "name": "box_tightness",
            "title": "Box tightness",
            "scale_min": 1,
            "scale_max": 5,
            "anchors": {"1": "Boxes far from the object.", "5": "Boxes touch the object."},
        },
    ]
    # tightened: a justification for every correction and rejection, of 50 characters
    definition["justification"] = {**v1["justification"], "min_length": 50}
    return definition


def answer(
    persona: Persona, unit: dict[str, Any], truth: Truth, n: int, rng: random.Random
) -> dict[str, Any]:
    seen = (
        truth.classes[0]
        if unit.get("kind") == "adjudication"
        else perceive(persona, truth.classes[0], list(CLASSES), rng)
    )
    prelabel = truth.extra["prelabel"]
    ratings = dict(QA)
    if any(d["name"] == "box_tightness" for d in (unit.get("form") or {}).get("dimensions", [])):
        ratings["box_tightness"] = rng.choice((4, 5))
    flags = [f for f in ("edge_case", "novel_pattern") if truth.extra.get(f) and rng.random() < 0.9]
    if seen == prelabel:
        return {"verdict": "accept", "ratings": ratings, "severity": "none", "flags": flags}
    return {
        "verdict": "correct",
        "labels": [{"class_id": seen, "geometry": BOX}],
        "ratings": {**ratings, "class_correctness": 2},
        "severity": "minor",
        "flags": flags,
        "justification": SHORT,
    }


async def run(ctx: p.Context) -> p.Report:
    api, rng = ctx.api, ctx.rng(NAME)
    project_id = ctx.id("street-eval")
    report = p.Report(NAME, TITLE, project_id)
    started = time.monotonic()
    skill = {"modality.image": 3}
    roster = [
        Persona(ctx.id("ev-dora"), skill, accuracy=0.96),
        Persona(ctx.id("ev-eli"), skill, accuracy=0.9, think_s=0.03),
        Persona(ctx.id("ev-gil"), skill, accuracy=0.8, think_s=0.02),
        Persona(ctx.id("ev-hana"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
        Persona(ctx.id("ev-ira"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
        Persona(ctx.id("ev-jo"), skill, accuracy=0.97, adjudicator=True, think_s=0.4),
    ]
    n_items = ctx.n(70, floor=30)
    change_at = n_items // 2

    ctx.progress("setting up", 0, 1)
    taxonomy = await p.publish_ontology(
        api,
        ctx.id("Street objects"),
        [{"id": c, "name": c.replace("_", " ").title(), "modalities": ["image"]} for c in CLASSES],
    )
    templates = await api.json("assignment", "GET", "/v1/rubric-templates", **p.OPS)
    template = next(t for t in templates["items"] if t["name"] == "multimodal_label_qa")
    v1 = rubric_v1(template["definition"])
    await p.create_rubric(api, project_id, definition=v1)
    for persona in roster:
        await p.onboard(api, persona)
    project = {
        "project_id": project_id,
        "name": "Street object evaluation",
        "modality": "image",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": project_id},
        "required_skills": skill,
        "overlap": {"k": 2},
        "gold_rate": 0.3,
        "adjudication": {"adjudicator_skill": "role.adjudicator", "adjudicator_min_level": 4},
    }
    await p.open_project(api, project, roster)

    truths: dict[str, Truth] = {}

    def photo(
        name: str, external_id: str, seed: int, *, gold: bool = False
    ) -> tuple[dict[str, Any], Truth]:
        cls = rng.choice(CLASSES)
        prelabel = cls if rng.random() < 0.85 else rng.choice([c for c in CLASSES if c != cls])
        image = ctx.media.image(
            f"{project_id}/{name}",
            width=256,
            height=192,
            seed=seed,
            shapes=[(cls, (60.0, 40.0, 120.0, 100.0))],
        )
        truth = Truth(
            external_id,
            classes=(cls,),
            gold=gold,
            extra={
                "prelabel": prelabel,
                "edge_case": rng.random() < 0.05,
                # every tenth street image shows an e-scooter, which no class covers
                "novel_pattern": not gold and seed % 10 == 3,
            },
        )
        truths[image.uri] = truth
        labels = {
            "model_name": "street-detector",
            "model_version": "5.1",
            "labels": [
                {
                    "class_id": prelabel,
                    "confidence": round(rng.uniform(0.5, 0.99), 2),
                    "geometry": BOX,
                }
            ],
        }
        return {"media": image.descriptor(), "prelabels": labels}, truth

    for g in range(24):
        item, truth = photo(f"gold-{g:03d}", f"gold-{g}", 90_000 + g, gold=True)
        key = answer(Persona("key", {}, accuracy=1.0), {}, truth, 0, rng)
        if key["verdict"] == "correct":
            key["justification"] = LONG.format(
                seen=truth.classes[0], prelabel=truth.extra["prelabel"]
            )
        await api.call(
            "assignment",
            "POST",
            f"/v1/projects/{project_id}/gold",
            json={"gold_id": f"eval-gold-{g}", **item, "key": key},
            retry_on=(409,),
            expect=(201,),
            **p.OPS,
        )
    bodies = []
    for i in range(n_items):
        external_id = f"street/{ctx.run}/{i}"
        item, _ = photo(f"street-{i:04d}", external_id, i)
        bodies.append(
            {"external_id": external_id, "project_id": project_id, "modality": "image", **item}
        )

    refused: list[dict[str, Any]] = []
    feedback_sent: list[str] = []

    async def before_submit(
        persona: Persona, unit: dict[str, Any], truth: Truth, answers: dict[str, Any]
    ) -> dict[str, Any]:
        if truth.extra.get("novel_pattern") and "novel_pattern" in answers.get("flags", []):
            body = {
                "submission_id": f"fb-{uuid.uuid4().hex[:12]}",
                "about": "taxonomy",
                "kind": "missing_class",
                "proposed_class": "e_scooter",
                "text": "Electric scooters keep coming up and fit none of the classes.",
            }
            await api.call(
                "assignment",
                "POST",
                f"/v1/units/{unit['unit_id']}/feedback",
                json=body,
                role="expert",
                subject=persona.expert_id,
                expect=(201,),
            )
            feedback_sent.append(unit["item_id"])
        if answers.get("justification") != SHORT:
            return answers
        if unit["rubric"]["version"] == 2 and not refused:
            # the first correction under version 2: the short justification of version 1 is
            # refused, naming the field, and the expert writes more
            draft = {
                "submission_id": f"sim-{uuid.uuid4().hex[:16]}",
                "lease_id": unit["lease_id"],
                "answers": answers,
            }
            response = await api.call(
                "assignment",
                "POST",
                f"/v1/units/{unit['unit_id']}/judgments",
                json=draft,
                role="expert",
                subject=persona.expert_id,
                expect=(422,),
            )
            refused.append(response.json())
        if unit["rubric"]["version"] == 2:
            seen = answers["labels"][0]["class_id"]
            return {
                **answers,
                "justification": LONG.format(seen=seen, prelabel=truth.extra["prelabel"]),
            }
        return answers

    crowd = p.crowd_of(ctx, roster, truths, answer, before_submit=before_submit)
    first = await p.register_http(api, bodies[:change_at])
    report.registered = change_at
    await crowd.work_until(
        p.resolved_all(api, project_id, lambda: change_at),
        timeout=600,
        stalled=p.stuck(api, project_id),
        what="the first half to be resolved",
    )

    ctx.progress("rubric version 2", 0, 1)
    await api.call(
        "assignment",
        "POST",
        f"/v1/rubrics/{project_id}/versions",
        json={"definition": rubric_v2(v1)},
        expect=(201,),
        **p.OPS,
    )
    await api.call(
        "assignment",
        "PATCH",
        f"/v1/projects/{project_id}",
        json={"rubric": {"rubric_id": project_id, "version": 2}},
        **p.OPS,
    )
    second = await p.register_http(api, bodies[change_at:])
    report.registered = n_items
    await p.judge_until_resolved(
        ctx, crowd, report, project_id, n_items, "every image to be resolved"
    )

    lines = await p.exported_when_complete(api, project_id, n_items)
    versions = {x["item_id"]: x["resolution"]["rubric"]["version"] for x in lines}
    report.check(
        "each item keeps the rubric version it was judged under (1 before the change, 2 after)",
        all(versions[i] == 1 for i in first.values())
        and all(versions[i] == 2 for i in second.values()),
        f"{sum(v == 1 for v in versions.values())} on version 1, "
        f"{sum(v == 2 for v in versions.values())} on version 2",
    )
    fields = {e["field"] for r in refused for e in r.get("errors", [])}
    report.check(
        "version 2's tighter rule refuses a short justification, naming the field",
        "body.answers.justification" in fields,
        ", ".join(sorted(fields)) or "no correction",
    )
    queue = await api.json(
        "assignment", "GET", "/v1/feedback", params={"project_id": project_id}, **p.OPS
    )
    report.check(
        "experts' guideline feedback reaches ops' queue",
        len(queue["items"]) >= len(feedback_sent) > 0,
        f"{len(feedback_sent)} sent, {len(queue['items'])} in the queue",
    )

    def classes_of(line: dict[str, Any]) -> tuple[str, ...]:
        return tuple(sorted({x["class_id"] for x in line["final_labels"]}))

    p.check_export(report, lines, truths, classes_of, accuracy=0.8)
    quality = await p.expert_quality(api, project_id)
    reviewers = [x for x in roster if not x.adjudicator]
    p.expert_rows(report, quality, {x.expert_id: x.accuracy for x in reviewers})
    p.check_accuracy(report, quality, {x.expert_id: x.accuracy for x in reviewers})
    await p.agreement(api, project_id, report, ["verdict", "class", "rating.class_correctness"])
    report.alerts = await p.alerts(api, project_id)
    await p.throughput(ctx, project_id, report)
    report.seconds = time.monotonic() - started
    return report
