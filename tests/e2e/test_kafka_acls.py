"""Tenants bound on Kafka: against a broker that authenticates with SASL/SCRAM and authorizes
with the ACLs of ``shared.kafka.acls``, ingest works with exactly its own rules, a tenant's
client can write its own request topic and read its own outcome topic and nothing else, and
no service writes another's topic."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupAuthorizationFailedError, TopicAuthorizationFailedError
from aiokafka.protocol.admin import CreateAclsRequest

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, MEDIA_REQUESTS
from shared.contracts.outcomes import EVENTS as OUTCOME_EVENTS
from shared.contracts.outcomes import OUTCOME_REJECTED, OUTCOMES
from shared.contracts.work import PROJECTS
from shared.events.codec import EventRegistry, decode
from shared.http.service import service_of
from shared.kafka.acls import Acl, client_group_prefix, service_acls, tenant_client_acls
from shared.kafka.settings import KafkaSettings
from shared.kafka.topics import ensure_tenant_topics, topic_name
from tests.conftest import Endpoints
from tests.ingest.bodies import registration
from tests.ingest.test_kafka import sdk_message
from tests.kafka_helpers import eventually, read_all
from tests.own_servers import own_kafka_broker
from tests.service_helpers import running

pytestmark = pytest.mark.integration

USERS = {
    "admin": "admin-secret",
    "ingest": "ingest-secret",
    "acme-uploader": "acme-secret",
    "beta-uploader": "beta-secret",
}

# Kafka's protocol codes (org.apache.kafka.common.acl / resource)
_RESOURCE = {"TOPIC": 2, "GROUP": 3}
_OPERATION = {"READ": 3, "WRITE": 4, "CREATE": 5, "DESCRIBE": 8}
_PATTERN = {"LITERAL": 3, "PREFIXED": 4}
_ALLOW = 3


@pytest.fixture(scope="module")
def secured_kafka(endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second local broker, with SCRAM users and ACL authorization, on free ports."""
    with own_kafka_broker(tmp_path_factory.mktemp("secured-kafka"), sasl_users=USERS) as kafka:
        yield kafka.bootstrap


def as_user(bootstrap: str, user: str, prefix: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap,
        topic_prefix=prefix,
        partitions=2,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username=user,
        sasl_password=USERS[user],
    )


async def grant(admin: KafkaSettings, acls: list[Acl]) -> None:
    client = AIOKafkaAdminClient(**admin.client_options())
    await client.start()
    try:
        for acl in acls:
            request = CreateAclsRequest(
                _RESOURCE[acl.resource],
                acl.name,
                _PATTERN[acl.pattern],
                acl.principal,
                "*",
                _OPERATION[acl.operation],
                _ALLOW,
            )
            response = await client._send_request(request)  # aiokafka has no create_acls
            errors = [e for e in response.creation_responses if e[0] != 0]
            assert not errors, f"{acl}: {errors}"
    finally:
        await client.close()


async def produce_as(settings: KafkaSettings, topic: str, value: bytes, key: bytes) -> None:
    producer = AIOKafkaProducer(
        **settings.client_options(), acks="all", enable_idempotence=True, request_timeout_ms=10_000
    )
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


