"""The services' garbage-collector tuning (``shared.serve.tune_gc``): young collections run
less often, and cyclic garbage is still collected, as with Python's own settings."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from shared.serve import tune_gc


@pytest.fixture
def restored_gc() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.set_threshold(*before)


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_tune_gc_sets_the_young_threshold(restored_gc: None) -> None:
    before = gc.get_threshold()
    tune_gc(12_345)
    assert gc.get_threshold() == (12_345, *before[1:])
    tune_gc(0)  # 0 keeps the threshold
    assert gc.get_threshold()[0] == 12_345


def test_cyclic_garbage_is_still_collected_without_an_explicit_collection(
    restored_gc: None,
) -> None:
    tune_gc(500)
    probes = []
    for _ in range(2_000):  # cycles, dropped at once: only the collector can free them
        a, b = Node(), Node()
        a.other, b.other = b, a
        probes.append(weakref.ref(a))
        del a, b
    assert sum(probe() is None for probe in probes) > 1_500
