"""Keeping a process's long-running loops running: the outbox relay, the Kafka consumers and
a service's own background loops (assignment's lease expiry).

Each loop handles its own errors: one bad record is logged and set aside, an outage is
waited out. Should a loop raise all the same (a bug, a record nobody thought of), it is not
left dead: :class:`Loops` logs the error, reports the loop down, and starts it again after a
backoff (``backoff_s``, doubling to ``max_backoff_s`` while it keeps failing). While a loop
is down, :meth:`Loops.check` fails, and so does the service's ``/readyz``
(:meth:`shared.runtime.Runtime.readiness`): a replica whose loops are down is not serving
fully, and an orchestrator should see it. A loop that returns has ended on purpose (a
consumer that was asked to stop) and is not started again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from prometheus_client import Counter, Gauge

from shared.logging import get_logger

log = get_logger(__name__)

LOOP_RESTARTS = Counter(
    "quorum_loop_restarts_total",
    "Times a long-running loop raised and was started again",
    ["loop"],
)
LOOPS_DOWN = Gauge(
    "quorum_loop_down",
    "1 while a long-running loop is down (waiting to be started again), else 0",
    ["loop"],
)


class LoopDown(RuntimeError):
    """One or more loops are down: each named with what stopped it."""


class Loops:
    """The long-running loops of a process, restarted when they raise (see the module)."""

    def __init__(self, *, backoff_s: float = 0.5, max_backoff_s: float = 30.0) -> None:
        if not 0 < backoff_s <= max_backoff_s:
            raise ValueError("the backoff is above 0 and at most its maximum")
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        #: loop name -> why it is down
        self._down: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, name: str, loop: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """Run ``loop()`` in a task of its own, started again each time it raises, until
        the task is cancelled (cancel it, or :meth:`stop`)."""
        task = asyncio.create_task(self._keep(name, loop), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def down(self) -> dict[str, str]:
        """The loops down now, each with the error that stopped it."""
        return dict(self._down)

    async def check(self) -> None:
        """Raise :class:`LoopDown` while a loop is down (a readiness check)."""
        if self._down:
            raise LoopDown("; ".join(f"{name}: {why}" for name, why in sorted(self._down.items())))

    async def stop(self) -> None:
        """Cancel every loop and wait for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _keep(self, name: str, loop: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        LOOPS_DOWN.labels(name).set(0)
        try:
            while True:
                started = time.monotonic()
                try:
                    await loop()
                    return  # ended on purpose
                except Exception as exc:
                    error = f"{type(exc).__name__}: {exc}"[:300]
                    log.exception("loop failed; starting it again after a pause", loop=name)
                # a loop that ran well for a while starts again from the shortest pause
                if time.monotonic() - started >= self.max_backoff_s:
                    failures = 0
                delay = min(self.max_backoff_s, self.backoff_s * 2**failures)
                failures += 1
                self._down[name] = f"down since it raised {error} ({failures} in a row)"
                LOOPS_DOWN.labels(name).set(1)
                LOOP_RESTARTS.labels(name).inc()
                await asyncio.sleep(delay)
                self._down.pop(name, None)
                LOOPS_DOWN.labels(name).set(0)
        finally:
            self._down.pop(name, None)
            LOOPS_DOWN.labels(name).set(0)
