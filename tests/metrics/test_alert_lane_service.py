"""The alert lane and the priorities on the real servers: pre-labels and outcomes published on
``quorum.media.registered.v1`` and ``quorum.item.resolved.v1``, judgments on
``quorum.judgment.submitted.v1``; the lane (every 0.3 s here) publishes each alert once on
``quorum.metrics`` (a project 1.5 s after its last change); the alerts and priorities routes and every denial."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.metrics.handlers.alerts import AlertLane
from services.metrics.settings import MetricsSettings
from services.metrics.stores.alerts import ALERT_PROJECTS, ALERTS
from services.metrics.stores.prelabels import ITEM_PRELABELS
from shared.contracts.media import MEDIA
from shared.contracts.metrics import METRICS, METRICS_ALERT
from shared.contracts.metrics import PROJECTS as METRICS_PROJECTS
from shared.contracts.vocabulary import Label
from shared.contracts.work import WORK, Verdict
from shared.http.service import service_of
from shared.mongo import compound_id
from shared.outbox.entries import OUTBOX_OLDEST
from tests.kafka_helpers import caught_up, eventually, read_all
from tests.metrics.conftest import MetricsUnderTest, serving
from tests.metrics.judgments import judgment, submitted
from tests.metrics.prelabel_events import CLASSES, item_id, registered, resolved
from tests.metrics.prelabel_events import seeded as seeded_prelabels
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

OPS = auth("ops")
BIASED = "p-alerts-biased"  # fish pre-labels wrong 20 times in 50, the others 3 or 4
FAIR = "p-alerts-fair"  # every class wrong 4 times in 50
SHIFTED = "p-alerts-shift"  # 400 outcomes; the second 200 mostly bird; judges disagree
STABLE = "p-alerts-stable"  # 400 outcomes, the same distribution throughout
PROJECTS = (BIASED, FAIR, SHIFTED, STABLE)
JUDGED_ITEMS = 40


def fair(project_id: str) -> list[Any]:
    """200 items like the biased project's, each class resolved otherwise 4 times in 50."""
    events: list[Any] = []
    for k in range(50):
        for c, cls in enumerate(CLASSES):
            n = k * len(CLASSES) + c
            wrong = k < 4
            outcome = CLASSES[(c + 1) % len(CLASSES)] if wrong else cls
            events.append(registered(project_id, n, [(cls, 0.55 if wrong else 0.9)]))
            events.append(resolved(project_id, n, [outcome]))
    return events


def shifted_class(n: int) -> str:
    """Items 0..199: 50 of each class; items 200..399: bird 110 times, the others 30."""
    if n < 200:
        return CLASSES[n % 4]
    k = n - 200
    return "bird" if k < 110 else CLASSES[1 + (k - 110) % 3]


def outcomes(project_id: str, label: Callable[[int], str]) -> list[Any]:
    return [resolved(project_id, n, [label(n)]) for n in range(400)]


def disagreeing_judgments() -> list[Any]:
    """Three experts give each of 40 items a class drawn at random (seeded): agreement on
    `class` is about 0; every verdict is accept (no alpha: nothing varies)."""
    rng = random.Random("alert-lane")
    out = []
    for item in range(JUDGED_ITEMS):
        for expert in range(3):
            n = item * 3 + expert
            out.append(
                submitted(
                    judgment(
                        SHIFTED,
                        n,
                        item,
                        expert,
                        verdict=Verdict.accept,
                        labels=[Label(class_id=rng.choice(CLASSES))],
                    )
                )
            )
    return out


def everything() -> list[Any]:
    registrations, resolutions, _ = seeded_prelabels(BIASED)
    return [
        *registrations,
        *resolutions,
        *fair(FAIR),
        *outcomes(SHIFTED, shifted_class),
        *outcomes(STABLE, lambda n: CLASSES[n % 4]),
        *disagreeing_judgments(),
    ]


@pytest_asyncio.fixture(scope="module")
async def metrics(make_settings: Callable[..., Any]) -> AsyncIterator[MetricsUnderTest]:
    """The service with an alert lane every 0.3 s that evaluates a project 1.5 s after its
    last change (the conftest's, with these settings)."""
    settings = make_settings(
        MetricsSettings,
        alert_interval_seconds=0.3,
        alert_quiet_seconds=1.5,
        alert_max_wait_seconds=120,
    )
    async with serving(settings) as service:
        yield service


