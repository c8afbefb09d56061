"""The agreement stream (Server-Sent Events) on the real servers, the app served by uvicorn
(the fuzzer's harness: ASGITransport buffers a response whole, so it cannot stream): the
current figures on connect, an update that includes a judgment published afterwards, a
heartbeat, the subscription gone once the client is, and every denial."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from services.metrics.app import create_app
from services.metrics.handlers.live import LiveAgreement
from services.metrics.settings import MetricsSettings
from shared.http.service import service_of
from tests.fuzzing import served
from tests.kafka_helpers import eventually
from tests.metrics.judgments import expected, judgment, project_judgments, submitted
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

PROJECT = "p-live"
URL = f"/v1/projects/{PROJECT}/agreement"


@dataclass
class Served:
    client: httpx.AsyncClient
    settings: MetricsSettings
    app: FastAPI


@pytest.fixture(scope="module")
def app_served(make_settings: Callable[..., Any]) -> Iterator[tuple[str, MetricsSettings, FastAPI]]:
    settings = make_settings(MetricsSettings, stream_heartbeat_seconds=1.0)
    app = create_app(settings)
    with served(app) as base:
        yield base, settings, app


@pytest_asyncio.fixture
async def live(app_served: tuple[str, MetricsSettings, FastAPI]) -> AsyncIterator[Served]:
    base, settings, app = app_served
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        if (await client.get(URL, headers=auth("ops"))).status_code != 200:
            seed = project_judgments(PROJECT, items=4)
            await publish(settings, *(submitted(j) for j in seed))
            want = expected(seed)

            async def seeded() -> bool:
                # every judgment applied: the figures the tests start from are settled
                response = await client.get(URL, headers=auth("ops"))
                return response.status_code == 200 and response.json()["fields"] == want

            await eventually(seeded, timeout=60)
        yield Served(client, settings, app)


async def sse(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """The stream's events (``id``, ``event``, ``data``) and comments (``comment``)."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if event:
                yield event
            event = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            event[name] = value.removeprefix(" ")


async def test_figures_on_connect_then_an_update_with_a_new_judgment(live: Served) -> None:
    now = (await live.client.get(URL, headers=auth("client"))).json()
    async with live.client.stream("GET", f"{URL}/stream", headers=auth("client")) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
        first = await anext(events)
        assert first["retry"]
        first = await anext(events)
        assert first["event"] == "agreement"
        assert json.loads(first["data"]) == now
        judged = now["fields"]["verdict"]["judgments"]

        # a new item judged by two experts: the verdict field gains two judgments
        news = [
            judgment(PROJECT, 1000 + e, 1000, e, verdict="accept", ratings={"clarity": 3.0})
            for e in range(2)
        ]
        await publish(live.settings, *(submitted(j) for j in news))
        ids = [int(first["id"])]

        async def updated() -> dict[str, Any]:
            async for event in events:
                if event.get("event") != "agreement":
                    continue
                ids.append(int(event["id"]))
                body: dict[str, Any] = json.loads(event["data"])
                if body["fields"]["verdict"]["judgments"] == judged + 2:
                    return body
            raise AssertionError("the stream ended")

        body = await asyncio.wait_for(updated(), 10)
        assert body == (await live.client.get(URL, headers=auth("client"))).json()
        assert ids == sorted(ids) and ids[-1] > ids[0]
        # at most one event per judgment applied (a burst may give one)
        assert len(ids) - 1 <= len(news)


async def test_a_heartbeat_when_nothing_happens(live: Served) -> None:
    async with live.client.stream("GET", f"{URL}/stream", headers=auth("ops")) as response:
        events = sse(response)

        async def heartbeat() -> str:
            async for event in events:
                if "comment" in event:
                    return event["comment"]
            raise AssertionError("the stream ended")

        assert await asyncio.wait_for(heartbeat(), 5) == "keepalive"


async def test_the_subscription_ends_with_the_client(live: Served) -> None:
    changes = service_of(live.app).get(LiveAgreement).changes
    async with live.client.stream("GET", f"{URL}/stream", headers=auth("admin")) as response:
        await anext(sse(response))
        assert changes.watchers("acme", PROJECT) >= 1
    # the client went away: Starlette cancels the stream, the subscription ends

    async def gone() -> bool:
        return changes.watchers("acme", PROJECT) == 0

    await eventually(gone, timeout=10)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        (auth("expert"), 403),
        (auth("client", tenant="globex"), 404),
        (auth("ops", tenant="globex"), 404),
    ],
    ids=["anonymous", "expert", "client-of-another-tenant", "ops-of-another-tenant"],
)
async def test_denials_before_the_stream_starts(
    live: Served, headers: dict[str, str], status: int
) -> None:
    response = await live.client.get(f"{URL}/stream", headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_project_without_judgments_is_404(live: Served) -> None:
    response = await live.client.get("/v1/projects/p-none/agreement/stream", headers=auth("ops"))
    assert response.status_code == 404
