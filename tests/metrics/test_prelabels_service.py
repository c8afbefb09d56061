"""The pre-label route on the real servers: pre-labels published on
``quorum.media.registered.v1`` and outcomes on ``quorum.item.resolved.v1`` for 200 items, one
class seeded to be wrong far more often: the route raises an alert for that class only; a
replayed resolution changes nothing; a revision replaces the item's contribution; an older
one, a rejected outcome and an outcome before its pre-labels are handled; every denial."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio

from shared.contracts.media import MEDIA
from shared.contracts.work import WORK, Verdict
from tests.kafka_helpers import caught_up, eventually
from tests.metrics.conftest import MetricsUnderTest
from tests.metrics.prelabel_events import ERRORS, item_id, registered, resolved, seeded
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

OPS = auth("ops")
PROJECT = "p-prelabels"
REGISTRATIONS, RESOLUTIONS, WRONG = seeded(PROJECT)


async def prelabels(
    client: httpx.AsyncClient,
    project_id: str = PROJECT,
    headers: dict[str, str] = OPS,
    **params: Any,
) -> httpx.Response:
    return await client.get(f"/v1/projects/{project_id}/prelabels", params=params, headers=headers)


async def applied(metrics: MetricsUnderTest) -> None:
    """Every event published so far was applied."""
    s = metrics.settings

    async def done() -> bool:
        return all(
            [
                await caught_up(s.kafka_bootstrap_servers, s.group_id, s.topic_prefix + t.name)
                for t in (MEDIA, WORK)
            ]
        )

    await eventually(done, timeout=60)


def model(body: dict[str, Any]) -> dict[str, Any]:
    (only,) = body["models"]
    return only  # type: ignore[no-any-return]


def by_class(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["class_id"]: c for c in figures["classes"]}


@pytest_asyncio.fixture(scope="module")
async def published(metrics: MetricsUnderTest) -> MetricsUnderTest:
    await publish(metrics.settings, *REGISTRATIONS)
    await publish(metrics.settings, *RESOLUTIONS)

    async def all_counted() -> bool:
        response = await prelabels(metrics.client)
        return response.status_code == 200 and sum(m["n"] for m in response.json()["models"]) == 200

    await eventually(all_counted, timeout=60)
    await applied(metrics)
    return metrics


async def test_the_seeded_class_alone_raises_an_alert(published: MetricsUnderTest) -> None:
    response = await prelabels(published.client)
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == PROJECT and body["model_version"] is None
    figures = model(body)
    assert (figures["model"], figures["version"], figures["test"]) == ("detector", "v1", "fisher")
    assert figures["alerts"] == ["fish"]
    assert figures["overall"]["successes"] == sum(ERRORS.values()) == 30
    assert figures["n"] == 200 and figures["tested"] == 4
    classes = by_class(figures)
    for name, errors in ERRORS.items():
        c = classes[name]
        assert (c["n"], c["errors"]) == (50, errors), name
        assert c["alert"] is (name == "fish")
        assert set(c["examples"]) <= WRONG and len(c["examples"]) == min(errors, 5)
    fish = classes["fish"]
    assert fish["rate"]["value"] == 0.4 and fish["others_rate"]["value"] == 10 / 150
    assert fish["p_value"] <= fish["q_value"] < 0.05
    assert all(classes[c]["q_value"] >= 0.05 for c in ("bird", "cat", "dog"))
    # rows pre-label, columns resolved: fish resolved as bird 20 times
    labels, matrix = figures["confusion"]["labels"], figures["confusion"]["matrix"]
    assert labels == ["bird", "cat", "dog", "fish"]
    assert matrix[3] == [20, 0, 0, 30]
    calibration = figures["calibration"]
    assert calibration["n"] == 200 and len(calibration["buckets"]) == 10
    low, high = calibration["buckets"][5], calibration["buckets"][9]
    assert (low["n"], low["accuracy"]["successes"]) == (30, 0)
    assert (high["n"], high["accuracy"]["successes"]) == (170, 170)
    # ECE = 30/200 * |0 - 0.55| + 170/200 * |1 - 0.9|
    assert calibration["ece"] == pytest.approx(0.15 * 0.55 + 0.85 * 0.1)


async def test_a_replayed_resolution_changes_nothing(published: MetricsUnderTest) -> None:
    before = (await prelabels(published.client)).json()
    # the same outcomes and pre-labels again, under new event ids
    await publish(published.settings, *seeded(PROJECT)[1], *seeded(PROJECT)[0][:20])
    await applied(published)
    assert (await prelabels(published.client)).json() == before


async def test_a_revision_replaces_the_items_contribution(published: MetricsUnderTest) -> None:
    client, settings = published.client, published.settings
    # item 1 was pre-labelled cat and resolved cat (k = 49 is past every error)
    n = 49 * 4 + 1
    assert item_id(PROJECT, n) not in WRONG
    await publish(settings, resolved(PROJECT, n, ["dog"], revision=2))
    await applied(published)
    cat = by_class(model((await prelabels(client)).json()))["cat"]
    assert (cat["n"], cat["errors"]) == (50, 5)
    assert cat["examples"][0] == item_id(PROJECT, n)  # the most recent error first
    # an older revision, replayed late, changes nothing
    await publish(settings, resolved(PROJECT, n, ["cat"], revision=1))
    await applied(published)
    assert by_class(model((await prelabels(client)).json()))["cat"]["errors"] == 5
    # revised again to a rejection: the item no longer counts
    await publish(settings, resolved(PROJECT, n, [], revision=3, verdict=Verdict.reject))
    await applied(published)
    figures = model((await prelabels(client)).json())
    assert (by_class(figures)["cat"]["n"], by_class(figures)["cat"]["errors"]) == (49, 4)
    assert figures["n"] == 199 and figures["alerts"] == ["fish"]


async def test_an_outcome_before_its_prelabels_and_model_versions(
    published: MetricsUnderTest,
) -> None:
    client, settings = published.client, published.settings
    project = "p-prelabels-early"
    # the outcome first, then the pre-labels: the item counts once both are there
    await publish(settings, resolved(project, 1, ["cat", "dog"]))
    await applied(published)
    await publish(
        settings,
        registered(project, 1, [("cat", 0.8), ("fish", 0.7), ("fish", 0.9), ("bird", 1.0)]),
        registered(project, 2, [("cat", None)], version="v2"),
        resolved(project, 2, []),
    )
    await applied(published)
    body = (await prelabels(client, project)).json()
    assert [m["version"] for m in body["models"]] == ["v1", "v2"]
    v1, v2 = body["models"]
    # cat matched itself; bird (1.0) then fish (0.9): bird takes dog, fish has none left
    labels, matrix = v1["confusion"]["labels"], v1["confusion"]["matrix"]
    cells = {
        (labels[i], labels[j]): matrix[i][j]
        for i in range(len(labels))
        for j in range(len(labels))
        if matrix[i][j]
    }
    assert cells == {("bird", "dog"): 1, ("cat", "cat"): 1, ("fish", "none"): 1}
    assert v1["calibration"]["buckets"][9]["n"] == 2  # bird at 1.0 and fish at 0.9
    assert v1["calibration"]["n"] == 3 and v1["alerts"] == []
    # v2: the experts removed the only pre-label; no confidence, no calibration
    assert v2["n"] == 1 and v2["overall"]["successes"] == 1
    assert v2["calibration"]["n"] == 0 and v2["calibration"]["ece"] is None
    only = (await prelabels(client, project, model_version="v2")).json()
    assert only["model_version"] == "v2" and only["models"] == [v2]
    assert (await prelabels(client, project, model_version="v9")).json()["models"] == []


async def test_denials(published: MetricsUnderTest) -> None:
    client = published.client
    assert (await prelabels(client, headers=auth("client"))).status_code == 200
    assert (await prelabels(client, headers=auth("admin"))).status_code == 200
    assert (await prelabels(client, headers=auth("expert"))).status_code == 403
    assert (await prelabels(client, headers={})).status_code == 401
    other = await prelabels(client, headers=auth("ops", tenant="globex"))
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    assert (await prelabels(client, "p-unknown")).status_code == 404
