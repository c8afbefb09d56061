"""Live agreement: who is watching which project, told when a judgment of it is applied
(docs/metrics.md "Live stream").

The notification is in-process. :class:`Changes` keeps, per (tenant, project), the
subscriptions of this replica; the ``judgment.submitted`` handler calls :meth:`Changes.notify`
after its store writes, so a subscriber re-reads figures that include the judgment. With
several replicas, each consumes some partitions of ``judgment.submitted`` and notifies its own
subscribers only of the judgments it consumed: a dashboard connected to replica A misses an
update for a judgment replica B applied until A applies one of that project. The next step
is a per-replica poll of a per-project change counter kept in MongoDB (each replica wakes its
subscribers when the counter moved), or keying ``judgment.submitted`` so that a project's
judgments reach one replica and routing a project's streams to it.

A subscription holds one change flag, not a queue: however many judgments arrive while its
client is slow, it is woken once and reads the latest figures, never a backlog."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from services.metrics.handlers.agreement import Agreement

Key = tuple[str, str]


class Subscription:
    """One watcher of a project: a change flag and the sequence of the latest change."""

    def __init__(self, key: Key, sequence: int) -> None:
        self.key = key
        #: the replica's sequence of the latest change of the project this subscriber knows of
        self.sequence = sequence
        self._changed = asyncio.Event()

    def _signal(self, sequence: int) -> None:
        self.sequence = sequence
        self._changed.set()

    async def changed(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a change; True when one happened (the flag is
        left set until :meth:`take`)."""
        try:
            await asyncio.wait_for(self._changed.wait(), timeout)
        except TimeoutError:
            return False
        return True

    def take(self) -> int:
        """Clear the flag (the changes so far are read next); the sequence they reach."""
        self._changed.clear()
        return self.sequence


class Changes:
    """Per (tenant, project), this replica's subscribers; a replica-wide change sequence (it
    only grows while the process runs: events of one stream carry increasing ids)."""

    def __init__(self) -> None:
        self._subscribers: dict[Key, set[Subscription]] = {}
        self._sequence = 0

    @property
    def sequence(self) -> int:
        return self._sequence

    def notify(self, tenant: str, project_id: str) -> None:
        """A judgment of the project was applied: wake its subscribers (O(subscribers))."""
        self._sequence += 1
        for subscription in self._subscribers.get((tenant, project_id), ()):
            subscription._signal(self._sequence)

    @contextmanager
    def subscription(self, tenant: str, project_id: str) -> Iterator[Subscription]:
        """A subscription for the duration of the block (ended however the block ends)."""
        key = (tenant, project_id)
        subscription = Subscription(key, self._sequence)
        self._subscribers.setdefault(key, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscribers = self._subscribers.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscribers[key]

    def watchers(self, tenant: str, project_id: str) -> int:
        return len(self._subscribers.get((tenant, project_id), ()))


@dataclass(frozen=True)
class StreamTiming:
    #: a comment after this many seconds without an event, so proxies keep the stream open
    heartbeat_seconds: float = 15.0
    #: at most one event per subscriber in this many seconds: a burst gives one event
    coalesce_seconds: float = 0.25
    #: the stream ends after this long; the client reconnects (and presents a fresh token)
    max_seconds: float = 3600.0
    #: the reconnection delay told to the client (``retry:``), in milliseconds
    retry_ms: int = 2000


@dataclass(frozen=True)
class LiveAgreement:
    """What the agreement stream needs: the figures, the changes, the timing."""

    agreement: Agreement
    changes: Changes
    timing: StreamTiming
