"""``make run``: Kafka, the MongoDB-compatible server and the four services, with their logs.

Ctrl-C stops the services and then the servers this command started (servers
that were already running are left running).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from deploy.local.infra import REPO, local_infra

SERVICES = {"ingest": 8001, "assignment": 8002, "metrics": 8003, "taxonomy": 8004}
COLORS = {"ingest": "36", "assignment": "35", "metrics": "33", "taxonomy": "32"}


def _pump(name: str, stream: object) -> None:
    color = COLORS[name] if sys.stdout.isatty() else ""
    prefix = f"\033[{color}m{name:>10}\033[0m | " if color else f"{name:>10} | "
    for line in iter(stream.readline, ""):  # type: ignore[attr-defined]
        sys.stdout.write(prefix + line)
        sys.stdout.flush()


def _stop(procs: dict[str, subprocess.Popen[str]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for proc in procs.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()


def main() -> int:
    infra = local_infra()
    print(
        "starting Kafka and the MongoDB-compatible server (first run downloads them)...", flush=True
    )
    started = infra.up()
    env = {
        **os.environ,
        **infra.env,
        "QUORUM_ENVIRONMENT": os.environ.get("QUORUM_ENVIRONMENT", "development"),
        "PYTHONUNBUFFERED": "1",
    }
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, port in SERVICES.items():
            env_name = f"QUORUM_{name.upper()}_PORT"
            service_env = {**env, env_name: os.environ.get(env_name, str(port))}
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", f"services.{name}"],
                cwd=REPO,
                env=service_env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches only this supervisor, which stops them
            )
            threading.Thread(target=_pump, args=(name, procs[name].stdout), daemon=True).start()
        print(_banner(infra.kafka.bootstrap, infra.mongo.uri), flush=True)
        stop = threading.Event()
        # Handle both explicitly: a shell may start us with SIGINT ignored.
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        while not stop.wait(0.5):
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    print(
                        f"{name} exited with status {code}; stopping everything (its log is above)",
                        file=sys.stderr,
                    )
                    return 1
        print("stopping the services and the servers this command started...", file=sys.stderr)
        return 0
    finally:
        _stop(procs)
        infra.down(started)


def _banner(kafka: str, mongo: str) -> str:
    lines = ["", "Quorum is starting:"]
    for name, port in SERVICES.items():
        port = int(os.environ.get(f"QUORUM_{name.upper()}_PORT", port))
        lines.append(f"  {name:<11} http://127.0.0.1:{port}/docs")
    lines += [
        f"  kafka       {kafka}",
        f"  mongodb     {mongo}",
        "A development token: .venv/bin/quorum-token --tenant acme --role client",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    os.chdir(Path(REPO))
    raise SystemExit(main())
