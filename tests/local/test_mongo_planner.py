"""The local MongoDB-compatible server plans a query that pins a unique index's keys among other
conditions by that index (deploy/local/mongo/UniqueKeyPlanner.java), as MongoDB does, and every
read, update and delete gives exactly what a full scan gives.

Each query is run twice: as it is, and wrapped in ``$and``, a form no index plan takes (the
server scans it). Both backends are checked: the suite's server (in memory, or real MongoDB under
testcontainers, where the two agree just as well) and a server of the test's own in the persistent
mode (H2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import ASCENDING, MongoClient, ReturnDocument
from pymongo.collection import Collection

from tests.conftest import Endpoints
from tests.own_servers import own_mongo_server

pytestmark = pytest.mark.integration

IDS = range(12)
STATES = ["pending", "leased", "done"]
EXPERTS = ["ana", "bo", "cy"]


@st.composite
def documents(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from(IDS), unique=True, max_size=10))
    return [
        {
            "_id": i,
            "code": f"c{i}",  # a unique, non-sparse index: every document has one
            **({"tag": f"t{i}"} if draw(st.booleans()) else {}),  # a unique, sparse index
            "state": draw(st.sampled_from(STATES)),
            "n": draw(st.integers(0, 4)),
            "units": draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"state": st.sampled_from(STATES), "expert": st.sampled_from(EXPERTS)}
                    ),
                    max_size=3,
                )
            ),
        }
        for i in ids
    ]


#: conditions on an index's keys: an equality (hit or miss) or an ``$in``
PINS = st.one_of(
    st.builds(lambda i: {"_id": i}, st.sampled_from(IDS)),
    st.builds(lambda ids: {"_id": {"$in": ids}}, st.lists(st.sampled_from(IDS), max_size=4)),
    st.builds(lambda i: {"code": f"c{i}"}, st.sampled_from(IDS)),
    st.builds(lambda i: {"tag": f"t{i}"}, st.sampled_from(IDS)),
    st.just({"tag": None}),  # matches documents without a tag: a sparse index must not plan it
)

#: the other conditions, as a claim or an optimistic write puts them
CONDITIONS = st.one_of(
    st.builds(lambda s: {"state": s}, st.sampled_from(STATES)),
    st.builds(lambda s: {"state": {"$ne": s}}, st.sampled_from(STATES)),
    st.builds(lambda n: {"n": {"$gte": n}}, st.integers(0, 4)),
    st.builds(lambda n: {"n": {"$lt": n}}, st.integers(0, 4)),
    st.builds(lambda e: {"units.expert": {"$ne": e}}, st.sampled_from(EXPERTS)),
    st.builds(
        lambda s, e: {"units": {"$elemMatch": {"state": s, "expert": {"$ne": e}}}},
        st.sampled_from(STATES),
        st.sampled_from(EXPERTS),
    ),
    st.builds(lambda b: {"tag": {"$exists": b}}, st.booleans()),
    st.builds(
        lambda a, b: {"$or": [{"state": a}, {"n": {"$gt": b}}]},
        st.sampled_from(STATES),
        st.integers(0, 4),
    ),
)


@st.composite
def queries(draw: st.DrawFn) -> dict[str, Any]:
    query = dict(draw(PINS))
    for condition in draw(st.lists(CONDITIONS, min_size=1, max_size=3)):
        for key, value in condition.items():
            query.setdefault(key, value)
    if draw(st.booleans()):  # a second pin: two indexes could plan it
        for key, value in draw(PINS).items():
            query.setdefault(key, value)
    return query


@pytest.fixture(scope="module", params=["suite server", "persistent server"])
def twins(
    request: pytest.FixtureRequest,
    endpoints: Endpoints,
    run_id: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Collection[Any], Collection[Any]]]:
    """Two collections with the same indexes: one is queried as given, the other by a scan."""
    with ExitStack() as stack:
        uri = endpoints.mongodb_uri
        if request.param == "persistent server":
            uri = stack.enter_context(own_mongo_server(tmp_path_factory.mktemp("h2"))).uri
        yield from _twins(uri, run_id)


def _twins(uri: str, run_id: str) -> Iterator[tuple[Collection[Any], Collection[Any]]]:
    client: MongoClient[Any] = MongoClient(uri, serverSelectionTimeoutMS=5000)
    db = client[f"t_{run_id}_planner"]
    pair = (db["planned"], db["scanned"])
    for coll in pair:
        coll.create_index([("code", ASCENDING)], unique=True)
        coll.create_index([("tag", ASCENDING)], unique=True, sparse=True)
    yield pair
    client.drop_database(db.name)
    client.close()


def reset(pair: tuple[Collection[Any], Collection[Any]], docs: list[dict[str, Any]]) -> None:
    for coll in pair:
        coll.delete_many({})
        if docs:
            coll.insert_many([dict(d) for d in docs])


def contents(coll: Collection[Any]) -> list[dict[str, Any]]:
    return list(coll.find({}).sort("_id", ASCENDING))


def scan(query: dict[str, Any]) -> dict[str, Any]:
    return {"$and": [query]}


PLANNED = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PLANNED
@given(docs=documents(), query=queries())
def test_a_find_returns_what_a_scan_returns(
    twins: tuple[Collection[Any], Collection[Any]],
    docs: list[dict[str, Any]],
    query: dict[str, Any],
) -> None:
    planned, scanned = twins
    reset(twins, docs)
    assert list(planned.find(query).sort("_id", ASCENDING)) == list(
        scanned.find(scan(query)).sort("_id", ASCENDING)
    )
    assert planned.count_documents(query) == scanned.count_documents(scan(query))


@PLANNED
@given(
    docs=documents(),
    query=queries(),
    expert=st.sampled_from(EXPERTS),
    sort=st.sampled_from([None, [("n", ASCENDING), ("_id", ASCENDING)]]),
)
def test_a_conditional_claim_changes_what_it_changes_after_a_scan(
    twins: tuple[Collection[Any], Collection[Any]],
    docs: list[dict[str, Any]],
    query: dict[str, Any],
    expert: str,
    sort: list[tuple[str, int]] | None,
) -> None:
    planned, scanned = twins
    reset(twins, docs)
    claim = {"$set": {"state": "leased"}, "$push": {"units": {"state": "leased", "expert": expert}}}
    # without a sort MongoDB may pick any match; a pinned _id leaves one document to pick
    if sort is None and not isinstance(query.get("_id"), int):
        sort = [("_id", ASCENDING)]
    got = planned.find_one_and_update(query, claim, sort=sort, return_document=ReturnDocument.AFTER)
    want = scanned.find_one_and_update(
        scan(query), claim, sort=sort, return_document=ReturnDocument.AFTER
    )
    assert got == want
    assert contents(planned) == contents(scanned)


@PLANNED
@given(docs=documents(), query=queries())
def test_updates_and_deletes_touch_the_documents_a_scan_touches(
    twins: tuple[Collection[Any], Collection[Any]],
    docs: list[dict[str, Any]],
    query: dict[str, Any],
) -> None:
    planned, scanned = twins
    reset(twins, docs)
    bump = {"$inc": {"n": 10}}
    assert (
        planned.update_many(query, bump).modified_count
        == scanned.update_many(scan(query), bump).modified_count
    )
    assert contents(planned) == contents(scanned)
    assert (
        planned.delete_many(query).deleted_count == scanned.delete_many(scan(query)).deleted_count
    )
    assert contents(planned) == contents(scanned)
