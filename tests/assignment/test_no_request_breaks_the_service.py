"""No request can break the service: a value at its documented limit works, one past it is
refused naming the field (never a 500 after part of the work is done), settings that cannot
work together are refused whole, and the lease expiry sweep sets aside a lease it cannot
expire and goes on with the others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.assignment.stores.leases import LEASES, SET_ASIDE
from shared.annotation import rle
from shared.contracts.work import WORK, WORK_EXPIRED, WORK_LEASED, WORK_RELEASED
from shared.events.codec import EventRegistry, decode
from shared.http.service import service_of
from tests.assignment import world
from tests.assignment.conftest import AssignmentUnderTest
from tests.assignment.test_qualification_flow import KEYS, enrolled, qualification_set
from tests.assignment.world import OPS, next_unit, ok
from tests.kafka_helpers import TopicReader, eventually
from tests.service_helpers import auth

pytestmark = pytest.mark.integration

REGISTRY = EventRegistry([WORK_LEASED, WORK_RELEASED, WORK_EXPIRED])
#: the longest subject a token may name (shared.auth.tokens)
LONGEST_SUBJECT = "ops-" + "a" * 252


def work_events(records: list[Any], item_id: str) -> list[Any]:
    events = [decode(r.value, key=r.key, headers=r.headers, registry=REGISTRY) for r in records]
    return [e for e in events if e is not None and e.data.item_id == item_id]


def reader(a: AssignmentUnderTest) -> TopicReader:
    return TopicReader(a.settings.kafka_bootstrap_servers, a.settings.topic_prefix + WORK.name)


async def documented_limit(a: AssignmentUnderTest, schema: str, field: str) -> int:
    """The ``maxLength`` the OpenAPI document gives ``schema``'s ``field``."""
    document = await ok(await a.client.get("/openapi.json"))
    found: int = document["components"]["schemas"][schema]["properties"][field]["maxLength"]
    return found


async def test_a_release_note_at_its_documented_limit_gives_the_unit_back_with_the_whole_note(
    assignment: AssignmentUnderTest,
) -> None:
    note = "n" * await documented_limit(assignment, "ReleaseIn", "note")
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with reader(assignment) as topic:
        handed = await next_unit(assignment, expert_id)
        refused = await assignment.client.post(
            f"/v1/me/leases/{handed['lease_id']}/release",
            json={"reason": "skip", "note": note + "n"},
            headers=auth("expert", subject=expert_id),
        )
        assert refused.status_code == 422
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == ["body.note"]
        unit = (await world.known(assignment, item_id))["units"][0]
        assert (unit["state"], unit["lease_id"]) == ("leased", handed["lease_id"])
        await ok(
            await assignment.client.post(
                f"/v1/me/leases/{handed['lease_id']}/release",
                json={"reason": "needs_another_skill", "note": note},
                headers=auth("expert", subject=expert_id),
            )
        )
        records = await topic.until(lambda got: len(work_events(got, item_id)) >= 2)
    released = work_events(records, item_id)[1]
    assert released.type == WORK_RELEASED.type
    assert released.data.reason == f"needs_another_skill: {note}"
    assert (await world.known(assignment, item_id))["open"] == 1


async def test_ops_force_release_with_the_longest_note_and_subject_publishes_the_whole_reason(
    assignment: AssignmentUnderTest,
) -> None:
    note = "n" * await documented_limit(assignment, "ReleaseIn", "note")
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with reader(assignment) as topic:
        handed = await next_unit(assignment, expert_id)
        await ok(
            await assignment.client.post(
                f"/v1/experts/{expert_id}/leases/{handed['lease_id']}/release",
                json={"reason": "needs_another_skill", "note": note},
                headers=auth("ops", subject=LONGEST_SUBJECT),
            )
        )
        records = await topic.until(lambda got: len(work_events(got, item_id)) >= 2)
    released = work_events(records, item_id)[1]
    assert released.data.reason == f"released by {LONGEST_SUBJECT}: needs_another_skill: {note}"
    assert (await world.known(assignment, item_id))["open"] == 1


