"""An assignment process killed (SIGKILL) between a judgment's write and its item's
resolution: the judgment is stored with its ``judgment.submitted`` (in the same write), so a
new process publishes it if the dead one had not, consumes it and resolves the item, once.

The kill lands where it must by construction: the first process runs with the step after a
judgment replaced by its own SIGKILL (``tests/faults/assignment_killed_before_resolving.py``),
and the test checks the store as the dead process left it: the judgment there, no
resolution."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
from pymongo import AsyncMongoClient

from services.assignment.settings import AssignmentSettings
from shared.contracts.work import ITEM_RESOLVED, JUDGMENT_SUBMITTED, WORK
from shared.events.codec import EventRegistry, decode
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.kafka_helpers import TopicReader, caught_up, eventually, published_offsets
from tests.processes import ServiceProcess

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([JUDGMENT_SUBMITTED, ITEM_RESOLVED])


def under_test(process: ServiceProcess, client: httpx.AsyncClient) -> AssignmentUnderTest:
    """A service process as the world helpers drive it (through its API and topics only)."""
    settings = cast(AssignmentSettings, process.settings)
    return AssignmentUnderTest(client, settings, app=cast(Any, None))


def events_of(records: list[Any], item_id: str) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.data.item_id == item_id]


async def test_an_assignment_process_killed_between_a_judgments_write_and_its_resolution_is_resolved_once_by_the_next(
    make_settings: Callable[..., Any], mongo_client: AsyncMongoClient[Any], tmp_path: Path
) -> None:
    settings = make_settings(AssignmentSettings, consumer_session_timeout_ms=6_000)
    first = ServiceProcess(
        "tests.faults.assignment_killed_before_resolving", settings, tmp_path / "assignment.log"
    )
    second = ServiceProcess("services.assignment", settings, tmp_path / "assignment-2.log")
    items = mongo_client[settings.database_name]["items"]
    bootstrap, topic = settings.kafka_bootstrap_servers, settings.topic_prefix + WORK.name
    await first.start()
    try:
        async with first.client() as client:
            a = under_test(first, client)
            project_id = await world.project(a)  # overlap 1: one judgment resolves the item
            expert_id = await world.expert(a, projects=(project_id,))
            [item_id] = await world.items(a, project_id, 1)
            async with TopicReader(bootstrap, topic) as reader:
                handed = await world.next_unit(a, expert_id)
                with pytest.raises(httpx.TransportError):  # the process died answering
                    await world.submit(a, expert_id, handed, world.edit_answers())
                assert first.process is not None
                assert first.process.wait(30) == -signal.SIGKILL

                # as the dead process left it: the judgment stored, the item not resolved
                left = await items.find_one({"_id": item_id})
                assert left is not None
                assert left["units"][0]["state"] == "done"
                assert left["units"][0]["judgment"]["expert_id"] == expert_id
                assert left.get("resolution") is None

                await second.start()
                async with second.client() as client_2:
                    b = under_test(second, client_2)

                    async def resolved() -> Any:
                        return (await world.known(b, item_id))["resolution"]

                    resolution = await eventually(resolved, timeout=90)
                    judgment_id = left["units"][0]["judgment"]["judgment_id"]
                    assert resolution["judged_by"] == [expert_id]
                    assert resolution["judgment_ids"] == [judgment_id]
                # every judgment.submitted consumed (a redelivery included), everything stored
                # published: read to the end of the topic
                await eventually(lambda: caught_up(bootstrap, settings.group_id, topic), timeout=60)
                await published_offsets(settings)
                records = await reader.to_end()
    finally:
        first.kill()
        second.terminate()
    told = events_of(records, item_id)
    # the judgment is delivered at least once (the dead process's relay may have sent it
    # without clearing it); the item is resolved once, whichever copy resolved it
    assert JUDGMENT_SUBMITTED.type in [e.type for e in told]
    [once] = [e for e in told if e.type == ITEM_RESOLVED.type]
    assert once.data.judgment_ids == [judgment_id]
