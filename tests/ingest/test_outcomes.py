"""What a client learns on its tenant's outcome topic, ``quorum.outcomes.<tenant>``, against
the real servers: its registrations (HTTP and Kafka), its refused requests with every reason
(also read back over HTTP by external id), its items' resolutions, and that the unresolved
items of a closed project will not be reviewed; never another tenant's, and nothing twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from services.ingest.handlers.projects import Projects
from services.ingest.handlers.review import ReviewProgress
from services.ingest.models import ResolutionInfo
from services.ingest.store import MediaStore
from shared.contracts.outcomes import (
    EVENTS,
    OUTCOME_NOT_REVIEWED,
    OUTCOME_REGISTERED,
    OUTCOME_REJECTED,
    OUTCOME_RESOLVED,
    OUTCOMES,
    ItemResolution,
)
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import (
    ITEM_RESOLVED,
    PROJECT_CHANGED,
    WORK_CREATED,
    ItemResolvedV1,
    Resolution,
    Verdict,
    WorkKind,
    WorkUnitEventV1,
)
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import Event, make_event
from shared.http.service import service_of
from shared.outbox.entries import Outbox
from tests.ingest.bodies import image_file, registration
from tests.ingest.conftest import IngestUnderTest
from tests.ingest.test_kafka import sdk_message, send
from tests.kafka_helpers import caught_up, eventually, published_offsets, read_all
from tests.service_helpers import auth, project_changed, publish

pytestmark = pytest.mark.integration

CLIENT = auth("client")
OUTCOME_EVENTS = EventRegistry(EVENTS)


def outcome_topic(ingest: IngestUnderTest, tenant: str = "acme") -> str:
    return f"{ingest.settings.topic_prefix}{OUTCOMES.of_tenant(tenant)}"


async def told(ingest: IngestUnderTest, external_id: str, tenant: str = "acme") -> list[Event[Any]]:
    """The outcomes of ``external_id`` on ``tenant``'s outcome topic, in their order."""
    topic = outcome_topic(ingest, tenant)
    records = await read_all(ingest.settings.kafka_bootstrap_servers, topic)
    found = []
    for record in records:
        if record.key != external_id.encode():
            continue
        event = decode(
            record.value, key=record.key, headers=record.headers, registry=OUTCOME_EVENTS
        )
        assert event is not None and event.tenant == tenant
        found.append(event)
    return found  # one key, one partition: in the order published


def told_types(*types: str) -> Any:
    """A check for :func:`eventually`: the outcomes once they are exactly ``types``."""

    async def check(ingest: IngestUnderTest, external_id: str, tenant: str = "acme") -> Any:
        events = await told(ingest, external_id, tenant)
        return events if [e.type for e in events] == list(types) else None

    return check


async def register(ingest: IngestUnderTest, body: dict[str, Any]) -> dict[str, Any]:
    answer = await ingest.client.post("/v1/media", json=body, headers=CLIENT)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def item_of(ingest: IngestUnderTest, item_id: str) -> dict[str, Any]:
    return (await ingest.client.get(f"/v1/media/{item_id}", headers=CLIENT)).json()  # type: ignore[no-any-return]


def resolution_of(item_id: str, project_id: str, **over: Any) -> ItemResolvedV1:
    values: dict[str, Any] = {
        "item_id": item_id,
        "project_id": project_id,
        "tenant": "acme",
        "final_labels": [Label(class_id="car")],
        "ratings": {"instruction_adherence": 4.0},
        "severity": Severity.minor,
        "method": Resolution.consensus,
        "judgment_ids": ["j1", "j2"],
        "agreement": 1.0,
        "resolved_at": _ms(datetime.now(UTC)),
        "verdict": Verdict.correct,
        "judged_by": ["expert-1", "expert-2"],
        **over,
    }
    return ItemResolvedV1(**values)


