"""The owner's store of judged items on the real MongoDB-compatible server: a run of
judgments taken at once stores what taking them one by one stores; a judgment taken before
changes nothing; an item written by someone else between the read and the write is left to
the one-by-one path, and nothing of it is stored twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient

from services.metrics.project_agreement import Entry
from services.metrics.stores.judged_items import JUDGED_ITEMS, JudgedItemStore
from tests.metrics.judgments import project_judgments

pytestmark = pytest.mark.integration

JUDGMENTS = project_judgments("p", items=6)
TAKEN = [(j.item_id, Entry.of(j)) for j in JUDGMENTS]


@pytest_asyncio.fixture
async def stores(mongo_client: AsyncMongoClient[Any]) -> AsyncIterator[tuple[Any, Any]]:
    names = [f"t_items_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    try:
        yield mongo_client[names[0]], mongo_client[names[1]]
    finally:
        for n in names:
            await mongo_client.drop_database(n)


async def documents(db: Any) -> dict[str, Any]:
    return {
        doc["_id"]: (doc["entries"], sorted(doc["applied"]), doc["revision"], doc["last_at"])
        async for doc in db[JUDGED_ITEMS].find({})
    }


async def test_a_run_stores_what_one_by_one_stores(stores: tuple[Any, Any]) -> None:
    together, one_by_one = stores
    changes, again = await JudgedItemStore(together).apply_many("acme", "p", TAKEN)
    assert again == []
    singles = [await JudgedItemStore(one_by_one).apply("acme", "p", i, e) for i, e in TAKEN]
    assert changes == [c for c in singles if c is not None]
    assert await documents(together) == await documents(one_by_one)
    # all again, with a repeat inside the run: nothing changes
    changes, again = await JudgedItemStore(together).apply_many("acme", "p", TAKEN + TAKEN[:3])
    assert (changes, again) == ([], [])
    assert await documents(together) == await documents(one_by_one)


async def test_an_item_written_meanwhile_is_left_to_the_one_by_one_path(
    stores: tuple[Any, Any],
) -> None:
    db, _ = stores
    store = JudgedItemStore(db)
    first, rest = TAKEN[:4], TAKEN[4:8]
    await store.apply_many("acme", "p", first)
    item, entry = rest[0]
    real = store.items.bulk_write

    async def someone_else_first(writes: Any, **kwargs: Any) -> Any:
        await JudgedItemStore(db).apply("acme", "p", item, entry)  # between read and write
        return await real(writes, **kwargs)

    store.items.bulk_write = someone_else_first  # type: ignore[method-assign,assignment]
    changes, again = await store.apply_many("acme", "p", rest)
    store.items.bulk_write = real  # type: ignore[method-assign]
    raced = [p for p, (i, _) in enumerate(rest) if i == item]
    assert again == raced
    assert {c.item_id for c in changes} == {i for i, _ in rest} - {item}
    # the one-by-one path then takes what was left; everything is stored once
    for position in again:
        await store.apply("acme", "p", *rest[position])
    docs = await documents(db)
    applied = [j for _, ids, _, _ in docs.values() for j in ids]
    assert sorted(applied) == sorted({e.judgment_id for _, e in first + rest})
