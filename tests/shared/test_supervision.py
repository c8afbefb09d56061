"""A process's long-running loops keep running: a loop that raises is started again after a
pause, the service answers ``/readyz`` with 503 while one is down, and the outbox relay sets
aside an event it cannot publish and goes on with the others."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from services.ingest.settings import IngestSettings
from shared.http.app import create_service_app
from shared.outbox.entries import OUTBOX, OUTBOX_OLDEST, new_document
from shared.outbox.relay import OUTBOX_SET_ASIDE, OutboxRelay
from shared.runtime import Runtime, RuntimeSpec
from shared.supervision import LoopDown, Loops
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import auth, running
from tests.shared.bus_world import World


class Flaky:
    """A loop that raises each time ``fail`` is set, and else runs until cancelled."""

    def __init__(self) -> None:
        self.starts = 0
        self.fail = asyncio.Event()

    async def run(self) -> None:
        self.starts += 1
        await self.fail.wait()
        self.fail.clear()
        raise RuntimeError("a record nobody thought of")


async def _until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


async def test_a_loop_that_raises_is_started_again_and_reported_down_meanwhile() -> None:
    loops = Loops(backoff_s=0.2, max_backoff_s=1.0)
    flaky = Flaky()
    task = loops.start("flaky", flaky.run)
    try:
        await _until(lambda: flaky.starts == 1)
        await loops.check()  # running: nothing down
        flaky.fail.set()
        await _until(lambda: "flaky" in loops.down())
        assert "RuntimeError: a record nobody thought of" in loops.down()["flaky"]
        with pytest.raises(LoopDown, match="flaky"):
            await loops.check()
        await _until(lambda: flaky.starts == 2)
        assert loops.down() == {}
        await loops.check()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_loop_failing_again_and_again_waits_longer_each_time() -> None:
    loops = Loops(backoff_s=0.05, max_backoff_s=10.0)
    starts: list[float] = []

    async def broken() -> None:
        starts.append(time.monotonic())
        raise ValueError("broken")

    task = loops.start("broken", broken)
    try:
        await _until(lambda: len(starts) == 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    pauses = [b - a for a, b in itertools.pairwise(starts)]
    assert pauses == sorted(pauses)
    assert pauses[0] >= 0.05 and pauses[-1] >= 0.4  # 0.05, 0.1, 0.2, 0.4


async def test_a_loop_that_returns_has_ended_and_is_not_started_again() -> None:
    loops = Loops(backoff_s=0.01)
    runs: list[int] = []

    async def once() -> None:
        runs.append(1)

    await loops.start("once", once)
    await asyncio.sleep(0.1)
    assert runs == [1] and loops.down() == {}


@pytest.mark.integration
async def test_a_service_is_unready_while_a_background_loop_is_down_and_ready_once_it_runs_again(
    make_settings: Callable[..., Any],
) -> None:
    settings = make_settings(IngestSettings)
    runtime = Runtime(settings)
    runtime.loops = Loops(backoff_s=1.5, max_backoff_s=1.5)
    flaky = Flaky()
    app = create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(background=[flaky.run]),
        title="t",
        description="t",
    )
    staff = auth("ops")
    async with running(app) as client:
        await _until(lambda: flaky.starts == 1)
        ready = await client.get("/readyz", headers=staff)
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["loops"] == "ok"
        flaky.fail.set()
        await _until(lambda: bool(runtime.loops.down()))
        down = await client.get("/readyz", headers=staff)
        assert down.status_code == 503
        assert down.json()["status"] == "unready"
        assert "a record nobody thought of" in down.json()["checks"]["loops"]
        await _until(lambda: flaky.starts == 2)
        assert (await client.get("/readyz", headers=staff)).status_code == 200


@pytest.mark.integration
async def test_the_relay_sets_aside_an_event_kafka_refuses_and_publishes_the_others(
    world: World,
) -> None:
    before, after = world.event("ok-1", 1), world.event("ok-2", 2)
    refused = new_document({"_id": "big"}, [world.event("big", 3)])
    refused[OUTBOX][0]["value"] = b"x" * (2 * 1024 * 1024)  # over the topic's 1 MiB
    malformed = new_document({"_id": "bad"}, [world.event("bad", 4)])
    del malformed[OUTBOX][0]["seq"]  # as a hand edit or an older version might leave it
    malformed[OUTBOX_OLDEST] = 0
    await world.db.things.insert_one(new_document({"_id": "ok-1"}, [before]))
    await world.db.things.insert_one(refused)
    await world.db.things.insert_one(malformed)
    await world.db.things.insert_one(new_document({"_id": "ok-2"}, [after]))
    relay = OutboxRelay(world.db, ["things"], world.bus, poll_interval=0.05)
    async with TopicReader(world.endpoints.kafka_bootstrap, world.topic) as reader:
        await relay.start()
        try:
            records = await reader.until(lambda got: len(got) >= 2, timeout=30)

            async def emptied() -> bool:
                pending = await world.db.things.count_documents({OUTBOX_OLDEST: {"$exists": True}})
                return pending == 0

            await eventually(emptied)
        finally:
            await relay.stop()
    assert sorted(json.loads(r.value)["data"]["n"] for r in records) == [1, 2]
    for doc_id, reason in (("big", "MessageSizeTooLarge"), ("bad", "seq")):
        doc = await world.db.things.find_one({"_id": doc_id})
        assert doc is not None and not doc.get(OUTBOX)
        [aside] = doc[OUTBOX_SET_ASIDE]
        assert reason in aside["reason"]
