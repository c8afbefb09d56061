"""Local infrastructure without Docker: Apache Kafka (KRaft) and the MongoDB-compatible server.

    python -m deploy.local.infra up       # install what is missing, start both, wait until ready
    python -m deploy.local.infra down     # stop both (by the PIDs this tool recorded)
    python -m deploy.local.infra status
    python -m deploy.local.infra env      # print the environment variables that point at them

Everything lives under ``QUORUM_LOCAL_ROOT`` (default ``<repo>/.local``, git-ignored).
Ports: ``QUORUM_LOCAL_KAFKA_PORT`` (19092), ``QUORUM_LOCAL_KAFKA_CONTROLLER_PORT`` (19093),
``QUORUM_LOCAL_MONGO_PORT`` (27018).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.local.kafka import LocalKafka
from deploy.local.mongo import LocalMongo

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class LocalInfra:
    kafka: LocalKafka
    mongo: LocalMongo

    @property
    def env(self) -> dict[str, str]:
        return {
            "QUORUM_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "QUORUM_MONGODB_URI": self.mongo.uri,
        }

    def install(self) -> None:
        self.kafka.install()
        self.mongo.install()

    def up(self) -> list[str]:
        """Start whatever is not running; return the names of the servers started now."""
        self.install()
        started = []
        for server in (self.mongo, self.kafka):
            if server.start():
                started.append(server.name)
        return started

    def down(self, names: list[str] | None = None) -> None:
        for server in (self.kafka, self.mongo):
            if names is None or server.name in names:
                server.stop()


def local_infra(root: Path | None = None) -> LocalInfra:
    root = root or Path(os.environ.get("QUORUM_LOCAL_ROOT", REPO / ".local"))
    root.mkdir(parents=True, exist_ok=True)
    return LocalInfra(
        kafka=LocalKafka(
            root,
            port=int(os.environ.get("QUORUM_LOCAL_KAFKA_PORT", "19092")),
            controller_port=int(os.environ.get("QUORUM_LOCAL_KAFKA_CONTROLLER_PORT", "19093")),
        ),
        mongo=LocalMongo(root, port=int(os.environ.get("QUORUM_LOCAL_MONGO_PORT", "27018"))),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.infra", description=__doc__)
    parser.add_argument("command", choices=["install", "up", "down", "status", "env"])
    args = parser.parse_args(argv)
    infra = local_infra()
    if args.command == "install":
        infra.install()
    elif args.command == "up":
        started = infra.up()
        print(f"kafka  {infra.kafka.bootstrap}  mongo  {infra.mongo.uri}", file=sys.stderr)
        print(f"started now: {', '.join(started) or 'nothing (already running)'}", file=sys.stderr)
    elif args.command == "down":
        infra.down()
    elif args.command == "status":
        for server in (infra.kafka, infra.mongo):
            print(f"{server.name:6} {'running' if server.running() else 'stopped'}")
    else:
        for key, value in infra.env.items():
            print(f"export {key}={value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
