"""The Kafka ACLs derived from the contracts: each topic writable by its producing service
alone, each tenant's request topic by that tenant's client alone, each tenant's outcome topic
readable by that tenant's client alone."""

from __future__ import annotations

import importlib

import pytest

from shared.contracts.catalog import ALL_EVENTS
from shared.kafka.acls import SERVICES, Acl, _names, main, service_acls, tenant_client_acls


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


def test_a_tenants_client_may_write_its_own_request_topic_and_read_its_own_outcomes_only() -> None:
    assert tenant_client_acls("acme", "User:acme-up", prefix="p.") == [
        # its consumer groups are named after its outcome topic: acme-labs' are not acme's
        Acl("User:acme-up", "GROUP", "p.quorum.outcomes.acme.", "PREFIXED", "READ"),
        Acl("User:acme-up", "TOPIC", "p.quorum.media.requests.acme", "LITERAL", "WRITE"),
        Acl("User:acme-up", "TOPIC", "p.quorum.outcomes.acme", "LITERAL", "READ"),
    ]
    (group,) = [a for a in tenant_client_acls("acme", "x", prefix="p.") if a.resource == "GROUP"]
    assert not "p.quorum.outcomes.acme-labs.reader".startswith(group.name)


def test_only_ingest_writes_and_only_the_tenants_client_reads_an_outcome_topic() -> None:
    services = [acl for service in SERVICES for acl in service_acls(service, prefix="p.")]
    on_outcomes = [a for a in services if a.name.startswith("p.quorum.outcomes")]
    assert {(a.principal, a.name, a.pattern, a.operation) for a in on_outcomes} == {
        ("User:ingest", "p.quorum.outcomes.", "PREFIXED", "WRITE"),
        ("User:ingest", "p.quorum.outcomes.", "PREFIXED", "CREATE"),
    }
    betas = tenant_client_acls("beta", "User:beta-up", prefix="p.")
    assert not any("acme" in a.name for a in betas)


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
    assert (
        "--allow-principal User:acme --operation Read --topic prod.quorum.outcomes.acme "
        "--resource-pattern-type literal"
    ) in printed
    assert (
        "--allow-principal User:acme --operation Read --group prod.quorum.outcomes.acme. "
        "--resource-pattern-type prefixed"
    ) in printed


def expected_names(rules: set[tuple[str, str, str, str]]) -> set[str]:
    return {name for _, name, _, _ in rules}


def test_ingest_needs_exactly_these_rules() -> None:
    """What ingest's contracts give it: it writes quorum.media and creates it and its DLQ;
    it writes and creates every tenant's outcome topic (one prefix); it reads (and creates)
    what it consumes, writing only their DLQs; the request topics of every tenant and their
    DLQs share one prefix; and it reads its group."""
    consumed = ("p.quorum.projects", "p.quorum.taxonomy", "p.quorum.work")
    expected = {
        ("GROUP", "quorum-ingest", "LITERAL", "READ"),
        ("TOPIC", "p.quorum.media", "LITERAL", "CREATE"),
        ("TOPIC", "p.quorum.media", "LITERAL", "WRITE"),
        ("TOPIC", "p.quorum.media.dlq", "LITERAL", "CREATE"),
        ("TOPIC", "p.quorum.outcomes.", "PREFIXED", "CREATE"),
        ("TOPIC", "p.quorum.outcomes.", "PREFIXED", "WRITE"),
        *(
            ("TOPIC", "p.quorum.media.requests.", "PREFIXED", op)
            for op in ("CREATE", "READ", "WRITE")
        ),
        *(("TOPIC", name, "LITERAL", op) for name in consumed for op in ("CREATE", "READ")),
        *(
            ("TOPIC", f"{name}.dlq", "LITERAL", op)
            for name in consumed
            for op in ("CREATE", "WRITE")
        ),
    }
    acls = service_acls("ingest", prefix="p.")
    assert {a.principal for a in acls} == {"User:ingest"}
    assert len(acls) == len(expected)
    assert {(a.resource, a.name, a.pattern, a.operation) for a in acls} == expected
    unprefixed = {a.name for a in service_acls("ingest")}
    assert {name.removeprefix("p.") for name in expected_names(expected)} == unprefixed
    assert service_acls("ingest", principal="User:svc-7", group="g")[0] == Acl(
        "User:svc-7", "GROUP", "g", "LITERAL", "READ"
    )


def test_the_printed_commands_are_every_rule_under_its_principal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--prefix", "prod.", "--tenant", "acme", "--tenant", "beta"]) == 0
    printed = capsys.readouterr().out.splitlines()
    expected: list[str] = []
    for service in SERVICES:
        expected.append(f"# {service}")
        expected += [acl.command() for acl in service_acls(service, prefix="prod.")]
    for tenant in ("acme", "beta"):
        expected.append(
            f"# client systems of tenant {tenant} (use the principal of its credentials)"
        )
        expected += [
            a.command() for a in tenant_client_acls(tenant, f"User:{tenant}", prefix="prod.")
        ]
    assert printed == expected
    assert main([]) == 0
    assert "--topic quorum.media --" in capsys.readouterr().out  # no prefix by default


APPS = {
    "ingest": ("services.ingest.app", "services.ingest.settings", "IngestSettings"),
    "assignment": ("services.assignment.app", "services.assignment.settings", "AssignmentSettings"),
    "metrics": ("services.metrics.app", "services.metrics.settings", "MetricsSettings"),
    "taxonomy": ("services.taxonomy.app", "services.taxonomy.settings", "TaxonomySettings"),
}


@pytest.mark.parametrize("service", sorted(APPS))
def test_a_services_acls_let_it_read_every_topic_it_consumes(service: str) -> None:
    """Under ACLs a service reads only the topics whose events list it among their consumers:
    a topic it consumes but no contract says so (assignment re-reading its own judgments and
    gold scores after a crash) would be denied in production."""
    app_module, settings_module, settings_class = APPS[service]
    settings = getattr(importlib.import_module(settings_module), settings_class)(environment="test")
    app = importlib.import_module(app_module).create_app(settings)
    spec = app.state.runtime_spec
    readable = {
        acl.name
        for acl in service_acls(service)
        if acl.resource == "TOPIC" and acl.operation == "READ"
    }
    consumed = {_names("", event.topic)[0] for event in spec.consumed}
    assert consumed <= readable, f"{service} consumes {sorted(consumed - readable)} unreadable"
