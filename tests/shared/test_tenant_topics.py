"""``quorum-tenant-topics``: adding a tenant creates its request topic and dead-letter topic,
against the real broker."""

from __future__ import annotations

import asyncio

import pytest

from shared.kafka.tenants import main
from tests.conftest import Endpoints
from tests.kafka_helpers import list_topics

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
        assert {name, f"{name}.dlq"} <= topics
    printed = capsys.readouterr().out
    assert f"--producer --topic t{run_id}.quorum.media.requests.acme" in printed
    assert main(["acme"]) == 0  # again: nothing to do, not an error


def test_a_tenant_id_that_cannot_name_a_topic_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["acme.dlq", "ok"]) == 2
    assert "not a tenant id: 'acme.dlq'" in capsys.readouterr().err
