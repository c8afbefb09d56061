"""The throughput route on the real servers: the lifecycle of 50 work units and their items
(registered, created, leased, released, expired, judged, resolved, all within the last hour)
published as ingest and assignment publish them; every figure equals a plain recomputation
from the seeded plan; a replay under new event ids, or the events in reverse order, change
nothing; the batch path of ``judgment.submitted`` records judgments; every denial."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
import pytest_asyncio

from services.metrics.handlers.throughput import Throughput
from services.metrics.stores.throughput import UNIT_LIFECYCLE
from shared.contracts.media import MEDIA, MEDIA_REGISTERED, MediaRegisteredV1
from shared.contracts.vocabulary import Modality
from shared.contracts.work import (
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    PROJECT_CHANGED,
    WORK,
    WORK_CREATED,
    WORK_EXPIRED,
    WORK_LEASED,
    WORK_RELEASED,
    ItemResolvedV1,
    JudgmentSubmittedV1,
    ProjectChangedV1,
    ProjectStatus,
    Resolution,
    Verdict,
    WorkKind,
    WorkUnitEventV1,
)
from shared.events.envelope import Event, make_event
from shared.http.service import service_of
from shared.kafka.consumer import and_then
from tests.kafka_helpers import caught_up, eventually
from tests.metrics.conftest import MetricsUnderTest
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

OPS = auth("ops")
PROJECT = "p-throughput"
REVERSED = "p-throughput-reversed"
UNITS = 50
EXPERTS = ("e-1", "e-2", "e-3", "e-4")
NOW = datetime.now(UTC).replace(microsecond=0)
BASE = NOW - timedelta(minutes=40)  # the last event is about 23 minutes later
SERIES = ("registered", "queued", "leased", "submitted", "resolved")


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


@dataclass
class Unit:
    """One unit's (and its item's) planned lifecycle, and how each of its leases ends."""

    n: int
    kind: WorkKind
    registered: datetime
    created: datetime
    leases: list[datetime] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)  # per lease: submitted, released, ...
    releases: list[datetime] = field(default_factory=list)
    expiries: list[datetime] = field(default_factory=list)
    judgment: tuple[str, datetime, float] | None = None  # expert, submitted_at, time spent
    resolved: datetime | None = None


def planned(n: int) -> Unit:
    """n % 10 == 8: created only (queued); == 4: leased, expired, not leased again (queued);
    == 9: leased now; n % 5 == 0: expired then leased again; n % 7 == 3: released then leased
    again; the others are judged; == 6: judged, not resolved yet."""
    registered = BASE + s(20 * n)
    kind = (
        WorkKind.gold if n % 6 == 0 else WorkKind.adjudication if n % 10 == 7 else WorkKind.review
    )
    u = Unit(n, kind, registered, registered + s(5))
    if n % 10 == 8:
        return u
    first = u.created + s(30 + n)
    u.leases.append(first)
    if n % 10 == 4:
        u.expiries.append(first + s(60))
        u.ends.append("expired")
        return u
    if n % 5 == 0:
        u.expiries.append(first + s(60))
        u.ends.append("expired")
        u.leases.append(first + s(70))
    elif n % 7 == 3:
        u.releases.append(first + s(40))
        u.ends.append("released")
        u.leases.append(first + s(50))
    if n % 10 == 9:
        u.ends.append("open")
        return u
    submitted = u.leases[-1] + s(20 + 3 * n)
    u.judgment = (EXPERTS[n % 4], submitted, 15 + (7 * n) % 40 + 0.5)
    u.ends.append("submitted")
    if n % 10 != 6:
        u.resolved = submitted + s(5 + n)
    return u


PLAN = [planned(n) for n in range(UNITS)]
ORPHAN_RESOLVED = NOW - timedelta(minutes=5)  # an item resolved whose registration is unseen


def item_id(project: str, n: int | str) -> str:
    return f"{project}-item-{n}"


def events(project: str, *, tenant: str = "acme") -> list[Event[Any]]:
    """Registrations, then the work units' events, then the judgments (consecutive, so the
    consumer takes them in batches), then the resolutions."""
    registrations: list[Event[Any]] = []
    work: list[Event[Any]] = []
    judgments: list[Event[Any]] = []
    resolutions: list[Event[Any]] = []
    for u in PLAN:
        item, unit = item_id(project, u.n), f"{project}-unit-{u.n}"
        registrations.append(
            make_event(
                MEDIA_REGISTERED,
                MediaRegisteredV1(
                    item_id=item,
                    tenant=tenant,
                    external_id=f"ext-{u.n}",
                    project_id=project,
                    modality=Modality.image,
                    registered_at=u.registered,
                ),
                source="/quorum/ingest",
                tenant=tenant,
            )
        )

        def unit_event(spec: Any, when: datetime, unit: str = unit, u: Unit = u) -> Event[Any]:
            data = WorkUnitEventV1(
                unit_id=unit,
                item_id=item_id(project, u.n),
                project_id=project,
                tenant=tenant,
                kind=u.kind,
                at=when,
            )
            return make_event(spec, data, source="/quorum/assignment", tenant=tenant)

        lifecycle = [
            (u.created, WORK_CREATED),
            *((at, WORK_LEASED) for at in u.leases),
            *((at, WORK_RELEASED) for at in u.releases),
            *((at, WORK_EXPIRED) for at in u.expiries),
        ]
        work += [unit_event(spec, at) for at, spec in sorted(lifecycle, key=lambda e: e[0])]
        if u.judgment is not None:
            expert, submitted, spent = u.judgment
            judgments.append(
                make_event(
                    JUDGMENT_SUBMITTED,
                    JudgmentSubmittedV1(
                        judgment_id=f"{project}-j-{u.n}",
                        unit_id=unit,
                        item_id=item,
                        project_id=project,
                        tenant=tenant,
                        expert_id=expert,
                        kind=u.kind,
                        verdict=Verdict.accept,
                        time_spent_s=spent,
                        submitted_at=submitted,
                    ),
                    source="/quorum/assignment",
                    tenant=tenant,
                )
            )
        if u.resolved is not None:
            resolutions.append(resolution(project, item, u.resolved, tenant=tenant))
    resolutions.append(resolution(project, item_id(project, "orphan"), ORPHAN_RESOLVED))
    return [*registrations, *work, *judgments, *resolutions]


def resolution(
    project: str, item: str, at: datetime, *, tenant: str = "acme"
) -> Event[ItemResolvedV1]:
    data = ItemResolvedV1(
        item_id=item,
        project_id=project,
        tenant=tenant,
        method=Resolution.single,
        judgment_ids=[f"{item}-j"],
        resolved_at=at,
        verdict=Verdict.accept,
    )
    return make_event(ITEM_RESOLVED, data, source="/quorum/assignment", tenant=tenant)


async def throughput(
    client: httpx.AsyncClient,
    project_id: str = PROJECT,
    headers: dict[str, str] = OPS,
    **params: Any,
) -> httpx.Response:
    return await client.get(f"/v1/projects/{project_id}/throughput", params=params, headers=headers)


async def applied(metrics: MetricsUnderTest) -> None:
    """Every event published so far was applied."""
    st = metrics.settings

    async def done() -> bool:
        return all(
            [
                await caught_up(st.kafka_bootstrap_servers, st.group_id, st.topic_prefix + t.name)
                for t in (MEDIA, WORK)
            ]
        )

    await eventually(done, timeout=60)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def settled(body: dict[str, Any]) -> dict[str, Any]:
    """The body without the window's bounds, which move with the clock."""
    return {k: v for k, v in body.items() if k not in ("start", "end", "project_id")}


