"""Tenants bound on Kafka: against a broker that authenticates with SASL/SCRAM and authorizes
with the ACLs of ``shared.kafka.acls``, ingest works with exactly its own rules, a tenant's
client can write its own request topic and nothing else, and no service writes another's
topic."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import TopicAuthorizationFailedError
from aiokafka.protocol.admin import CreateAclsRequest

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.contracts.media import MEDIA, MEDIA_REQUESTS
from shared.contracts.work import PROJECTS
from shared.http.service import service_of
from shared.kafka.acls import Acl, service_acls, tenant_client_acls
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
