"""The agreement routes on the real servers: the figures of judgments published on
``quorum.judgment.submitted.v1`` equal the offline report's on the same judgments; a
replayed judgment changes nothing; a new instance on the same database answers the same;
every denial."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.metrics.agreement import field_agreement
from services.metrics.app import create_app
from services.metrics.fields import scale_of
from services.metrics.report import report
from services.metrics.settings import MetricsSettings
from shared.contracts.work import JUDGMENT_SUBMITTED, JudgmentSubmittedV1, WorkKind
from tests.kafka_helpers import caught_up, eventually
from tests.metrics.conftest import MetricsUnderTest
from tests.metrics.judgments import expected, per_field_by_hand, project_judgments, submitted
from tests.service_helpers import auth, publish, running

pytestmark = pytest.mark.integration

OPS = auth("ops")
PROJECT = "p-agree"
JUDGMENTS = project_judgments(PROJECT)


def by_hand(judgments: list[JudgmentSubmittedV1]) -> dict[str, dict[str, Any]]:
    """Each field's figures in batch from a plain reference of its judgments."""
    out = {}
    for name, judged in per_field_by_hand(judgments).items():
        found = json.loads(json.dumps(field_agreement(judged, scale_of(name))))
        del found["cohen_kappa"]
        out[name] = found
    return out


def expected_pairs(judgments: list[JudgmentSubmittedV1]) -> dict[str, Any]:
    fields = json.loads(json.dumps(report(judgments)["fields"]))
    return {name: {"pairs": figures["cohen_kappa"]["pairs"]} for name, figures in fields.items()}


async def agreement(
    client: httpx.AsyncClient,
    project_id: str = PROJECT,
    headers: dict[str, str] = OPS,
    **params: Any,
) -> httpx.Response:
    return await client.get(f"/v1/projects/{project_id}/agreement", params=params, headers=headers)


