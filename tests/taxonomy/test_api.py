"""Taxonomy service against the real servers: drafts, publishing, diffs, translation,
examples, candidates, impact, import/export, events and access control."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import pytest_asyncio

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings
from shared.contracts.media import MEDIA_REGISTERED, MediaRegisteredV1, PreLabels
from shared.contracts.taxonomy import (
    EXAMPLE_LINKED,
    TAXONOMY,
    VERSION_PUBLISHED,
    VersionPublishedV1,
)
from shared.contracts.vocabulary import Label, TaxonomyRef
from shared.contracts.work import (
    FEEDBACK_SUBMITTED,
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    WORK_CREATED,
    FeedbackAbout,
    FeedbackKind,
    FeedbackSubmittedV1,
    ItemResolvedV1,
    JudgmentSubmittedV1,
    Resolution,
    RubricRef,
    Verdict,
    WorkKind,
    WorkUnitEventV1,
)
from shared.events.codec import EventRegistry, decode
from shared.events.envelope import make_event
from shared.http.service import service_of
from shared.kafka.producer import KafkaBus
from shared.runtime import kafka_settings
from tests.kafka_helpers import caught_up, eventually, read_all
from tests.service_helpers import auth, running
from tests.service_helpers import publish as publish_events

pytestmark = pytest.mark.integration

OPS = auth("ops")
OTHER_TENANT_OPS = auth("ops", tenant="globex")


@pytest_asyncio.fixture(scope="module")
async def service(
    make_settings: Callable[..., Any],
) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = make_settings(TaxonomySettings)
    app = create_app(settings)
    async with running(app) as client:
        await service_of(app).runtime.consumer.wait_assigned()
        yield client, settings


@pytest.fixture
def client(service: tuple[httpx.AsyncClient, Any]) -> httpx.AsyncClient:
    return service[0]


async def register_items(settings: Any, *item_ids: str, tenant: str = "acme") -> None:
    """Publish media.registered for the items, as ingest does (taxonomy links only known items)."""
    now = datetime.now(UTC)
    bus = KafkaBus(kafka_settings(settings))
    await bus.start()
    try:
        for item_id in item_ids:
            item = MediaRegisteredV1(
                item_id=item_id,
                tenant=tenant,
                external_id=f"ext-{item_id}",
                project_id="p1",
                modality="image",
                registered_at=now,
            )
            await bus.publish(make_event(MEDIA_REGISTERED, item, source="/t", tenant=tenant))
    finally:
        await bus.stop()


async def link_when_known(client: httpx.AsyncClient, url: str, body: dict[str, Any]) -> Any:
    """Link an example once taxonomy has consumed the item's registration."""

    async def linked() -> Any:
        response = await client.post(url, json=body, headers=OPS)
        return response if response.status_code == 201 else None

    return await eventually(linked)


async def new_ontology(client: httpx.AsyncClient, name: str = "street") -> tuple[str, str]:
    created = await client.post("/v1/ontologies", json={"name": name}, headers=OPS)
    assert created.status_code == 201, created.text
    oid = created.json()["ontology_id"]
    draft = await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)
    return oid, draft.headers["etag"]


async def edit(
    client: httpx.AsyncClient, method: str, url: str, etag: str, body: Any = None
) -> tuple[httpx.Response, str]:
    response = await client.request(method, url, json=body, headers={**OPS, "If-Match": etag})
    return response, response.headers.get("etag", etag)


async def publish(client: httpx.AsyncClient, oid: str, etag: str) -> dict[str, Any]:
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/publish", headers={**OPS, "If-Match": etag}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def start_draft(client: httpx.AsyncClient, oid: str) -> str:
    response = await client.post(f"/v1/ontologies/{oid}/draft", headers=OPS)
    assert response.status_code == 201, response.text
    return response.headers["etag"]