@pytest_asyncio.fixture(scope="module")
async def published(metrics: MetricsUnderTest) -> MetricsUnderTest:
    await publish(metrics.settings, *events(PROJECT))

    async def all_counted() -> bool:
        response = await throughput(metrics.client, window="1h")
        return (
            response.status_code == 200
            and response.json()["totals"]["resolved"] == sum(1 for u in PLAN if u.resolved) + 1
        )

    await eventually(all_counted, timeout=60)
    await applied(metrics)
    return metrics


# -- the plain recomputation ---------------------------------------------------------------


def judged() -> list[tuple[str, datetime, float]]:
    return [u.judgment for u in PLAN if u.judgment is not None]


def expected_series() -> list[dict[str, Any]]:
    counts: dict[str, Counter[datetime]] = {k: Counter() for k in SERIES}

    def minute(t: datetime) -> datetime:
        return t.replace(second=0, microsecond=0)

    for u in PLAN:
        counts["registered"][minute(u.registered)] += 1
        counts["queued"][minute(u.created)] += 1
        counts["leased"].update(minute(t) for t in u.leases)
        if u.resolved:
            counts["resolved"][minute(u.resolved)] += 1
    counts["submitted"].update(minute(t) for _, t, _ in judged())
    counts["resolved"][minute(ORPHAN_RESOLVED)] += 1
    minutes = sorted(set().union(*counts.values()))
    return [{"minute": m, **{k: counts[k][m] for k in SERIES}} for m in minutes]


