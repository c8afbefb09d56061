"""``make run``: Kafka, the MongoDB-compatible server and the four services, with their logs.

Ctrl-C stops the services and then the servers this command started (servers
that were already running are left running).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from deploy.demo import media_server
from deploy.local import demo
from deploy.local.infra import REPO, local_infra
from shared.media import presign

SERVICES = {"ingest": 8001, "assignment": 8002, "metrics": 8003, "taxonomy": 8004, "console": 8000}
#: the demo's generated media, served over HTTP (QUORUM_MEDIA_PORT)
MEDIA_PORT = 8005
COLORS = {"ingest": "36", "assignment": "35", "metrics": "33", "taxonomy": "32", "console": "34"}


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
    media_root = REPO / ".local" / "demo-media"
    media_root.mkdir(parents=True, exist_ok=True)
    # the files `make demo` generates, for the console to show (what a media CDN is in
    # production); read-only, loopback only, to links signed with the secret assignment signs
    # handouts' media links with
    secret = os.environ.get("QUORUM_MEDIA_SIGNING_SECRET", presign.DEV_MEDIA_SECRET)
    env |= console_env(media_root, secret)
    try:
        media = media_server.serve(media_root, port=_port("media"), secret=secret.encode())
    except OSError as exc:
        media = None
        print(f"demo media not served ({exc}): set QUORUM_MEDIA_PORT to a free port", flush=True)
    try:
        # the demo tenant's own topics, before ingest subscribes (quorum-tenant-topics adds more)
        asyncio.run(
            demo.add_tenant(infra.kafka.bootstrap, os.environ.get("QUORUM_TOPIC_PREFIX", ""))
        )
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
        # Handle both explicitly: a shell may start us with SIGINT ignored. The handler only
        # records the signal (a lock taken in a handler can deadlock the code it interrupted).
        signals: list[int] = []
        signal.signal(signal.SIGINT, lambda number, _: signals.append(number))
        signal.signal(signal.SIGTERM, lambda number, _: signals.append(number))
        if os.environ.get("QUORUM_DEMO_DATA", "1") != "0":
            _seed_demo()
        while not signals:
            for name, proc in procs.items():
                code = proc.poll()
                if code is not None:
                    print(
                        f"{name} exited with status {code}; stopping everything (its log is above)",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
        print("stopping the services and the servers this command started...", file=sys.stderr)
        return 0
    finally:
        _stop(procs)
        if media is not None:
            media.shutdown()
            media.server_close()
        infra.down(started)


def console_env(media_root: Path, secret: str) -> dict[str, str]:
    """What the console and assignment need to show media: assignment signs links to the media
    server's files, the console forwards to the services' ports and lets pages load media."""
    media = f"http://127.0.0.1:{_port('media')}"
    env = {
        "QUORUM_ASSIGNMENT_MEDIA_FILE_ROOT": str(media_root.resolve()),
        "QUORUM_ASSIGNMENT_MEDIA_FILE_BASE_URL": media,
        "QUORUM_ASSIGNMENT_MEDIA_SIGNING_SECRET": secret,
        "QUORUM_CONSOLE_MEDIA_ORIGINS": json.dumps([media]),
    }
    for name in ("ingest", "assignment", "metrics", "taxonomy"):
        env[f"QUORUM_CONSOLE_{name.upper()}_URL"] = f"http://127.0.0.1:{_port(name)}"
    return {k: os.environ.get(k, v) for k, v in env.items()}


def _port(name: str) -> int:
    default = MEDIA_PORT if name == "media" else SERVICES[name]
    return int(os.environ.get(f"QUORUM_{name.upper()}_PORT", default))


def _seed_demo() -> None:
    """The README walkthrough's project and ontology (see deploy/local/demo.py)."""
    try:
        line = asyncio.run(
            demo.seed(
                f"http://127.0.0.1:{_port('taxonomy')}",
                f"http://127.0.0.1:{_port('ingest')}",
                f"http://127.0.0.1:{_port('assignment')}",
            )
        )
    except Exception as exc:  # the services run on; only the walkthrough's data is missing
        print(f"demo data not created ({exc}); the services run without it", file=sys.stderr)
        return
    print(line + " (QUORUM_DEMO_DATA=0 skips it)", flush=True)


def _banner(kafka: str, mongo: str) -> str:
    lines = [
        "",
        "Quorum is starting:",
        f"  console     http://127.0.0.1:{_port('console')}/ (sign in: the workbench for "
        "experts, the dashboard for ops)",
    ]
    for name in SERVICES:
        if name == "console":
            continue
        lines.append(f"  {name:<11} http://127.0.0.1:{_port(name)}/docs")
    lines += [
        f"  media       http://127.0.0.1:{_port('media')}/ (the files `make demo` generates, by signed links)",
        f"  kafka       {kafka}",
        f"  mongodb     {mongo}",
        "A development token: .venv/bin/quorum-token --tenant acme --role client",
        "Registration requests of tenant acme: topic quorum.media.requests.acme; its outcomes: "
        "quorum.outcomes.acme (.venv/bin/quorum-tenant-topics <tenant> adds a tenant's)",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    os.chdir(Path(REPO))
    raise SystemExit(main())
