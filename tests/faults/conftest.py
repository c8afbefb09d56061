"""Servers of the fault tests' own, on free ports, so a test can stop and restart them under a
running service without touching the servers the rest of the suite shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo
from tests.conftest import Endpoints
from tests.own_servers import own_kafka_broker, own_mongo_server


@pytest.fixture(scope="package")
def own_kafka(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalKafka]:
    with own_kafka_broker(tmp_path_factory.mktemp("own-kafka")) as kafka:
        yield kafka


@pytest.fixture(scope="package")
def own_mongo(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalMongo]:
    with own_mongo_server(tmp_path_factory.mktemp("own-mongo")) as mongo:
        yield mongo
