"""Expert quality's store of review judgments beside their item's outcome, on the real
MongoDB-compatible server: a run kept in one bulk write keeps each judgment once, two of
one new item included, and a replay of the run keeps nothing new."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.metrics.stores.expert_quality import OUTCOME_ITEMS, ExpertQualityStore

pytestmark = pytest.mark.integration


def kept(judgment_id: str, expert: str) -> dict[str, Any]:
    return {
        "judgment_id": judgment_id,
        "expert_id": expert,
        "verdict": "accept",
        "class": "cat",
        "submitted_at": datetime(2026, 1, 1, tzinfo=UTC),
        "applied_at": datetime(2026, 1, 1, tzinfo=UTC),
    }


async def test_a_run_keeps_each_judgment_once(mongo_client: AsyncMongoClient[Any]) -> None:
    db = mongo_client[f"t_quality_{uuid.uuid4().hex[:8]}"]
    try:
        store = ExpertQualityStore(db)
        run = [
            ("acme", "p", "i1", kept("j1", "e1")),
            ("acme", "p", "i1", kept("j2", "e2")),  # the same new item, in the same run
            ("acme", "p", "i2", kept("j3", "e1")),
        ]
        await store.judged_many(run)
        await store.judged_many(run)  # replayed
        await store.judged(*run[0])  # and one by one
        docs = {d["item_id"]: d async for d in db[OUTCOME_ITEMS].find({})}
        assert {i: [j["judgment_id"] for j in d["judgments"]] for i, d in docs.items()} == {
            "i1": ["j1", "j2"],
            "i2": ["j3"],
        }
        assert all(d["tenant"] == "acme" and d["resolution"] is None for d in docs.values())
    finally:
        await mongo_client.drop_database(db.name)


async def test_a_new_experts_drift_detector_alerts_at_the_configured_count(
    mongo_client: AsyncMongoClient[Any],
) -> None:
    db = mongo_client[f"t_quality_{uuid.uuid4().hex[:8]}"]
    try:
        store = ExpertQualityStore(db, drift_min_count=30)
        fresh = await store.expert_gold("acme", "p", "e1")
        assert fresh.drift.min_count == 30
        fresh.drift.add(True)
        assert await store.store_gold(fresh, "j1")
        # a stored detector keeps the count it was made with
        later = ExpertQualityStore(db, drift_min_count=100)
        assert (await later.expert_gold("acme", "p", "e1")).drift.min_count == 30
    finally:
        await mongo_client.drop_database(db.name)
