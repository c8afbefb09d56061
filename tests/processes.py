"""Services run as their own operating-system processes, for tests that kill one (SIGKILL) or
stop it the way an orchestrator does (SIGTERM): ``python -m services.<name>`` with its settings
in the environment, as in production."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.assignment.settings import AssignmentSettings
from services.ingest.settings import IngestSettings
from services.metrics.settings import MetricsSettings
from services.taxonomy.settings import TaxonomySettings
from shared.auth.tokens import mint_token
from shared.settings import ServiceSettings

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(settings: ServiceSettings) -> dict[str, str]:
    """The settings as the service reads them: ``QUORUM_<SERVICE>_<FIELD>`` variables."""
    prefix = str(settings.model_config.get("env_prefix"))
    env = {}
    for name, value in settings.model_dump(exclude_defaults=True).items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Enum):
            value = value.value
        elif isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        env[f"{prefix}{name.upper()}"] = str(value)
    return env


class ServiceProcess:
    """One service process on a free loopback port; its output goes to ``log``."""

    def __init__(self, module: str, settings: ServiceSettings, log: Path) -> None:
        self.module = module
        self.settings = settings.model_copy(update={"port": free_port(), "host": "127.0.0.1"})
        self.base_url = f"http://127.0.0.1:{self.settings.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until it answers ``/readyz`` with 200."""
        self.process = self._spawn()
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.module} exited: {self.output()}")
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.module} was not ready within {timeout}s: {self.output()}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("QUORUM_")},
            **environment(self.settings),
        }
        with self.log.open("ab") as out:
            return subprocess.Popen(
                [sys.executable, "-m", self.module], cwd=REPO, env=env, stdout=out, stderr=out
            )

    def kill(self) -> None:
        """SIGKILL: nothing is finished, flushed or committed."""
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: the service finishes what it holds and leaves its consumer group."""
        self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(60)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=30, **kwargs)

    async def metric(self, name: str, **labels: str) -> float:
        """The value of one sample of the service's ``/metrics`` (0 when it has none yet),
        read as ops (only staff read metrics)."""
        token = mint_token(
            subject="metrics-scraper",
            tenant="ops",
            role="ops",
            secret=self.settings.jwt_secret.get_secret_value(),
        )
        async with self.client() as client:
            response = await client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
            text = response.raise_for_status().text
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0

    def output(self, tail: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-tail:] if self.log.exists() else ""


def quorum_services(
    make_settings: Any, logs: Path, **overrides: dict[str, Any]
) -> dict[str, ServiceProcess]:
    """The four services as processes (not started), each with the test servers' settings
    and ``overrides[name]``; their logs in ``logs``."""
    classes: dict[str, type[ServiceSettings]] = {
        "taxonomy": TaxonomySettings,
        "ingest": IngestSettings,
        "assignment": AssignmentSettings,
        "metrics": MetricsSettings,
    }
    return {
        name: ServiceProcess(
            f"services.{name}", make_settings(cls, **overrides.get(name, {})), logs / f"{name}.log"
        )
        for name, cls in classes.items()
    }