async def consume_as(
    settings: KafkaSettings, topic: str, group: str, timeout: float = 30.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """What a client reads of ``topic`` with consumer group ``group``, from the beginning:
    the first records that arrive (raising what the broker refuses)."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.client_options(),
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        await consumer.start()
        deadline = time.monotonic() + timeout
        while not records and time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(batch)
    finally:
        await consumer.stop()
    return records


async def tenants_of_outcomes(settings: KafkaSettings, topic: str, external_id: str) -> list[str]:
    options = settings.client_options()
    bootstrap = options.pop("bootstrap_servers")
    records = await read_all(bootstrap, topic, **options)
    return [r.value.decode() for r in records if external_id.encode() in r.value]


async def test_each_principal_writes_only_its_own_topics(
    secured_kafka: str, make_settings: Callable[..., Any]
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    admin = as_user(secured_kafka, "admin", prefix)
    await grant(
        admin,
        [
            *service_acls("ingest", prefix=prefix),
            *tenant_client_acls("acme", "User:acme-uploader", prefix=prefix),
            *tenant_client_acls("beta", "User:beta-uploader", prefix=prefix),
        ],
    )
    await ensure_tenant_topics(admin, [MEDIA_REQUESTS], ["acme", "beta"])
    settings = make_settings(
        IngestSettings,
        kafka_bootstrap_servers=secured_kafka,
        topic_prefix=prefix,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="ingest",
        kafka_sasl_password=USERS["ingest"],
    )
    acme = as_user(secured_kafka, "acme-uploader", prefix)
    body = registration("image", project_id="nope")
    _, value, _ = sdk_message(body, tenant=None)
    key = body["external_id"].encode()
    requests = {t: topic_name(prefix, MEDIA_REQUESTS.of_tenant(t)) for t in ("acme", "beta")}

    app = create_app(settings)
    async with running(app):
        # ingest runs with its own rules only: it reads acme's topic and answers on quorum.media
        await service_of(app).runtime.consumer.wait_assigned()
        await produce_as(acme, requests["acme"], value, key)
        outcomes = await eventually(
            lambda: tenants_of_outcomes(admin, topic_name(prefix, MEDIA), body["external_id"])
        )
        assert '"tenant":"acme"' in outcomes[0].replace(" ", "")

        # acme's credentials cannot register for beta, nor write an internal topic
        for topic in (requests["beta"], topic_name(prefix, PROJECTS), topic_name(prefix, MEDIA)):
            with pytest.raises(TopicAuthorizationFailedError):
                await produce_as(acme, topic, value, key)
        # a service cannot write another service's topic: quorum.projects is assignment's
        ingest = as_user(secured_kafka, "ingest", prefix)
        with pytest.raises(TopicAuthorizationFailedError):
            await produce_as(ingest, topic_name(prefix, PROJECTS), value, key)


async def test_a_tenants_client_reads_its_own_outcomes_and_no_other_tenants(
    secured_kafka: str, make_settings: Callable[..., Any]
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    admin = as_user(secured_kafka, "admin", prefix)
    await grant(
        admin,
        [
            *service_acls("ingest", prefix=prefix),
            *tenant_client_acls("acme", "User:acme-uploader", prefix=prefix),
            *tenant_client_acls("beta", "User:beta-uploader", prefix=prefix),
        ],
    )
    # the request topics only: ingest makes acme's outcome topic (the broker auto-creates none)
    await ensure_tenant_topics(admin, [MEDIA_REQUESTS], ["acme", "beta"])
    settings = make_settings(
        IngestSettings,
        kafka_bootstrap_servers=secured_kafka,
        topic_prefix=prefix,
        kafka_security_protocol="SASL_PLAINTEXT",
        kafka_sasl_username="ingest",
        kafka_sasl_password=USERS["ingest"],
    )
    acme = as_user(secured_kafka, "acme-uploader", prefix)
    beta = as_user(secured_kafka, "beta-uploader", prefix)
    body = registration("image", project_id="nope")
    _, value, _ = sdk_message(body, tenant=None)
    acmes_outcomes = topic_name(prefix, OUTCOMES.of_tenant("acme"))
    reader = client_group_prefix("acme", prefix=prefix) + "reader"

    app = create_app(settings)
    async with running(app):
        await service_of(app).runtime.consumer.wait_assigned()
        await produce_as(
            acme,
            topic_name(prefix, MEDIA_REQUESTS.of_tenant("acme")),
            value,
            body["external_id"].encode(),
        )
        # acme's client reads its refusal on its own outcome topic, in a group of its own
        (record,) = await eventually(lambda: consume_as(acme, acmes_outcomes, reader))
        event = decode(
            record.value,
            key=record.key,
            headers=record.headers,
            registry=EventRegistry(OUTCOME_EVENTS),
        )
        assert event is not None and event.type == OUTCOME_REJECTED.type
        assert event.tenant == "acme" and event.data.external_id == body["external_id"]

        # beta's client cannot read acme's outcomes; acme's cannot read every tenant's events
        # on quorum.media, nor use a consumer group of beta's
        betas_reader = client_group_prefix("beta", prefix=prefix) + "reader"
        with pytest.raises(TopicAuthorizationFailedError):
            await consume_as(beta, acmes_outcomes, betas_reader, timeout=10)
        with pytest.raises(TopicAuthorizationFailedError):
            await consume_as(acme, topic_name(prefix, MEDIA), reader, timeout=10)
        with pytest.raises(GroupAuthorizationFailedError):
            await consume_as(acme, acmes_outcomes, betas_reader, timeout=10)