# -- the figures ---------------------------------------------------------------------------


async def test_the_counts_and_per_minute_series_equal_a_recomputation(
    published: MetricsUnderTest,
) -> None:
    response = await throughput(published.client, window="1h")
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == PROJECT and body["window"] == "1h"
    assert at(body["end"]) - at(body["start"]) == timedelta(hours=1)
    assert body["totals"] == {
        "registered": UNITS,
        "queued": UNITS,
        "leased": sum(len(u.leases) for u in PLAN),
        "submitted": len(judged()),
        "resolved": sum(1 for u in PLAN if u.resolved) + 1,
    }
    series = [{**row, "minute": at(row["minute"])} for row in body["per_minute"]]
    assert series == expected_series()
    # every window holds the last hour's events: the same counts
    for window in ("24h", "7d"):
        other = (await throughput(published.client, window=window)).json()
        assert other["window"] == window
        assert other["totals"] == body["totals"] and other["per_minute"] == body["per_minute"]


async def test_the_default_window_is_24h_and_another_is_refused(
    published: MetricsUnderTest,
) -> None:
    body = (await throughput(published.client)).json()
    assert body["window"] == "24h"
    assert at(body["end"]) - at(body["start"]) == timedelta(hours=24)
    assert (await throughput(published.client, window="2h")).status_code == 422


async def test_queue_depth_is_units_created_neither_submitted_nor_leased_now(
    published: MetricsUnderTest,
) -> None:
    queue = (await throughput(published.client)).json()["queue"]
    queued = [u for u in PLAN if u.n % 10 in (4, 8)]  # never leased, or the lease expired
    leased = [u for u in PLAN if u.n % 10 == 9]
    by_kind: dict[str, list[int]] = {}
    for rows, column in ((queued, 0), (leased, 1)):
        for u in rows:
            by_kind.setdefault(u.kind.value, [0, 0])[column] += 1
    assert queue["queued"] == len(queued) and queue["leased"] == len(leased)
    assert queue["by_kind"] == [
        {"kind": kind, "queued": q, "leased": n} for kind, (q, n) in sorted(by_kind.items())
    ]
    assert at(queue["oldest_queued_at"]) == min(u.created for u in queued)


