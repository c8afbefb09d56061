"""Servers of the fault tests' own, on free ports, so a test can stop and restart them under a
running service without touching the servers the rest of the suite shares."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local.infra import local_infra
from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo
from tests.conftest import Endpoints
from tests.processes import free_port


@pytest.fixture(scope="package")
def own_kafka(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalKafka]:
    """A broker of the fault tests' own, with the installed jars; its data survives a restart."""
    jars = local_infra().kafka
    jars.install()
    root = tmp_path_factory.mktemp("own-kafka")
    (root / "kafka").mkdir()
    (root / "kafka" / "libs").symlink_to(Path(jars.libs))
    kafka = LocalKafka(root, port=free_port(), controller_port=free_port(), heap="384m")
    kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


@pytest.fixture(scope="package")
def own_mongo(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalMongo]:
    """A MongoDB-compatible server of the fault tests' own in its persistent mode (the data is in
    a file and survives a restart), with the installed server."""
    installed = local_infra().mongo
    installed.install()
    root = tmp_path_factory.mktemp("own-mongo")
    mongo = LocalMongo(root, port=free_port(), persistent=True)
    mongo.home.mkdir()
    mongo.lib.symlink_to(installed.lib)
    mongo.classes.symlink_to(installed.classes)
    shutil.copy(installed.stamp, mongo.stamp)
    mongo.start()
    try:
        yield mongo
    finally:
        mongo.stop()