def _ms(moment: datetime) -> datetime:
    """A time as MongoDB keeps it: to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


async def settled(ingest: IngestUnderTest) -> None:
    """Every event published so far is applied, and every outcome it stored published."""
    bootstrap, group = ingest.settings.kafka_bootstrap_servers, ingest.settings.group_id
    for topic in (ITEM_RESOLVED.topic, PROJECT_CHANGED.topic):
        name = ingest.settings.topic_prefix + topic.name

        async def applied(name: str = name) -> bool:
            return await caught_up(bootstrap, group, name)

        await eventually(applied)
    await published_offsets(ingest.settings)  # waits until no outbox holds an event


def test_the_resolved_outcome_carries_everything_the_items_resolution_holds() -> None:
    assert set(ItemResolution.model_fields) == set(ResolutionInfo.model_fields)


async def test_a_client_is_told_its_registrations_and_refusals_on_its_own_topic_only(
    ingest: IngestUnderTest,
) -> None:
    over_http = registration("image")
    item = await register(ingest, over_http)
    over_kafka, refused, betas = registration("image"), registration("image"), registration()
    refused["media"] = image_file(width=0)
    request_id = str(uuid.uuid4())
    await send(ingest, sdk_message(over_kafka, event_id=request_id), sdk_message(refused))
    await send(ingest, sdk_message(betas, tenant=None), tenant="beta")  # beta has no p-image

    (registered,) = await eventually(
        lambda: told_types(OUTCOME_REGISTERED.type)(ingest, over_http["external_id"])
    )
    assert registered.key == over_http["external_id"] and registered.subject == item["item_id"]
    assert registered.data.item_id == item["item_id"] and registered.data.project_id == "p-image"
    assert registered.time == registered.data.registered_at
    (from_kafka,) = await eventually(
        lambda: told_types(OUTCOME_REGISTERED.type)(ingest, over_kafka["external_id"])
    )
    assert from_kafka.data.request_id == request_id
    (rejected,) = await eventually(
        lambda: told_types(OUTCOME_REJECTED.type)(ingest, refused["external_id"])
    )
    assert [r.field for r in rejected.data.reasons] == ["data.media.image.width"]

    # beta's refusal is on beta's topic, and acme's outcomes are on acme's alone
    (betas_refusal,) = await eventually(
        lambda: told_types(OUTCOME_REJECTED.type)(ingest, betas["external_id"], "beta")
    )
    assert "unknown project" in betas_refusal.data.reasons[0].message
    assert await told(ingest, betas["external_id"]) == []
    assert await told(ingest, over_http["external_id"], "beta") == []


async def test_a_request_refused_on_kafka_is_read_back_by_its_external_id_with_every_reason(
    ingest: IngestUnderTest,
) -> None:
    external_id = f"cam-7/frame-{uuid.uuid4().hex[:8]}"  # a slash, as clients' ids have
    first = registration("image", external_id=external_id, project_id="nope")
    first["media"] = image_file(width=0)
    second = registration("image", external_id=external_id, project_id="p-closed")
    url, params = "/v1/media/rejections", {"external_id": external_id}
    assert (await ingest.client.get(url, params=params, headers=CLIENT)).status_code == 404

    await send(ingest, sdk_message(first))
    await eventually(lambda: told_types(OUTCOME_REJECTED.type)(ingest, external_id))
    await send(ingest, sdk_message(second))
    await eventually(
        lambda: told_types(OUTCOME_REJECTED.type, OUTCOME_REJECTED.type)(ingest, external_id)
    )

    for role in ("client", "ops", "admin"):
        answer = await ingest.client.get(url, params=params, headers=auth(role))
        assert answer.status_code == 200, (role, answer.text)
        body = answer.json()
        assert body["external_id"] == external_id
        newest, oldest = body["rejections"]  # newest first
        assert "closed" in newest["reasons"][0]["message"]
        assert {r["field"] for r in oldest["reasons"]} >= {"data.media.image.width"}
        assert any("unknown project" in r["message"] for r in oldest["reasons"])
        assert oldest["project_id"] == "nope" and oldest["request_id"]
    only_newest = await ingest.client.get(url, params={**params, "limit": 1}, headers=CLIENT)
    assert [r["request_id"] for r in only_newest.json()["rejections"]] == [newest["request_id"]]
    # still no item of that id: the refusals are all there is
    missing = await ingest.client.get("/v1/media/by-external-id", params=params, headers=CLIENT)
    assert missing.status_code == 404

    # denials: another tenant's client or ops (404: not even its existence), an expert (403),
    # no token (401)
    for role in ("client", "ops"):
        other = await ingest.client.get(url, params=params, headers=auth(role, tenant="beta"))
        assert other.status_code == 404, (role, other.text)
        assert "reasons" not in other.text
    expert = await ingest.client.get(url, params=params, headers=auth("expert"))
    assert expert.status_code == 403
    anonymous = await ingest.client.get(url, params=params)
    assert anonymous.status_code == 401


async def test_a_resolved_item_is_told_to_its_client_once_per_outcome_revision(
    ingest: IngestUnderTest,
) -> None:
    body = registration("image")
    item = await register(ingest, body)
    resolved = resolution_of(item["item_id"], "p-image", flags=["edge_case"])
    await publish(ingest.settings, make_event(ITEM_RESOLVED, resolved, source="/a", tenant="acme"))

    _, outcome = await eventually(
        lambda: told_types(OUTCOME_REGISTERED.type, OUTCOME_RESOLVED.type)(
            ingest, body["external_id"]
        )
    )
    stored = await item_of(ingest, item["item_id"])
    assert stored["status"] == "resolved"
    # what the client is told is what its item holds, and names no expert
    told_at = outcome.data.resolution.resolved_at
    assert told_at == datetime.fromisoformat(stored["resolution"].pop("resolved_at"))
    told_data = outcome.data.model_dump(mode="json")
    del told_data["resolution"]["resolved_at"]
    assert told_data == {
        "item_id": item["item_id"],
        "tenant": "acme",
        "external_id": body["external_id"],
        "project_id": "p-image",
        "final_labels": stored["final_labels"],
        "resolution": stored["resolution"],
    }
    assert outcome.data.resolution.verdict is Verdict.correct
    assert outcome.data.resolution.flags == ["edge_case"]
    assert "expert-1" not in outcome.data.model_dump_json()

    # the same outcome again (another event id, so the inbox does not drop it): told nothing
    again = make_event(ITEM_RESOLVED, resolved, source="/a", tenant="acme")
    await publish(ingest.settings, again)
    await settled(ingest)
    assert len(await told(ingest, body["external_id"])) == 2

    # ops revised the outcome: the client is told the revision
    revised = resolution_of(
        item["item_id"], "p-image", revision=2, revision_reason="wrong class", verdict="reject"
    )
    await publish(ingest.settings, make_event(ITEM_RESOLVED, revised, source="/a", tenant="acme"))
    *_, latest = await eventually(
        lambda: told_types(OUTCOME_REGISTERED.type, OUTCOME_RESOLVED.type, OUTCOME_RESOLVED.type)(
            ingest, body["external_id"]
        )
    )
    assert latest.data.resolution.revision == 2
    assert latest.data.resolution.verdict is Verdict.reject


async def test_closing_a_project_tells_the_clients_of_its_unresolved_items_they_will_not_be_reviewed(
    ingest: IngestUnderTest,
) -> None:
    project = f"p-closing-{uuid.uuid4().hex[:6]}"
    await publish(
        ingest.settings, project_changed(project), project_changed(project, tenant="beta")
    )
    body = {name: registration("image", project_id=project) for name in ("queued", "in", "done")}

    async def registered_all() -> dict[str, Any] | None:
        answers = {}
        for name, registration_ in body.items():
            answer = await ingest.client.post("/v1/media", json=registration_, headers=CLIENT)
            if answer.status_code not in (200, 201):
                return None  # the project is not known yet
            answers[name] = answer.json()
        return answers

    items = await eventually(registered_all)
    ids = {name: item["item_id"] for name, item in items.items()}
    started = WorkUnitEventV1(
        unit_id="u1",
        item_id=ids["in"],
        project_id=project,
        tenant="acme",
        kind=WorkKind.review,
        at=datetime.now(UTC),
    )
    done = resolution_of(ids["done"], project)
    await publish(
        ingest.settings,
        make_event(WORK_CREATED, started, source="/a", tenant="acme"),
        make_event(ITEM_RESOLVED, done, source="/a", tenant="acme"),
    )
    await eventually(lambda: _status_is(ingest, ids["in"], "in_review"))
    await eventually(lambda: _status_is(ingest, ids["done"], "resolved"))
    # beta's project of the same name closes: acme's items are not beta's
    betas = project_changed(project, tenant="beta", status="closed", revision=2)
    await publish(ingest.settings, betas)
    await settled(ingest)
    assert (await item_of(ingest, ids["queued"]))["status"] == "queued"
    assert (await item_of(ingest, ids["in"]))["status"] == "in_review"
    closed = project_changed(project, status="closed", revision=2)
    await publish(ingest.settings, closed)

    for name in ("queued", "in"):
        marked = await eventually(lambda: _status_is(ingest, ids[name], "not_reviewed"))  # noqa: B023
        assert marked["not_reviewed"]["reason"] == "project_closed"
        assert marked["not_reviewed"]["project_revision"] == 2
        told_closed = told_types(OUTCOME_REGISTERED.type, OUTCOME_NOT_REVIEWED.type)
        _, outcome = await eventually(
            lambda: told_closed(ingest, body[name]["external_id"])  # noqa: B023
        )
        assert outcome.data.item_id == ids[name] and outcome.data.reason == "project_closed"
        assert outcome.data.not_reviewed_at == closed.data.changed_at
        assert f"project {project} was closed" in outcome.data.message
    assert (await item_of(ingest, ids["done"]))["status"] == "resolved"

    # the close replayed (a new event id: past the inbox) marks and tells nothing again
    await publish(ingest.settings, project_changed(project, status="closed", revision=2))
    await settled(ingest)
    tells = {name: await told(ingest, body[name]["external_id"]) for name in body}
    assert [e.type for e in tells["queued"]] == [OUTCOME_REGISTERED.type, OUTCOME_NOT_REVIEWED.type]
    assert [e.type for e in tells["done"]] == [OUTCOME_REGISTERED.type, OUTCOME_RESOLVED.type]

    # a resolution decided before the close and consumed after it still wins, and is told
    late = resolution_of(ids["in"], project)
    await publish(ingest.settings, make_event(ITEM_RESOLVED, late, source="/a", tenant="acme"))
    await eventually(lambda: _status_is(ingest, ids["in"], "resolved"))
    await eventually(
        lambda: told_types(
            OUTCOME_REGISTERED.type, OUTCOME_NOT_REVIEWED.type, OUTCOME_RESOLVED.type
        )(ingest, body["in"]["external_id"])
    )
    # and the closed project takes no new items
    refused = await ingest.client.post(
        "/v1/media", json=registration("image", project_id=project), headers=CLIENT
    )
    assert refused.status_code == 422


async def test_an_item_registered_as_its_project_closed_is_not_left_queued(
    ingest: IngestUnderTest,
) -> None:
    """A replica that read the project up to PROJECT_CACHE_S before registers an item after
    another replica consumed the close and marked the project's items: the item's first unit
    finds the project closed, and its client is told it will not be reviewed."""
    project = f"p-race-{uuid.uuid4().hex[:6]}"
    await publish(ingest.settings, project_changed(project))

    async def registered(body: dict[str, Any]) -> dict[str, Any] | None:
        answer = await ingest.client.post("/v1/media", json=body, headers=CLIENT)
        return answer.json() if answer.status_code == 201 else None  # type: ignore[no-any-return]

    await eventually(lambda: registered(registration("image", project_id=project)))
    here = service_of(ingest.app).get(Projects)
    other_replica = ReviewProgress(
        MediaStore(here.store.projects.database, Outbox()), Projects(here.store)
    )
    await other_replica.on_project_changed(project_changed(project, status="closed", revision=2))
    late_body = registration("image", project_id=project)
    late = await registered(late_body)  # this replica's project read is still the active one
    assert late is not None and late["status"] == "queued"
    started = WorkUnitEventV1(
        unit_id="u1",
        item_id=late["item_id"],
        project_id=project,
        tenant="acme",
        kind=WorkKind.review,
        at=datetime.now(UTC),
    )
    await publish(ingest.settings, make_event(WORK_CREATED, started, source="/a", tenant="acme"))
    marked = await eventually(lambda: _status_is(ingest, late["item_id"], "not_reviewed"))
    assert marked["not_reviewed"]["project_revision"] == 2
    told_closed = told_types(OUTCOME_REGISTERED.type, OUTCOME_NOT_REVIEWED.type)
    await eventually(lambda: told_closed(ingest, late_body["external_id"]))


async def _status_is(ingest: IngestUnderTest, item_id: str, status: str) -> dict[str, Any] | None:
    item = await item_of(ingest, item_id)
    return item if item["status"] == status else None
