"""A consumer killed (SIGKILL) after storing its effects and before committing their offsets:
the restarted process gets the events again, its persistent inbox drops every one, and the
state is as if each came once.

The window is made wide, not hit by luck: the first process commits at most once an hour
(``QUORUM_INGEST_CONSUMER_COMMIT_INTERVAL_MS``), so after it has applied the events nothing
of them is committed, and the test checks that on the broker before the kill."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.ingest.settings import IngestSettings
from shared.contracts.work import ITEM_RESOLVED, ItemResolvedV1, Resolution
from shared.events.envelope import make_event
from tests.conftest import Endpoints
from tests.ingest.bodies import registration
from tests.kafka_helpers import caught_up, committed_offsets, end_offsets, eventually
from tests.processes import ServiceProcess
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

ITEMS = 12
CLIENT = auth("client")


async def test_a_consumer_killed_between_storing_and_committing_applies_each_event_once(
    make_settings: Callable[..., Any], endpoints: Endpoints, tmp_path: Path
) -> None:
    settings = make_settings(
        IngestSettings, consumer_commit_interval_ms=3_600_000, consumer_session_timeout_ms=6_000
    )
    first = ServiceProcess("services.ingest", settings, tmp_path / "ingest.log")
    await first.start()
    try:
        await publish(settings, project_changed("p-text", modality="text"))
        async with first.client(headers=CLIENT) as client:

            async def register() -> dict[str, Any] | None:
                answer = await client.post("/v1/media", json=registration("text"))
                return answer.json() if answer.status_code == 201 else None

            items = [await eventually(register) for _ in range(ITEMS)]
            resolved = [
                make_event(
                    ITEM_RESOLVED,
                    ItemResolvedV1(
                        item_id=item["item_id"],
                        project_id="p-text",
                        tenant="acme",
                        method=Resolution.single,
                        judgment_ids=[f"j-{n}"],
                        resolved_at=datetime.now(UTC),
                    ),
                    source="/quorum/assignment",
                    tenant="acme",
                )
                for n, item in enumerate(items)
            ]
            await publish(settings, *resolved)

            async def all_resolved() -> list[dict[str, Any]] | None:
                bodies = [
                    (await client.get(f"/v1/media/{item['item_id']}")).json() for item in items
                ]
                return bodies if all(b["status"] == "resolved" for b in bodies) else None

            before = await eventually(all_resolved)
        topic = settings.topic_prefix + ITEM_RESOLVED.topic.name
        committed = await committed_offsets(endpoints.kafka_bootstrap, settings.group_id, topic)
        assert sum(committed.values()) == 0, "the effects are stored, their offsets not committed"
        assert sum((await end_offsets(endpoints.kafka_bootstrap, topic)).values()) == ITEMS
    finally:
        first.kill()

    second = ServiceProcess(
        "services.ingest",
        settings.model_copy(update={"consumer_commit_interval_ms": 0}),
        tmp_path / "ingest-2.log",
    )
    await second.start()
    try:
        await eventually(
            lambda: caught_up(endpoints.kafka_bootstrap, settings.group_id, topic), timeout=60
        )
        consumed = {
            outcome: await second.metric(
                "quorum_events_consumed_total", consumer="ingest", topic=topic, outcome=outcome
            )
            for outcome in ("applied", "duplicate")
        }
        assert consumed == {"applied": 0, "duplicate": ITEMS}
        async with second.client(headers=CLIENT) as client:
            after = [(await client.get(f"/v1/media/{item['item_id']}")).json() for item in items]
        assert after == before
    finally:
        second.terminate()
