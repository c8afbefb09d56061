"""Expert quality on the real servers: gold scores published on ``quorum.gold.scored.v1`` for
three experts (one whose accuracy drops from 0.9 to 0.5 over 400 gold judgments), review
judgments and outcomes on ``quorum.judgment.submitted.v1`` and ``quorum.item.resolved.v1`` in
either order; the experts route, the expert's own view, the alert on ``quorum.metrics``, the
Dawid-Skene batch lane, replays and every denial."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from statsmodels.stats.proportion import proportion_confint

from services.metrics.handlers.expert_quality import ExpertQuality, day_start
from services.metrics.quality import week_start
from services.metrics.stores.judged_items import JUDGED_ITEMS
from shared.contracts.metrics import METRICS, METRICS_ALERT
from shared.contracts.metrics import PROJECTS as METRICS_PROJECTS
from shared.contracts.spec import EventSpec
from shared.contracts.vocabulary import Label
from shared.contracts.work import (
    GOLD_SCORED,
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    WORK,
    GoldScoredV1,
    ItemResolvedV1,
    JudgmentSubmittedV1,
    Resolution,
    Verdict,
    WorkKind,
)
from shared.events.envelope import Event, make_event
from shared.http.service import service_of
from tests.kafka_helpers import caught_up, eventually, published_offsets, read_all
from tests.metrics.conftest import MetricsUnderTest
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

OPS = auth("ops")
PROJECT = "p-quality"
OUTCOMES = "p-quality-outcome"
VIEW = "p-quality-view"
T0 = datetime(2024, 3, 1, tzinfo=UTC)
SOURCE = "/quorum/assignment"
GOLDS = 400

#: expert -> accuracy over the first half, then the second half of their gold judgments
EXPERTS = {"e-steady": (0.9, 0.9), "e-fair": (0.8, 0.8), "e-dropping": (0.9, 0.5)}


def outcomes(expert: str) -> list[bool]:
    """The expert's gold outcomes in scored order: exactly the half's accuracy, shuffled
    (seeded) within each half."""
    rng = random.Random(f"gold-{expert}")
    out: list[bool] = []
    for share in EXPERTS[expert]:
        half = [k < round(share * GOLDS / 2) for k in range(GOLDS // 2)]
        rng.shuffle(half)
        out += half
    return out


def gold(
    project_id: str, expert: str, n: int, correct: bool, *, scored_at: datetime | None = None
) -> Event[GoldScoredV1]:
    """A gold judgment: ``verdict`` right when correct, ``labels.box`` right also on every
    third wrong one (so a wrong judgment may get a field right)."""
    fields = {"verdict": correct, "labels.box": correct or n % 3 == 0}
    data = GoldScoredV1(
        judgment_id=f"{project_id}-{expert}-g{n}",
        unit_id=f"{project_id}-{expert}-u{n}",
        item_id=f"{project_id}-{expert}-gold-{n}",
        project_id=project_id,
        tenant="acme",
        expert_id=expert,
        fields=fields,
        score=1.0 if correct else (0.5 if fields["labels.box"] else 0.0),
        scored_at=scored_at or T0 + timedelta(minutes=n),
    )
    return make_event(GOLD_SCORED, data, source=SOURCE, tenant="acme")


def golds(half: int) -> list[Event[GoldScoredV1]]:
    """Every expert's gold judgments of one half (0 or 1), in scored order."""
    span = range(half * GOLDS // 2, (half + 1) * GOLDS // 2)
    return [gold(PROJECT, e, n, outcomes(e)[n]) for n in span for e in EXPERTS]


def review(
    item: str,
    expert: str,
    verdict: Verdict,
    classes: list[str],
    *,
    kind: WorkKind = WorkKind.review,
    project_id: str = OUTCOMES,
) -> Event[JudgmentSubmittedV1]:
    data = JudgmentSubmittedV1(
        judgment_id=f"{item}-{expert}-{kind.value}",
        unit_id=f"{item}-{expert}-unit",
        item_id=item,
        project_id=project_id,
        tenant="acme",
        expert_id=expert,
        kind=kind,
        verdict=verdict,
        labels=[Label(class_id=c) for c in classes],
        time_spent_s=30,
        submitted_at=T0,
    )
    return make_event(JUDGMENT_SUBMITTED, data, source=SOURCE, tenant="acme")


def outcome(
    item: str, verdict: Verdict, classes: list[str], *, revision: int = 1
) -> Event[ItemResolvedV1]:
    data = ItemResolvedV1(
        item_id=item,
        project_id=OUTCOMES,
        tenant="acme",
        final_labels=[Label(class_id=c) for c in classes],
        method=Resolution.consensus if revision == 1 else Resolution.override,
        judgment_ids=[f"{item}-j"],
        resolved_at=T0 + timedelta(hours=revision),
        verdict=verdict,
        revision=revision,
    )
    return make_event(ITEM_RESOLVED, data, source=SOURCE, tenant="acme")


def again(event: Event[Any]) -> Event[Any]:
    """The same payload under a new event id (a replay)."""
    specs: dict[str, EventSpec[Any]] = {
        s.type: s for s in (GOLD_SCORED, JUDGMENT_SUBMITTED, ITEM_RESOLVED)
    }
    spec = specs[event.type]
    return make_event(spec, event.data, source=SOURCE, tenant="acme")


async def applied(metrics: MetricsUnderTest) -> None:
    """Every event published so far was applied, and every alert written was published."""
    s = metrics.settings

    async def done() -> bool:
        return all(
            [
                await caught_up(s.kafka_bootstrap_servers, s.group_id, s.topic_prefix + t.name)
                for t in (WORK, METRICS_PROJECTS)
            ]
        )

    await eventually(done, timeout=90)
    await published_offsets(s)


async def experts(
    client: httpx.AsyncClient, project_id: str = PROJECT, headers: dict[str, str] = OPS
) -> httpx.Response:
    return await client.get(f"/v1/projects/{project_id}/experts", headers=headers)


async def mine(
    client: httpx.AsyncClient, expert: str, project_id: str = PROJECT, tenant: str = "acme"
) -> httpx.Response:
    return await client.get(
        "/v1/me/quality",
        params={"project_id": project_id},
        headers=auth("expert", tenant=tenant, subject=expert),
    )


def by_expert(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["expert_id"]: e for e in body["experts"]}


async def alerts(metrics: MetricsUnderTest) -> list[dict[str, Any]]:
    """The expert accuracy alerts of the project on ``quorum.metrics``."""
    s = metrics.settings
    records = await read_all(s.kafka_bootstrap_servers, s.topic_prefix + METRICS.name)
    found = []
    for record in records:
        event = json.loads(record.value)
        if event["type"] == METRICS_ALERT.type and event["data"]["project_id"] == PROJECT:
            found.append(event["data"])
    return found


def wilson(successes: int, n: int) -> list[float]:
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    return [float(low), float(high)]


def assert_rate(rate: dict[str, Any], successes: int, n: int) -> None:
    assert (rate["successes"], rate["n"]) == (successes, n)
    assert rate["value"] == pytest.approx(successes / n, abs=1e-12)
    assert rate["ci"] == pytest.approx(wilson(successes, n), abs=1e-9)


@contextmanager
def tomorrow(metrics: MetricsUnderTest) -> Iterator[datetime]:
    """The service's clock moved to 00:30 UTC tomorrow (its expert view is tomorrow's)."""
    quality = service_of(metrics.app).get(ExpertQuality)
    real = quality.clock
    moved = day_start(datetime.now(UTC)) + timedelta(days=1, minutes=30)
    quality.clock = lambda: moved
    try:
        yield moved
    finally:
        quality.clock = real


@pytest_asyncio.fixture(scope="module")
async def published(metrics: MetricsUnderTest) -> MetricsUnderTest:
    # one half after the other: within a half, events of one expert arrive from different
    # partitions in any order, which a stable accuracy does not mind
    for half in (0, 1):
        await publish(metrics.settings, *golds(half))
        await applied(metrics)
    return metrics


async def test_the_dropping_expert_alone_raises_an_expert_accuracy_alert(
    published: MetricsUnderTest,
) -> None:
    found = await alerts(published)
    assert found, "no alert"
    assert {a["evidence"]["expert_id"] for a in found} == {"e-dropping"}
    assert {a["kind"] for a in found} == {"expert_accuracy"}
    first = found[0]
    assert first["alert_id"].startswith("expert_accuracy-")
    assert first["recommendations"][0]["target"] == "e-dropping"
    # detected after the drop, on more than the minimum count of outcomes
    assert first["evidence"]["index"] > GOLDS // 2 and first["evidence"]["n"] >= 100
    before, after = first["evidence"]["before"]["value"], first["evidence"]["after"]["value"]
    # the kept window starts where ADWIN cut, a little before the drop
    assert before > 0.8 and before - after > 0.1
    body = (await experts(published.client)).json()
    drift = by_expert(body)["e-dropping"]["gold"]["drift"]
    assert drift["alerting"] is True and drift["alerts"] == len(found)
    assert drift["last_shift"]["alert_id"] == found[-1]["alert_id"]
    assert drift["last_shift"]["direction"] == "drop"
    for steady in ("e-steady", "e-fair"):
        d = by_expert(body)[steady]["gold"]["drift"]
        assert d["alerting"] is False and d["alerts"] == 0 and d["last_shift"] is None
    # ops find it among the project's alerts; a client is not told about experts
    path = f"/v1/projects/{PROJECT}/alerts"
    listed = (await published.client.get(path, headers=OPS)).json()["items"]
    assert sorted(a["alert_id"] for a in listed) == sorted(a["alert_id"] for a in found)
    assert all(a["evidence"]["expert_id"] == "e-dropping" for a in listed)
    as_client = await published.client.get(path, headers=auth("client"))
    assert as_client.status_code in (200, 404)
    assert "e-dropping" not in as_client.text


async def test_gold_accuracy_and_wilson_interval_equal_a_plain_recomputation(
    published: MetricsUnderTest,
) -> None:
    response = await experts(published.client)
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == PROJECT
    assert sorted(by_expert(body)) == sorted(EXPERTS)
    for expert, figures in by_expert(body).items():
        results = outcomes(expert)
        g = figures["gold"]
        assert_rate(g["accuracy"], sum(results), GOLDS)
        box = sum(r or n % 3 == 0 for n, r in enumerate(results))
        fields = {f["field"]: f["accuracy"] for f in g["fields"]}
        assert sorted(fields) == ["labels.box", "verdict"]
        assert_rate(fields["verdict"], sum(results), GOLDS)
        assert_rate(fields["labels.box"], box, GOLDS)
        assert g["drift"]["seen"] == GOLDS and g["drift"]["min_count"] == 100
        # no review judgment in this project: agreement with the outcome is undefined
        assert figures["outcome"]["verdict"]["n"] == 0
        assert figures["outcome"]["verdict"]["value"] is None


async def test_a_replay_under_new_event_ids_changes_nothing(published: MetricsUnderTest) -> None:
    before = (await experts(published.client)).json()
    raised = await alerts(published)
    await publish(published.settings, *(again(e) for e in [*golds(1), *golds(0)]))
    await applied(published)
    assert (await experts(published.client)).json() == before
    assert await alerts(published) == raised


async def test_agreement_with_the_outcome_counts_judgments_before_and_after_resolutions(
    published: MetricsUnderTest,
) -> None:
    client, settings = published.client, published.settings
    a, b = "e-a", "e-b"
    accept, correct, reject = Verdict.accept, Verdict.correct, Verdict.reject
    first: list[Event[Any]] = [
        review("i1", a, accept, ["cat"]),
        review("i1", b, correct, ["dog"]),
        review("i2", a, correct, ["dog"]),
        review("i2", b, correct, ["cat"]),
        review("i3", a, reject, []),
        review("i3", b, accept, ["cat"]),
        review("i4", a, accept, ["cat", "dog"]),
        review("i5", a, accept, ["cat"]),  # never resolved: never counted
        # an adjudication and a gold judgment are not review judgments: left out
        review("i2", a, accept, ["cat"], kind=WorkKind.adjudication),
        review("i2", b, accept, ["cat"], kind=WorkKind.gold),
        outcome("i6", accept, ["cat"]),  # resolved before its judgment arrives
    ]
    then: list[Event[Any]] = [
        outcome("i1", accept, ["cat"]),
        outcome("i2", correct, ["dog"]),
        outcome("i3", reject, []),  # no class: counts for the verdict only
        outcome("i4", accept, ["cat", "dog"]),  # two classes: the verdict only
        review("i6", a, accept, ["cat"]),
    ]
    await publish(settings, *first)
    await applied(published)
    await publish(settings, *then)
    await applied(published)
    figures = by_expert((await experts(client, OUTCOMES)).json())
    assert_rate(figures[a]["outcome"]["verdict"], 5, 5)  # i1 i2 i3 i4 i6
    assert_rate(figures[a]["outcome"]["class"], 3, 3)  # i1 i2 i6
    assert_rate(figures[b]["outcome"]["verdict"], 1, 3)  # i2 only
    assert_rate(figures[b]["outcome"]["class"], 0, 2)  # i1 i2
    assert figures[a]["gold"] is None

    # a revised outcome replaces the item's; an older revision and replays change nothing
    await publish(settings, outcome("i1", correct, ["dog"], revision=2))
    await applied(published)
    await publish(
        settings,
        outcome("i1", accept, ["cat"], revision=1),
        *(again(e) for e in [*first, *then]),
    )
    await applied(published)
    figures = by_expert((await experts(client, OUTCOMES)).json())
    assert_rate(figures[a]["outcome"]["verdict"], 4, 5)
    assert_rate(figures[a]["outcome"]["class"], 2, 3)
    assert_rate(figures[b]["outcome"]["verdict"], 2, 3)
    assert_rate(figures[b]["outcome"]["class"], 1, 2)


async def test_the_dawid_skene_lane_estimates_each_expert_and_survives_a_bad_project(
    published: MetricsUnderTest,
) -> None:
    quality = service_of(published.app).get(ExpertQuality)
    db = service_of(published.app).runtime.db
    # a project whose stored items cannot be read
    await db[JUDGED_ITEMS].insert_one(
        {
            "_id": "acme/p-quality-broken/x",
            "tenant": "acme",
            "project_id": "p-quality-broken",
            "item_id": "x",
            "entries": [{"broken": True}],
            "revision": 1,
        }
    )
    assert await quality.recompute_all() >= 1
    body = (await experts(published.client, OUTCOMES)).json()
    assert body["dawid_skene"]["computed_at"] is not None
    estimated = {e["expert_id"]: e["dawid_skene"] for e in body["experts"]}
    # the class of each expert's latest judgment of each item with one class
    assert estimated["e-a"]["judgments"] == 4  # i1 i2 i5 i6
    assert 0 <= estimated["e-a"]["accuracy"] <= 1
    assert estimated["e-b"]["judgments"] == 3  # i1 i2 i3
    # unchanged judgments: nothing is recomputed (and the broken project fails again)
    assert await quality.recompute_all() == 0


async def test_the_experts_own_view_holds_whole_batches_from_before_today(
    published: MetricsUnderTest,
) -> None:
    client, settings = published.client, published.settings
    # everything so far was taken today: today's view holds none of it
    today = (await mine(client, "e-dropping")).json()
    assert today["as_of"].startswith(datetime.now(UTC).date().isoformat())
    assert today["gold_accuracy"]["value"] is None and today["gold_accuracy"]["n"] == 0
    outcome_today = (await mine(client, "e-a", OUTCOMES)).json()
    assert outcome_today["outcome"]["verdict"]["n"] == 0

    # seven gold judgments published in reverse: tomorrow's view holds the first five by
    # scored_at (the fifth and sixth wrong)
    view = [gold(VIEW, "e-view", n, n not in (4, 5)) for n in range(7)]
    await publish(settings, *reversed(view))
    await applied(published)
    with tomorrow(published) as now:
        view_body = (await mine(client, "e-view", VIEW)).json()
        assert_rate(view_body["gold_accuracy"], 4, 5)
        dropping = (await mine(client, "e-dropping")).json()
        assert_rate(dropping["gold_accuracy"], sum(outcomes("e-dropping")), GOLDS)
        a = (await mine(client, "e-a", OUTCOMES)).json()
        assert_rate(a["outcome"]["verdict"], 4, 5)
        assert a["outcome"]["class"]["value"] is None  # 3: below one batch
        assert a["gold_accuracy"]["n"] == 0

        # gold scored today (tomorrow's clock) and one scored earlier but taken today:
        # today's answer does not change, ops see both at once
        await publish(
            settings,
            gold(PROJECT, "e-dropping", GOLDS, False, scored_at=now - timedelta(minutes=5)),
            gold(PROJECT, "e-dropping", GOLDS + 1, False, scored_at=T0 - timedelta(days=1)),
        )
        await applied(published)
        assert (await mine(client, "e-dropping")).json() == dropping
        ops = by_expert((await experts(client)).json())["e-dropping"]["gold"]["accuracy"]
        assert ops["n"] == GOLDS + 2
    # a fresh gold judgment does not change today's answer either
    assert (await mine(client, "e-dropping")).json() == today


async def test_denials(published: MetricsUnderTest) -> None:
    client = published.client
    assert (await experts(client, headers=auth("admin"))).status_code == 200
    assert (await experts(client, headers=auth("client"))).status_code == 403
    assert (await experts(client, headers=auth("expert", subject="e-dropping"))).status_code == 403
    assert (await experts(client, headers={})).status_code == 401
    other = await experts(client, headers=auth("ops", tenant="globex"))
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    unknown = await experts(client, "p-unknown")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    for role in ("ops", "admin", "client"):
        response = await client.get(
            "/v1/me/quality", params={"project_id": PROJECT}, headers=auth(role)
        )
        assert response.status_code == 403, role
    assert (await client.get("/v1/me/quality", params={"project_id": PROJECT})).status_code == 401
    missing = await client.get("/v1/me/quality", headers=auth("expert", subject="e-dropping"))
    assert missing.status_code == 422
    # an expert of another tenant under the same id sees nothing of acme's: no such project
    with tomorrow(published):
        theirs = await mine(client, "e-dropping", tenant="globex")
    assert theirs.status_code == 404
    assert theirs.headers["content-type"] == "application/problem+json"


async def test_the_trend_gives_gold_accuracy_per_week_of_the_last_twelve(
    metrics: MetricsUnderTest,
) -> None:
    project = "p-trend"
    monday = week_start(datetime.now(UTC))
    # two weeks ago 4 of 5, last week 2 of 4, this week 3 of 3; twenty weeks ago: left out
    plan = [
        (-2, [True, True, True, True, False]),
        (-1, [True, False, True, False]),
        (0, [True] * 3),
    ]
    events = [
        gold(
            project,
            "e-trend",
            100 * (w + 3) + k,
            ok,
            scored_at=monday + timedelta(weeks=w, hours=k),
        )
        for w, results in plan
        for k, ok in enumerate(results)
    ]
    events.append(gold(project, "e-trend", 1, False, scored_at=monday - timedelta(weeks=20)))
    await publish(metrics.settings, *events)

    async def trend() -> list[dict[str, Any]] | None:
        response = await experts(metrics.client, project)
        if response.status_code != 200:
            return None
        found = by_expert(response.json()).get("e-trend")
        if found is None or found["gold"]["accuracy"]["n"] != 13:
            return None
        points: list[dict[str, Any]] = found["trend"]
        return points

    points = await eventually(trend, timeout=60)
    assert [datetime.fromisoformat(p["week"]) for p in points] == [
        monday + timedelta(weeks=w) for w, _ in plan
    ]
    for point, (_, results) in zip(points, plan, strict=True):
        assert_rate(point["accuracy"], sum(results), len(results))
