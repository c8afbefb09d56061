"""``make demo``: five review programs run through the four services by a simulator — a
client registering media over HTTP and Kafka, operations staff setting programs up through
the API, and simulated experts with known skills, confusions, speeds and honesty pulling and
judging work with minted tokens — then a summary per program of what the system found
beside the truths the simulator planted.

    python -m deploy.demo [--scenario NAME ...] [--scale 1.0] [--seed 7]

It uses the stack of ``make run`` when one answers on the usual ports, else starts one (and
stops it at the end). Exit status 0 when every truth was recovered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from deploy.demo.api import DemoError, Endpoints, Quorum
from deploy.demo.media import MediaLibrary
from deploy.demo.program import Context, Report, now_tag
from deploy.demo.scenarios import SCENARIOS
from deploy.demo.summary import render
from deploy.local.infra import REPO

#: the alert lane's pace when the demo starts the stack itself (the services' defaults,
#: 60 s passes after 30 s of quiet, suit production, not a demo of minutes)
DEMO_STACK_ENV = {
    "QUORUM_METRICS_ALERT_INTERVAL_SECONDS": "5",
    "QUORUM_METRICS_ALERT_QUIET_SECONDS": "5",
    "QUORUM_METRICS_DAWID_SKENE_INTERVAL_SECONDS": "30",
    # a demo's programs hold minutes of work, not weeks: smaller drift blocks and a smaller
    # count of gold outcomes before an expert's drop is an alert
    "QUORUM_METRICS_DRIFT_WINDOW_ITEMS": "100",
    "QUORUM_METRICS_EXPERT_DRIFT_MIN_COUNT": "40",
    "QUORUM_DEMO_DATA": "0",
}


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=sorted(SCENARIOS),
        help="a program to run (repeatable; default: all five)",
    )
    parser.add_argument("--scale", type=float, default=1.0, help="item counts x this (1.0)")
    parser.add_argument("--seed", type=int, default=7, help="the simulation's seed (7)")
    parser.add_argument("--tenant", default="acme", help="the tenant the programs run in")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="when the demo started the stack, keep it (and the console) running after the "
        "summaries until Ctrl-C",
    )
    parser.add_argument(
        "--media-dir",
        type=Path,
        default=REPO / ".local" / "demo-media",
        help="where the generated images, audio and video go",
    )
    parser.add_argument(
        "--alert-wait", type=float, default=240.0, help="seconds to wait for the alert lane"
    )
    # the metrics service's settings the programs are sized and timed by (read from the
    # same environment variables; `make demo` sets them when it starts the stack itself)
    for flag, kind, variable, default in (
        ("--drift-window", int, "DRIFT_WINDOW_ITEMS", "200"),
        ("--expert-drift-min-count", int, "EXPERT_DRIFT_MIN_COUNT", "100"),
        ("--alert-interval", float, "ALERT_INTERVAL_SECONDS", "60"),
        ("--alert-quiet", float, "ALERT_QUIET_SECONDS", "30"),
    ):
        env = f"QUORUM_METRICS_{variable}"
        parser.add_argument(
            flag,
            type=kind,
            default=kind(os.environ.get(env, default)),
            help=f"the metrics service's {env} ({default})",
        )
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale must be above 0")
    return args


def endpoints() -> Endpoints:
    def url(name: str, port: int) -> str:
        return f"http://127.0.0.1:{os.environ.get(f'QUORUM_{name.upper()}_PORT', port)}"

    return Endpoints(
        ingest=url("ingest", 8001),
        assignment=url("assignment", 8002),
        metrics=url("metrics", 8003),
        taxonomy=url("taxonomy", 8004),
        kafka=os.environ.get(
            "QUORUM_KAFKA_BOOTSTRAP_SERVERS",
            f"127.0.0.1:{os.environ.get('QUORUM_LOCAL_KAFKA_PORT', '19092')}",
        ),
        topic_prefix=os.environ.get("QUORUM_TOPIC_PREFIX", ""),
    )


def answering(points: Endpoints) -> bool:
    for url in points.services().values():
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code != 200:
                return False
        except httpx.TransportError:
            return False
    return True


def start_stack(console: Console, points: Endpoints) -> subprocess.Popen[bytes]:
    """``make run``'s stack, its output in .local/demo-stack.log, until every service is
    ready."""
    log = REPO / ".local" / "demo-stack.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    console.print(f"starting the stack of `make run` (its log: {log.relative_to(REPO)}) ...")
    with log.open("wb") as out:
        stack = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.run"],
            cwd=REPO,
            env={**os.environ, **DEMO_STACK_ENV},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 600  # the first run downloads Kafka and the Mongo server
    while not answering(points):
        if stack.poll() is not None or time.monotonic() > deadline:
            stop_stack(stack)
            raise DemoError(f"the stack did not start: read {log}, then try `make run`")
        time.sleep(1)
    return stack


def stop_stack(stack: subprocess.Popen[bytes]) -> None:
    if stack.poll() is None:
        stack.send_signal(signal.SIGINT)
        try:
            stack.wait(60)
        except subprocess.TimeoutExpired:
            stack.kill()


Progressing = Callable[[str, int, int], None]


async def run_all(
    names: list[str], make_context: Callable[[str, Progressing], Context], console: Console
) -> list[Report]:
    """The scenarios side by side, a progress bar each (a line per step when the output is
    not a terminal)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.fields[name]:<15}"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks = {n: bar.add_task("waiting", name=n, total=None) for n in names}

        def progress_of(name: str) -> Progressing:
            said: list[Any] = ["", 0.0]

            def update(what: str, done: int, total: int) -> None:
                text = f"{what} {done}/{total}" if total else f"{what} {done}" if done else what
                bar.update(tasks[name], description=text, completed=done, total=total or None)
                if not console.is_terminal and (what != said[0] or time.monotonic() - said[1] > 15):
                    console.print(f"{name}: {text}")
                    said[:] = [what, time.monotonic()]

            return update

        async def one(name: str) -> Report:
            ctx = make_context(name, progress_of(name))
            try:
                report = await SCENARIOS[name](ctx)
            finally:
                await ctx.api.close()
            calls = sorted(ctx.api.timings.items(), key=lambda kv: -kv[1][1])
            report.notes.append(
                "API calls (count x mean ms): "
                + ", ".join(f"{k} {int(n)} x {1000 * t / n:.0f}" for k, (n, t) in calls[:6])
            )
            bar.update(
                tasks[name],
                description="[green]done" if report.passed else "[red]a truth was missed",
                completed=1,
                total=1,
            )
            return report

        running = [asyncio.create_task(one(n)) for n in names]
        try:
            return list(await asyncio.gather(*running))
        finally:  # a program that failed stops the others (their experts finish their unit)
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console()
    points = endpoints()
    names = args.scenario or list(SCENARIOS)
    stack = None if answering(points) else start_stack(console, points)
    if stack is not None:
        args.alert_wait = min(args.alert_wait, 120.0)
        args.drift_window = int(DEMO_STACK_ENV["QUORUM_METRICS_DRIFT_WINDOW_ITEMS"])
        args.alert_interval = float(DEMO_STACK_ENV["QUORUM_METRICS_ALERT_INTERVAL_SECONDS"])
        args.alert_quiet = float(DEMO_STACK_ENV["QUORUM_METRICS_ALERT_QUIET_SECONDS"])
        args.expert_drift_min_count = int(DEMO_STACK_ENV["QUORUM_METRICS_EXPERT_DRIFT_MIN_COUNT"])
    run = now_tag()
    media = MediaLibrary(args.media_dir)

    def make_context(name: str, progress: Progressing) -> Context:
        return Context(
            api=Quorum(points, args.tenant),
            media=media,
            seed=args.seed,
            scale=args.scale,
            run=run,
            drift_window=args.drift_window,
            expert_drift_min_count=args.expert_drift_min_count,
            alert_wait_s=args.alert_wait,
            alert_interval_s=args.alert_interval,
            alert_quiet_s=args.alert_quiet,
            progress=progress,
        )

    console.print(
        f"running {', '.join(names)} (scale {args.scale}, seed {args.seed}, run {run}); "
        f"media in {args.media_dir}"
    )
    try:
        try:
            reports = asyncio.run(run_all(names, make_context, console))
        except DemoError as exc:
            console.print(f"[red]the demo stopped:[/red] {exc}")
            return 2
        for report in reports:
            render(console, report)
        missed = [r.scenario for r in reports if not r.passed]
        if missed:
            console.print(f"[red]truths missed in: {', '.join(missed)}[/red]")
        else:
            console.print(f"[green]every truth recovered in {len(reports)} program(s)[/green]")
        keeping = stack is not None and args.keep
        console.print(
            console_hint(args.tenant, reports, up=stack is None or keeping, keeping=keeping)
        )
        if keeping:
            wait_for_interrupt()
        return 1 if missed else 0
    finally:
        if stack is not None:
            stop_stack(stack)


def console_hint(tenant: str, reports: list[Report], *, up: bool, keeping: bool) -> str:
    """Where to look at the programs in the web console (``up``: it runs on after the demo;
    ``keeping``: the demo keeps it until Ctrl-C), or how to keep it up to do so."""
    url = f"http://127.0.0.1:{os.environ.get('QUORUM_CONSOLE_PORT', '8000')}/"
    if not up:
        return (
            "To look at the programs in the web console, run `make run` first (or `make demo "
            'DEMO_ARGS="--keep"`), then this again.'
        )
    projects = ", ".join(r.project_id for r in reports)
    return (
        f"The web console: {url} (tenant {tenant}). Sign in with role ops and any id for the "
        f"dashboard (projects {projects}), or as one of the demo's experts for the workbench."
        + (" Ctrl-C stops the stack." if keeping else "")
    )


def wait_for_interrupt() -> None:
    """Until Ctrl-C (or SIGTERM)."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


if __name__ == "__main__":
    raise SystemExit(main())
