"""The Kafka ACLs derived from the contracts: each topic writable by its producing service
alone, each tenant's request topic by that tenant's client alone."""

from __future__ import annotations

import pytest

from shared.contracts.catalog import ALL_EVENTS
from shared.kafka.acls import SERVICES, Acl, main, service_acls, tenant_client_acls


def _writers(acls: list[Acl], name: str) -> set[str]:
    return {a.principal for a in acls if a.operation == "WRITE" and a.name == name}


def test_only_its_producing_service_may_write_a_topic() -> None:
    acls = [acl for service in SERVICES for acl in service_acls(service, prefix="p.")]
    for spec in ALL_EVENTS:
        if spec.topic.per_tenant:
            continue
        producers = {
            f"User:{s.producer}"
            for s in ALL_EVENTS
            if s.topic == spec.topic and s.producer in SERVICES
        }
        assert _writers(acls, f"p.{spec.topic.name}") == producers, spec.topic.name
        # its dead letters come from the services that consume it
        consumers = {
            f"User:{c}"
            for s in ALL_EVENTS
            if s.topic == spec.topic
            for c in s.consumers
            if c in SERVICES
        }
        assert _writers(acls, f"p.{spec.topic.dlq}") == consumers, spec.topic.dlq


def test_ingest_reads_every_tenants_request_topic_and_its_group() -> None:
    acls = service_acls("ingest", prefix="p.")
    assert Acl("User:ingest", "TOPIC", "p.quorum.media.requests.", "PREFIXED", "READ") in acls
    assert Acl("User:ingest", "GROUP", "quorum-ingest", "LITERAL", "READ") in acls
    assert not any(a.pattern == "PREFIXED" for a in service_acls("taxonomy"))


def test_a_tenants_client_may_write_its_own_request_topic_only() -> None:
    assert tenant_client_acls("acme", "User:acme-up") == [
        Acl("User:acme-up", "TOPIC", "quorum.media.requests.acme", "LITERAL", "WRITE")
    ]


def test_the_acls_print_as_kafka_acls_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--prefix", "prod.", "--tenant", "acme"]) == 0
    printed = capsys.readouterr().out
    assert (
        "kafka-acls.sh --add --allow-principal User:ingest --operation Write "
        "--topic prod.quorum.media --resource-pattern-type literal"
    ) in printed
    assert (
        "--allow-principal User:acme --operation Write --topic prod.quorum.media.requests.acme"
        in printed
    )
