"""The Kafka ACLs each principal of Quorum needs, derived from the event contracts.

A service may write the topics it produces and read those it consumes (and write their
dead-letter topics, and create both: services create their topics at start). A tenant's
client may write its tenant's request topic, read its tenant's outcome topic (with consumer
groups named after it), and nothing else. With these and no more, nothing but ingest writes
``quorum.media`` or an outcome topic, nothing but assignment ``quorum.work``, no tenant's
credentials can register media for another tenant, and none can read another's outcomes.

    python -m shared.kafka.acls [--prefix P] [--tenant T ...]

prints them as ``kafka-acls.sh`` commands (docs/operations.md, Security).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.contracts.catalog import ALL_EVENTS
from shared.contracts.outcomes import OUTCOMES
from shared.contracts.spec import CLIENT_SYSTEMS, EventSpec, Topic
from shared.kafka.topics import topic_name

SERVICES = ("ingest", "assignment", "metrics", "taxonomy")

#: READ and WRITE imply DESCRIBE; CREATE lets a service create its topics at start.
Operation = Literal["READ", "WRITE", "CREATE"]
Resource = Literal["TOPIC", "GROUP"]
Pattern = Literal["LITERAL", "PREFIXED"]


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW rule: ``principal`` may do ``operation`` on the resources ``name`` matches."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def command(self) -> str:
        """The rule as a ``kafka-acls.sh`` invocation (add ``--bootstrap-server`` etc.)."""
        return (
            f"kafka-acls.sh --add --allow-principal {self.principal} "
            f"--operation {self.operation.capitalize()} --{self.resource.lower()} {self.name} "
            f"--resource-pattern-type {self.pattern.lower()}"
        )


def _names(prefix: str, topic: Topic) -> tuple[str, str, Pattern]:
    """The topic's name (or, per tenant, the prefix of its tenants' names) and its DLQ's."""
    if topic.per_tenant:
        # every tenant's topic and its .dlq: quorum.media.requests.<tenant>[.dlq]
        family = topic_name(prefix, topic.name) + "."
        return family, family, "PREFIXED"
    return topic_name(prefix, topic), topic_name(prefix, topic.dlq), "LITERAL"


def service_acls(
    service: str,
    *,
    principal: str | None = None,
    prefix: str = "",
    group: str | None = None,
    specs: Iterable[EventSpec[Any]] = ALL_EVENTS,
) -> list[Acl]:
    """What ``service`` (principal ``User:<service>`` unless said) needs."""
    who = principal or f"User:{service}"
    specs = list(specs)
    produced = {s.topic for s in specs if s.producer == service}
    consumed = {s.topic for s in specs if service in s.consumers}
    rules: set[Acl] = set()

    def allow(name: str, pattern: Pattern, *operations: Operation) -> None:
        rules.update(Acl(who, "TOPIC", name, pattern, op) for op in operations)

    for topic in produced:
        name, dlq, pattern = _names(prefix, topic)
        allow(name, pattern, "WRITE", "CREATE")
        allow(dlq, pattern, "CREATE")
    for topic in consumed:
        name, dlq, pattern = _names(prefix, topic)
        allow(name, pattern, "READ", "CREATE")
        allow(dlq, pattern, "WRITE", "CREATE")  # its dead letters
    if consumed:
        rules.add(Acl(who, "GROUP", group or f"quorum-{service}", "LITERAL", "READ"))
    return sorted(rules)


def client_group_prefix(tenant: str, *, prefix: str = "") -> str:
    """The start of every consumer group name a tenant's client may use: its outcome topic's
    name and a dot (``quorum.outcomes.acme.``; tenant ids have no dot, so ``acme``'s prefix
    matches no group of ``acme-labs``)."""
    return topic_name(prefix, OUTCOMES.of_tenant(tenant)) + "."


def tenant_client_acls(tenant: str, principal: str, *, prefix: str = "") -> list[Acl]:
    """What a tenant's client system needs: to write its own request topic and read its own
    outcome topic, LITERAL (a prefix rule for ``acme`` would also match ``acme-labs``'s
    topics), and to read with the consumer groups of :func:`client_group_prefix`."""
    rules: set[Acl] = set()
    for spec in ALL_EVENTS:
        if not spec.topic.per_tenant:
            continue
        name = topic_name(prefix, spec.topic.of_tenant(tenant))
        if spec.producer == CLIENT_SYSTEMS:
            rules.add(Acl(principal, "TOPIC", name, "LITERAL", "WRITE"))
        if CLIENT_SYSTEMS in spec.consumers:
            rules.add(Acl(principal, "TOPIC", name, "LITERAL", "READ"))
            group = client_group_prefix(tenant, prefix=prefix)
            rules.add(Acl(principal, "GROUP", group, "PREFIXED", "READ"))
    return sorted(rules)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.kafka.acls",
        description="Print the Kafka ACLs of Quorum's services (and tenants' clients).",
    )
    parser.add_argument("--prefix", default="", help="the deployment's QUORUM_TOPIC_PREFIX")
    parser.add_argument(
        "--tenant", action="append", default=[], help="also a tenant's client (User:<tenant>)"
    )
    args = parser.parse_args(argv)
    for service in SERVICES:
        print(f"# {service}")
        for acl in service_acls(service, prefix=args.prefix):
            print(acl.command())
    for tenant in args.tenant:
        print(f"# client systems of tenant {tenant} (use the principal of its credentials)")
        for acl in tenant_client_acls(tenant, f"User:{tenant}", prefix=args.prefix):
            print(acl.command())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
