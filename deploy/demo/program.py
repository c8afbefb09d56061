"""What every scenario shares: its context (the API, the seed, the scale, the media), the
steps operations staff take to set a program up through the API, and the report a scenario
ends with — the figures the system computed beside the truths the demo planted."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scipy.stats import binomtest

from deploy.demo.api import Caller, DemoError, Quorum, eventually
from deploy.demo.crowd import Answerer, BeforeSubmit, Crowd, Persona, Submitted, Truth
from deploy.demo.media import MediaLibrary

OPS: Caller = {"role": "ops", "subject": "ops-lead"}
CLIENT: Caller = {"role": "client", "subject": "client-uploader"}


@dataclass
class Context:
    """What a scenario runs with."""

    api: Quorum
    media: MediaLibrary
    seed: int
    scale: float
    #: a short tag that makes this run's ids unique (a second run makes new projects)
    run: str
    #: the metrics service's drift window (resolved items per block; its setting)
    drift_window: int = 200
    #: gold outcomes before an expert's drop is an alert (its setting)
    expert_drift_min_count: int = 100
    #: how long to wait for the alert lane after the last judgment
    alert_wait_s: float = 180.0
    #: the alert lane's pace (its settings): a pass every ``alert_interval_s``, evaluating the
    #: projects quiet for ``alert_quiet_s``
    alert_interval_s: float = 60.0
    alert_quiet_s: float = 30.0

    #: called with (what, done, total) as the scenario moves
    progress: Callable[[str, int, int], None] = lambda *_: None

    @property
    def lane_pause_s(self) -> float:
        """A pause long enough for the lane to evaluate a quiet project, at most 15 s."""
        return min(self.alert_interval_s + self.alert_quiet_s + 2, 15.0)

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}/{name}")

    def n(self, base: int, floor: int = 4) -> int:
        """``base`` items at scale 1."""
        return max(floor, round(base * self.scale))

    def id(self, name: str) -> str:
        return f"{name}-{self.run}"


@dataclass(frozen=True)
class Check:
    """One truth the system should recover (or an alarm that should stay quiet)."""

    what: str
    passed: bool
    detail: str


@dataclass
class Report:
    """A scenario's summary."""

    scenario: str
    title: str
    project_id: str
    registered: int = 0
    resolved: int = 0
    judgments: int = 0
    seconds: float = 0.0
    agreement: list[tuple[str, float | None, list[float] | None, int]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)
    experts: list[tuple[str, float, float | None, list[float] | None, int]] = field(
        default_factory=list
    )
    time_to_resolution: dict[str, float | None] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    def check(self, what: str, passed: bool, detail: str = "") -> None:
        self.checks.append(Check(what, passed, detail))


# --- the steps of operations staff ---


async def publish_ontology(api: Quorum, name: str, classes: list[dict[str, Any]]) -> dict[str, Any]:
    """A new ontology with ``classes`` in its draft, published as version 1."""
    created = await api.json(
        "taxonomy", "POST", "/v1/ontologies", json={"name": name}, expect=(201,), **OPS
    )
    ontology_id = created["ontology_id"]
    draft = await api.call("taxonomy", "GET", f"/v1/ontologies/{ontology_id}/draft", **OPS)
    etag = draft.headers["ETag"]
    for cls in classes:
        added = await api.call(
            "taxonomy",
            "POST",
            f"/v1/ontologies/{ontology_id}/draft/classes",
            json=cls,
            headers={"If-Match": etag},
            expect=(201,),
            **OPS,
        )
        etag = added.headers["ETag"]
    published = await api.json(
        "taxonomy",
        "POST",
        f"/v1/ontologies/{ontology_id}/draft/publish",
        headers={"If-Match": etag},
        expect=(201,),
        **OPS,
    )
    return {"ontology_id": ontology_id, "version": published["version"]}


async def create_rubric(api: Quorum, rubric_id: str, **body: Any) -> dict[str, Any]:
    """A rubric from a template (``template=``) or a definition (``definition=``)."""
    result: dict[str, Any] = await api.json(
        "assignment",
        "POST",
        "/v1/rubrics",
        json={"rubric_id": rubric_id, **body},
        expect=(201,),
        **OPS,
    )
    return result


