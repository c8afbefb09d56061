"""MongoDB helpers on the local MongoDB-compatible server: raw write commands report what
each operation did across command chunks, and id lookups span their query chunks."""

from __future__ import annotations

import gc
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

import shared.mongo
from shared.mongo import find_in, write_many
from shared.serve import tune_gc

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture
async def db(mongo_client: AsyncMongoClient[Any]) -> AsyncIterator[AsyncDatabase[Any]]:
    database = mongo_client[f"it_mongo_{uuid.uuid4().hex[:8]}"]
    yield database
    await mongo_client.drop_database(database.name)


async def test_write_many_counts_upserts_and_duplicates_across_chunks(
    db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.mongo, "OPS_PER_COMMAND", 3)
    await db.c.insert_many([{"_id": 1, "v": 0}, {"_id": 4, "v": 0}])
    inserted = await write_many(db.c, "insert", [{"_id": i, "v": 1} for i in range(7)])
    assert sorted(inserted.duplicates) == [1, 4]  # positions, counted over the chunks
    upserts = [
        {"q": {"_id": i}, "u": {"$setOnInsert": {"claimed": True}}, "upsert": True}
        for i in (5, 8, 6, 9, 10)
    ]
    summary = await write_many(db.c, "update", upserts)
    assert summary.upserted == {1: 8, 3: 9, 4: 10}
    assert summary.matched == 2
    assert await db.c.count_documents({"claimed": True}) == 3


async def test_write_many_raises_for_errors_other_than_duplicates(db: AsyncDatabase[Any]) -> None:
    await db.c.insert_one({"_id": 1, "n": "text"})
    with pytest.raises(OperationFailure):
        await write_many(db.c, "update", [{"q": {"_id": 1}, "u": {"$inc": {"n": 1}}}])


async def test_find_in_reads_every_chunk(
    db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shared.mongo, "IDS_PER_QUERY", 4)
    await db.c.insert_many([{"_id": i, "v": i} for i in range(20)])
    wanted = [*range(0, 20, 2), 99]
    found = [doc async for doc in find_in(db.c, wanted, {"_id": 1})]
    assert sorted(doc["_id"] for doc in found) == list(range(0, 20, 2))
    assert all(set(doc) == {"_id"} for doc in found)


def test_tune_gc_sets_the_young_threshold_and_freezes_start_up_objects() -> None:
    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold() == (12_345, *before[1:])
        assert gc.get_freeze_count() > 0
        tune_gc(0)  # 0 keeps the threshold
        assert gc.get_threshold()[0] == 12_345
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
