"""``visual-quality``: images rated 1 to 5 on quality, aesthetics, usefulness, composition
and clarity, with written feedback and no verdict. Ordinal agreement per dimension; gold
items with known ratings score each expert; one expert turns harsher halfway (two points on
every dimension) and the expert-drift alert must catch them, while a stable expert of the
same volume raises nothing."""

from __future__ import annotations

import math
import random
import time
from typing import Any

from deploy.demo import program as p
from deploy.demo.crowd import Persona, Truth, rate

NAME = "visual-quality"
TITLE = "Visual quality ratings, one expert drifting harsher"
DIMENSIONS = ("quality", "aesthetics", "usefulness", "composition", "clarity")


def rubric() -> dict[str, Any]:
    anchors = {"1": "Unusable for the purpose.", "3": "Acceptable.", "5": "Excellent."}
    return {
        "name": "Visual quality",
        "description": "Rate the image on five dimensions and say why in a sentence or two.",
        "verdicts": [],
        "dimensions": [
            {"name": d, "title": d.title(), "scale_min": 1, "scale_max": 5, "anchors": anchors}
            for d in DIMENSIONS
        ],
        "flags": [{"name": "watermark", "title": "Watermark"}],
    }


def true_ratings(rng: random.Random) -> dict[str, int]:
    base = rng.choice((2, 3, 3, 4, 4, 5))
    return {d: max(1, min(5, round(base + rng.gauss(0, 0.6)))) for d in DIMENSIONS}


def feedback(ratings: dict[str, int]) -> str:
    worst = min(ratings, key=lambda d: (ratings[d], d))
    best = max(ratings, key=lambda d: (ratings[d], d))
    return f"Strongest on {best} ({ratings[best]}), weakest on {worst} ({ratings[worst]})."


def answer(
    persona: Persona, unit: dict[str, Any], truth: Truth, n: int, rng: random.Random
) -> dict[str, Any]:
    ratings = {d: rate(persona, truth.ratings[d], n, rng) for d in DIMENSIONS}
    return {"ratings": ratings, "justification": feedback(ratings)}


def gold_accuracy(persona: Persona, truths: list[Truth], n: int, draws: int = 4000) -> float:
    """The expert's true chance of getting a gold item right (every dimension within the
    tolerance of one point) as their ``n``-th unit, by simulation of their own model."""
    rng = random.Random(f"truth/{persona.expert_id}/{n}")
    right = 0
    for i in range(draws):
        truth = truths[i % len(truths)]
        right += all(
            abs(rate(persona, truth.ratings[d], n, rng) - truth.ratings[d]) <= 1 for d in DIMENSIONS
        )
    return right / draws


