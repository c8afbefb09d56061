"""Test harness: real Kafka and a real MongoDB-compatible server for every test that needs them.

Where the servers come from, in order:
1. ``KAFKA_BOOTSTRAP_SERVERS`` and ``MONGODB_URI`` when both are set;
2. testcontainers (Kafka and MongoDB containers) when a Docker engine answers;
3. the local launcher (``deploy/local``), which installs and starts them, and
   stops at the end of the session only what it started.

Servers are session-scoped; each test module gets its own database name and
topic prefix, so modules never see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pymongo import AsyncMongoClient

from shared.settings import Environment, ServiceSettings
from tests.kafka_helpers import delete_topics, list_topics

S = TypeVar("S", bound=ServiceSettings)

# Property tests assert behaviour, not speed: on shared, noisy machines Hypothesis's timing
# checks (a deadline per example, slow input generation) would fail them for the machine's load.
hypothesis_settings.register_profile(
    "quorum", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("quorum")


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap: str
    mongodb_uri: str
    source: str


def _docker_answers() -> bool:
    try:
        import docker  # testcontainers dependency

        client = docker.from_env(timeout=3)
        client.ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def endpoints() -> Iterator[Endpoints]:
    kafka_env, mongo_env = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), os.environ.get("MONGODB_URI")
    if kafka_env and mongo_env:
        with _topics_deleted_after(kafka_env):
            yield Endpoints(kafka_env, mongo_env, "environment")
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mongodb import MongoDbContainer

        with KafkaContainer().with_kraft() as kafka, MongoDbContainer("mongo:7") as mongo:
            yield Endpoints(
                kafka.get_bootstrap_server(), mongo.get_connection_url(), "testcontainers"
            )
        return
    from deploy.local.infra import local_infra

    infra = local_infra()
    started = infra.up()
    try:
        with _topics_deleted_after(infra.kafka.bootstrap):
            yield Endpoints(infra.kafka.bootstrap, infra.mongo.uri, "local launcher")
    finally:
        infra.down(started)


#: the topic prefixes this pytest process made up (``run_id`` and ``tests.shared.bus_world``):
#: only their topics are deleted, so two test sessions sharing one broker (``make test`` while a
#: colleague runs one file) never delete each other's topics mid-run
OWN_TOPIC_PREFIXES: set[str] = set()


@contextlib.contextmanager
def _topics_deleted_after(bootstrap: str) -> Iterator[None]:
    """Delete the topics the session's tests created: a broker kept between runs would
    otherwise pile them up (thousands of partitions slow its start-up, and fill its disk)."""
    before = set(asyncio.run(list_topics(bootstrap)))
    try:
        yield
    finally:
        created = [t for t in asyncio.run(list_topics(bootstrap)) if t not in before]
        own = tuple(OWN_TOPIC_PREFIXES)
        asyncio.run(delete_topics(bootstrap, [t for t in created if t.startswith(own)]))


def new_run_id() -> str:
    """A short unique id for a set of tests: their database and topic names carry it."""
    run = uuid.uuid4().hex[:10]
    OWN_TOPIC_PREFIXES.add(f"t{run}.")
    return run


def settings_factory(endpoints: Endpoints, run: str) -> Callable[..., Any]:
    """Build a service's settings pointing at the test servers, isolated by ``run``."""

    def build(cls: type[S], **overrides: Any) -> S:
        values: dict[str, Any] = {
            "environment": Environment.test,
            "kafka_bootstrap_servers": endpoints.kafka_bootstrap,
            "mongodb_uri": endpoints.mongodb_uri,
            "mongodb_database": f"t_{run}_{cls.service_name}",
            "topic_prefix": f"t{run}.",
            "topic_partitions": 3,
            "consumer_retry_backoff_ms": 20,
            "consumer_max_retries": 2,
            "outbox_poll_interval_ms": 50,
        }
        values.update(overrides)
        return cls(**values)

    return build


@pytest.fixture(scope="module")
def run_id() -> str:
    """A short id unique to this test module: its database and topic names carry it."""
    return new_run_id()


@pytest.fixture(scope="module")
def make_settings(endpoints: Endpoints, run_id: str) -> Callable[..., Any]:
    """Build a service's settings pointing at the test servers, isolated per module."""
    return settings_factory(endpoints, run_id)


@pytest_asyncio.fixture(scope="session")
async def mongo_client(endpoints: Endpoints) -> AsyncIterator[AsyncMongoClient[Any]]:
    client: AsyncMongoClient[Any] = AsyncMongoClient(
        endpoints.mongodb_uri, tz_aware=True, serverSelectionTimeoutMS=5000
    )
    yield client
    await client.close()


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Parameter ids without spaces, so every test id is one shell word (mutmut, and anyone
    re-running a failed case, pass ids on a command line)."""
    if isinstance(val, bytes):
        val = val.decode("ascii", "backslashreplace")
    if isinstance(val, str) and any(c.isspace() for c in val):
        return "_".join(val.split())
    return None
