"""Several replicas, rebalances, restarts and replays on the real servers: a project's
figures stay those of a batch computation over its judgments.

* two replicas of one consumer group share the projects; a second replica joining and the
  first leaving move partitions, and every project's figures equal the report's on its
  judgments; both replicas answer the same;
* a new instance with an empty database, replaying every topic from the start (a new
  consumer group on the same topics), gives the same figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from services.metrics.app import create_app
from services.metrics.handlers.agreement import Agreement
from services.metrics.settings import MetricsSettings
from shared.contracts.work import JudgmentSubmittedV1
from shared.http.service import service_of
from tests.kafka_helpers import eventually
from tests.metrics.judgments import expected, project_judgments, submitted
from tests.service_helpers import auth, publish, running

pytestmark = pytest.mark.integration

OPS = auth("ops")
PROJECTS = [f"p-rep-{i}" for i in range(6)]
JUDGMENTS = {p: project_judgments(p, items=8) for p in PROJECTS}


def thirds(js: list[JudgmentSubmittedV1]) -> tuple[list[JudgmentSubmittedV1], ...]:
    n = len(js)
    return js[: n // 3], js[n // 3 : 2 * n // 3], js[2 * n // 3 :]


async def figures(client: httpx.AsyncClient, project_id: str) -> dict[str, Any] | None:
    response = await client.get(f"/v1/projects/{project_id}/agreement", headers=OPS)
    if response.status_code != 200:
        return None
    return response.json()["fields"]  # type: ignore[no-any-return]


async def settled(client: httpx.AsyncClient, upto: int) -> None:
    """Every project's figures are the report's on its first ``upto`` thirds."""
    want = {
        p: expected([j for part in thirds(js)[:upto] for j in part]) for p, js in JUDGMENTS.items()
    }

    async def done() -> bool:
        return all([await figures(client, p) == want[p] for p in PROJECTS])

    try:
        await eventually(done, timeout=90)
    except AssertionError:
        for p in PROJECTS:  # shows the difference
            assert await figures(client, p) == want[p], p
        raise


async def test_two_replicas_share_the_projects_and_stay_exact_across_rebalances(
    make_settings: Callable[..., Any],
) -> None:
    settings = make_settings(
        MetricsSettings, topic_prefix=make_settings(MetricsSettings).topic_prefix + "rep."
    )

    async def phase(n: int) -> None:
        await publish(settings, *(submitted(j) for js in JUDGMENTS.values() for j in thirds(js)[n]))

    async with running(create_app(settings)) as first:
        await phase(0)
        await settled(first, 1)
        second_app = create_app(settings)
        async with running(second_app) as second:
            # the second replica joins: partitions move; the next third is shared
            await phase(1)
            await settled(first, 2)
            await settled(second, 2)
            owned = service_of(second_app).get(Agreement).owned()
            assert owned, "the second replica owns no project after the rebalance"
        # the second leaves: the first takes its projects back (rebuilt from the stored items)
        await phase(2)
        await settled(first, 3)
    # replay: a new instance, an empty database and a new group read every topic again
    replay = make_settings(
        MetricsSettings,
        topic_prefix=settings.topic_prefix,
        mongodb_database=settings.mongodb_database + "_replay",
        consumer_group=settings.group_id + "-replay",
    )
    async with running(create_app(replay)) as again:
        await settled(again, 3)
        for p in PROJECTS:
            assert json.dumps(await figures(again, p), sort_keys=True) == json.dumps(
                expected(JUDGMENTS[p]), sort_keys=True
            )