async def test_the_lease_expiry_rate_is_expired_over_ended_leases(
    published: MetricsUnderTest,
) -> None:
    leases = (await throughput(published.client)).json()["leases"]
    ends = Counter(end for u in PLAN for end in u.ends)
    assert {k: leases[k] for k in ("submitted", "released", "expired", "open")} == {
        k: ends[k] for k in ("submitted", "released", "expired", "open")
    }
    assert leases["leases"] == sum(len(u.leases) for u in PLAN) and leases["replaced"] == 0
    ended = ends["submitted"] + ends["released"] + ends["expired"]
    rate = leases["expiry_rate"]
    assert (rate["successes"], rate["n"]) == (ends["expired"], ended)
    assert rate["value"] == pytest.approx(ends["expired"] / ended)
    low, high = rate["ci"]
    assert low < rate["value"] < high


async def test_time_to_resolution_quantiles_are_within_one_percent_of_numpys(
    published: MetricsUnderTest,
) -> None:
    figure = (await throughput(published.client)).json()["time_to_resolution"]
    durations = [(u.resolved - u.registered).total_seconds() for u in PLAN if u.resolved]
    assert figure["n"] == len(durations) and figure["unregistered"] == 1
    assert figure["relative_accuracy"] == 0.01
    for q, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        exact = float(np.quantile(durations, q, method="lower"))
        assert abs(figure[name] - exact) <= 0.01 * exact, (name, figure[name], exact)
    assert figure["mean"] == pytest.approx(float(np.mean(durations)))
    assert (figure["minimum"], figure["maximum"]) == (min(durations), max(durations))


async def test_time_per_judgment_and_per_expert_throughput(published: MetricsUnderTest) -> None:
    body = (await throughput(published.client, window="1h")).json()
    spent = [t for _, _, t in judged()]
    assert body["judgments"]["n"] == len(spent)
    assert body["judgments"]["median"] == pytest.approx(float(np.median(spent)))
    assert body["judgments"]["mean"] == pytest.approx(float(np.mean(spent)))
    expected = []
    for expert in EXPERTS:
        mine = [t for e, _, t in judged() if e == expert]
        expected.append(
            {
                "expert_id": expert,
                "judgments": len(mine),
                "per_hour": pytest.approx(len(mine) / 1.0),
                "time_spent_s": {
                    "n": len(mine),
                    "median": pytest.approx(float(np.median(mine))),
                    "mean": pytest.approx(float(np.mean(mine))),
                },
            }
        )
    assert body["experts"] == expected
    day = (await throughput(published.client, window="24h")).json()["experts"]
    assert [e["per_hour"] for e in day] == pytest.approx([e["judgments"] / 24 for e in day])


# -- effect once -----------------------------------------------------------------------------


async def test_a_replay_under_new_event_ids_changes_nothing(published: MetricsUnderTest) -> None:
    before = (await throughput(published.client)).json()
    await publish(published.settings, *events(PROJECT))  # the same events, new ids
    await applied(published)
    assert settled((await throughput(published.client)).json()) == settled(before)
    # the unit's document holds each event once
    db = service_of(published.app).runtime.db
    unit = await db[UNIT_LIFECYCLE].find_one({"unit_id": f"{PROJECT}-unit-0"})
    assert unit is not None
    assert len(unit["leases"]) == 2 and len(unit["expiries"]) == 1
    assert len(unit["judgments"]) == 1


async def test_events_in_reverse_order_give_the_same_figures(
    published: MetricsUnderTest,
) -> None:
    await publish(published.settings, *reversed(events(REVERSED)))
    await applied(published)
    forward = (await throughput(published.client)).json()
    backward = (await throughput(published.client, REVERSED)).json()
    assert backward["project_id"] == REVERSED
    assert settled(backward) == settled(forward)


