"""``quorum-tenant-topics``: create a tenant's own topics (its registration request topic
``quorum.media.requests.<tenant>`` and that topic's ``.dlq``, and its outcome topic
``quorum.outcomes.<tenant>``) when the tenant is added.

    quorum-tenant-topics acme beta

It connects with the ``QUORUM_KAFKA_*`` settings (an administrator's principal, allowed to
create topics) and prints the ACLs a tenant's client principal needs (docs/operations.md,
Security). A running ingest consumes a new tenant's topic within
``QUORUM_KAFKA_METADATA_MAX_AGE_MS`` (30 s), without a restart; it creates a tenant's outcome
topic itself, if missing, before it first publishes there.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

from aiokafka.errors import KafkaError
from pydantic import ValidationError

from shared.contracts.catalog import ALL_EVENTS
from shared.contracts.spec import Topic
from shared.contracts.vocabulary import TENANT_PATTERN
from shared.kafka.acls import tenant_client_acls
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import ensure_tenant_topics
from shared.settings import KafkaClientSettings

#: The topics every tenant has one of.
PER_TENANT_TOPICS: tuple[Topic, ...] = tuple(
    sorted({spec.topic for spec in ALL_EVENTS if spec.topic.per_tenant}, key=lambda t: t.name)
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="quorum-tenant-topics",
        description="Create the Kafka topics of one or more tenants (missing ones only).",
    )
    parser.add_argument("tenants", nargs="+", metavar="TENANT", help="tenant ids")
    args = parser.parse_args(argv)
    bad = [t for t in args.tenants if not re.fullmatch(TENANT_PATTERN, t)]
    if bad:
        print(
            f"quorum-tenant-topics: not a tenant id: {', '.join(map(repr, bad))} "
            "(letters, digits and hyphens, at most 64, starting with a letter or digit)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = KafkaSettings.of(KafkaClientSettings(), client_id="quorum-tenant-topics")
    except ValidationError as exc:
        print(
            f"quorum-tenant-topics: the QUORUM_KAFKA_* settings are invalid: {exc}", file=sys.stderr
        )
        return 2
    try:
        created = asyncio.run(ensure_tenant_topics(settings, PER_TENANT_TOPICS, args.tenants))
    except (KafkaError, OSError) as exc:
        print(
            f"quorum-tenant-topics: could not create the topics at "
            f"{settings.bootstrap_servers}: {exc}. Check QUORUM_KAFKA_BOOTSTRAP_SERVERS and "
            "that the principal may create topics.",
            file=sys.stderr,
        )
        return 1
    for name in created:
        print(f"topic {name}")
    for tenant in args.tenants:
        print(
            f"tenant {tenant}: give its client principal these ACLs (kafka-acls.sh; put the "
            "principal of its credentials for User:<client>):"
        )
        for acl in tenant_client_acls(tenant, "User:<client>", prefix=settings.topic_prefix):
            print(f"  {acl.command()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
