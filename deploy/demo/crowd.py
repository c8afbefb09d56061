"""Simulated experts: each has a known skill profile, a known chance of seeing an item's true
class and the class they mistake it for, a known rating noise, a known speed and a known
honesty (some release hard items unjudged; one may drift harsher partway). They pull work
through ``POST /v1/work:next`` with their own token and submit through the public API,
exactly as the workbench does; what they submitted is kept to check the system against."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.demo.api import Caller, DemoError, Quorum


@dataclass(frozen=True)
class Persona:
    """An expert whose behaviour the demo knows, so it knows what the system should find."""

    expert_id: str
    skills: dict[str, int]
    #: the chance that the expert sees an item's true class
    accuracy: float = 0.92
    #: when wrong about a true class, the class they take it for (else a random other class)
    confusions: dict[str, str] = field(default_factory=dict)
    #: standard deviation of their ratings around the true rating (points)
    rating_sd: float = 0.4
    #: seconds they spend on a unit (scaled down: the demo runs in minutes)
    think_s: float = 0.01
    #: the share of hard items they release unjudged
    dodges: float = 0.0
    #: after this many units their ratings drop by ``harsher_by`` points
    harsher_after: int | None = None
    harsher_by: int = 0
    #: adjudicates: holds ``role.adjudicator``
    adjudicator: bool = False


@dataclass(frozen=True)
class Truth:
    """What an item really is, known to the demo only."""

    external_id: str
    classes: tuple[str, ...] = ()
    ratings: dict[str, int] = field(default_factory=dict)
    hard: bool = False
    gold: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submitted:
    expert_id: str
    item_id: str
    kind: str
    answers: dict[str, Any]
    gold: bool


#: answers of ``persona`` to ``unit`` (whose truth is given) as their ``n``-th unit (an
#: expert who dodges releases a hard item before answering)
Answerer = Callable[[Persona, dict[str, Any], Truth, int, random.Random], dict[str, Any]]
#: what an expert does with a unit before submitting their answers (write guideline feedback,
#: see the form refuse a draft); the answers to submit
BeforeSubmit = Callable[[Persona, dict[str, Any], Truth, dict[str, Any]], Awaitable[dict[str, Any]]]


def media_uri(content: dict[str, Any]) -> str:
    """The first media URI of a unit's content: the key the demo's truths are filed under
    (a gold copy carries its gold item's media, so it finds the gold truth)."""
    if content.get("media"):
        return str(content["media"]["uri"])
    return str(content["parts"][0]["media"]["uri"])


def perceive(persona: Persona, true_class: str, classes: list[str], rng: random.Random) -> str:
    """The class the expert sees: the true one with their accuracy, else their confusion."""
    if rng.random() < persona.accuracy:
        return true_class
    mistaken = persona.confusions.get(true_class)
    if mistaken is not None:
        return mistaken
    others = [c for c in classes if c != true_class]
    return rng.choice(others) if others else true_class


def rate(persona: Persona, true_points: int, n: int, rng: random.Random, low: int = 1) -> int:
    """A rating around the true one, harsher once the expert has drifted."""
    points = true_points + rng.gauss(0.0, persona.rating_sd)
    if persona.harsher_after is not None and n >= persona.harsher_after:
        points -= persona.harsher_by
    return max(low, min(5, round(points)))


class Crowd:
    """The experts of one program at work until the program says it is done."""

    def __init__(
        self,
        api: Quorum,
        personas: list[Persona],
        truths: dict[str, Truth],
        answer: Answerer,
        *,
        seed: int,
        on_submit: Callable[[Submitted], None] = lambda _: None,
        before_submit: BeforeSubmit | None = None,
    ) -> None:
        self.api = api
        self.personas = personas
        self.truths = truths
        self.answer = answer
        self.seed = seed
        self.on_submit = on_submit
        self.before_submit = before_submit
        self.submitted: list[Submitted] = []
        self.released: list[tuple[str, str]] = []
        #: (expert, item) of units taken back before their judgment landed (benched, paused)
        self.withdrawn: list[tuple[str, str]] = []
        self.units: dict[str, int] = {p.expert_id: 0 for p in personas}
        self._stop = asyncio.Event()

    async def work_until(
        self,
        done: Callable[[], Awaitable[bool]],
        *,
        timeout: float,
        what: str,
        stalled: Callable[[], Awaitable[str]] | None = None,
        stall_s: float = 45.0,
    ) -> None:
        """Every expert works until ``done()`` holds (checked twice a second). When nobody
        has submitted for ``stall_s`` seconds, ``stalled()`` says why and the run stops."""
        workers = [
            asyncio.create_task(self._work(p, random.Random(f"{self.seed}/{p.expert_id}")))
            for p in self.personas
        ]
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            seen, moved = len(self.submitted), loop.time()
            while not await done():
                for worker in workers:
                    if worker.done() and worker.exception() is not None:
                        raise worker.exception()  # type: ignore[misc]
                if len(self.submitted) != seen:
                    seen, moved = len(self.submitted), loop.time()
                elif stalled is not None and loop.time() - moved > stall_s:
                    raise DemoError(
                        f"no judgment for {stall_s:.0f} s waiting for {what}: {await stalled()}"
                    )
                if loop.time() > deadline:
                    raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
                await asyncio.sleep(0.5)
        finally:
            # each expert finishes the unit in hand (a unit left leased would wait for its
            # lease to expire); one still busy after 30 s is stopped where it is
            self._stop.set()
            _, busy = await asyncio.wait(workers, timeout=30)
            for worker in busy:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self._stop.clear()

    async def _work(self, persona: Persona, rng: random.Random) -> None:
        me: Caller = {"role": "expert", "subject": persona.expert_id}
        while not self._stop.is_set():
            handed = await self.api.call(
                "assignment", "POST", "/v1/work:next", expect=(200, 204), **me
            )
            if handed.status_code == 204:
                await asyncio.sleep(0.25)
                continue
            unit = handed.json()
            truth = self.truths.get(media_uri(unit["content"]))
            if truth is None:
                raise DemoError(f"{persona.expert_id} was handed media the demo did not make")
            n = self.units[persona.expert_id]
            dodged = (
                persona.dodges > 0
                and truth.hard
                and unit.get("kind") != "adjudication"
                and rng.random() < persona.dodges
            )
            answers = None if dodged else self.answer(persona, unit, truth, n, rng)
            if persona.think_s:
                await asyncio.sleep(persona.think_s * rng.uniform(0.5, 1.5))
            if answers is None:
                await self.api.call(
                    "assignment",
                    "POST",
                    f"/v1/me/leases/{unit['lease_id']}/release",
                    json={"reason": "skip", "note": "not sure about this one"},
                    expect=(200, 409),  # 409: taken back meanwhile (benched, paused)
                    **me,
                )
                self.released.append((persona.expert_id, unit["item_id"]))
                continue
            if self.before_submit is not None:
                answers = await self.before_submit(persona, unit, truth, answers)
            await self.submit(persona.expert_id, unit, answers, gold=truth.gold)
            self.units[persona.expert_id] = n + 1

    async def submit(
        self, expert_id: str, unit: dict[str, Any], answers: dict[str, Any], *, gold: bool
    ) -> None:
        body = {
            "submission_id": f"sim-{uuid.uuid4().hex[:16]}",
            "lease_id": unit["lease_id"],
            "answers": answers,
        }
        answered = await self.api.call(  # 503 while assignment has not consumed a taxonomy version
            "assignment",
            "POST",
            f"/v1/units/{unit['unit_id']}/judgments",
            role="expert",
            subject=expert_id,
            json=body,
            retry_on=(503,),
            expect=(200, 201, 409),
        )
        if answered.status_code == 409:
            # the unit was taken back meanwhile (the expert benched by their gold record, the
            # project paused): what a real expert's workbench would say; anything else is wrong
            withdrawn = [
                e
                for e in answered.json().get("errors") or []
                if str(e.get("message", "")).startswith("withdrawn:")
            ]
            if not withdrawn:
                raise DemoError(f"{expert_id}'s judgment was refused: {answered.text[:300]}")
            self.withdrawn.append((expert_id, unit["item_id"]))
            return
        kind = unit.get("kind", "review")
        record = Submitted(expert_id, unit["item_id"], kind, answers, gold)
        self.submitted.append(record)
        self.on_submit(record)