async def onboard(api: Quorum, persona: Persona, *, state: str = "vetted") -> None:
    """One onboarding call: profile, attested skills, state."""
    skills = dict(persona.skills)
    if persona.adjudicator:
        skills["role.adjudicator"] = max(skills.get("role.adjudicator", 0), 4)
    body = {
        "expert_id": persona.expert_id,
        "display_name": persona.expert_id.rsplit("-", 1)[0].replace("-", " ").title(),
        "languages": ["en"],
        "skills": [
            {"skill": s, "level": level, "note": "portfolio reviewed"}
            for s, level in skills.items()
        ],
        "state": state,
        "reason": "screened for the program",
    }
    await api.call("assignment", "POST", "/v1/experts", json=body, expect=(201,), **OPS)


async def open_project(api: Quorum, project: dict[str, Any], roster: list[Persona]) -> None:
    """Create and activate the project, invite the roster in one call; each accepts."""
    await api.call("assignment", "POST", "/v1/projects", json=project, expect=(201,), **OPS)
    project_id = project["project_id"]
    await api.call(
        "assignment",
        "POST",
        f"/v1/projects/{project_id}/status",
        json={"status": "active"},
        **OPS,
    )
    await invite(api, project_id, roster, batch=f"{project_id}-roster")


async def invite(api: Quorum, project_id: str, roster: list[Persona], *, batch: str) -> None:
    if not roster:
        return
    body = {"batch_id": batch, "expert_ids": sorted(p.expert_id for p in roster)}
    await api.call(
        "assignment",
        "POST",
        f"/v1/projects/{project_id}/invitations:batch",
        json=body,
        expect=(201,),
        **OPS,
    )
    for persona in roster:
        await api.call(
            "assignment",
            "POST",
            f"/v1/me/invitations/{project_id}/accept",
            role="expert",
            subject=persona.expert_id,
        )


async def register_http(api: Quorum, bodies: list[dict[str, Any]]) -> dict[str, str]:
    """The client registers over HTTP in batches, again while ingest marks items
    ``rejected`` because it has not consumed the project or its taxonomy version yet; the
    item id of each external id."""
    items: dict[str, str] = {}
    for start in range(0, len(bodies), 500):
        chunk = bodies[start : start + 500]
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            out = await api.json(
                "ingest", "POST", "/v1/media/batch", json={"items": chunk}, **CLIENT
            )
            refused = [r for r in out["results"] if r["outcome"] in ("rejected", "conflict")]
            if not refused:
                break
            if asyncio.get_running_loop().time() > deadline:
                raise DemoError(f"ingest refused registrations: {refused[:3]}")
            await asyncio.sleep(0.5)  # ingest has not consumed the project yet
        for result in out["results"]:
            items[chunk[result["index"]]["external_id"]] = result["item_id"]
    return items


async def register_kafka(api: Quorum, bodies: list[dict[str, Any]]) -> dict[str, str]:
    """The client's uploader publishes CloudEvents on the tenant's request topic; the item id
    of each external id, once ingest registered them all."""
    await api.publish_requests(bodies)
    wanted = {b["external_id"] for b in bodies}
    items: dict[str, str] = {}

    async def registered() -> dict[str, str] | None:
        for external_id in wanted - set(items):
            found = await api.call(
                "ingest",
                "GET",
                "/v1/media/by-external-id",
                params={"external_id": external_id},
                expect=(200, 404),
                **CLIENT,
            )
            if found.status_code == 200:
                items[external_id] = found.json()["item_id"]
        return items if set(items) == wanted else None

    return await eventually(registered, timeout=120, what="ingest to register the Kafka requests")


