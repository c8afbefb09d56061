"""Handout and leases on the real servers: who gets what, exactly as often as the policy
says, and what a lease does when it runs out."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime
from typing import Any

import pytest

from services.assignment.app import create_app
from services.assignment.handlers.handout import Handout
from services.assignment.settings import AssignmentSettings
from shared.contracts.work import WORK, WORK_EXPIRED, WORK_LEASED, WORK_RELEASED
from shared.events.codec import EventRegistry, decode
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import auth, publish, running

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([WORK_LEASED, WORK_RELEASED, WORK_EXPIRED])


def work_events(records: list[Any], item_ids: set[str]) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.data.item_id in item_ids]


async def test_a_vetted_expert_on_the_roster_gets_a_unit_with_its_form_and_content(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    assert handed is not None
    assert (handed["item_id"], handed["project_id"], handed["unit_id"]) == (
        item_id,
        project_id,
        f"{item_id}~0",
    )
    assert handed["rubric"]["version"] == 1
    assert len(handed["form"]["dimensions"]) == 6
    # a review unit says so, and nothing of gold (a gold unit is handed out as a review one)
    assert handed["kind"] == "review" and handed["judgments"] is None
    assert "gold" not in str(sorted(handed))
    item = await world.known(assignment, item_id)
    [unit] = item["units"]
    assert (unit["state"], unit["expert_id"], unit["lease_id"]) == (
        "leased",
        expert_id,
        handed["lease_id"],
    )
    assert item["open"] == 0 and item["judges"] == [expert_id]


async def no_work_reason(a: AssignmentUnderTest, expert_id: str) -> str:
    """Why the expert gets nothing now: the reason header of a 204 (with its Retry-After)."""
    response = await a.client.post("/v1/work:next", headers=auth("expert", subject=expert_id))
    assert response.status_code == 204, response.text
    assert response.headers["Retry-After"].isdigit() and response.content == b""
    return response.headers["Quorum-No-Work-Reason"]


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        ("not vetted", "not_vetted"),
        ("suspended", "not_vetted"),
        ("not on the roster", "not_on_roster"),
        ("skill below the level", "missing_skill"),
        ("paused project", "no_active_project"),
    ],
)
async def test_an_ineligible_expert_gets_204_saying_why_and_the_unit_stays_open(
    assignment: AssignmentUnderTest, who: str, reason: str
) -> None:
    required = {"task.image_edit_eval": 3}
    status = "paused" if who == "paused project" else "active"
    project_id = await world.project(assignment, required=required, status=status)
    skills = {"task.image_edit_eval": 2 if who == "skill below the level" else 3}
    state = {"not vetted": "vetting", "suspended": "suspended"}.get(who, "vetted")
    rostered = () if who == "not on the roster" else (project_id,)
    expert_id = await world.expert(assignment, projects=rostered, state=state, skills=skills)
    [item_id] = await world.items(assignment, project_id, 1)
    assert await no_work_reason(assignment, expert_id) == reason
    assert (await world.known(assignment, item_id))["open"] == 1


async def test_an_expert_at_capacity_gets_204_until_a_lease_is_released(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    await world.items(assignment, project_id, 3)
    first = await next_unit(assignment, expert_id)
    second = await next_unit(assignment, expert_id)
    assert first and second and first["unit_id"] != second["unit_id"]
    assert await no_work_reason(assignment, expert_id) == "at_capacity"
    me = auth("expert", subject=expert_id)
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{first['lease_id']}/release", json={"reason": "skip"}, headers=me
        )
    )
    third = await next_unit(assignment, expert_id)
    assert third is not None and third["item_id"] not in {first["item_id"], second["item_id"]}


async def test_an_expert_gets_back_the_units_they_hold_as_handed_out_and_only_theirs(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    other_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 3)
    first = await next_unit(assignment, expert_id)
    second = await next_unit(assignment, expert_id)
    theirs = await next_unit(assignment, other_id)
    assert first and second and theirs
    me = auth("expert", subject=expert_id)
    held = (await ok(await assignment.client.get("/v1/me/units", headers=me)))["units"]
    # a reloaded workbench resumes both, each exactly as handed out, soonest deadline first
    assert [h["lease_id"] for h in held] == [first["lease_id"], second["lease_id"]]
    # the same unit, form and content (its media links are signed afresh)
    assert {**held[0], "media_links": []} == {**first, "media_links": []}
    assert held[1]["form"] == second["form"]
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{first['lease_id']}/release", json={"reason": "skip"}, headers=me
        )
    )
    held = (await ok(await assignment.client.get("/v1/me/units", headers=me)))["units"]
    assert [h["unit_id"] for h in held] == [second["unit_id"]]
    for role in ("ops", "client", "admin"):
        refused = await assignment.client.get("/v1/me/units", headers=auth(role))
        assert refused.status_code == 403, role


async def test_an_expert_who_had_every_unit_open_to_them_is_told_nothing_is_left(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    assert await next_unit(assignment, expert_id) is not None
    assert await no_work_reason(assignment, expert_id) == "nothing_left"


async def test_nothing_left_says_the_same_with_gold_in_the_project_or_without(
    assignment: AssignmentUnderTest,
) -> None:
    """Neither the status, the headers nor the body of an empty handout tells a project with
    gold (served or not due) from one without."""
    answers, handed = [], []
    for gold_rate in (1.0, 0.0):
        project_id = await world.project(assignment, gold_rate=gold_rate)
        expert_id = await world.expert(assignment, projects=(project_id,), max_leases=5)
        if gold_rate:
            await world.gold(assignment, project_id, world.edit_answers())
        await world.items(assignment, project_id, 1)
        units = 0
        while await next_unit(assignment, expert_id) is not None:
            units += 1
        handed.append(units)
        me = auth("expert", subject=expert_id)
        response = await assignment.client.post("/v1/work:next", headers=me)
        answers.append(
            (
                response.status_code,
                response.content,
                {k: v for k, v in response.headers.items() if k not in ("date", "x-request-id")},
            )
        )
    assert handed == [2, 1]  # the gold copy, then the item; the item alone
    with_gold, without = answers
    assert with_gold == without
    assert with_gold[2]["quorum-no-work-reason"] == "nothing_left"


async def test_overlap_k_means_exactly_k_distinct_experts(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment, overlap={"k": 3})
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(5)]
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await asyncio.gather(*(next_unit(assignment, e) for e in experts))
    got = [(e, h) for e, h in zip(experts, handed, strict=True) if h is not None]
    assert len(got) == 3
    assert sorted(h["unit_id"] for _, h in got) == [f"{item_id}~{n}" for n in range(3)]
    item = await world.known(assignment, item_id)
    assert sorted(item["judges"]) == sorted(e for e, _ in got)
    # the same expert never gets a second unit of the item
    again = [await next_unit(assignment, e) for e, _ in got]
    assert again == [None, None, None]


async def test_an_item_never_reaches_an_expert_twice_even_after_they_release_it(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    me = auth("expert", subject=expert_id)
    released = await assignment.client.post(
        f"/v1/me/leases/{handed['lease_id']}/release",
        json={"reason": "cannot_judge", "note": "blurry"},
        headers=me,
    )
    await ok(released)
    assert await next_unit(assignment, expert_id) is None
    item = await world.known(assignment, item_id)
    assert item["open"] == 2 and item["judges"] == [expert_id]


async def test_units_of_equal_priority_go_oldest_first(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=5)
    ids = await world.items(assignment, project_id, 4)  # registered one after the other
    handed = [await next_unit(assignment, expert_id) for _ in ids]
    assert [h["item_id"] for h in handed] == ids


async def test_an_expert_asking_again_never_gets_another_unit_of_the_same_item(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 3})
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=5)
    [item_id] = await world.items(assignment, project_id, 1)
    first = await next_unit(assignment, expert_id)
    assert first["item_id"] == item_id
    assert await next_unit(assignment, expert_id) is None
    assert (await world.known(assignment, item_id))["open"] == 2


async def test_a_replayed_registration_creates_no_new_unit(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    event = world.registered(project_id)
    await publish(assignment.settings, event)
    await eventually(lambda: world.known(assignment, event.data.item_id))
    before = await world.known(assignment, event.data.item_id)
    replay = world.registered(project_id, item_id=event.data.item_id)  # a new event id
    marker = world.registered(project_id)
    await publish(assignment.settings, replay, marker)
    await eventually(lambda: world.known(assignment, marker.data.item_id))
    assert await world.known(assignment, event.data.item_id) == before


async def test_a_lease_expires_without_any_call_and_a_late_heartbeat_or_judgment_is_told_so(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=5, overlap={"k": 1})
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    topic = assignment.settings.topic_prefix + WORK.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic) as reader:
        handed = await next_unit(assignment, expert_id)
        records = await reader.until(
            lambda got: any(e.type == WORK_EXPIRED.type for e in work_events(got, {item_id})),
            timeout=30,
        )
    events = work_events(records, {item_id})
    assert [e.type for e in events] == [WORK_LEASED.type, WORK_EXPIRED.type]
    expired = events[1]
    assert (expired.data.unit_id, expired.data.expert_id) == (handed["unit_id"], expert_id)
    assert expired.time >= expired.data.lease_expires_at
    # returned within seconds of the deadline (the sweep runs every second)
    assert (expired.time - expired.data.lease_expires_at).total_seconds() < 5
    item = await world.known(assignment, item_id)
    assert item["open"] == 1 and item["units"][0]["state"] == "open"
    me = auth("expert", subject=expert_id)
    late = await assignment.client.post(f"/v1/me/leases/{handed['lease_id']}/heartbeat", headers=me)
    assert late.status_code == 409
    assert "not a live lease of yours" in late.json()["detail"]
    judged = await world.submit(assignment, expert_id, handed, world.edit_answers())
    assert judged.status_code == 409
    assert "no live lease" in judged.json()["detail"] and "expires" in judged.json()["detail"]
    assert (await world.known(assignment, item_id))["units"][0]["judgment"] is None
    leases = await ok(
        await assignment.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    assert leases == {"items": [], "next_cursor": None}


async def test_a_heartbeat_moves_the_deadline_of_a_live_lease(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    me = auth("expert", subject=expert_id)
    beat = await ok(
        await assignment.client.post(f"/v1/me/leases/{handed['lease_id']}/heartbeat", headers=me)
    )
    assert beat["expires_at"] > handed["expires_at"]
    unit = (await world.known(assignment, item_id))["units"][0]
    assert unit["expires_at"].replace("Z", "+00:00")[:19] == beat["expires_at"][:19]


async def test_ops_list_live_leases_and_force_release_one(assignment: AssignmentUnderTest) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    topic = assignment.settings.topic_prefix + WORK.name
    async with TopicReader(assignment.settings.kafka_bootstrap_servers, topic) as reader:
        handed = await next_unit(assignment, expert_id)
        listed = await ok(
            await assignment.client.get(
                "/v1/leases", params={"project_id": project_id}, headers=OPS
            )
        )
        assert [
            (lease["lease_id"], lease["expert_id"], lease["unit_id"]) for lease in listed["items"]
        ] == [(handed["lease_id"], expert_id, handed["unit_id"])]
        url = f"/v1/experts/{expert_id}/leases/{handed['lease_id']}/release"
        await ok(
            await assignment.client.post(url, json={"reason": "needs_another_skill"}, headers=OPS)
        )
        records = await reader.until(lambda got: len(work_events(got, {item_id})) >= 2)
    released = work_events(records, {item_id})[1]
    assert released.type == WORK_RELEASED.type
    assert released.data.reason == "released by ops-ana: needs_another_skill"
    assert (await world.known(assignment, item_id))["open"] == 1
    again = await assignment.client.post(url, json={"reason": "skip"}, headers=OPS)
    assert again.status_code == 404  # ops are told plainly: the expert holds no such lease
    assert [e["field"] for e in again.json()["errors"]] == ["path.lease_id"]


async def test_ops_page_through_live_leases_soonest_deadline_first(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, lease_ttl_s=600)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=3)
    await world.items(assignment, project_id, 3)
    handed = [await next_unit(assignment, expert_id) for _ in range(3)]
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"project_id": project_id, "limit": 2}
    while True:
        page = await ok(await assignment.client.get("/v1/leases", params=params, headers=OPS))
        seen += page["items"]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(lease["lease_id"] for lease in seen) == sorted(h["lease_id"] for h in handed)
    # compared as times: an ISO text without fractional seconds sorts after one with them
    deadlines = [(datetime.fromisoformat(lease["expires_at"]), lease["lease_id"]) for lease in seen]
    assert deadlines == sorted(deadlines)
    bad = await assignment.client.get("/v1/leases", params={"cursor": "bm90LW91cnM"}, headers=OPS)
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "query.cursor", "message": "invalid cursor"}]


async def test_an_expert_cannot_touch_another_experts_lease(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    holder = await world.expert(assignment, projects=(project_id,))
    other = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, holder)
    them = auth("expert", subject=other)
    for action in ("heartbeat", "release"):
        response = await assignment.client.post(
            f"/v1/me/leases/{handed['lease_id']}/{action}", json={"reason": "skip"}, headers=them
        )
        assert response.status_code == 409
    listed = await ok(
        await assignment.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    assert [lease["lease_id"] for lease in listed["items"]] == [handed["lease_id"]]


async def test_concurrent_experts_never_share_a_unit_nor_see_an_item_twice(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment, overlap={"k": 2})
    experts = [
        await world.expert(assignment, projects=(project_id,), max_leases=50) for _ in range(12)
    ]
    ids = await world.items(assignment, project_id, 20)

    async def drain(expert_id: str) -> list[Any]:
        got = []
        while (handed := await next_unit(assignment, expert_id)) is not None:
            got.append(handed)
        return got

    per_expert = await asyncio.gather(*(drain(e) for e in experts))
    units = [h["unit_id"] for got in per_expert for h in got]
    assert len(units) == len(set(units)) == 2 * len(ids)
    for got in per_expert:
        assert len({h["item_id"] for h in got}) == len(got)
    per_item = Counter(h["item_id"] for got in per_expert for h in got)
    assert set(per_item.values()) == {2}


async def test_experts_arriving_together_at_an_empty_candidate_list_send_one_read_of_the_pool(
    assignment: AssignmentUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id = await world.project(assignment)
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(10)]
    await world.items(assignment, project_id, 20)
    store = service_of(assignment.app).get(Handout).items
    reads: list[str] = []
    candidates = store.candidates

    async def counted(tenant: str, project: str, limit: int, **kw: Any) -> Any:
        reads.append(project)
        return await candidates(tenant, project, limit, **kw)

    monkeypatch.setattr(store, "candidates", counted)
    handed = await asyncio.gather(*(next_unit(assignment, e) for e in experts))
    assert len({h["unit_id"] for h in handed}) == len(experts)
    assert reads.count(project_id) == 1


async def test_an_old_candidate_list_is_read_again_while_its_requests_are_served_from_it(
    assignment: AssignmentUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id = await world.project(assignment)
    experts = [await world.expert(assignment, projects=(project_id,)) for _ in range(3)]
    ids = await world.items(assignment, project_id, 5)
    handout = service_of(assignment.app).get(Handout)
    first = await next_unit(assignment, experts[0])  # an empty list: read, and waited for
    monkeypatch.setattr(handout, "max_age_s", 0.0)  # from now on the list is always old
    store = handout.items
    candidates = store.candidates
    reads: list[str] = []
    read: list[list[str]] = []
    release = asyncio.Event()

    async def held_back(tenant: str, project: str, limit: int, **kw: Any) -> Any:
        reads.append(project)
        await release.wait()
        found = await candidates(tenant, project, limit, **kw)
        read.append([c.item_id for c in found])
        return found

    monkeypatch.setattr(store, "candidates", held_back)
    # both served from the old list while its read is held back; one read for both
    second = await asyncio.wait_for(next_unit(assignment, experts[1]), timeout=10)
    third = await asyncio.wait_for(next_unit(assignment, experts[2]), timeout=10)
    assert [first["item_id"], second["item_id"], third["item_id"]] == ids[:3]
    assert reads == [project_id]
    release.set()

    async def read_again() -> bool:
        return bool(read)

    await eventually(read_again)
    assert read == [ids[3:]]


@pytest.mark.parametrize(("experts", "items", "k"), [(10, 20, 1), (3, 1, 3)])
async def test_experts_of_one_replica_asking_together_claim_distinct_units_and_lose_no_claim(
    assignment: AssignmentUnderTest,
    monkeypatch: pytest.MonkeyPatch,
    experts: int,
    items: int,
    k: int,
) -> None:
    project_id = await world.project(assignment, overlap={"k": k})
    crowd = [await world.expert(assignment, projects=(project_id,)) for _ in range(experts)]
    await world.items(assignment, project_id, items)
    store = service_of(assignment.app).get(Handout).items
    claims: list[Any] = []
    claim = store.claim

    async def counted(*args: Any, **kw: Any) -> Any:
        claims.append(await claim(*args, **kw))
        return claims[-1]

    monkeypatch.setattr(store, "claim", counted)
    handed = await asyncio.gather(*(next_unit(assignment, e) for e in crowd))
    assert len({h["unit_id"] for h in handed}) == experts
    assert len(claims) == experts and None not in claims, "a claim lost to the same replica"


async def test_an_expert_who_had_every_warm_candidate_still_gets_the_items_beyond(
    make_settings: Any,
) -> None:
    settings = make_settings(AssignmentSettings, handout_candidates=2)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        small = AssignmentUnderTest(client, settings, app)
        project_id = await world.project(small, overlap={"k": 2})
        expert_id = await world.expert(small, projects=(project_id,), max_leases=10)
        ids = await world.items(small, project_id, 5)
        handed = [await next_unit(small, expert_id) for _ in ids]
        assert [h["item_id"] for h in handed] == ids
        assert await next_unit(small, expert_id) is None


async def test_items_with_a_due_date_are_handed_out_before_older_items_without_one(
    make_settings: Any,
) -> None:
    """The store's candidate order and the handout's pick agree (``eligibility.priority_key``):
    a due date first, items without one last, even when only the undated ones would fit the
    warm candidates by age."""
    settings = make_settings(AssignmentSettings, handout_candidates=2)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        small = AssignmentUnderTest(client, settings, app)
        project_id = await world.project(small)
        expert_id = await world.expert(small, projects=(project_id,), max_leases=10)
        undated = await world.items(small, project_id, 3)
        due = {"due_at": "2030-01-01T00:00:00Z"}
        await ok(await client.patch(f"/v1/projects/{project_id}", json=due, headers=OPS))
        [dated] = await world.items(small, project_id, 1)
        handed = [(await next_unit(small, expert_id))["item_id"] for _ in range(4)]
        assert handed == [dated, *undated]


async def test_items_registered_in_the_same_millisecond_are_handed_out_in_item_id_order(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=10)
    ids = await world.items(assignment, project_id, 4, apart_ms=0)
    handed = [await next_unit(assignment, expert_id) for _ in ids]
    assert [h["item_id"] for h in handed] == sorted(ids)


async def test_an_expert_suspended_or_taken_off_the_roster_stops_getting_work_within_a_second(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    suspended = await world.expert(assignment, projects=(project_id,), max_leases=10)
    removed = await world.expert(assignment, projects=(project_id,), max_leases=10)
    await world.items(assignment, project_id, 6)
    assert await next_unit(assignment, suspended) and await next_unit(assignment, removed)
    move = {"state": "suspended", "reason": "quality"}
    await ok(await assignment.client.post(f"/v1/experts/{suspended}/state", json=move, headers=OPS))
    await ok(
        await assignment.client.delete(
            f"/v1/projects/{project_id}/invitations/{removed}", headers=OPS
        )
    )
    for expert_id in (suspended, removed):
        # the replica reuses a profile for at most handout_profile_ttl_s (1 s)
        async def stopped(e: str = expert_id) -> bool:
            return await next_unit(assignment, e) is None

        await eventually(stopped, timeout=5)
    open_units = await world.known(assignment, (await world.items(assignment, project_id, 1))[0])
    assert open_units["open"] == 1


async def test_a_client_may_prefetch_the_next_unit_while_it_works_on_the_current_one(
    assignment: AssignmentUnderTest,
) -> None:
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,), max_leases=2)
    ids = await world.items(assignment, project_id, 3)
    current = await next_unit(assignment, expert_id)
    prefetched = await next_unit(assignment, expert_id)
    assert [current["item_id"], prefetched["item_id"]] == ids[:2]
    assert await next_unit(assignment, expert_id) is None  # two held: the capacity
    await ok(await world.submit(assignment, expert_id, current, world.edit_answers()), 201)
    after = await next_unit(assignment, expert_id)  # the workbench moves on to the prefetched
    assert after["item_id"] == ids[2]  # unit and fetches the next one behind it
    listed = await ok(
        await assignment.client.get("/v1/leases", params={"project_id": project_id}, headers=OPS)
    )
    assert sorted(lease["lease_id"] for lease in listed["items"]) == sorted(
        [prefetched["lease_id"], after["lease_id"]]
    )