async def build_v1(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    """vehicle > car, truck; person; sedan, coupe (to merge later); bird (to split later)."""
    oid, etag = await new_ontology(client)
    for body in (
        {"id": "vehicle", "name": "Vehicle"},
        {"id": "car", "name": "Car", "parent_id": "vehicle", "guideline": "four wheels"},
        {"id": "truck", "name": "Truck", "parent_id": "vehicle"},
        {"id": "person", "name": "Person"},
        {"id": "sedan", "name": "Sedan", "parent_id": "vehicle"},
        {"id": "coupe", "name": "Coupe", "parent_id": "vehicle"},
        {
            "id": "bird",
            "name": "Bird",
            "attributes": [{"name": "occluded", "type": "bool"}],
        },
    ):
        response, etag = await edit(
            client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, body
        )
        assert response.status_code == 201, response.text
    return oid, await publish(client, oid, etag)


async def test_publish_makes_an_immutable_numbered_hashed_version(
    client: httpx.AsyncClient,
) -> None:
    oid, v1 = await build_v1(client)
    assert v1["version"] == 1
    assert v1["content_hash"].startswith("sha256:")
    assert {c["id"] for c in v1["classes"]} == {
        "vehicle",
        "car",
        "truck",
        "person",
        "sedan",
        "coupe",
        "bird",
    }
    # the draft is gone once published; a version has no edit routes
    assert (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).status_code == 404
    for method in ("PUT", "PATCH", "DELETE"):
        response = await client.request(method, f"/v1/ontologies/{oid}/versions/1", headers=OPS)
        assert response.status_code == 405
    # a new draft starts from v1; editing it leaves v1 untouched
    etag = await start_draft(client, oid)
    response, etag = await edit(
        client, "PATCH", f"/v1/ontologies/{oid}/draft/classes/car", etag, {"name": "Automobile"}
    )
    assert response.status_code == 200, response.text
    again = (await client.get(f"/v1/ontologies/{oid}/versions/1", headers=OPS)).json()
    assert again == v1
    # publishing nothing new is refused; deprecating works once and is visible
    v2 = await publish(client, oid, etag)
    assert v2["version"] == 2 and v2["content_hash"] != v1["content_hash"]
    assert {"kind": "renamed", "from_class_ids": ["car"], "to_class_ids": ["car"]}.items() <= (
        v2["mapping"][0].items()
    )
    deprecated = await client.post(
        f"/v1/ontologies/{oid}/versions/1/deprecate", json={"note": "use v2"}, headers=OPS
    )
    assert deprecated.status_code == 200
    assert deprecated.json()["status"] == "deprecated"
    listed = (await client.get(f"/v1/ontologies/{oid}/versions", headers=OPS)).json()
    assert [(v["version"], v["status"]) for v in listed["items"]] == [
        (1, "deprecated"),
        (2, "published"),
    ]


async def pages(client: httpx.AsyncClient, url: str, limit: int, **query: str) -> list[list[Any]]:
    """Every page of a list, ``limit`` items at a time."""
    found: list[list[Any]] = []
    params: dict[str, Any] = {"limit": limit, **query}
    while True:
        response = await client.get(url, params=params, headers=OPS)
        assert response.status_code == 200, response.text
        page = response.json()
        found.append(page["items"])
        if page["next_cursor"] is None:
            return found
        params["cursor"] = page["next_cursor"]


async def test_versions_and_examples_are_listed_in_pages(
    service: tuple[httpx.AsyncClient, Any],
) -> None:
    client, settings = service
    oid, _ = await build_v1(client)
    for number in (2, 3):
        url = f"/v1/ontologies/{oid}/draft/classes/person"
        _, etag = await edit(
            client, "PATCH", url, await start_draft(client, oid), {"guideline": f"v{number}"}
        )
        await publish(client, oid, etag)
    versions = await pages(client, f"/v1/ontologies/{oid}/versions", 2)
    assert [[v["version"] for v in page] for page in versions] == [[1, 2], [3]]

    items = [f"{oid}-page-{i}" for i in range(5)]
    await register_items(settings, *items)
    for index, item_id in enumerate(items):
        class_id = "car" if index % 2 == 0 else "person"
        url = f"/v1/ontologies/{oid}/versions/1/classes/{class_id}/examples"
        await link_when_known(client, url, {"item_id": item_id})
    every = await pages(client, f"/v1/ontologies/{oid}/versions/3/examples", 2)
    assert [len(page) for page in every] == [2, 2, 1]
    link_ids = [e["link_id"] for page in every for e in page]
    assert link_ids == sorted(link_ids) and len(set(link_ids)) == 5
    # a class filter pages over the links that carry to the class, skipping the others
    cars = await pages(client, f"/v1/ontologies/{oid}/versions/3/examples", 2, class_id="car")
    assert [len(page) for page in cars] == [2, 1]
    assert sorted(e["item_id"] for page in cars for e in page) == [items[0], items[2], items[4]]
    bad = await client.get(
        f"/v1/ontologies/{oid}/versions", params={"cursor": "not-ours"}, headers=OPS
    )
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "query.cursor", "message": "invalid cursor"}]


