"""Benchmark: what each hand-written fast path of the bus is worth, against its library path.

    .venv/bin/python -m tests.perf.fast_paths [--events 20000] [--rounds 5]

Each round runs, one after the other on the same machine load: the raw aiokafka pipeline,
the bus as it is, and the bus with one fast path at a time replaced by what the libraries
do (patched in this process only):

* ``send per message``: ``AIOKafkaProducer.send`` for each message instead of record
  batches packed by ``KafkaBus.send_batch``;
* ``checked decoder only``: every message read step by step (JSON, envelope, then the data
  against its model) instead of the one pydantic-core call of the structured fast path;
* ``tuned GC``: the opposite direction, a variant *with* the services' GC tuning
  (``shared.serve.tune_gc``: a young threshold of 50,000), which this benchmark process does
  not otherwise have.

(Measured and removed since: a hand-written partitioner, hand-made event ids, and freezing
start-up objects out of collections, each under 5 %; see docs/benchmarks.md.)

It prints each round and, per variant, the median events/s, the median of its rounds'
ratios to raw, and what it changes against the bus as it is, median of the per-round
differences: in rate, and in the CPU this process spends per event (the bus is bound by this
process's CPU, and on a shared machine CPU per event is far steadier than the rate). A fast
path stays when its removal costs at least 5 %.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import statistics
from collections.abc import Callable, Iterator
from typing import Any

from pymongo import AsyncMongoClient

import shared.kafka.consumer
from shared.events import codec
from shared.kafka.producer import KafkaBus
from shared.serve import tune_gc
from tests.kafka_helpers import delete_topics
from tests.perf.bus import Round, _events, bus_round, raw_round


@contextlib.contextmanager
def send_per_message() -> Iterator[None]:
    original = KafkaBus.send_batch

    async def send_each(self: KafkaBus, messages: Any) -> None:
        futures = [
            await self.producer.send(self.topic(t), value=v, key=k, headers=list(h))
            for t, k, v, h in messages
        ]
        await asyncio.gather(*futures)

    KafkaBus.send_batch = send_each  # type: ignore[method-assign]
    try:
        yield
    finally:
        KafkaBus.send_batch = original  # type: ignore[method-assign]


@contextlib.contextmanager
def checked_decoder_only() -> Iterator[None]:
    original = shared.kafka.consumer.decode

    def decode(value: Any, *, key: Any, headers: Any, registry: Any) -> Any:
        if not value:
            raise codec.BadEvent("empty message value")
        return codec.decode_checked(value, key, headers, registry)

    shared.kafka.consumer.decode = decode  # type: ignore[assignment]
    try:
        yield
    finally:
        shared.kafka.consumer.decode = original


@contextlib.contextmanager
def tuned_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    tune_gc(50_000)
    try:
        yield
    finally:
        gc.set_threshold(*threshold)


VARIANTS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "send per message": send_per_message,
    "checked decoder only": checked_decoder_only,
    "tuned GC": tuned_gc,
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092")
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(
        os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:27018/")
    )
    payload = [(e.key.encode(), codec.encode(e)[1]) for e in _events(args.events)]
    created: list[str] = []
    rounds: dict[str, list[Round]] = {"raw": [], "bus": [], **{v: [] for v in args.only}}
    try:
        await raw_round(bootstrap, 2000, payload, created)  # warm up
        await bus_round(bootstrap, mongo, 2000, created)
        for number in range(1, args.rounds + 1):
            rounds["raw"].append(await raw_round(bootstrap, args.events, payload, created))
            rounds["bus"].append(await bus_round(bootstrap, mongo, args.events, created))
            for name in args.only:
                with VARIANTS[name]():
                    rounds[name].append(await bus_round(bootstrap, mongo, args.events, created))
            line = "   ".join(
                f"{name} {values[-1].rate:,.0f}/s {values[-1].cpu_us:.0f} µs"
                for name, values in rounds.items()
            )
            print(f"round {number}: {line}", flush=True)
    finally:
        await mongo.close()
        await delete_topics(bootstrap, created)
    print(f"\n{args.events:,} events x {args.rounds} rounds (medians)")
    raw = rounds["raw"]
    print(
        f"{'raw':<22}{statistics.median(r.rate for r in raw):>9,.0f}/s "
        f"{statistics.median(r.cpu_us for r in raw):5.0f} µs/event"
    )
    for name in ["bus", *args.only]:
        these = rounds[name]
        ratio = statistics.median(v.rate / r.rate for v, r in zip(these, raw, strict=True))
        line = (
            f"{name:<22}{statistics.median(v.rate for v in these):>9,.0f}/s "
            f"{statistics.median(v.cpu_us for v in these):5.0f} µs/event   ratio {ratio:.2f}"
        )
        if name != "bus":
            pairs = list(zip(these, rounds["bus"], strict=True))
            rate = statistics.median(v.rate / b.rate - 1 for v, b in pairs)
            cpu = statistics.median(v.cpu_us / b.cpu_us - 1 for v, b in pairs)
            line += f"   vs bus: rate {100 * rate:+5.1f} %, CPU per event {100 * cpu:+5.1f} %"
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