async def test_a_set_id_past_its_limit_is_refused_and_a_set_at_it_is_judged_given_back_expired(
    assignment: AssignmentUnderTest,
) -> None:
    limit = await documented_limit(assignment, "QualificationSetIn", "set_id")
    set_id = world.short_id("qs").ljust(limit, "q")
    refused = await assignment.client.post(
        "/v1/qualifications",
        json={
            "set_id": set_id + "q",
            "name": "One character too long",
            "skill": "task.image_edit_eval",
            "level": 3,
            "modality": "image",
            "rubric": {"rubric_id": await world.rubric(assignment), "version": 1},
            "threshold": 0.5,
            "items": [{"media": world.image(set_id[:20]), "key": KEYS[0]}],
        },
        headers=OPS,
    )
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["body.set_id"]
    await qualification_set(assignment, set_id=set_id, keys=KEYS)
    expert_id = await enrolled(assignment, set_id)
    me = auth("expert", subject=expert_id)
    first = await next_unit(assignment, expert_id)
    assert first["project_id"] == f"qualification:{set_id}"
    await ok(await world.submit(assignment, expert_id, first, KEYS[0]), 201)
    second = await next_unit(assignment, expert_id)
    await ok(
        await assignment.client.post(
            f"/v1/me/leases/{second['lease_id']}/release",
            json={"reason": "skip", "note": "later"},
            headers=me,
        )
    )
    third = await next_unit(assignment, expert_id)
    leases = service_of(assignment.app).runtime.db[LEASES]
    # its deadline passes: the sweep closes it, as for any copy given back
    await leases.update_one(
        {"lease_id": third["lease_id"]},
        {"$set": {"expires_at": datetime.now(UTC) - timedelta(seconds=1)}},
    )

    async def closed() -> bool:
        item = await ok(await assignment.client.get(f"/v1/items/{third['item_id']}", headers=OPS))
        return bool(item["units"][0]["state"] == "closed")

    await eventually(closed, timeout=15)
    seen = await ok(await assignment.client.get(f"/v1/me/qualifications/{set_id}", headers=me))
    assert seen["attempt"]["state"] == "failed" and seen["attempt"]["answered"] == 1


def project_body(rubric_id: str, **settings: Any) -> dict[str, Any]:
    return {
        "project_id": world.short_id("p"),
        "name": "Edits",
        "modality": "image",
        "rubric": {"rubric_id": rubric_id},
        **settings,
    }


async def test_a_calibration_min_count_the_window_never_reaches_is_refused_with_the_others(
    assignment: AssignmentUnderTest,
) -> None:
    rubric_id = await world.rubric(assignment)
    body = project_body(
        rubric_id,
        calibration={"floor": 0.7, "min_count": 21},  # the window is the last 20 scores
        adjudication={"escalate_flags": ["sparkly"]},
    )
    refused = await assignment.client.post("/v1/projects", json=body, headers=OPS)
    assert refused.status_code == 422, refused.text
    errors = {e["field"]: e["message"] for e in refused.json()["errors"]}
    assert set(errors) == {"body.calibration.min_count", "body.adjudication.escalate_flags.0"}
    assert "20" in errors["body.calibration.min_count"]
    missing = await assignment.client.get(f"/v1/projects/{body['project_id']}", headers=OPS)
    assert missing.status_code == 404
    project_id = await world.project(assignment)
    changed = await assignment.client.patch(
        f"/v1/projects/{project_id}", json={"calibration": {"min_count": 50}}, headers=OPS
    )
    assert changed.status_code == 422, changed.text
    assert [e["field"] for e in changed.json()["errors"]] == ["body.calibration.min_count"]


async def test_the_expiry_sweep_sets_aside_a_lease_it_cannot_expire_and_expires_the_others(
    assignment: AssignmentUnderTest,
) -> None:
    runtime = service_of(assignment.app).runtime
    leases = runtime.db[LEASES]
    long_ago = datetime.now(UTC) - timedelta(days=1)
    # two leases this code cannot expire, due before every other one: a document that is not
    # a lease as it reads one, and a lease whose unit id names no unit number
    await leases.insert_many(
        [
            {
                "_id": world.short_id("globex/unreadable"),
                "tenant": "globex",
                "expires_at": long_ago,
            },
            {
                "_id": world.short_id("globex/poisoned"),
                "tenant": "globex",
                "slot": 0,
                "lease_id": "0-poisoned",
                "expert_id": world.short_id("exp"),
                "project_id": world.short_id("p"),
                "unit_id": "no-unit-number",
                "item_id": world.short_id("item"),
                "leased_at": long_ago,
                "expires_at": long_ago,
            },
        ]
    )
    project_id = await world.project(assignment, lease_ttl_s=5)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    async with reader(assignment) as topic:
        handed = await next_unit(assignment, expert_id)
        records = await topic.until(
            lambda got: any(e.type == WORK_EXPIRED.type for e in work_events(got, item_id)),
            timeout=30,
        )
    assert [e.data.unit_id for e in work_events(records, item_id)] == [handed["unit_id"]] * 2
    aside = await leases.find({SET_ASIDE: {"$exists": True}}).to_list()
    assert len(aside) == 2
    assert all(doc[SET_ASIDE]["reason"] for doc in aside)
    ready = await assignment.client.get("/readyz", headers=OPS)
    assert ready.status_code == 200 and ready.json()["checks"]["loops"] == "ok"