async def run(ctx: p.Context) -> p.Report:
    api, rng = ctx.api, ctx.rng(NAME)
    project_id = ctx.id("visual-quality")
    report = p.Report(NAME, TITLE, project_id)
    started = time.monotonic()
    # The detector alerts only once it holds m outcomes, and ADWIN tests for a change every
    # 32 outcomes with a bound that a short steady stretch cannot pass (26 right answers then
    # 70 wrong ones are not enough at delta 0.002): the drift starts after at least 48 gold
    # judgments (gold is half of the units at gold_rate 0.5), and the drifter and a stable
    # expert of the same speed each judge gold past two more checks.
    m = ctx.expert_drift_min_count
    steady_gold = max(m, 48) + 6
    drift_after = 2 * steady_gold
    gold_each = 32 * math.ceil((steady_gold + 40) / 32) + 32
    drifter = Persona(
        ctx.id("vq-dana"),
        {"modality.image": 3},
        rating_sd=0.35,
        harsher_after=drift_after,
        harsher_by=2,
    )
    steady = Persona(ctx.id("vq-omar"), {"modality.image": 3}, rating_sd=0.35)
    slow = Persona(ctx.id("vq-lena"), {"modality.image": 4}, rating_sd=0.5, think_s=0.2)
    # three leads who adjudicate (an item's two judges can never be all of them), slow at
    # reviews: they hold the reviewers' skill as an adjudicator must
    leads = [
        Persona(
            ctx.id(f"vq-{name}"),
            {"modality.image": 4},
            rating_sd=0.3,
            think_s=0.4,
            adjudicator=True,
        )
        for name in ("ines", "theo", "ruth")
    ]
    roster = [drifter, steady, slow, *leads]
    n_items, n_gold = max(ctx.n(60), gold_each), gold_each + 10

    ctx.progress("setting up", 0, 1)
    await p.create_rubric(api, project_id, definition=rubric())
    for persona in roster:
        await p.onboard(api, persona)
    project = {
        "project_id": project_id,
        "name": "Render quality",
        "modality": "image",
        "rubric": {"rubric_id": project_id},
        "required_skills": {"modality.image": 3},
        "overlap": {"k": 2},
        "gold_rate": 0.5,
        "adjudication": {"adjudicator_skill": "role.adjudicator", "adjudicator_min_level": 4},
        # the program relies on the drift alert, not on benching (floor 0)
        "calibration": {"floor": 0.0},
    }
    await p.open_project(api, project, roster)

    truths: dict[str, Truth] = {}
    gold_truths: list[Truth] = []
    for g in range(n_gold):
        ratings = true_ratings(rng)
        image = ctx.media.image(f"{project_id}/gold-{g:04d}", width=320, height=240, seed=g)
        truth = Truth(f"gold-{g}", ratings=ratings, gold=True)
        truths[image.uri] = truth
        gold_truths.append(truth)
        body = {
            "gold_id": f"vq-gold-{g}",
            "media": image.descriptor(),
            "key": {"ratings": ratings, "justification": feedback(ratings)},
        }
        await api.call(
            "assignment",
            "POST",
            f"/v1/projects/{project_id}/gold",
            json=body,
            expect=(201,),
            **p.OPS,
        )
        ctx.progress("gold items", g + 1, n_gold)

    def renders(start: int, count: int) -> list[dict[str, Any]]:
        bodies = []
        for i in range(start, start + count):
            image = ctx.media.image(
                f"{project_id}/render-{i:04d}",
                width=320,
                height=240,
                seed=10_000 + i,
                scene="day" if i % 3 else "night",
            )
            external_id = f"render/{ctx.run}/{i}"
            truths[image.uri] = Truth(external_id, ratings=true_ratings(rng))
            bodies.append(
                {
                    "external_id": external_id,
                    "project_id": project_id,
                    "modality": "image",
                    "media": image.descriptor(),
                }
            )
        return bodies

    ctx.progress("registering", 0, n_items)
    await p.register_http(api, renders(0, n_items))
    report.registered = n_items
    crowd = p.crowd_of(ctx, roster, truths, answer)
    while True:
        await p.judge_until_resolved(
            ctx, crowd, report, project_id, n_items, "every render to be resolved"
        )
        # how much each expert takes depends on the machine: the client sends renders until
        # the drifter has judged the gold the detector needs
        if p.gold_counts(crowd.submitted).get(drifter.expert_id, 0) >= gold_each:
            break
        await p.register_http(api, renders(n_items, 24))
        n_items += 24
        report.registered = n_items

    ctx.progress("waiting for metrics", 0, 1)
    await p.agreement(api, project_id, report, [f"rating.{d}" for d in DIMENSIONS])
    caught = await p.wait_for_alert(
        ctx,
        project_id,
        lambda a: (
            a["kind"] == "expert_accuracy" and a["evidence"].get("expert_id") == drifter.expert_id
        ),
        "the expert-drift alert",
    )
    gold_done = p.gold_counts(crowd.submitted)
    report.check(
        f"the drifting expert ({drifter.expert_id}) is caught by the expert-drift alert",
        caught is not None,
        f"{gold_done.get(drifter.expert_id, 0)} gold judgments; harsher by 2 after "
        f"{drift_after} units" + (f"; alert: {caught['summary']}" if caught else ""),
    )
    raised = await p.alerts(api, project_id)
    false = [
        a
        for a in raised
        if a["kind"] == "expert_accuracy" and a["evidence"].get("expert_id") != drifter.expert_id
    ]
    report.check(
        f"no drift alert for the stable experts ({steady.expert_id}: "
        f"{gold_done.get(steady.expert_id, 0)} gold judgments)",
        not false,
        "; ".join(a["summary"] for a in false),
    )
    report.alerts = raised

    quality = await p.expert_quality(api, project_id)
    truth_of = {
        drifter.expert_id: gold_accuracy(drifter, gold_truths, 0),
        steady.expert_id: gold_accuracy(steady, gold_truths, 0),
        slow.expert_id: gold_accuracy(slow, gold_truths, 0),
    }
    p.expert_rows(report, quality, truth_of)
    p.check_accuracy(report, quality, {x: truth_of[x] for x in (steady.expert_id, slow.expert_id)})

    lines = await p.exported_when_complete(api, project_id, n_items)
    by_external = {t.external_id: t for t in truths.values() if not t.gold}
    close = sum(
        all(
            abs(line["resolution"]["ratings"][d] - by_external[line["external_id"]].ratings[d])
            <= 1.5
            for d in DIMENSIONS
        )
        for line in lines
    )
    report.check(
        "the export holds every registered item exactly once",
        len({x["external_id"] for x in lines}) == len(lines) == n_items,
        f"{len(lines)} lines for {n_items} items",
    )
    report.check(
        "the exported ratings are within 1.5 points of the truth on every dimension "
        "for 90 % of the items",
        close >= 0.9 * len(lines),
        f"{close} of {len(lines)}",
    )
    await p.throughput(ctx, project_id, report)
    report.seconds = time.monotonic() - started
    return report
