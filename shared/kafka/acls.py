"""The Kafka ACLs each principal of Quorum needs, derived from the event contracts.

A service may write the topics it produces and read those it consumes (and write their
dead-letter topics, and create both: services create their topics at start). A tenant's
client may write its tenant's request topic and nothing else. With these and no more, nothing
but ingest writes ``quorum.media``, nothing but assignment ``quorum.work``, and no tenant's
credentials can register media for another tenant.

    python -m shared.kafka.acls [--prefix P] [--tenant T ...]

prints them as ``kafka-acls.sh`` commands (docs/operations.md, Security).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from shared.contracts.catalog import ALL_EVENTS
from shared.contracts.spec import EventSpec, Topic
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


def tenant_client_acls(tenant: str, principal: str, *, prefix: str = "") -> list[Acl]:
    """What a tenant's client system needs: to write its own request topic (LITERAL: a prefix
    rule for ``acme`` would also match ``acme-labs``'s topic)."""
    topics = sorted({s.topic for s in ALL_EVENTS if s.topic.per_tenant}, key=lambda t: t.name)
    return [
        Acl(principal, "TOPIC", topic_name(prefix, topic.of_tenant(tenant)), "LITERAL", "WRITE")
        for topic in topics
    ]


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