async def test_the_batch_path_of_judgments_records_them(published: MetricsUnderTest) -> None:
    """The batch handler records the judgments the wrapped batch handler took; those it
    left go to the per-event handler (so they are not recorded here)."""
    flow = service_of(published.app).get(Throughput)
    project = "p-throughput-batch"
    judgments = [e for e in events(project) if e.type == JUDGMENT_SUBMITTED.type][:3]

    async def leaves_the_last(batch: Any) -> Any:
        return batch[-1:]

    left = await and_then(leaves_the_last, flow.on_judgments_submitted)(judgments)
    assert [e.id for e in left] == [judgments[-1].id]
    again = await and_then(leaves_the_last, flow.on_judgments_submitted)(judgments)  # idempotent
    assert len(again) == 1
    db = service_of(published.app).runtime.db
    held = {
        j["judgment_id"]
        async for doc in db[UNIT_LIFECYCLE].find({"project_id": project})
        for j in doc["judgments"]
    }
    assert held == {e.data.judgment_id for e in judgments[:2]}


# -- access ---------------------------------------------------------------------------------


async def test_denials(published: MetricsUnderTest) -> None:
    client = published.client
    assert (await throughput(client, headers=auth("admin"))).json()["experts"]
    as_client = await throughput(client, headers=auth("client"))
    assert as_client.status_code == 200
    body = as_client.json()
    assert body["experts"] is None and "e-1" not in as_client.text
    assert body["totals"] == (await throughput(client)).json()["totals"]
    assert (await throughput(client, headers=auth("expert"))).status_code == 403
    assert (await throughput(client, headers={})).status_code == 401
    other = await throughput(client, headers=auth("ops", tenant="globex"))
    assert other.status_code == 404
    assert other.headers["content-type"].startswith("application/problem+json")
    assert (await throughput(client, "p-unknown")).status_code == 404


def project_changed(project: str, revision: int, skills: list[str]) -> Event[Any]:
    data = ProjectChangedV1(
        project_id=project,
        tenant="initech",
        name=project,
        modality=Modality.video,
        required_skills=skills,
        status=ProjectStatus.active,
        revision=revision,
        changed_at=datetime.now(UTC),
    )
    return make_event(PROJECT_CHANGED, data, source="/test", tenant="initech")


async def test_the_tenants_queue_gives_depth_per_project_and_per_required_skill(
    metrics: MetricsUnderTest,
) -> None:
    known, unknown = "p-queue-known", "p-queue-unknown"
    await publish(
        metrics.settings,
        project_changed(known, 2, ["lang.ja", "modality.video"]),
        project_changed(known, 1, ["stale.skill"]),  # an older revision arrives late
        *events(known, tenant="initech"),
        *events(unknown, tenant="initech"),
    )
    queued = sum(1 for u in PLAN if u.n % 10 in (4, 8))
    leased = sum(1 for u in PLAN if u.n % 10 == 9)
    oldest = min(u.created for u in PLAN if u.n % 10 in (4, 8))

    async def settled() -> dict[str, Any] | None:
        response = await metrics.client.get("/v1/queue", headers=auth("ops", tenant="initech"))
        body: dict[str, Any] = response.json()
        rows = {p["project_id"]: p for p in body["projects"]}
        done = len(rows) == 2 and all(
            (r["queued"], r["leased"]) == (queued, leased) for r in rows.values()
        )
        return body if done and len(body["skills"]) == 3 else None

    body = await eventually(settled, timeout=60)
    assert [at(p["oldest_queued_at"]) for p in body["projects"]] == [oldest, oldest]
    assert body["skills"] == [
        {"skill": "(unknown)", "queued": queued, "leased": leased, "projects": 1},
        {"skill": "lang.ja", "queued": queued, "leased": leased, "projects": 1},
        {"skill": "modality.video", "queued": queued, "leased": leased, "projects": 1},
    ]
    # ops of another tenant see nothing of it; clients and experts may not ask
    other = await metrics.client.get("/v1/queue", headers=auth("ops", tenant="globex"))
    assert other.json() == {"projects": [], "skills": []}
    for role in ("client", "expert"):
        response = await metrics.client.get("/v1/queue", headers=auth(role, tenant="initech"))
        assert response.status_code == 403
