"""``image-edit``: bundles of a source image, an edit instruction and the edited image. The
expert first checks that the edit can be done (``infeasible`` ends the form) and is safe
(the ``unsafe`` flag with a severity; a critical one goes to adjudication), then rates the
six dimensions and gives a verdict. The client's pre-labels name the kind of edit; partway
through, the client's traffic shifts to background swaps, and the drift alert on the
resolved labels must catch it while the unbiased edit classifier raises no pre-label alert."""

from __future__ import annotations

import random
import time
from typing import Any

from deploy.demo import program as p
from deploy.demo.crowd import Persona, Truth, perceive, rate

NAME = "image-edit"
TITLE = "Image-edit evaluation, a shift in the kinds of edit"
EDITS = ("recolor", "remove_object", "add_object", "background_swap", "style_transfer")
DIMENSIONS = (
    "instruction_adherence",
    "structural_integrity",
    "preservation",
    "visual_quality",
    "style_alignment",
    "character_consistency",
)
INSTRUCTIONS = {
    "recolor": "Make the car in the foreground dark green.",
    "remove_object": "Remove the lamp post on the left.",
    "add_object": "Add a red umbrella in the person's hand.",
    "background_swap": "Replace the background with a beach at sunset.",
    "style_transfer": "Render the scene as a watercolour painting.",
}
IMPOSSIBLE = "Show the room from behind the wall, as the person inside sees it."


def item_truth(rng: random.Random, external_id: str, shifted: bool) -> Truth:
    edit = "background_swap" if shifted and rng.random() < 0.7 else rng.choice(EDITS)
    base = rng.choice((2, 3, 3, 4, 4, 4, 5, 5, 5, 5))
    ratings = {d: max(1, min(5, round(base + rng.gauss(0, 0.5)))) for d in DIMENSIONS}
    roll = rng.random()
    kind = "infeasible" if roll < 0.08 else "unsafe" if roll < 0.13 else "edit"
    return Truth(
        external_id, classes=(edit,), ratings=ratings, hard=kind != "edit", extra={"kind": kind}
    )


def answer(
    persona: Persona, unit: dict[str, Any], truth: Truth, n: int, rng: random.Random
) -> dict[str, Any]:
    kind = truth.extra["kind"]
    if unit.get("kind") == "adjudication":
        seen = kind  # the lead sees the judge's reasons and decides
    else:
        seen = perceive(persona, kind, ["infeasible", "unsafe", "edit"], rng)
    if seen == "infeasible":
        return {
            "verdict": "infeasible",
            "justification": "The instruction asks for a view the source cannot show.",
        }
    if seen == "unsafe":
        return {
            "verdict": "reject",
            "flags": ["unsafe"],
            "severity": "critical",
            "justification": "The edit shows a stranger's home address on the door sign.",
        }
    ratings = {d: rate(persona, truth.ratings[d], n, rng) for d in DIMENSIONS}
    if sum(ratings.values()) / len(ratings) >= 2.5:
        return {"verdict": "accept", "ratings": ratings, "severity": "none"}
    return {
        "verdict": "reject",
        "ratings": ratings,
        "severity": "major",
        "justification": "The edited area has seams and the subject's face changed.",
    }


def bundle(
    ctx: p.Context, project_id: str, i: int, truth: Truth, night: bool
) -> tuple[list[dict[str, Any]], str]:
    """The bundle's parts, and the URI its truth is filed under (the source image's)."""
    edit = truth.classes[0]
    scene = "night" if night else "day"
    shapes = [("subject", (60.0, 50.0, 90.0, 100.0))]
    source = ctx.media.image(
        f"{project_id}/{i:04d}-source", width=256, height=192, scene=scene, seed=i, shapes=shapes
    )
    instruction = IMPOSSIBLE if truth.extra["kind"] == "infeasible" else INSTRUCTIONS[edit]
    text = ctx.media.text(f"{project_id}/{i:04d}-instruction", instruction)
    edited = ctx.media.image(
        f"{project_id}/{i:04d}-edited",
        width=256,
        height=192,
        scene="day" if night else "night",
        seed=i + 50_000,
        shapes=[(edit, (60.0, 50.0, 90.0, 100.0))],
    )
    return [
        {"name": "source", "role": "source_image", "media": source.descriptor()},
        {"name": "instruction", "role": "instruction", "media": text.descriptor()},
        {"name": "edited", "role": "edited_image", "media": edited.descriptor()},
    ], source.uri


