"""Servers a test runs on its own, beside the suite's: on free ports, under a folder of the
test's, with what the local launcher installed (jars, the compiled server) linked in."""

from __future__ import annotations

import shutil
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from deploy.local.infra import local_infra
from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo
from tests.processes import free_port


@contextmanager
def own_kafka_broker(
    root: Path, sasl_users: Mapping[str, str] | None = None
) -> Iterator[LocalKafka]:
    """A started broker; its data (under ``root``) survives a restart."""
    jars = local_infra().kafka
    jars.install()
    (root / "kafka").mkdir()
    (root / "kafka" / "libs").symlink_to(Path(jars.libs))
    kafka = LocalKafka(
        root, port=free_port(), controller_port=free_port(), heap="384m", sasl_users=sasl_users
    )
    kafka.start(timeout=120)
    try:
        yield kafka
    finally:
        kafka.stop()


@contextmanager
def own_mongo_server(root: Path) -> Iterator[LocalMongo]:
    """A started MongoDB-compatible server in its persistent mode: the data is in a file under
    ``root`` and survives a restart."""
    installed = local_infra().mongo
    installed.install()
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