async def progress(api: Quorum, project_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await api.json(
        "assignment", "GET", f"/v1/projects/{project_id}/progress", **OPS
    )
    return result


def resolved_all(api: Quorum, project_id: str, expected: Callable[[], int]) -> Callable[[], Any]:
    """A ``done`` check: every one of the ``expected()`` registered items is resolved."""

    async def done() -> bool:
        p = await progress(api, project_id)
        return bool(p["items"] >= expected() and p["unresolved"] == 0)

    return done


def crowd_of(
    ctx: Context,
    personas: list[Persona],
    truths: dict[str, Truth],
    answer: Answerer,
    *,
    before_submit: BeforeSubmit | None = None,
) -> Crowd:
    """The program's experts, its progress moving with each judgment."""
    crowd: Crowd = Crowd(
        ctx.api,
        personas,
        truths,
        answer,
        seed=ctx.seed,
        before_submit=before_submit,
        on_submit=lambda _: ctx.progress("judging", len(crowd.submitted), 0),
    )
    return crowd


async def judge_until_resolved(
    ctx: Context, crowd: Crowd, report: Report, project_id: str, n_items: int, what: str
) -> dict[str, Any]:
    """The crowd at work until the project's ``n_items`` items are resolved (a stall stops
    the run with its stuck units); the report's counts, and the project's progress."""
    await crowd.work_until(
        resolved_all(ctx.api, project_id, lambda: n_items),
        timeout=600,
        stalled=stuck(ctx.api, project_id),
        what=what,
    )
    done = await progress(ctx.api, project_id)
    report.judgments = len(crowd.submitted)
    report.resolved = done["items"] - done["unresolved"]
    return done


def stuck(api: Quorum, project_id: str) -> Callable[[], Awaitable[str]]:
    """Why the project's work does not move: its stuck units and their reasons."""

    async def why() -> str:
        found = await api.json("assignment", "GET", f"/v1/projects/{project_id}/stuck", **OPS)
        units = [f"{u['kind']} {u['unit_id']}: {u['reason']}" for u in found["items"][:5]]
        return "; ".join(units) or "no stuck unit (experts idle or leases held)"

    return why


async def export(api: Quorum, project_id: str) -> list[dict[str, Any]]:
    """The client's JSON lines export of the project's resolved items."""
    response = await api.call(
        "ingest",
        "GET",
        "/v1/media/export",
        params={"project_id": project_id, "format": "jsonl"},
        **CLIENT,
    )
    return [json.loads(line) for line in response.text.splitlines() if line.strip()]


async def exported_when_complete(api: Quorum, project_id: str, n: int) -> list[dict[str, Any]]:
    """The export once it holds ``n`` resolved items (ingest hears item.resolved over Kafka)."""

    async def complete() -> list[dict[str, Any]] | None:
        lines = await export(api, project_id)
        return lines if len(lines) >= n else None

    return await eventually(complete, timeout=120, what=f"{n} resolved items in the export")


# --- what metrics says ---


async def agreement(
    api: Quorum, project_id: str, report: Report, fields: list[str]
) -> dict[str, Any]:
    """The project's agreement figures, kept in the report for ``fields``."""

    async def ready() -> dict[str, Any] | None:
        found = await api.call(
            "metrics",
            "GET",
            f"/v1/projects/{project_id}/agreement",
            expect=(200, 404),
            **OPS,
        )
        return found.json() if found.status_code == 200 else None

    body: dict[str, Any] = await eventually(ready, timeout=60, what="agreement figures")
    for name in fields:
        figures = body["fields"].get(name)
        if figures is None:
            continue
        level = figures["level"]
        alpha = figures["krippendorff_alpha"].get(level) or {}
        report.agreement.append((name, alpha.get("value"), alpha.get("ci"), figures["items"]))
    return body


async def alerts(api: Quorum, project_id: str) -> list[dict[str, Any]]:
    found = await api.call(
        "metrics", "GET", f"/v1/projects/{project_id}/alerts", expect=(200, 404), **OPS
    )
    return list(found.json()["items"]) if found.status_code == 200 else []


async def wait_for_alert(
    ctx: Context, project_id: str, match: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any] | None:
    """The first alert ``match`` accepts, waiting up to the context's alert wait; None if
    none came."""

    async def found() -> dict[str, Any] | None:
        return next((a for a in await alerts(ctx.api, project_id) if match(a)), None)

    try:
        return await eventually(found, timeout=ctx.alert_wait_s, what=what, every=2.0)
    except DemoError:
        return None


async def expert_quality(api: Quorum, project_id: str) -> dict[str, dict[str, Any]]:
    found = await api.call(
        "metrics", "GET", f"/v1/projects/{project_id}/experts", expect=(200, 404), **OPS
    )
    if found.status_code == 404:
        return {}
    return {e["expert_id"]: e for e in found.json()["experts"]}


async def throughput(ctx: Context, project_id: str, report: Report) -> None:
    """Time to resolution from the metrics service into the report."""
    found = await ctx.api.call(
        "metrics",
        "GET",
        f"/v1/projects/{project_id}/throughput",
        params={"window": "24h"},
        expect=(200, 404),
        **OPS,
    )
    if found.status_code != 200:
        return
    body = found.json()
    ttr = body.get("time_to_resolution") or {}
    report.time_to_resolution = {
        k: ttr.get(k) for k in ("p50", "p90", "p99") if isinstance(ttr.get(k), int | float)
    }


def not_below(hits: int, n: int, rate: float) -> float:
    """The p-value of ``hits`` of ``n`` under a true rate of ``rate`` or more (one-sided
    exact binomial): below 0.001, the system did worse than the judges it was given."""
    return float(binomtest(hits, n, rate, alternative="less").pvalue) if n else 1.0


def check_rate(report: Report, what: str, hits: int, n: int, rate: float) -> None:
    """A truth recovered at least as often as the judges' known accuracy allows: ``hits`` of
    ``n`` is not significantly below ``rate`` (p >= 0.001)."""
    p = not_below(hits, n, rate)
    report.check(
        f"{what} (at the judges' accuracy, {rate:.0%}, or better)",
        p >= 0.001,
        f"{hits} of {n} ({hits / max(n, 1):.0%}; binomial p = {p:.2g})",
    )


def check_export(
    report: Report,
    lines: list[dict[str, Any]],
    truths: dict[str, Truth],
    classes_of: Callable[[dict[str, Any]], tuple[str, ...]],
    *,
    accuracy: float,
) -> None:
    """The client's export holds every registered item once, and its resolved classes are
    the true ones as often as judges of ``accuracy`` (the program's weakest) allow."""
    by_external = {line["external_id"]: line for line in lines}
    report.check(
        "the export holds every registered item exactly once",
        len(by_external) == len(lines) == report.registered,
        f"{len(lines)} lines, {len(by_external)} distinct, {report.registered} registered",
    )
    truth_of = {t.external_id: t for t in truths.values() if not t.gold}
    right = sum(
        1
        for external_id, line in by_external.items()
        if external_id in truth_of and classes_of(line) == truth_of[external_id].classes
    )
    check_rate(report, "the exported labels are the true ones", right, len(by_external), accuracy)


def expert_rows(
    report: Report, quality: dict[str, dict[str, Any]], true_accuracy: dict[str, float]
) -> None:
    """Per expert: the true accuracy on gold against the system's estimate and interval."""
    for expert_id, truth in sorted(true_accuracy.items()):
        gold = (quality.get(expert_id) or {}).get("gold") or {}
        accuracy = gold.get("accuracy") or {}
        report.experts.append(
            (expert_id, truth, accuracy.get("value"), accuracy.get("ci"), accuracy.get("n", 0))
        )


def check_accuracy(
    report: Report, quality: dict[str, dict[str, Any]], true_accuracy: dict[str, float]
) -> None:
    """Each expert's gold record is consistent with their true accuracy: a two-sided exact
    binomial test of their right / scored gold judgments against it keeps p >= 0.001 (a
    system that mis-scored gold, or scored another expert's, fails it)."""
    for expert_id, truth in sorted(true_accuracy.items()):
        accuracy = ((quality.get(expert_id) or {}).get("gold") or {}).get("accuracy") or {}
        right, n = int(accuracy.get("successes") or 0), int(accuracy.get("n") or 0)
        p = binomtest(right, n, min(truth, 1 - 1e-9)).pvalue if n else 0.0
        report.check(
            f"{expert_id}'s gold record is consistent with their true accuracy",
            n > 0 and p >= 0.001,
            f"true {truth:.3f}; {right} of {n} right, estimated {accuracy.get('value')} "
            f"{_rounded(accuracy.get('ci'))} (binomial p = {p:.3g})",
        )


def _rounded(ci: list[float] | None) -> str:
    return "-" if not ci else f"[{ci[0]:.2f}, {ci[1]:.2f}]"


def now_tag() -> str:
    return datetime.now().strftime("%H%M%S")


def gold_counts(submitted: list[Submitted]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in submitted:
        if s.gold:
            counts[s.expert_id] = counts.get(s.expert_id, 0) + 1
    return counts
