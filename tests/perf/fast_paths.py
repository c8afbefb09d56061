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
  (``shared.serve.tune_gc``: a young threshold of 50,000 and start-up objects frozen), which
  this benchmark process does not otherwise have; ``GC threshold only``: the same without
  the freeze.

(Measured and removed since: a hand-written partitioner and hand-made event ids, each
under 5 %; see docs/benchmarks.md.)

It prints each round and, per variant, the median events/s, the median of its rounds'
ratios to raw, and what it changes against the bus as it is (median of the per-round
differences). A fast path stays when its removal costs at least 5 %.
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
from tests.perf.bus import _events, bus_round, raw_round


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
def tuned_gc(freeze: bool = True) -> Iterator[None]:
    threshold = gc.get_threshold()
    if freeze:
        tune_gc(50_000)
    else:
        gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


VARIANTS: dict[str, Callable[[], contextlib.AbstractContextManager[None]]] = {
    "send per message": send_per_message,
    "checked decoder only": checked_decoder_only,
    "tuned GC": tuned_gc,
    "GC threshold only": lambda: tuned_gc(freeze=False),
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
    rates: dict[str, list[float]] = {"raw": [], "bus": [], **{v: [] for v in args.only}}
    try:
        await raw_round(bootstrap, 2000, payload, created)  # warm up
        await bus_round(bootstrap, mongo, 2000, created)
        for number in range(1, args.rounds + 1):
            rates["raw"].append(await raw_round(bootstrap, args.events, payload, created))
            rates["bus"].append(await bus_round(bootstrap, mongo, args.events, created))
            for name in args.only:
                with VARIANTS[name]():
                    rates[name].append(await bus_round(bootstrap, mongo, args.events, created))
            line = "   ".join(f"{name} {values[-1]:,.0f}" for name, values in rates.items())
            print(f"round {number}: {line}", flush=True)
    finally:
        await mongo.close()
        await delete_topics(bootstrap, created)
    print(f"\n{args.events:,} events x {args.rounds} rounds (events/s, medians)")
    print(f"{'raw':<22}{statistics.median(rates['raw']):>9,.0f}")
    for name in ["bus", *args.only]:
        ratio = statistics.median(r / b for r, b in zip(rates[name], rates["raw"], strict=True))
        change = statistics.median(
            v / b - 1 for v, b in zip(rates[name], rates["bus"], strict=True)
        )
        against = "" if name == "bus" else f"   vs bus {100 * change:+5.1f} %"
        print(f"{name:<22}{statistics.median(rates[name]):>9,.0f}   ratio {ratio:.2f}{against}")


if __name__ == "__main__":
    asyncio.run(main())