def lane_of(metrics: MetricsUnderTest) -> AlertLane:
    return service_of(metrics.app).get(AlertLane)


def db_of(metrics: MetricsUnderTest) -> Any:
    return service_of(metrics.app).runtime.db


async def settled(metrics: MetricsUnderTest, projects: tuple[str, ...] = PROJECTS) -> None:
    """Every event published so far applied, the projects evaluated since, their alerts
    relayed to Kafka."""
    s, db = metrics.settings, db_of(metrics)

    async def done() -> bool:
        topics = [t.name for t in (MEDIA, WORK, METRICS_PROJECTS)]
        if not all(
            [
                await caught_up(s.kafka_bootstrap_servers, s.group_id, s.topic_prefix + t)
                for t in topics
            ]
        ):
            return False
        markers = await db[ALERT_PROJECTS].count_documents(
            {"tenant": "acme", "project_id": {"$in": list(projects)}, "dirty": False}
        )
        pending = await db[ALERTS].count_documents({OUTBOX_OLDEST: {"$exists": True}})
        return bool(markers == len(projects) and pending == 0)

    await eventually(done, timeout=60, interval=0.2)


async def topic_alerts(metrics: MetricsUnderTest) -> dict[str, list[dict[str, Any]]]:
    """The alerts on ``quorum.metrics``, per project (in publication order)."""
    s = metrics.settings
    found: dict[str, list[dict[str, Any]]] = {}
    for record in await read_all(s.kafka_bootstrap_servers, s.topic_prefix + METRICS.name):
        event = json.loads(record.value)
        if event["type"] == METRICS_ALERT.type:
            found.setdefault(event["data"]["project_id"], []).append(event["data"])
    return found


@pytest_asyncio.fixture(scope="module")
async def published(metrics: MetricsUnderTest) -> MetricsUnderTest:
    await publish(metrics.settings, *everything())
    await settled(metrics)
    return metrics


async def get_alerts(
    client: httpx.AsyncClient,
    project_id: str,
    headers: dict[str, str] = OPS,
    **params: Any,
) -> httpx.Response:
    return await client.get(f"/v1/projects/{project_id}/alerts", params=params, headers=headers)


async def get_priorities(
    client: httpx.AsyncClient,
    project_id: str,
    headers: dict[str, str] = OPS,
    **params: Any,
) -> httpx.Response:
    url = f"/v1/projects/{project_id}/priorities"
    return await client.get(url, params=params, headers=headers)


async def test_a_biased_class_raises_exactly_one_prelabel_alert_and_a_fair_project_none(
    published: MetricsUnderTest,
) -> None:
    found = await topic_alerts(published)
    (alert,) = found[BIASED]
    assert alert["kind"] == "prelabel_error" and alert["tenant"] == "acme"
    evidence = alert["evidence"]
    assert (evidence["class_id"], evidence["n"], evidence["errors"]) == ("fish", 50, 20)
    assert (evidence["model"], evidence["version"]) == ("detector", "v1")
    assert evidence["q_value"] < 0.05 and evidence["tested"] == 4
    assert alert["severity"] == "critical"  # 40 % against 10 of 150: a gap over 0.25
    (recommendation,) = alert["recommendations"]
    assert (recommendation["target"], recommendation["target_kind"]) == ("fish", "class")
    assert recommendation["score"] == pytest.approx((0.4 - 10 / 150) / (1 - 10 / 150))
    assert FAIR not in found  # evaluated (settled), and nothing to say


async def test_a_shift_of_the_resolved_labels_raises_a_drift_alert_and_a_stable_one_none(
    published: MetricsUnderTest,
) -> None:
    found = await topic_alerts(published)
    drifts = [a for a in found[SHIFTED] if a["kind"] == "drift"]
    (drift,) = drifts
    evidence = drift["evidence"]
    assert evidence["what"] == "labels" and evidence["scope"] is None
    assert evidence["baseline"]["n"] == 200 and evidence["current"]["n"] == 200
    # the first 200 outcomes against the last 200, bounded by their resolution times
    assert evidence["baseline"]["start"] == resolved(SHIFTED, 0, []).data.resolved_at.isoformat()
    assert evidence["current"]["end"] == resolved(SHIFTED, 399, []).data.resolved_at.isoformat()
    assert evidence["test"]["name"] == "chi-square" and evidence["test"]["p_value"] < 0.01
    assert drift["severity"] in ("major", "critical") and evidence["psi"] > 0.25
    # bird rose from 25 % to 55 %: it carries most of the PSI, so it is recommended first
    targets = [(r["target"], r["target_kind"]) for r in drift["recommendations"]]
    assert targets[0] == ("bird", "class")
    assert set(targets) == {(c, "class") for c in CLASSES}
    assert STABLE not in found
    # the biased project has 200 outcomes, one block: no drift verdict
    assert all(a["kind"] == "prelabel_error" for a in found[BIASED])


