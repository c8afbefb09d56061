"""Benchmark and compatibility probe for a MongoDB-wire-compatible server.

Runs the same workload against whatever answers at --uri, using pymongo's async API, and
prints a table of timings plus a feature matrix.  Every step is isolated: a step that raises
or hangs is recorded as FAIL / TIMEOUT and the run goes on.

    python tests/perf/mongo_compat_bench.py --uri mongodb://127.0.0.1:27018/
    python tests/perf/mongo_compat_bench.py --uri ... --pid 1234 --ready-s 0.8 --json out.json
    python tests/perf/mongo_compat_bench.py --merge a.json b.json   # side-by-side markdown table

--pid (optional) is the server's PID: its RSS (plus its children's) is read from /proc after the
run.  --ready-s (optional) is a start-to-ready time measured by whoever launched the server.
The database named by --db (default quorum_bench) is dropped at start and at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, InsertOne, ReturnDocument, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError

N_DOCS = 10_000
N_LEASES = 200
N_POINT = 200
N_CONCURRENT = 200
N_PENDING = 10
STEP_TIMEOUT = 120.0

Result = dict[str, Any]


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def summary(samples: list[float]) -> dict[str, float]:
    return {
        "median_ms": ms(statistics.median(samples)),
        "p95_ms": ms(p95(samples)),
        "n": len(samples),
    }


def rss_mib(pid: int) -> float | None:
    """RSS of pid and all its descendants, in MiB (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    total_kib = 0
    stack, seen = [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kib += int(line.split()[1])
        except OSError:
            if p == pid:
                return None
        stack.extend(children.get(p, []))
    return round(total_kib / 1024.0, 1)


class Bench:
    def __init__(self, uri: str, dbname: str) -> None:
        self.client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            uri,
            serverSelectionTimeoutMS=10_000,
            connectTimeoutMS=10_000,
            socketTimeoutMS=int(STEP_TIMEOUT * 1000),
            tz_aware=True,
        )
        self.db = self.client[dbname]
        self.dbname = dbname
        self.perf: dict[str, Any] = {}
        self.features: dict[str, str] = {}

    # -- helpers -----------------------------------------------------------------------------

    async def step(self, table: dict[str, Any], key: str, fn: Callable[[], Awaitable[Any]]) -> None:
        t0 = time.perf_counter()
        try:
            table[key] = await asyncio.wait_for(fn(), STEP_TIMEOUT)
        except TimeoutError:
            table[key] = f"TIMEOUT after {STEP_TIMEOUT:.0f}s"
        except Exception as exc:  # the point is to record any failure and go on
            msg = str(exc).splitlines()[0] if str(exc) else ""
            table[key] = f"FAIL {type(exc).__name__}: {msg[:160]}"
        dt = time.perf_counter() - t0
        print(f"  {key:<34} {fmt(table[key]):<60} ({dt:.1f}s)", file=sys.stderr, flush=True)

    def docs(self, n: int, start: int = 0) -> list[dict[str, Any]]:
        base = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
        out = []
        for i in range(start, start + n):
            out.append(
                {
                    "key": f"k{i:06d}",
                    "pool": f"p{i % 5}",
                    "state": "open",
                    "priority": (i * 7) % 10,
                    "created": datetime.fromtimestamp(base + i, tz=UTC),
                    "group": f"g{i % 20}",
                    "value": float(i % 100),
                    "_outbox": [],
                    "_pending": False,
                }
            )
        return out

    # -- performance -------------------------------------------------------------------------

    async def p_ping(self) -> str:
        r = await self.client.admin.command("ping")
        return "ok" if r.get("ok") == 1 else f"WRONG {r}"

    async def p_unique(self) -> str:
        c = self.db.uniq
        await c.create_index("key", unique=True)
        await c.insert_one({"key": "a"})
        try:
            await c.insert_one({"key": "a"})
        except DuplicateKeyError:
            return "ok (DuplicateKeyError)"
        return "WRONG: duplicate accepted"

    async def p_insert_many(self) -> dict[str, Any]:
        c = self.db.jobs
        await c.create_index(
            [
                ("pool", ASCENDING),
                ("state", ASCENDING),
                ("priority", DESCENDING),
                ("created", ASCENDING),
            ]
        )
        await c.create_index("key", unique=True)
        docs = self.docs(N_DOCS)
        t0 = time.perf_counter()
        r = await c.insert_many(docs)
        dt = time.perf_counter() - t0
        n = await c.count_documents({})
        return {
            "ms": ms(dt),
            "docs_per_s": round(N_DOCS / dt),
            "ok": len(r.inserted_ids) == N_DOCS and n == N_DOCS,
        }

    async def p_lease(self) -> dict[str, Any]:
        c = self.db.jobs
        samples: list[float] = []
        got: list[tuple[int, datetime]] = []
        for _ in range(N_LEASES):
            t0 = time.perf_counter()
            d = await c.find_one_and_update(
                {"pool": "p1", "state": "open"},
                {"$set": {"state": "leased", "lease_owner": "w1"}},
                sort=[("priority", DESCENDING), ("created", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            samples.append(time.perf_counter() - t0)
            if d is None or d.get("state") != "leased":
                return {"error": f"WRONG: got {d!r}"}
            got.append((d["priority"], d["created"]))
        order_ok = all(
            (a[0] > b[0]) or (a[0] == b[0] and a[1] <= b[1]) for a, b in itertools.pairwise(got)
        )
        return {**summary(samples), "order_ok": order_ok}

    async def p_lease_concurrent(self) -> dict[str, Any]:
        """20 workers x 10 leases each on pool p2: no document may be handed out twice."""
        c = self.db.jobs

        async def worker(w: int) -> list[Any]:
            ids = []
            for _ in range(10):
                d = await c.find_one_and_update(
                    {"pool": "p2", "state": "open"},
                    {"$set": {"state": "leased", "lease_owner": f"w{w}"}},
                    sort=[("priority", DESCENDING), ("created", ASCENDING)],
                    return_document=ReturnDocument.AFTER,
                )
                if d is not None:
                    ids.append(d["_id"])
            return ids

        t0 = time.perf_counter()
        res = await asyncio.gather(*(worker(w) for w in range(20)))
        dt = time.perf_counter() - t0
        flat = [i for r in res for i in r]
        dup = len(flat) - len(set(flat))
        leased = await c.count_documents({"pool": "p2", "state": "leased"})
        return {
            "ops_per_s": round(len(flat) / dt),
            "duplicates": dup,
            "ok": dup == 0 and len(flat) == 200 and leased == 200,
        }

    async def p_aggregate(self) -> dict[str, Any]:
        c = self.db.jobs
        pipeline = [
            {"$group": {"_id": "$group", "n": {"$sum": 1}, "avg": {"$avg": "$value"}}},
            {"$sort": {"_id": 1}},
        ]
        samples = []
        rows: list[dict[str, Any]] = []
        for _ in range(5):
            t0 = time.perf_counter()
            rows = await (await c.aggregate(pipeline)).to_list(None)
            samples.append(time.perf_counter() - t0)
        ok = (
            len(rows) == 20
            and sum(r["n"] for r in rows) == N_DOCS
            and abs(rows[0]["avg"] - statistics.mean(float(i % 100) for i in range(0, N_DOCS, 20)))
            < 1e-6
        )
        return {**summary(samples), "ok": ok}

    async def p_outbox(self) -> dict[str, Any]:
        c = self.db.outbox
        await c.create_index("_pending")
        await c.insert_many(self.docs(N_DOCS))
        ids = [d["_id"] for d in await c.find({}, {"_id": 1}).limit(N_PENDING).to_list(None)]
        write: list[float] = []
        events: list[tuple[Any, str]] = []
        for i, _id in enumerate(ids):
            ev = {
                "id": str(ObjectId()),
                "type": "task.assigned",
                "at": datetime.now(UTC),
                "payload": {"n": i},
            }
            t0 = time.perf_counter()
            await c.update_one(
                {"_id": _id},
                {"$set": {"state": "assigned", "_pending": True}, "$push": {"_outbox": ev}},
                upsert=True,
            )
            write.append(time.perf_counter() - t0)
            events.append((_id, ev["id"]))
        # upsert path: the document does not exist yet
        upsert: list[float] = []
        for i in range(N_PENDING):
            ev = {
                "id": str(ObjectId()),
                "type": "task.created",
                "at": datetime.now(UTC),
                "payload": {"n": i},
            }
            t0 = time.perf_counter()
            r = await c.update_one(
                {"key": f"new{i}"},
                {
                    "$set": {"state": "open", "_pending": True},
                    "$setOnInsert": {"pool": "p9", "priority": 0},
                    "$push": {"_outbox": ev},
                },
                upsert=True,
            )
            upsert.append(time.perf_counter() - t0)
            if r.upserted_id is None:
                return {"error": "WRONG: upsert did not insert"}
            events.append((r.upserted_id, ev["id"]))
        want = 2 * N_PENDING
        q_exists: list[float] = []
        q_flag: list[float] = []
        n_exists = n_flag = -1
        for _ in range(20):
            t0 = time.perf_counter()
            n_exists = len(await c.find({"_outbox.0": {"$exists": True}}).to_list(None))
            q_exists.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            n_flag = len(await c.find({"_pending": True}).to_list(None))
            q_flag.append(time.perf_counter() - t0)
        pull: list[float] = []
        for _id, ev_id in events:
            t0 = time.perf_counter()
            r = await c.update_one(
                {"_id": _id, "_outbox.id": ev_id},
                {"$pull": {"_outbox": {"id": ev_id}}, "$set": {"_pending": False}},
            )
            pull.append(time.perf_counter() - t0)
            if r.modified_count != 1:
                return {"error": f"WRONG: $pull modified {r.modified_count}"}
        left = await c.count_documents({"_outbox.0": {"$exists": True}})
        return {
            "write_ms": summary(write)["median_ms"],
            "upsert_ms": summary(upsert)["median_ms"],
            "q_exists_ms": summary(q_exists)["median_ms"],
            "q_pending_ms": summary(q_flag)["median_ms"],
            "pull_ms": summary(pull)["median_ms"],
            "ok": n_exists == want and n_flag == want and left == 0,
            "found": [n_exists, n_flag, want],
            "left_after_pull": left,
        }

    async def p_point(self) -> dict[str, Any]:
        c = self.db.jobs
        docs = await c.find({}, {"_id": 1, "key": 1}).limit(N_POINT).to_list(None)
        by_id: list[float] = []
        by_key: list[float] = []
        for d in docs:
            t0 = time.perf_counter()
            a = await c.find_one({"_id": d["_id"]})
            by_id.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = await c.find_one({"key": d["key"]})
            by_key.append(time.perf_counter() - t0)
            if a is None or b is None or a["_id"] != b["_id"]:
                return {"error": "WRONG: point lookup mismatch"}
        return {"by_id_ms": summary(by_id)["median_ms"], "by_key_ms": summary(by_key)["median_ms"]}

    async def p_concurrent_insert(self) -> dict[str, Any]:
        c = self.db.conc
        docs = self.docs(N_CONCURRENT, start=100_000)
        t0 = time.perf_counter()
        await asyncio.gather(*(c.insert_one(d) for d in docs))
        dt = time.perf_counter() - t0
        n = await c.count_documents({})
        return {"docs_per_s": round(N_CONCURRENT / dt), "ms": ms(dt), "ok": n == N_CONCURRENT}

    async def p_transactions(self) -> str:
        c = self.db.tx
        await c.insert_one({"_id": "seed"})
        async with self.client.start_session() as s, await s.start_transaction():
            await c.insert_one({"_id": "committed"}, session=s)
            await c.update_one({"_id": "seed"}, {"$set": {"x": 1}}, session=s)
        committed = await c.find_one({"_id": "committed"}) is not None
        async with self.client.start_session() as s:
            await s.start_transaction()
            await c.insert_one({"_id": "aborted"}, session=s)
            await c.update_one({"_id": "seed"}, {"$set": {"x": 2}}, session=s)
            outside = await c.find_one({"_id": "aborted"})  # no session: must not see it
            await s.abort_transaction()
        aborted_gone = await c.find_one({"_id": "aborted"}) is None
        seed = await c.find_one({"_id": "seed"})
        rolled_back = aborted_gone and seed is not None and seed.get("x") == 1
        parts = [
            f"commit={'ok' if committed else 'LOST'}",
            f"abort_rolls_back={'yes' if rolled_back else 'NO'}",
            f"isolated={'yes' if outside is None else 'NO'}",
        ]
        return (
            "ok " if committed and rolled_back and outside is None else "NOT ATOMIC "
        ) + " ".join(parts)

    async def p_change_stream(self) -> str:
        c = self.db.cs
        await c.insert_one({"_id": "warm"})
        async with await c.watch(max_await_time_ms=500) as stream:
            await c.insert_one({"_id": "x1"})
            for _ in range(10):
                ev = await stream.try_next()
                if ev is not None:
                    ok = (
                        ev.get("operationType") == "insert"
                        and ev.get("documentKey", {}).get("_id") == "x1"
                    )
                    return "ok" if ok else f"WRONG event {ev!r}"[:160]
            return "WRONG: no event within 5s"

    # -- features ----------------------------------------------------------------------------

    async def f_inc(self) -> str:
        c = self.db["f_inc"]
        await c.insert_one({"_id": "inc", "n": 1})
        await c.update_one({"_id": "inc"}, {"$inc": {"n": 2, "m": 1}})
        d = await c.find_one({"_id": "inc"})
        return "ok" if d and d["n"] == 3 and d["m"] == 1 else f"WRONG {d}"

    async def f_add_to_set(self) -> str:
        c = self.db["f_add_to_set"]
        await c.insert_one({"_id": "ats", "tags": ["a"]})
        await c.update_one({"_id": "ats"}, {"$addToSet": {"tags": "a"}})
        await c.update_one({"_id": "ats"}, {"$addToSet": {"tags": {"$each": ["b", "c", "a"]}}})
        d = await c.find_one({"_id": "ats"})
        return "ok" if d and d["tags"] == ["a", "b", "c"] else f"WRONG {d}"

    async def f_set_on_insert(self) -> str:
        c = self.db["f_set_on_insert"]
        for v in (1, 2):
            await c.update_one(
                {"_id": "soi"}, {"$set": {"v": v}, "$setOnInsert": {"first": v}}, upsert=True
            )
        d = await c.find_one({"_id": "soi"})
        return "ok" if d and d["v"] == 2 and d["first"] == 1 else f"WRONG {d}"

    async def f_elem_match(self) -> str:
        c = self.db["f_elem_match"]
        await c.insert_many(
            [
                {"_id": "em1", "items": [{"k": "a", "v": 1}, {"k": "b", "v": 5}]},
                {"_id": "em2", "items": [{"k": "a", "v": 5}, {"k": "b", "v": 1}]},
            ]
        )
        found = await c.find({"items": {"$elemMatch": {"k": "a", "v": {"$gt": 2}}}}).to_list(None)
        return (
            "ok" if [d["_id"] for d in found] == ["em2"] else f"WRONG {[d['_id'] for d in found]}"
        )

    async def f_array_filters(self) -> str:
        c = self.db["f_array_filters"]
        await c.insert_one(
            {"_id": "af", "items": [{"k": "a", "v": 1}, {"k": "b", "v": 1}, {"k": "a", "v": 2}]}
        )
        await c.update_one(
            {"_id": "af"}, {"$set": {"items.$[e].v": 9}}, array_filters=[{"e.k": "a"}]
        )
        d = await c.find_one({"_id": "af"})
        got = [i["v"] for i in d["items"]] if d else None
        return "ok" if got == [9, 1, 9] else f"WRONG {got}"

    async def f_positional(self) -> str:
        c = self.db["f_positional"]
        await c.insert_one({"_id": "pos", "items": [{"k": "a", "v": 1}, {"k": "b", "v": 1}]})
        await c.update_one({"_id": "pos", "items.k": "b"}, {"$set": {"items.$.v": 7}})
        d = await c.find_one({"_id": "pos"})
        got = [i["v"] for i in d["items"]] if d else None
        return "ok" if got == [1, 7] else f"WRONG {got}"

    async def f_sort_skip_limit(self) -> str:
        c = self.db.jobs
        got = await (
            c.find({"pool": "p3"}, {"key": 1, "_id": 0})
            .sort([("priority", DESCENDING), ("key", ASCENDING)])
            .skip(5)
            .limit(3)
            .to_list(None)
        )
        docs = [d for d in self.docs(N_DOCS) if d["pool"] == "p3"]
        docs.sort(key=lambda d: (-d["priority"], d["key"]))
        want = [d["key"] for d in docs[5:8]]
        return "ok" if [d["key"] for d in got] == want else f"WRONG {got} != {want}"

    async def f_count_distinct(self) -> str:
        c = self.db.jobs
        n = await c.count_documents({"pool": "p4"})
        n2 = await c.count_documents({"pool": "p4"}, skip=10, limit=100)
        est = await c.estimated_document_count()
        dist = sorted(await c.distinct("pool"))
        dist_f = sorted(await c.distinct("group", {"pool": "p0"}))
        ok = (
            n == N_DOCS // 5
            and n2 == 100
            and est == N_DOCS
            and dist == [f"p{i}" for i in range(5)]
            and dist_f == sorted(f"g{i}" for i in range(0, 20, 5))
        )
        return "ok" if ok else f"WRONG count={n},{n2} est={est} distinct={dist} {dist_f}"

    async def f_compound_index(self) -> str:
        c = self.db.idx
        name = await c.create_index([("a", ASCENDING), ("b", DESCENDING)], unique=True)
        await c.insert_one({"a": 1, "b": 1})
        await c.insert_one({"a": 1, "b": 2})
        try:
            await c.insert_one({"a": 1, "b": 1})
            return "WRONG: compound unique not enforced"
        except DuplicateKeyError:
            pass
        names = [i["name"] async for i in await c.list_indexes()]
        return "ok" if name in names else f"WRONG {names}"

    async def f_partial_index(self) -> str:
        c = self.db.pidx
        await c.create_index(
            "slot",
            unique=True,
            partialFilterExpression={"active": True},
            name="slot_active",
        )
        await c.insert_one({"slot": 1, "active": False})
        await c.insert_one({"slot": 1, "active": False})  # outside the filter: allowed
        await c.insert_one({"slot": 1, "active": True})
        try:
            await c.insert_one({"slot": 1, "active": True})
            return "WRONG: accepted but unique not enforced"
        except DuplicateKeyError:
            return "ok"

    async def f_partial_index_outside(self) -> str:
        """Duplicates outside the partial filter must be accepted (the point of a partial index)."""
        c = self.db.pidx2
        await c.create_index("slot", unique=True, partialFilterExpression={"active": True})
        try:
            await c.insert_many([{"slot": 1, "active": False}, {"slot": 1, "active": False}])
        except (DuplicateKeyError, BulkWriteError):
            return "WRONG: filter ignored (rejects docs outside it)"
        return "ok"

    async def f_sparse_unique(self) -> str:
        """The usual stand-in for a partial unique index: unique + sparse."""
        c = self.db["f_sparse_unique"]
        await c.create_index("slot", unique=True, sparse=True)
        await c.insert_many([{"x": 1}, {"x": 2}, {"slot": 1}])
        try:
            await c.insert_one({"slot": 1})
        except DuplicateKeyError:
            return "ok"
        return "WRONG: duplicate accepted"

    async def f_query_ops(self) -> str:
        c = self.db.jobs
        checks = {
            "$in": await c.count_documents({"pool": {"$in": ["p0", "p1"]}}) == 2 * N_DOCS // 5,
            "$nin": await c.count_documents({"pool": {"$nin": ["p0", "p1"]}}) == 3 * N_DOCS // 5,
            "$or": await c.count_documents({"$or": [{"pool": "p0"}, {"group": "g1"}]})
            == N_DOCS // 5 + N_DOCS // 20,
            "$regex": await c.count_documents({"key": {"$regex": "^k00001"}}) == 10,
            "$ne": await c.count_documents({"pool": {"$ne": "p0"}}) == 4 * N_DOCS // 5,
            "$size": await c.count_documents({"_outbox": {"$size": 0}}) == N_DOCS,
            "$expr": await c.count_documents({"$expr": {"$eq": ["$priority", 9]}}) == N_DOCS // 10,
            "$exists:false": await c.count_documents({"nothere": {"$exists": False}}) == N_DOCS,
        }
        bad = [k for k, ok in checks.items() if not ok]
        return "ok" if not bad else f"WRONG {bad}"

    async def f_crud_misc(self) -> str:
        c = self.db["f_crud_misc"]
        await c.insert_many([{"_id": i, "v": i} for i in range(10)])
        r1 = await c.replace_one({"_id": 1}, {"v": 100})
        d1 = await c.find_one_and_delete({"v": {"$gte": 5}}, sort=[("v", DESCENDING)])
        r2 = await c.delete_many({"v": {"$lt": 3}})
        r3 = await c.update_many({}, {"$rename": {"v": "w"}, "$currentDate": {"t": True}})
        d = await c.find_one({"_id": 3})
        ok = (
            r1.modified_count == 1
            and d1 is not None
            and d1["_id"] == 1
            and r2.deleted_count == 2
            and r3.modified_count == 7
            and d is not None
            and d.get("w") == 3
            and "v" not in d
            and isinstance(d.get("t"), datetime)
        )
        return (
            "ok"
            if ok
            else f"WRONG {r1.modified_count} {d1} {r2.deleted_count} {r3.modified_count} {d}"
        )

    async def f_bulk_unordered(self) -> str:
        c = self.db.bulk
        await c.create_index("k", unique=True)
        ops = [
            InsertOne({"k": 1}),
            InsertOne({"k": 1}),
            InsertOne({"k": 2}),
            UpdateOne({"k": 2}, {"$set": {"x": 1}}),
        ]
        try:
            await c.bulk_write(ops, ordered=False)
            return "WRONG: no error for duplicate"
        except BulkWriteError as e:
            d = e.details
            n = await c.count_documents({})
            ok = d.get("nInserted") == 2 and len(d.get("writeErrors", [])) == 1 and n == 2
            return (
                "ok"
                if ok
                else f"WRONG nInserted={d.get('nInserted')} errors={len(d.get('writeErrors', []))} count={n}"
            )

    async def f_pipeline_update(self) -> str:
        c = self.db["f_pipeline_update"]
        await c.insert_one({"_id": "pu", "_outbox": [{"id": 1}], "_pending": True})
        await c.update_one(
            {"_id": "pu"},
            [
                {
                    "$set": {
                        "_outbox": {
                            "$filter": {"input": "$_outbox", "cond": {"$ne": ["$$this.id", 1]}}
                        }
                    }
                },
                {"$set": {"_pending": {"$gt": [{"$size": "$_outbox"}, 0]}}},
            ],
        )
        d = await c.find_one({"_id": "pu"})
        return "ok" if d and d["_outbox"] == [] and d["_pending"] is False else f"WRONG {d}"

    async def f_push_each_slice(self) -> str:
        c = self.db["f_push_each_slice"]
        await c.insert_one({"_id": "ps", "h": [1, 2]})
        await c.update_one({"_id": "ps"}, {"$push": {"h": {"$each": [3, 4, 5], "$slice": -3}}})
        d = await c.find_one({"_id": "ps"})
        return "ok" if d and d["h"] == [3, 4, 5] else f"WRONG {d}"

    async def f_unset_min_max(self) -> str:
        c = self.db["f_unset_min_max"]
        await c.insert_one({"_id": "umm", "a": 1, "lo": 5, "hi": 5})
        await c.update_one(
            {"_id": "umm"}, {"$unset": {"a": ""}, "$min": {"lo": 3}, "$max": {"hi": 9}}
        )
        d = await c.find_one({"_id": "umm"})
        return "ok" if d and "a" not in d and d["lo"] == 3 and d["hi"] == 9 else f"WRONG {d}"

    async def f_datetime(self) -> str:
        c = self.db["f_datetime"]
        t = datetime(2025, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
        await c.insert_one({"_id": "dt", "t": t})
        d = await c.find_one({"_id": "dt", "t": {"$gte": t}})
        return "ok" if d and d["t"] == t else f"WRONG {d}"

    async def f_fam_upsert(self) -> str:
        c = self.db["f_fam_upsert"]
        d = await c.find_one_and_update(
            {"_id": "fam"},
            {"$inc": {"seq": 1}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
        d2 = await c.find_one_and_update(
            {"_id": "fam"}, {"$inc": {"seq": 1}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        return "ok" if d and d["seq"] == 1 and d2 and d2["seq"] == 2 else f"WRONG {d} {d2}"

    async def f_lookup_facet(self) -> str:
        c = self.db.jobs
        rows = await (
            await c.aggregate(
                [
                    {"$match": {"pool": "p0"}},
                    {"$limit": 3},
                    {
                        "$lookup": {
                            "from": "jobs",
                            "localField": "key",
                            "foreignField": "key",
                            "as": "same",
                        }
                    },
                    {"$project": {"n": {"$size": "$same"}}},
                ]
            )
        ).to_list(None)
        facet = await (
            await c.aggregate(
                [
                    {
                        "$facet": {
                            "a": [{"$count": "n"}],
                            "b": [{"$match": {"pool": "p0"}}, {"$count": "n"}],
                        }
                    }
                ]
            )
        ).to_list(None)
        ok = [r["n"] for r in rows] == [1, 1, 1] and facet[0]["a"][0]["n"] == N_DOCS
        return "ok" if ok else f"WRONG {rows} {facet}"

    async def f_ttl_index(self) -> str:
        c = self.db.ttl
        await c.create_index("at", expireAfterSeconds=3600)
        return "ok (accepted)"

    async def f_explain_index_used(self) -> str:
        """Does the server report an index scan for the lease query (where it exposes a plan)?"""
        r = await self.db.command(
            "explain",
            {
                "find": "jobs",
                "filter": {"pool": "p1", "state": "open"},
                "sort": {"priority": -1, "created": 1},
                "limit": 1,
            },
        )
        text = json.dumps(r, default=str)
        return "IXSCAN" if "IXSCAN" in text or "INDEX" in text.upper() else "no index in plan"

    # -- run ---------------------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        t0 = time.perf_counter()
        await self.step(self.perf, "ping", self.p_ping)
        if not str(self.perf["ping"]).startswith("ok"):
            return {"perf": self.perf, "features": self.features}
        await self.client.drop_database(self.dbname)
        await self.step(self.perf, "1_unique_index", self.p_unique)
        await self.step(self.perf, "2_insert_many_10k", self.p_insert_many)
        await self.step(self.perf, "3_find_one_and_update", self.p_lease)
        await self.step(self.perf, "3b_concurrent_leases", self.p_lease_concurrent)
        await self.step(self.perf, "4_aggregate_group", self.p_aggregate)
        await self.step(self.perf, "5_outbox", self.p_outbox)
        await self.step(self.perf, "6_point_reads", self.p_point)
        await self.step(self.perf, "7_concurrent_insert_one", self.p_concurrent_insert)
        await self.step(self.perf, "8_transactions", self.p_transactions)
        await self.step(self.perf, "9_change_streams", self.p_change_stream)
        for name in sorted(n for n in dir(self) if n.startswith("f_")):
            await self.step(self.features, name[2:], getattr(self, name))
        self.perf["total_s"] = round(time.perf_counter() - t0, 1)
        try:
            await asyncio.wait_for(self.client.drop_database(self.dbname), 60)
        except Exception as exc:
            print(f"  drop_database failed: {exc}", file=sys.stderr)
        await self.client.close()
        return {"perf": self.perf, "features": self.features}


def fmt(v: Any) -> str:
    if isinstance(v, dict):
        if "error" in v:
            return str(v["error"])
        return ", ".join(f"{k}={x}" for k, x in v.items())
    return str(v)


def short(v: Any, width: int = 70) -> str:
    """One table cell: error texts cut before pymongo's ', full error: {...}' and to width."""
    text = str(v).split(", full error:")[0]
    return text if len(text) <= width else text[: width - 1] + "…"


def cells(res: dict[str, Any]) -> dict[str, str]:
    """Flatten one result into the rows of the summary table."""
    p, f = res.get("perf", {}), res.get("features", {})

    def get(step: str, *fields: str, unit: str = "") -> str:
        v = p.get(step)
        if v is None:
            return "-"
        if not isinstance(v, dict):
            return str(v)
        if "error" in v:
            return str(v["error"])
        vals = "/".join(str(v.get(k, "?")) for k in fields)
        bad = "" if v.get("ok", True) and v.get("order_ok", True) else " WRONG"
        return f"{vals}{unit}{bad}"

    row = {
        "start-to-ready (s)": str(res.get("ready_s", "-")),
        "1 unique index + DuplicateKeyError": str(p.get("1_unique_index", "-")),
        "2 insert_many 10k (ms)": get("2_insert_many_10k", "ms"),
        "3 find_one_and_update+sort, median/p95 (ms)": get(
            "3_find_one_and_update", "median_ms", "p95_ms"
        ),
        "3b 20x10 concurrent leases (ops/s, dup-free)": get("3b_concurrent_leases", "ops_per_s"),
        "4 aggregate $group 10k, median (ms)": get("4_aggregate_group", "median_ms"),
        "5 outbox $set+$push upsert write (ms)": get("5_outbox", "write_ms", "upsert_ms"),
        "5 outbox query _outbox.0 $exists (ms)": get("5_outbox", "q_exists_ms"),
        "5 outbox query _pending=true idx (ms)": get("5_outbox", "q_pending_ms"),
        "5 outbox $pull by event id (ms)": get("5_outbox", "pull_ms"),
        "6 find by _id / unique key (ms)": get("6_point_reads", "by_id_ms", "by_key_ms"),
        "7 200 concurrent insert_one (docs/s)": get("7_concurrent_insert_one", "docs_per_s"),
        "8 multi-doc transactions": str(p.get("8_transactions", "-")),
        "9 change streams": str(p.get("9_change_streams", "-")),
        "10 RSS after run (MiB)": str(res.get("rss_mib", "-")),
        "total bench time (s)": str(p.get("total_s", "-")),
    }
    for k, v in sorted(f.items()):
        row[f"feature: {k}"] = str(v)
    return row


def print_table(results: list[tuple[str, dict[str, Any]]]) -> None:
    rows = [cells(r) for _, r in results]
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    head = ["measure", *[n for n, _ in results]]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join("---" for _ in head) + "|")
    for k in keys:
        vals = [short(r.get(k, "-")).replace("|", "/") for r in rows]
        print("| " + " | ".join([k, *vals]) + " |")


async def amain(args: argparse.Namespace) -> dict[str, Any]:
    bench = Bench(args.uri, args.db)
    res = await bench.run()
    if args.ready_s is not None:
        res["ready_s"] = args.ready_s
    if args.pid:
        res["rss_mib"] = rss_mib(args.pid)
    res["uri"] = args.uri
    return res


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--uri", default=os.environ.get("MONGO_URI", "mongodb://127.0.0.1:27018/"))
    ap.add_argument("--db", default="quorum_bench")
    ap.add_argument("--name", default=None, help="column label (default: the URI)")
    ap.add_argument("--pid", type=int, default=None, help="server PID, for RSS")
    ap.add_argument("--ready-s", type=float, default=None, help="measured start-to-ready seconds")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw result here")
    ap.add_argument(
        "--merge", nargs="+", type=Path, help="print one table from earlier --json files"
    )
    args = ap.parse_args()
    if args.merge:
        results = []
        for p in args.merge:
            r = json.loads(p.read_text())
            results.append((r.get("name", p.stem), r))
        print_table(results)
        return 0
    res = asyncio.run(amain(args))
    res["name"] = args.name or args.uri
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))
    print_table([(res["name"], res)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