async def run(ctx: p.Context) -> p.Report:
    api, rng = ctx.api, ctx.rng(NAME)
    project_id = ctx.id("image-edits")
    report = p.Report(NAME, TITLE, project_id)
    started = time.monotonic()
    skill = {"modality.multimodal": 3}
    roster = [
        Persona(ctx.id("ie-jon"), skill, accuracy=0.95),
        Persona(ctx.id("ie-kim"), skill, accuracy=0.93, think_s=0.03),
        # dodges hard bundles: releases half of the unsafe or impossible ones unjudged
        Persona(ctx.id("ie-raj"), skill, accuracy=0.9, dodges=0.5),
        # three leads who adjudicate (an item's judges, two at most, cannot adjudicate it)
        Persona(ctx.id("ie-zoe"), skill, adjudicator=True, think_s=0.4),
        Persona(ctx.id("ie-max"), skill, adjudicator=True, think_s=0.4),
        Persona(ctx.id("ie-ada"), skill, adjudicator=True, think_s=0.4),
    ]
    # the drift alert compares the first block of resolved items with the last complete one;
    # items resolved reject or infeasible (about a quarter) are not in the blocks
    n_items = max(ctx.n(140), round(2 * ctx.drift_window / 0.7) + 10)
    shift_at = n_items // 2

    ctx.progress("setting up", 0, 1)
    taxonomy = await p.publish_ontology(
        api,
        ctx.id("Edit types"),
        [{"id": e, "name": e.replace("_", " ").title(), "modalities": ["image"]} for e in EDITS],
    )
    await p.create_rubric(api, project_id, template="image_edit_evaluation")
    for persona in roster:
        await p.onboard(api, persona)
    project = {
        "project_id": project_id,
        "name": "Image edits",
        "modality": "multimodal",
        "taxonomy": taxonomy,
        "rubric": {"rubric_id": project_id},
        "required_skills": skill,
        # one judge, and two on a targeted agreement sample of a fifth of the bundles
        "overlap": {"k": 1, "iaa_share": 0.2, "k_iaa": 2},
        "gold_rate": 0.1,
        "adjudication": {
            "adjudicator_skill": "role.adjudicator",
            "adjudicator_min_level": 4,
            "escalate_severity": "critical",
        },
    }
    await p.open_project(api, project, roster)

    truths: dict[str, Truth] = {}
    for g in range(12):
        truth = item_truth(rng, f"gold-{g}", shifted=False)
        truth = Truth(
            truth.external_id, truth.classes, truth.ratings, gold=True, extra={"kind": "edit"}
        )
        parts, uri = bundle(ctx, project_id + "-gold", g, truth, night=False)
        truths[uri] = truth
        key = answer(Persona("key", {}, accuracy=1.0, rating_sd=0.0), {}, truth, 0, rng)
        body = {"gold_id": f"edit-gold-{g}", "parts": parts, "key": key}
        await api.call(
            "assignment",
            "POST",
            f"/v1/projects/{project_id}/gold",
            json=body,
            retry_on=(409,),
            expect=(201,),
            **p.OPS,
        )
    bodies = []
    for i in range(n_items):
        external_id = f"edit/{ctx.run}/{i}"
        truth = item_truth(rng, external_id, shifted=i >= shift_at)
        parts, uri = bundle(ctx, project_id, i, truth, night=bool(i % 2))
        truths[uri] = truth
        confidence = round(rng.uniform(0.6, 0.99), 2)
        bodies.append(
            {
                "external_id": external_id,
                "project_id": project_id,
                "modality": "multimodal",
                "parts": parts,
                "prelabels": {
                    "model_name": "edit-classifier",
                    "model_version": "2.1",
                    "labels": [
                        {"class_id": truth.classes[0], "confidence": confidence, "part": "edited"}
                    ],
                },
            }
        )
        ctx.progress("making bundles", i + 1, n_items)
    # the client sends the first half, then the shifted half once the first is reviewed
    await p.register_http(api, bodies[:shift_at])
    report.registered = shift_at
    crowd = p.crowd_of(ctx, roster, truths, answer)
    await crowd.work_until(
        p.resolved_all(api, project_id, lambda: shift_at),
        timeout=600,
        stalled=p.stuck(api, project_id),
        what="the first half to be resolved",
    )
    await p.register_http(api, bodies[shift_at:])
    report.registered = n_items
    await p.judge_until_resolved(
        ctx, crowd, report, project_id, n_items, "every bundle to be resolved"
    )

    ctx.progress("waiting for the drift alert", 0, 1)
    drift = await p.wait_for_alert(
        ctx,
        project_id,
        lambda a: a["kind"] == "drift" and a["evidence"].get("what") == "labels",
        "the drift alert on the resolved labels",
    )
    recommended = [r["target"] for r in (drift or {}).get("recommendations", [])]
    report.check(
        "the shift to background swaps is caught by the drift alert on the resolved labels",
        drift is not None and "background_swap" in recommended,
        f"items {shift_at}+ are 70 % background swaps; "
        + (
            f"alert: {drift['summary']} (recommends {', '.join(recommended)})"
            if drift
            else "no alert"
        ),
    )
    raised = await p.alerts(api, project_id)
    report.alerts = raised
    report.check(
        "the unbiased edit classifier raises no pre-label alert",
        not [a for a in raised if a["kind"] == "prelabel_error"],
        "; ".join(a["summary"] for a in raised if a["kind"] == "prelabel_error"),
    )

    lines = await p.exported_when_complete(api, project_id, n_items)
    truth_of = {t.external_id: t for t in truths.values() if not t.gold}
    unsafe = [x for x in lines if truth_of[x["external_id"]].extra["kind"] == "unsafe"]
    caught = [x for x in unsafe if "unsafe" in x["resolution"]["flags"]]
    adjudicated = [x for x in caught if x["resolution"]["method"] == "adjudication"]
    weakest = min(x.accuracy for x in roster)
    p.check_rate(
        report,
        "unsafe edits are flagged unsafe in the client's export",
        len(caught),
        len(unsafe),
        weakest,
    )
    report.check(
        "every edit flagged unsafe went through adjudication (critical severity)",
        len(adjudicated) == len(caught),
        f"{len(adjudicated)} of {len(caught)}",
    )
    impossible = [x for x in lines if truth_of[x["external_id"]].extra["kind"] == "infeasible"]
    refused = [x for x in impossible if x["resolution"]["verdict"] == "infeasible"]
    p.check_rate(
        report,
        "impossible instructions are resolved infeasible",
        len(refused),
        len(impossible),
        weakest,
    )
    report.check(
        "the export holds every registered item exactly once",
        len({x["external_id"] for x in lines}) == len(lines) == n_items,
        f"{len(lines)} lines for {n_items} items",
    )
    report.notes.append(
        f"{len(crowd.released)} hard bundles released unjudged by the expert who dodges them "
        "(each went back to the pool and was judged by someone else)"
    )
    await p.agreement(api, project_id, report, ["verdict", "severity"])
    await p.throughput(ctx, project_id, report)
    report.seconds = time.monotonic() - started
    return report