async def test_low_agreement_on_class_raises_an_agreement_alert_naming_disagreed_items(
    published: MetricsUnderTest,
) -> None:
    found = await topic_alerts(published)
    (alert,) = [a for a in found[SHIFTED] if a["kind"] == "agreement"]
    evidence = alert["evidence"]
    assert evidence["field"] == "class" and evidence["figure"] == "krippendorff_alpha"
    assert evidence["n"] == JUDGED_ITEMS and evidence["ci"][1] < 0.667
    judged = {item_id(SHIFTED, n) for n in range(JUDGED_ITEMS)}
    recommended = alert["recommendations"]
    assert recommended and all(r["target_kind"] == "item" for r in recommended)
    assert {r["target"] for r in recommended} <= judged
    assert all(0 < r["score"] <= 1 for r in recommended)
    assert [r["score"] for r in recommended] == sorted(
        (r["score"] for r in recommended), reverse=True
    )
    # verdicts all accept: no alpha, no alert on verdict
    assert [a["evidence"]["field"] for a in found[SHIFTED] if a["kind"] == "agreement"] == ["class"]


async def test_a_second_evaluation_publishes_no_alert_again(published: MetricsUnderTest) -> None:
    lane, db = lane_of(published), db_of(published)
    before = await topic_alerts(published)
    stored = await db[ALERTS].count_documents({})
    for project_id in PROJECTS:
        assert await lane.evaluate("acme", project_id) == []
    # every outcome again under new event ids: each project is evaluated again, to no effect
    await publish(
        published.settings,
        *outcomes(SHIFTED, shifted_class),
        *seeded_prelabels(BIASED)[1],
    )
    await settled(published)
    assert await db[ALERTS].count_documents({}) == stored
    assert await topic_alerts(published) == before
    markers = db[ALERT_PROJECTS].find({"project_id": {"$in": [SHIFTED, BIASED]}})
    assert all([m["evaluated"] >= 400 async for m in markers])


async def test_a_project_that_fails_is_logged_and_the_lane_goes_on(
    published: MetricsUnderTest,
) -> None:
    lane, db = lane_of(published), db_of(published)
    broken = "p-alerts-broken"
    await db[ITEM_PRELABELS].insert_one(
        {
            "_id": compound_id("acme", "broken-item"),
            "tenant": "acme",
            "project_id": broken,
            "item_id": "broken-item",
            "prelabels": None,
            "resolution": {"revision": 1},  # no classes, no time: cannot be read
        }
    )
    now = datetime.now(UTC)
    await lane.store.changed("acme", broken, now)
    await lane.store.changed("acme", STABLE, now)
    await lane.evaluate_all()  # raises nothing (whichever pass takes each project)
    await settled(published, (STABLE,))
    marker = await db[ALERT_PROJECTS].find_one({"_id": compound_id("acme", broken)})
    assert marker["dirty"] is True  # tried again at the next pass
    assert await db[ALERT_PROJECTS].count_documents({"project_id": STABLE, "dirty": False}) == 1
    await db[ITEM_PRELABELS].delete_one({"_id": compound_id("acme", "broken-item")})
    await db[ALERT_PROJECTS].delete_one({"_id": compound_id("acme", broken)})