async def test_ops_list_the_live_leases_though_one_lease_document_cannot_be_read(
    assignment: AssignmentUnderTest,
) -> None:
    runtime = service_of(assignment.app).runtime
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    soon = datetime.now(UTC)  # due before the live lease: listed first, were it readable
    await runtime.db[LEASES].insert_one(
        {"_id": world.short_id("acme/unreadable"), "tenant": "acme", "expires_at": soon}
    )
    listed = await assignment.client.get("/v1/leases", headers=OPS)
    assert listed.status_code == 200, listed.text
    assert handed["lease_id"] in [lease["lease_id"] for lease in listed.json()["items"]]


async def test_a_mask_matching_cannot_afford_is_refused_naming_it_and_the_lease_is_kept(
    assignment: AssignmentUnderTest,
) -> None:
    """A mask of more runs than matching compares, or whose runs do not cover its size, is
    refused where it is sent, not stored to stall (or silently fail) consensus and gold."""
    taxonomy = await world.taxonomy(assignment, "car")
    project_id = await world.project(assignment, template="multimodal_label_qa", taxonomy=taxonomy)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    runs = rle.MAX_MASK_RUNS + 1
    too_long = {
        "class_id": "car",
        "geometry": {"kind": "mask", "size": [1, runs], "counts": [1] * runs},
    }
    short = {"class_id": "car", "geometry": {"kind": "mask", "size": [2, 2], "counts": [1, 2]}}

    async def tried() -> Any:
        response = await world.submit(
            assignment, expert_id, handed, world.label_answers(too_long, short)
        )
        return response if response.status_code != 503 else None  # taxonomy not read yet

    refused = await eventually(tried)
    assert refused.status_code == 422, refused.text[:500]
    assert [e["field"] for e in refused.json()["errors"]] == [
        "body.answers.labels.0.geometry.counts",
        "body.answers.labels.1.geometry.counts",
    ]
    unit = (await world.known(assignment, item_id))["units"][0]
    assert (unit["state"], unit["lease_id"]) == ("leased", handed["lease_id"])
    fits = {"class_id": "car", "geometry": {"kind": "mask", "size": [2, 2], "counts": [1, 3]}}
    await ok(await world.submit(assignment, expert_id, handed, world.label_answers(fits)), 201)


async def test_an_id_with_a_digit_int_refuses_is_answered_as_any_id_the_caller_does_not_hold(
    assignment: AssignmentUnderTest,
) -> None:
    """``²`` is a digit to ``str.isdigit`` and not a number to ``int``: a unit id or lease id
    ending (or starting) with one is an id that names nothing (``leasing.unit_number``,
    ``leasing.slot_of``), answered as any other, never a 500."""
    project_id = await world.project(assignment)
    expert_id = await world.expert(assignment, projects=(project_id,))
    [item_id] = await world.items(assignment, project_id, 1)
    handed = await next_unit(assignment, expert_id)
    me = auth("expert", subject=expert_id)
    beat = await assignment.client.post("/v1/me/leases/²-abc/heartbeat", headers=me)
    assert beat.status_code == 409, beat.text
    assert [e["field"] for e in beat.json()["errors"]] == ["path.lease_id"]
    unit = {"unit_id": f"{item_id}~²", "lease_id": handed["lease_id"]}
    lease = {"unit_id": handed["unit_id"], "lease_id": "²-abc"}
    for sent in (unit, lease):
        judged = await world.submit(assignment, expert_id, sent, world.edit_answers())
        assert judged.status_code == 409, judged.text
        assert [e["field"] for e in judged.json()["errors"]] == ["body.lease_id"]
    noted = await assignment.client.post(
        f"/v1/units/{item_id}~²/feedback",
        json={
            "submission_id": "s-1",
            "about": "rubric",
            "kind": "unclear_guideline",
            "text": "which blur counts?",
        },
        headers=me,
    )
    assert noted.status_code == 409, noted.text
    assert (await world.known(assignment, item_id))["units"][0]["state"] == "leased"