async def fields_once_all_applied(
    client: httpx.AsyncClient, want: dict[str, Any], **params: Any
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        response = await agreement(client, **params)
        if response.status_code != 200:
            return None
        got: dict[str, Any] = response.json()["fields"]
        return got if got == want else None

    try:
        return await eventually(check, timeout=60)  # type: ignore[no-any-return]
    except AssertionError:
        response = await agreement(client, **params)
        assert response.json()["fields"] == want  # shows the difference
        raise


@pytest_asyncio.fixture(scope="module")
async def published(metrics: MetricsUnderTest) -> MetricsUnderTest:
    await publish(metrics.settings, *(submitted(j) for j in JUDGMENTS))
    await fields_once_all_applied(metrics.client, expected(JUDGMENTS))
    return metrics


async def test_the_service_gives_the_reports_figures_on_the_same_judgments(
    published: MetricsUnderTest,
) -> None:
    response = await agreement(published.client)
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == PROJECT
    assert body["rubric_version"] is None
    fields = body["fields"]
    assert fields == expected(JUDGMENTS)
    # every field the report derives, and the figures those of a plain batch reference
    assert {
        "verdict",
        "severity",
        "rating.clarity",
        "rating.accuracy",
        "flag.ambiguous",
        "flag.occlusion",
        "class",
        "class.cat",
        "class.dog",
    } <= set(fields)
    assert fields == by_hand([j for j in JUDGMENTS if j.kind is not WorkKind.adjudication])
    assert fields["rating.clarity"]["experts"] == 3
    alpha = fields["rating.clarity"]["krippendorff_alpha"]["interval"]
    assert alpha["n"] > 0 and len(alpha["ci"]) == 2


async def test_one_field_and_one_rubric_version(published: MetricsUnderTest) -> None:
    client = published.client
    for field in ("flag.ambiguous", "rating.clarity", "verdict"):
        response = await agreement(client, field=field)
        assert response.json()["fields"] == expected(JUDGMENTS, field), field
    version_1 = [j for j in JUDGMENTS if j.rubric_ref is not None and j.rubric_ref.version == 1]
    response = await agreement(client, rubric_version=1)
    assert response.json()["rubric_version"] == 1
    assert response.json()["fields"] == expected(version_1)
    response = await agreement(client, rubric_version=7)
    assert response.status_code == 200 and response.json()["fields"] == {}
    response = await agreement(client, field="rating.nothing")
    assert response.status_code == 200 and response.json()["fields"] == {}


async def test_the_pairs_route_gives_the_reports_kappa_matrix(published: MetricsUnderTest) -> None:
    response = await published.client.get(f"/v1/projects/{PROJECT}/agreement/pairs", headers=OPS)
    assert response.status_code == 200
    fields = response.json()["fields"]
    assert fields == expected_pairs(JUDGMENTS)
    assert {(p["a"], p["b"]) for p in fields["verdict"]["pairs"]} == {
        ("e0", "e1"),
        ("e0", "e2"),
        ("e1", "e2"),
    }
    response = await published.client.get(
        f"/v1/projects/{PROJECT}/agreement/pairs", params={"field": "severity"}, headers=OPS
    )
    assert response.json()["fields"] == {"severity": expected_pairs(JUDGMENTS)["severity"]}
    # one expert's agreement with each other expert
    response = await published.client.get(
        f"/v1/projects/{PROJECT}/agreement/pairs",
        params={"field": "verdict", "expert": "e2"},
        headers=OPS,
    )
    pairs = response.json()["fields"]["verdict"]["pairs"]
    assert [(p["a"], p["b"]) for p in pairs] == [("e0", "e2"), ("e1", "e2")]
    assert pairs == [
        p for p in expected_pairs(JUDGMENTS)["verdict"]["pairs"] if "e2" in (p["a"], p["b"])
    ]


async def test_a_replayed_judgment_changes_nothing(published: MetricsUnderTest) -> None:
    settings = published.settings
    before = (await agreement(published.client)).json()
    pairs_before = (
        await published.client.get(f"/v1/projects/{PROJECT}/agreement/pairs", headers=OPS)
    ).json()
    # each judgment again under a new event id (a producer's retry, a re-export replayed),
    # the later judgments of an item first
    await publish(settings, *(submitted(j) for j in reversed(JUDGMENTS)))
    topic = settings.topic_prefix + JUDGMENT_SUBMITTED.topic.name
    await eventually(
        lambda: caught_up(settings.kafka_bootstrap_servers, settings.group_id, topic), timeout=60
    )
    assert (await agreement(published.client)).json() == before
    pairs = await published.client.get(f"/v1/projects/{PROJECT}/agreement/pairs", headers=OPS)
    assert pairs.json() == pairs_before


async def test_access(published: MetricsUnderTest) -> None:
    client = published.client
    pairs = f"/v1/projects/{PROJECT}/agreement/pairs"
    # clients see the aggregates, never the pairs (they name experts)
    response = await agreement(client, headers=auth("client"))
    assert response.status_code == 200
    assert response.json()["fields"] == expected(JUDGMENTS)
    assert "e0" not in response.text and "e1" not in response.text
    assert (await client.get(pairs, headers=auth("client"))).status_code == 403
    # experts: neither (their own figures come later)
    for url in (f"/v1/projects/{PROJECT}/agreement", pairs):
        response = await client.get(url, headers=auth("expert", subject="e0"))
        assert response.status_code == 403, url
        assert response.headers["content-type"].startswith("application/problem+json")
    # another tenant's project is not there; neither is a project without judgments
    for headers in (auth("ops", tenant="globex"), auth("admin", tenant="globex")):
        for url in (f"/v1/projects/{PROJECT}/agreement", pairs):
            response = await client.get(url, headers=headers)
            assert response.status_code == 404, url
            assert response.headers["content-type"].startswith("application/problem+json")
    response = await agreement(client, "p-unknown")
    assert response.status_code == 404
    assert response.json()["detail"] == "project p-unknown does not exist"
    assert (await agreement(client, headers={})).status_code == 401


async def test_a_new_instance_on_the_same_database_keeps_the_figures(
    published: MetricsUnderTest, make_settings: Callable[..., Any], run_id: str
) -> None:
    """The figures come from the stored state: a new instance on the same database, on
    topics where nothing was published, answers the same."""
    before = (await agreement(published.client)).json()
    settings = make_settings(
        MetricsSettings,
        mongodb_database=published.settings.mongodb_database,
        topic_prefix=f"t{run_id}.restart.",
        consumer_group=f"restart-{run_id}",
    )
    async with running(create_app(settings)) as client:
        assert (await agreement(client)).json() == before
        assert before["fields"] == expected(JUDGMENTS)


async def test_prometheus_counts_applied_judgments_without_naming_projects(
    published: MetricsUnderTest,
) -> None:
    response = await published.client.get("/metrics", headers=auth("ops"))
    assert response.status_code == 200
    lines = [line for line in response.text.splitlines() if line.startswith("quorum_metrics_")]
    applied = [line for line in lines if line.startswith("quorum_metrics_judgments_applied_total")]
    assert any('outcome="applied"' in line and float(line.split()[-1]) > 0 for line in applied)
    assert any(line.startswith("quorum_metrics_projects_owned") for line in lines)
    # bounded cardinality: no metric of the service is labelled by project, tenant or expert
    labels = [line.partition("{")[2].partition("}")[0] for line in lines if "{" in line]
    for name in ("project", "tenant", "expert", "item"):
        assert not any(f"{name}" in label for label in labels), name