async def test_ops_read_every_alert_newest_first_by_kind_since_and_in_pages(
    published: MetricsUnderTest,
) -> None:
    client = published.client
    response = await get_alerts(client, SHIFTED)
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == SHIFTED and body["next_cursor"] is None
    kinds = sorted(a["kind"] for a in body["items"])
    assert kinds == ["agreement", "drift"]
    times = [(a["raised_at"], a["alert_id"]) for a in body["items"]]
    assert times == sorted(times, reverse=True)
    on_topic = {a["alert_id"]: a for a in (await topic_alerts(published))[SHIFTED]}
    for a in body["items"]:
        held = on_topic[a["alert_id"]]
        assert (a["kind"], a["severity"], a["summary"]) == (
            held["kind"],
            held["severity"],
            held["summary"],
        )
        assert a["evidence"] == held["evidence"]
        assert a["recommendations"] == held["recommendations"]
    drift = await get_alerts(client, SHIFTED, kind="drift")
    assert [a["kind"] for a in drift.json()["items"]] == ["drift"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (await get_alerts(client, SHIFTED, since=later)).json()["items"] == []
    first = (await get_alerts(client, SHIFTED, limit=1)).json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = (await get_alerts(client, SHIFTED, limit=1, cursor=first["next_cursor"])).json()
    assert [*first["items"], *second["items"]] == body["items"]
    if second["next_cursor"]:
        rest = await get_alerts(client, SHIFTED, limit=1, cursor=second["next_cursor"])
        assert rest.json()["items"] == [] and rest.json()["next_cursor"] is None
    # a project with data and no alert
    assert (await get_alerts(client, FAIR)).json()["items"] == []


async def test_clients_see_neither_expert_alerts_nor_anything_naming_an_expert(
    published: MetricsUnderTest,
) -> None:
    client, db = published.client, db_of(published)
    project = "p-alerts-expert"
    await db[ALERTS].insert_one(
        {
            "_id": compound_id("acme", "expert_accuracy-x"),
            "alert_id": "expert_accuracy-x",
            "tenant": "acme",
            "project_id": project,
            "kind": "expert_accuracy",
            "severity": "major",
            "summary": "Expert e-1: accuracy on gold fell",
            "evidence": {"expert_id": "e-1"},
            "recommendations": [
                {"target": "e-1", "target_kind": "expert", "score": 0.5, "reason": "r"}
            ],
            "raised_at": datetime.now(UTC),
        }
    )
    staff = (await get_alerts(client, project)).json()["items"]
    assert [a["kind"] for a in staff] == ["expert_accuracy"]
    viewer = auth("client")
    assert (await get_alerts(client, project, viewer)).json()["items"] == []
    only = await get_alerts(client, project, viewer, kind="expert_accuracy")
    assert only.status_code == 200 and only.json()["items"] == []
    shown = (await get_alerts(client, SHIFTED, viewer)).json()["items"]
    assert sorted(a["kind"] for a in shown) == ["agreement", "drift"]
    assert "e0" not in json.dumps(shown) and "expert" not in {
        r["target_kind"] for a in shown for r in a["recommendations"]
    }


async def test_priorities_rank_the_weak_class_and_its_wrong_items_first(
    published: MetricsUnderTest,
) -> None:
    client = published.client
    response = await get_priorities(client, BIASED, auth("client"), limit=10)
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == BIASED and len(body["items"]) == 10
    classes = {c["class_id"]: c for c in body["classes"]}
    fish = body["classes"][0]
    assert fish["class_id"] == "fish" and (fish["n"], fish["errors"]) == (50, 20)
    assert fish["error_rate"] == 0.4 and fish["ranks"]["prelabel_error"] == 1
    assert fish["priority"] > max(c["priority"] for n, c in classes.items() if n != "fish")
    # wrong items: pre-label error 1, uncertainty 1 - 0.55; ranked above every right one
    top = body["items"][0]
    assert top["prelabel_error"] == 1 and top["uncertainty"] == pytest.approx(0.45)
    assert top["judgments"] == 0 and top["disagreement"] is None
    assert [i["priority"] for i in body["items"]] == sorted(
        (i["priority"] for i in body["items"]), reverse=True
    )
    judged = (await get_priorities(client, SHIFTED, limit=500)).json()
    disagreed = [i for i in judged["items"] if i["disagreement"]]
    assert disagreed and all(i["judgments"] == 3 for i in disagreed)
    assert len(judged["items"]) == 400


async def test_denials(published: MetricsUnderTest) -> None:
    client = published.client
    for read in (get_alerts, get_priorities):
        assert (await read(client, SHIFTED, auth("admin"))).status_code == 200
        assert (await read(client, SHIFTED, auth("client"))).status_code == 200
        assert (await read(client, SHIFTED, auth("expert"))).status_code == 403
        assert (await read(client, SHIFTED, {})).status_code == 401
        other = await read(client, SHIFTED, auth("ops", tenant="globex"))
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("application/problem+json")
        assert (await read(client, "p-unknown")).status_code == 404
    assert (await get_alerts(client, SHIFTED, limit=501)).status_code == 422
    assert (await get_priorities(client, SHIFTED, limit=501)).status_code == 422
    assert (await get_alerts(client, SHIFTED, cursor="not-ours")).status_code == 400