async def test_stale_draft_write_is_412_and_loses_nothing(client: httpx.AsyncClient) -> None:
    oid, etag = await new_ontology(client)
    first, new_etag = await edit(
        client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, {"name": "Cat"}
    )
    assert first.status_code == 201
    stale, _ = await edit(
        client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, {"name": "Dog"}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.headers["etag"] == new_etag
    missing = await client.post(
        f"/v1/ontologies/{oid}/draft/classes", json={"name": "Dog"}, headers=OPS
    )
    assert missing.status_code == 428
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert [c["name"] for c in draft["classes"]] == ["Cat"]


@pytest.mark.parametrize(
    ("bodies", "bad", "status", "field", "message"),
    [
        ([{"id": "a", "name": "A"}], {"id": "b", "name": "a"}, 422, "body", "already used"),
        ([], {"id": "b", "name": "B", "parent_id": "nope"}, 422, "body", "unknown parent"),
        ([{"id": "a", "name": "A"}], {"id": "a", "name": "Other"}, 409, "body.id", "already in"),
        (
            [],
            {"name": "X", "attributes": [{"name": "size", "type": "enum"}]},
            422,
            "body.attributes.0",
            "enum attribute needs values",
        ),
        ([], {"name": ""}, 422, "body.name", "at least 1"),
    ],
)
async def test_bad_classes_are_rejected_with_the_field(
    client: httpx.AsyncClient, bodies: list[Any], bad: Any, status: int, field: str, message: str
) -> None:
    oid, etag = await new_ontology(client)
    for body in bodies:
        response, etag = await edit(
            client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, body
        )
        assert response.status_code == 201
    response, _ = await edit(client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, bad)
    assert response.status_code == status, response.text
    problem = response.json()
    assert any(
        e["field"].startswith(field) and message in e["message"] for e in problem["errors"]
    ), problem
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert len(draft["classes"]) == len(bodies)


async def test_cycles_are_rejected(client: httpx.AsyncClient) -> None:
    oid, etag = await new_ontology(client)
    for body in ({"id": "a", "name": "A"}, {"id": "b", "name": "B", "parent_id": "a"}):
        response, etag = await edit(
            client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, body
        )
    response, _ = await edit(
        client, "PATCH", f"/v1/ontologies/{oid}/draft/classes/a", etag, {"parent_id": "b"}
    )
    assert response.status_code == 422
    assert "cycle" in response.json()["errors"][0]["message"]


async def test_removed_ids_are_never_reused(client: httpx.AsyncClient) -> None:
    oid, _ = await build_v1(client)
    etag = await start_draft(client, oid)
    response, etag = await edit(client, "DELETE", f"/v1/ontologies/{oid}/draft/classes/truck", etag)
    assert response.status_code == 200
    await publish(client, oid, etag)
    etag = await start_draft(client, oid)
    response, _ = await edit(
        client,
        "POST",
        f"/v1/ontologies/{oid}/draft/classes",
        etag,
        {"id": "truck", "name": "Lorry"},
    )
    assert response.status_code == 409
    assert "never reused" in response.json()["errors"][0]["message"]
    # a generated id does not take the retired one either
    response, _ = await edit(
        client, "POST", f"/v1/ontologies/{oid}/draft/classes", etag, {"name": "Truck"}
    )
    assert response.status_code == 201
    ids = {c["id"] for c in response.json()["classes"]}
    assert "truck-2" in ids and "truck" not in ids


async def test_diff_and_translation_through_versions(client: httpx.AsyncClient) -> None:
    oid, _ = await build_v1(client)
    etag = await start_draft(client, oid)
    url = f"/v1/ontologies/{oid}/draft"
    steps = [
        ("PATCH", f"{url}/classes/person", {"name": "Pedestrian"}),
        ("PATCH", f"{url}/classes/truck", {"parent_id": None}),
        ("PATCH", f"{url}/classes/car", {"guideline": "four wheels, passenger"}),
        ("POST", f"{url}/merges", {"from_class_ids": ["sedan", "coupe"], "into_class_id": "car"}),
        (
            "POST",
            f"{url}/splits",
            {"from_class_id": "bird", "into": [{"name": "Songbird"}, {"name": "Raptor"}]},
        ),
        ("POST", f"{url}/classes", {"id": "bike", "name": "Bike"}),
    ]
    for method, path, body in steps:
        response, etag = await edit(client, method, path, etag, body)
        assert response.status_code in (200, 201), response.text
    diff = (await client.get(f"{url}/diff", headers=OPS)).json()
    kinds = {
        (c["kind"], tuple(c["from_class_ids"]), tuple(c["to_class_ids"])) for c in diff["changes"]
    }
    assert ("renamed", ("person",), ("person",)) in kinds
    assert ("moved", ("truck",), ("truck",)) in kinds
    assert ("guideline_changed", ("car",), ("car",)) in kinds
    assert ("merged", ("sedan", "coupe"), ("car",)) in kinds
    assert ("split", ("bird",), ("songbird", "raptor")) in kinds
    assert ("added", (), ("bike",)) in kinds
    assert not any(k[0] == "removed" for k in kinds)  # merged/split sources are explained
    await publish(client, oid, etag)
    # v3 renames Pedestrian back to Person and deprecates Truck
    etag = await start_draft(client, oid)
    response, etag = await edit(
        client, "PATCH", f"{url}/classes/truck", etag, {"status": "deprecated"}
    )
    response, etag = await edit(client, "PATCH", f"{url}/classes/person", etag, {"name": "Person"})
    assert response.status_code == 200, response.text
    await publish(client, oid, etag)

    labels = [
        {"class_id": c, "confidence": 0.9}
        for c in ("car", "sedan", "bird", "person", "truck", "nope")
    ]
    result = await client.post(
        f"/v1/ontologies/{oid}/translate",
        json={"from_version": 1, "to_version": 3, "labels": labels},
        headers=auth("expert"),
    )
    assert result.status_code == 200, result.text
    body = result.json()
    translated = {t["index"]: t for t in body["translated"]}
    assert translated[0]["label"] == {"class_id": "car", "confidence": 0.9}
    assert translated[1]["label"]["class_id"] == "car"  # merged
    assert translated[3]["label"]["class_id"] == "person"
    assert translated[3]["notes"] == []  # Person -> Pedestrian -> Person: same name again
    assert any("deprecated" in n for n in translated[4]["notes"])
    reasons = {u["index"]: u["reason"] for u in body["untranslatable"]}
    assert "split into songbird, raptor" in reasons[2]
    assert "no class nope" in reasons[5]
    # backwards: car absorbed sedan and coupe, songbird came from bird
    back = await client.post(
        f"/v1/ontologies/{oid}/translate",
        json={
            "from_version": 3,
            "to_version": 1,
            "labels": [{"class_id": "car"}, {"class_id": "songbird"}, {"class_id": "bike"}],
        },
        headers=OPS,
    )
    body = back.json()
    assert [t["label"]["class_id"] for t in body["translated"]] == ["bird"]
    reasons = {u["class_id"]: u["reason"] for u in body["untranslatable"]}
    assert "absorbed" in reasons["car"] and "did not exist" in reasons["bike"]
    # any two versions: the diff between 1 and 3 shows the merge and the deprecation
    diff13 = (await client.get(f"/v1/ontologies/{oid}/diff?from=1&to=3", headers=OPS)).json()
    kinds13 = {c["kind"] for c in diff13["changes"]}
    assert {"merged", "split", "moved", "deprecated", "added"} <= kinds13
    assert "renamed" not in kinds13  # Person -> Pedestrian -> Person
    unknown = await client.post(
        f"/v1/ontologies/{oid}/translate",
        json={"from_version": 1, "to_version": 9, "labels": []},
        headers=OPS,
    )
    assert unknown.status_code == 404


async def test_examples_carry_forward_and_candidates_become_examples(
    client: httpx.AsyncClient, service: tuple[httpx.AsyncClient, Any]
) -> None:
    _, settings = service
    oid, _ = await build_v1(client)
    await register_items(settings, f"{oid}-item-1", f"{oid}-item-2")
    linked = await link_when_known(
        client,
        f"/v1/ontologies/{oid}/versions/1/classes/sedan/examples",
        {
            "item_id": f"{oid}-item-1",
            "region": {"kind": "box", "x": 1, "y": 2, "width": 30, "height": 40},
            "polarity": "positive",
        },
    )
    etag = await start_draft(client, oid)
    response, etag = await edit(
        client,
        "POST",
        f"/v1/ontologies/{oid}/draft/merges",
        etag,
        {"from_class_ids": ["sedan", "coupe"], "into_class_id": "car"},
    )
    assert response.status_code == 200, response.text
    await publish(client, oid, etag)
    at_v2 = (
        await client.get(
            f"/v1/ontologies/{oid}/versions/2/examples?class_id=car", headers=auth("expert")
        )
    ).json()["items"]
    assert [(e["link_id"], e["class_id"], e["current_class_id"]) for e in at_v2] == [
        (linked.json()["link_id"], "sedan", "car")
    ]

    # a flagged judgment from a real review queue becomes a candidate
    judgment = JudgmentSubmittedV1(
        judgment_id="j-1",
        unit_id="u-1",
        item_id=f"{oid}-item-2",
        project_id="p1",
        tenant="acme",
        expert_id="e-1",
        kind=WorkKind.review,
        verdict=Verdict.correct,
        labels=[Label(class_id="truck")],
        flags=["edge_case", "occlusion"],
        justification="half hidden behind a bus",
        time_spent_s=12,
        taxonomy=TaxonomyRef(ontology_id=oid, version=2),
        submitted_at=datetime.now(UTC),
    )
    plain = judgment.model_copy(update={"judgment_id": "j-2", "flags": ["occlusion"]})
    flagged = make_event(JUDGMENT_SUBMITTED, judgment, source="/test", tenant="acme")
    resent = make_event(JUDGMENT_SUBMITTED, judgment, source="/test", tenant="acme")
    # a redelivery (the same event) and a re-send (the same judgment, a new event id)
    await publish_events(
        settings,
        flagged,
        make_event(JUDGMENT_SUBMITTED, plain, source="/test", tenant="acme"),
        flagged,
        resent,
    )
    topic = settings.topic_prefix + JUDGMENT_SUBMITTED.topic.name
    bootstrap = settings.kafka_bootstrap_servers
    await eventually(lambda: caught_up(bootstrap, settings.group_id, topic))

    async def pending() -> list[Any]:
        r = await client.get(f"/v1/ontologies/{oid}/candidates?status=pending", headers=OPS)
        return r.json()["items"]  # type: ignore[no-any-return]

    candidates = await eventually(pending)
    assert len(candidates) == 1
    candidate = candidates[0]
    assert candidate["class_ids"] == ["truck"] and candidate["flags"] == ["edge_case", "occlusion"]
    accepted = await client.post(
        f"/v1/ontologies/{oid}/candidates/{candidate['candidate_id']}/accept",
        json={"polarity": "borderline"},
        headers=OPS,
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    examples = (
        await client.get(f"/v1/ontologies/{oid}/versions/2/examples?class_id=truck", headers=OPS)
    ).json()["items"]
    assert len(examples) == 1
    assert examples[0]["provenance"] == {
        "source": "judgment",
        "judgment_id": "j-1",
        "actor": "user-1",
    }
    twice = await client.post(
        f"/v1/ontologies/{oid}/candidates/{candidate['candidate_id']}/accept", headers=OPS
    )
    assert twice.status_code == 409
    again = await client.get(
        f"/v1/ontologies/{oid}/versions/2/examples?class_id=truck", headers=OPS
    )
    assert again.json()["items"] == examples  # no second link


async def test_feedback_about_the_taxonomy_becomes_a_candidate_with_the_feedback_as_provenance(
    client: httpx.AsyncClient, service: tuple[httpx.AsyncClient, Any]
) -> None:
    _, settings = service
    oid, _ = await build_v1(client)
    await register_items(settings, f"{oid}-fb-1")
    about_taxonomy = FeedbackSubmittedV1(
        feedback_id=f"fbk_{oid}",
        tenant="acme",
        project_id="p1",
        item_id=f"{oid}-fb-1",
        unit_id=f"{oid}-fb-1~0",
        expert_id="e-1",
        about=FeedbackAbout.taxonomy,
        kind=FeedbackKind.contradictory_example,
        text="the car example shows a pickup",
        class_ids=["car"],
        rubric_ref=RubricRef(rubric_id="r1", version=1),
        taxonomy=TaxonomyRef(ontology_id=oid, version=1),
        submitted_at=datetime.now(UTC),
    )
    about_rubric = about_taxonomy.model_copy(
        update={"feedback_id": f"fbk_r_{oid}", "about": FeedbackAbout.rubric}
    )
    await publish_events(
        settings,
        *(
            make_event(FEEDBACK_SUBMITTED, f, source="/test", tenant="acme")
            for f in (about_taxonomy, about_rubric, about_taxonomy)
        ),
    )
    topic = settings.topic_prefix + FEEDBACK_SUBMITTED.topic.name
    await eventually(lambda: caught_up(settings.kafka_bootstrap_servers, settings.group_id, topic))
    pending = (
        await client.get(f"/v1/ontologies/{oid}/candidates?status=pending", headers=OPS)
    ).json()["items"]
    assert [(c["feedback_id"], c["judgment_id"], c["flags"], c["class_ids"]) for c in pending] == [
        (f"fbk_{oid}", None, ["contradictory_example"], ["car"])
    ]

    async def accepted() -> Any:
        r = await client.post(
            f"/v1/ontologies/{oid}/candidates/{pending[0]['candidate_id']}/accept",
            json={"polarity": "negative"},
            headers=OPS,
        )
        return r if r.status_code == 200 else None  # once the item is known here

    await eventually(accepted)
    [example] = (
        await client.get(f"/v1/ontologies/{oid}/versions/1/examples?class_id=car", headers=OPS)
    ).json()["items"]
    assert example["provenance"] == {"source": "feedback", "judgment_id": None, "actor": "user-1"}


async def test_impact_preview_counts_links_open_work_and_prelabels(
    client: httpx.AsyncClient, service: tuple[httpx.AsyncClient, Any]
) -> None:
    _, settings = service
    oid, _ = await build_v1(client)
    await register_items(settings, f"{oid}-x-1")
    await link_when_known(
        client, f"/v1/ontologies/{oid}/versions/1/classes/car/examples", {"item_id": f"{oid}-x-1"}
    )
    now = datetime.now(UTC)

    def registered(item_id: str, classes: list[str]) -> MediaRegisteredV1:
        return MediaRegisteredV1(
            item_id=item_id,
            tenant="acme",
            external_id=f"ext-{item_id}",
            project_id="p1",
            modality="text",
            prelabels=PreLabels(
                model_name="m", model_version="1", labels=[Label(class_id=c) for c in classes]
            ),
            taxonomy=TaxonomyRef(ontology_id=oid, version=1),
            registered_at=now,
        )

    def unit(item_id: str) -> WorkUnitEventV1:
        return WorkUnitEventV1(
            unit_id=f"u-{item_id}",
            item_id=item_id,
            project_id="p1",
            tenant="acme",
            kind=WorkKind.review,
            at=now,
        )

    events = [
        make_event(
            MEDIA_REGISTERED,
            registered(f"{oid}-a", ["car", "car", "person"]),
            source="/t",
            tenant="acme",
        ),
        make_event(MEDIA_REGISTERED, registered(f"{oid}-b", ["car"]), source="/t", tenant="acme"),
        make_event(MEDIA_REGISTERED, registered(f"{oid}-c", ["car"]), source="/t", tenant="acme"),
        make_event(WORK_CREATED, unit(f"{oid}-a"), source="/t", tenant="acme"),
        make_event(WORK_CREATED, unit(f"{oid}-b"), source="/t", tenant="acme"),
        make_event(
            ITEM_RESOLVED,
            ItemResolvedV1(
                item_id=f"{oid}-b",
                project_id="p1",
                tenant="acme",
                method=Resolution.single,
                judgment_ids=["j"],
                resolved_at=now,
            ),
            source="/t",
            tenant="acme",
        ),
    ]
    bus = KafkaBus(kafka_settings(settings))
    await bus.start()
    try:
        for event in events:
            await bus.publish(event)
    finally:
        await bus.stop()
    etag = await start_draft(client, oid)
    response, etag = await edit(
        client, "PATCH", f"/v1/ontologies/{oid}/draft/classes/car", etag, {"name": "Auto"}
    )
    response, etag = await edit(
        client, "PATCH", f"/v1/ontologies/{oid}/draft/classes/person", etag, {"guideline": "g"}
    )
    assert response.status_code == 200, response.text

    async def impact() -> dict[str, Any] | None:
        body = (await client.get(f"/v1/ontologies/{oid}/draft/impact", headers=OPS)).json()
        car = next(c for c in body["classes"] if c["class_id"] == "car")
        return body if car["prelabels"] == 4 and car["open_work_items"] == 1 else None

    body = await eventually(impact)
    by_class = {c["class_id"]: c for c in body["classes"]}
    assert by_class["car"] == {
        "class_id": "car",
        "name": "Car",
        "changes": ["renamed"],
        "example_links": 1,
        "open_work_items": 1,
        "prelabels": 4,
    }
    assert by_class["person"]["prelabels"] == 1 and by_class["person"]["open_work_items"] == 1
    assert body["totals"]["prelabels"] == 5


async def test_coco_import_export_round_trip(client: httpx.AsyncClient) -> None:
    oid, etag = await new_ontology(client, "coco")
    coco = {
        "info": {"description": "ignored"},
        "categories": [
            {"id": 1, "name": "person", "supercategory": "person"},
            {"id": 3, "name": "car", "supercategory": "vehicle"},
            {"id": 18, "name": "dog", "supercategory": "animal"},
        ],
    }
    imported = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=coco",
        content=json.dumps(coco),
        headers={**OPS, "If-Match": etag, "content-type": "application/octet-stream"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["classes"] == 3
    await publish(client, oid, imported.headers["etag"])
    exported = await client.get(
        f"/v1/ontologies/{oid}/versions/1/export?format=coco", headers=auth("client")
    )
    assert exported.json() == {"categories": coco["categories"]}


async def test_bad_import_reports_every_bad_row(client: httpx.AsyncClient) -> None:
    oid, etag = await new_ontology(client)
    yaml_doc = """
classes:
  - {name: Animal}
  - {name: Dog, parent: Animal}
  - {name: Cat, parent: Plant}
  - {name: dog}
  - {name: Fish, attributes: [{name: water, type: enum}]}
  - {nom: Bad}
"""
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=yaml",
        content=yaml_doc,
        headers={**OPS, "If-Match": etag, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"classes.4.attributes.0", "classes.5.name", "classes.5.nom"} <= fields
    # rows that parse are then checked together: unknown parent and duplicate name
    fixed = yaml_doc.replace("  - {name: Fish, attributes: [{name: water, type: enum}]}\n", "")
    fixed = fixed.replace("  - {nom: Bad}\n", "")
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=yaml",
        content=fixed,
        headers={**OPS, "If-Match": etag, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 422
    problems = {e["field"]: e["message"] for e in response.json()["errors"]}
    assert "no class named 'Plant'" in problems["classes.2.parent"]
    garbage = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=json",
        content=b"{not json",
        headers={**OPS, "If-Match": etag, "content-type": "application/octet-stream"},
    )
    assert garbage.status_code == 422 and garbage.json()["errors"][0]["field"] == "body"
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert draft["classes"] == [] and draft["revision"] == 1


async def test_an_import_is_read_as_its_media_type_says_json_or_yaml(
    client: httpx.AsyncClient,
) -> None:
    oid, etag = await new_ontology(client)
    rows = {"classes": [{"name": "Animal"}, {"name": "Dog", "parent": "Animal"}]}
    as_json = await client.post(
        f"/v1/ontologies/{oid}/draft/import",
        json=rows,
        headers={**OPS, "If-Match": etag},
    )
    assert as_json.status_code == 200, as_json.text
    assert as_json.json()["classes"] == 2
    as_yaml = await client.post(
        f"/v1/ontologies/{oid}/draft/import",
        content="classes:\n  - {name: Plant}\n",
        headers={**OPS, "If-Match": as_json.headers["etag"], "content-type": "application/yaml"},
    )
    assert as_yaml.status_code == 200, as_yaml.text
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert [c["name"] for c in draft["classes"]] == ["Plant"]
    coco = {"categories": [{"id": 1, "name": "person", "supercategory": "person"}]}
    as_coco = await client.post(
        f"/v1/ontologies/{oid}/draft/import",
        params={"format": "coco"},
        json=coco,
        headers={**OPS, "If-Match": as_yaml.headers["etag"]},
    )
    assert as_coco.status_code == 200, as_coco.text
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert [(c["id"], c["name"]) for c in draft["classes"]] == [("1", "person")]


@pytest.mark.parametrize(
    ("content_type", "format_"),
    [
        ("text/plain", None),
        ("multipart/form-data; boundary=x", None),
        ("application/yaml", "coco"),
        ("application/yaml", "json"),
        ("application/json", "yaml"),
    ],
)
async def test_an_import_of_another_media_type_or_one_that_cannot_carry_its_format_is_a_415(
    client: httpx.AsyncClient, content_type: str, format_: str | None
) -> None:
    oid, etag = await new_ontology(client)
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/import",
        params={"format": format_} if format_ else {},
        content=b'{"classes": [{"name": "Animal"}]}',
        headers={**OPS, "If-Match": etag, "content-type": content_type},
    )
    assert response.status_code == 415, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in response.json()["errors"]] == ["header.content-type"]
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert draft["classes"] == [] and draft["revision"] == 1


def test_the_import_documents_the_media_types_it_takes_and_its_415() -> None:
    operation = create_app(TaxonomySettings(environment="test")).openapi()["paths"][
        "/v1/ontologies/{ontology_id}/draft/import"
    ]["post"]
    assert set(operation["requestBody"]["content"]) == {
        "application/json",
        "application/yaml",
        "application/octet-stream",
    }
    assert "415" in operation["responses"]


async def test_a_yaml_import_with_aliases_is_refused_before_it_expands(
    client: httpx.AsyncClient,
) -> None:
    oid, etag = await new_ontology(client)
    bomb = "\n".join(
        [
            'a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]',
            "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
            "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
            "classes: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
        ]
    )
    response = await client.post(
        f"/v1/ontologies/{oid}/draft/import?format=yaml",
        content=bomb,
        headers={**OPS, "If-Match": etag, "content-type": "application/octet-stream"},
    )
    assert response.status_code == 422
    assert "anchors and aliases are not accepted" in response.json()["errors"][0]["message"]
    draft = (await client.get(f"/v1/ontologies/{oid}/draft", headers=OPS)).json()
    assert draft["classes"] == [] and draft["revision"] == 1


async def test_numbers_and_sizes_out_of_range_are_422s_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    oid, _ = await build_v1(client)
    huge = 1968439458378707304972288  # past 64 bits: no store could take it
    for response in (
        await client.get(f"/v1/ontologies/{oid}/versions/{huge}/export", headers=OPS),
        await client.post(f"/v1/ontologies/{oid}/versions/{huge}/deprecate", headers=OPS),
    ):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "path.version"
    too_deep: dict[str, object] = {"x": 1}
    for _ in range(10):
        too_deep = {"x": too_deep}
    etag = await start_draft(client, oid)
    response, _ = await edit(
        client,
        "POST",
        f"/v1/ontologies/{oid}/draft/classes",
        etag,
        {"name": "Deep", "extra": too_deep},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.extra"
    translated = await client.post(
        f"/v1/ontologies/{oid}/translate",
        json={"from_version": 1, "to_version": huge, "labels": []},
        headers=OPS,
    )
    assert translated.status_code == 422
    assert translated.json()["errors"][0]["field"] == "body.to_version"


async def test_access_by_tenant_and_role(client: httpx.AsyncClient) -> None:
    oid, _ = await build_v1(client)
    unpublished, etag = await new_ontology(client, "secret")
    # another tenant sees nothing: 404, not 403
    for url in (
        f"/v1/ontologies/{oid}",
        f"/v1/ontologies/{oid}/versions/1",
        f"/v1/ontologies/{oid}/versions",
    ):
        response = await client.get(url, headers=OTHER_TENANT_OPS)
        assert response.status_code == 404, url
    listed = (await client.get("/v1/ontologies", headers=OTHER_TENANT_OPS)).json()
    assert listed["items"] == []
    # clients and experts read published versions, and an unpublished ontology is not theirs
    # to see (which role may call what: the generated matrix, tests/taxonomy/test_access.py)
    for role in ("client", "expert"):
        assert (
            await client.get(f"/v1/ontologies/{oid}/versions/1", headers=auth(role))
        ).status_code == 200
        assert (
            await client.get(f"/v1/ontologies/{unpublished}", headers=auth(role))
        ).status_code == 404
    # another tenant's ops cannot edit or publish this tenant's draft
    response = await client.post(
        f"/v1/ontologies/{unpublished}/draft/classes",
        json={"name": "x"},
        headers={**OTHER_TENANT_OPS, "If-Match": etag},
    )
    assert response.status_code == 404
    draft = (await client.get(f"/v1/ontologies/{unpublished}/draft", headers=OPS)).json()
    assert "x" not in [c["name"] for c in draft["classes"]]  # nothing changed


async def test_published_event_matches_the_api_version(
    client: httpx.AsyncClient, service: tuple[httpx.AsyncClient, Any]
) -> None:
    _, settings = service
    oid, v1 = await build_v1(client)
    registry = EventRegistry([VERSION_PUBLISHED])
    topic = f"{settings.topic_prefix}{TAXONOMY.name}"

    async def published() -> VersionPublishedV1 | None:
        for record in await read_all(settings.kafka_bootstrap_servers, topic):
            event = decode(record.value, key=record.key, headers=record.headers, registry=registry)
            if event is not None and event.data.ontology_id == oid:
                return event.data  # type: ignore[no-any-return]
        return None

    event = await eventually(published)
    assert event.version == 1 and event.tenant == "acme"
    assert event.content_hash == v1["content_hash"]
    assert [c.model_dump(mode="json") for c in event.classes] == v1["classes"]
    assert event.mapping is None

    await register_items(settings, f"{oid}-clip-9")
    linked = await link_when_known(
        client,
        f"/v1/ontologies/{oid}/versions/1/classes/bird/examples",
        {
            "item_id": f"{oid}-clip-9",
            "segment": {"start_s": 1.5, "end_s": 3},
            "polarity": "negative",
        },
    )
    link_registry = EventRegistry([EXAMPLE_LINKED])

    async def example_event() -> Any:
        for record in await read_all(settings.kafka_bootstrap_servers, topic):
            event = decode(
                record.value, key=record.key, headers=record.headers, registry=link_registry
            )
            if event is not None and event.data.link_id == linked.json()["link_id"]:
                return event
        return None

    example = await eventually(example_event)
    assert example.key == oid and example.tenant == "acme"
    assert example.data.segment.end_s == 3 and example.data.polarity == "negative"
    assert example.data.provenance.source == "manual"


async def test_a_version_too_large_for_one_event_is_a_422_and_publishes_nothing(
    client: httpx.AsyncClient,
) -> None:
    oid, etag = await new_ontology(client)
    bulky = {f"k{i}": "x" * 9_000 for i in range(400)}  # 3.6 MB of extra per class
    for name in ("Big one", "Big two"):
        response, etag = await edit(
            client,
            "POST",
            f"/v1/ontologies/{oid}/draft/classes",
            etag,
            {"name": name, "extra": bulky},
        )
        assert response.status_code == 201, response.text[:300]
    published = await client.post(
        f"/v1/ontologies/{oid}/draft/publish", headers={**OPS, "If-Match": etag}
    )
    assert published.status_code == 422
    assert "too large to publish" in published.json()["detail"]
    versions = await client.get(f"/v1/ontologies/{oid}/versions", headers=OPS)
    assert versions.json() == {"items": [], "next_cursor": None}


async def test_an_example_may_link_only_an_item_of_the_callers_tenant(
    client: httpx.AsyncClient, service: tuple[httpx.AsyncClient, Any]
) -> None:
    _, settings = service
    oid, _ = await build_v1(client)
    await register_items(settings, f"{oid}-theirs", tenant="globex")
    await register_items(settings, f"{oid}-ours")
    url = f"/v1/ontologies/{oid}/versions/1/classes/car/examples"
    await link_when_known(client, url, {"item_id": f"{oid}-ours"})  # both consumed by now
    refused = await client.post(url, json={"item_id": f"{oid}-theirs"}, headers=OPS)
    assert refused.status_code == 404
    assert refused.json()["errors"][0]["field"] == "body.item_id"
    links = (await client.get(f"/v1/ontologies/{oid}/versions/1/examples", headers=OPS)).json()
    assert [link["item_id"] for link in links["items"]] == [f"{oid}-ours"]
