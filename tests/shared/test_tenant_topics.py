"""``quorum-tenant-topics``: adding a tenant creates its request topic and dead-letter topic
and its outcome topic, against the real broker; a service creates a tenant's topic it
publishes to, if missing, before it first sends there."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest

from shared.contracts.media import MediaRejectedV1, RejectionReason
from shared.contracts.outcomes import OUTCOME_REJECTED, OUTCOMES
from shared.events.envelope import make_event
from shared.kafka.producer import KafkaBus
from shared.kafka.settings import KafkaSettings
from shared.kafka.tenants import main
from tests.conftest import Endpoints
from tests.kafka_helpers import list_topics, partitions_of, read_all

pytestmark = pytest.mark.integration


def test_adding_tenants_creates_their_request_topics(
    endpoints: Endpoints,
    run_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("QUORUM_KAFKA_BOOTSTRAP_SERVERS", endpoints.kafka_bootstrap)
    monkeypatch.setenv("QUORUM_TOPIC_PREFIX", f"t{run_id}.")
    assert main(["acme", "beta-2"]) == 0
    topics = set(asyncio.run(list_topics(endpoints.kafka_bootstrap)))
    for tenant in ("acme", "beta-2"):
        name = f"t{run_id}.quorum.media.requests.{tenant}"
        assert {name, f"{name}.dlq", f"t{run_id}.quorum.outcomes.{tenant}"} <= topics
        assert f"t{run_id}.quorum.outcomes.{tenant}.dlq" not in topics  # nothing dead-letters it
    printed = capsys.readouterr().out
    assert (
        f"--operation Write --topic t{run_id}.quorum.media.requests.acme "
        "--resource-pattern-type literal"
    ) in printed
    assert (
        f"--operation Read --topic t{run_id}.quorum.outcomes.acme --resource-pattern-type literal"
    ) in printed
    assert main(["acme"]) == 0  # again: nothing to do, not an error


def test_a_tenant_id_that_cannot_name_a_topic_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["acme.dlq", "ok"]) == 2
    assert "not a tenant id: 'acme.dlq'" in capsys.readouterr().err


async def test_a_tenants_topic_a_service_publishes_to_is_created_before_its_first_event(
    endpoints: Endpoints, run_id: str
) -> None:
    # two partitions, where the broker would make three (num.partitions) by auto-creating it
    settings = KafkaSettings(endpoints.kafka_bootstrap, topic_prefix=f"t{run_id}.", partitions=2)
    tenant = f"new-{uuid.uuid4().hex[:8]}"
    payload = MediaRejectedV1(
        external_id="x-1",
        tenant=tenant,
        reasons=[RejectionReason(field="data", message="no")],
        rejected_at=datetime.now(UTC),
    )
    bus = KafkaBus(settings)
    await bus.start()
    try:
        bus.create_tenant_topics_on_send([OUTCOMES])
        await bus.publish(make_event(OUTCOME_REJECTED, payload, source="/t", tenant=tenant))
    finally:
        await bus.stop()
    name = f"t{run_id}.{OUTCOMES.of_tenant(tenant)}"
    assert await partitions_of(endpoints.kafka_bootstrap, name) == [0, 1]
    (record,) = await read_all(endpoints.kafka_bootstrap, name)
    assert record.key == b"x-1"
