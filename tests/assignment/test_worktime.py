"""An expert's time is the union of their lease intervals, shared out among the leases: the
rule (``worktime``) against a plain reference that counts whole seconds one by one."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import worktime
from services.assignment.worktime import Held

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def at(seconds: int) -> datetime:
    return T0 + timedelta(seconds=seconds)


def held(expert_id: str, start: int, end: int) -> Held:
    return Held(expert_id, at(start), at(end))


def seconds(value: timedelta) -> float:
    return value.total_seconds()


#: leases of two experts on whole seconds, an end before its start now and then (two
#: replicas' clocks)
leases = st.lists(
    st.builds(
        lambda e, s, n: held(e, s, s + n),
        st.sampled_from(["ann", "bea"]),
        st.integers(0, 60),
        st.integers(-3, 25),
    ),
    max_size=12,
)


def covering(lease: Held, second: int) -> bool:
    return lease.start <= at(second) < lease.end


def reference_shares(given_leases: list[Held]) -> list[int]:
    """Second by second: each second an expert holds a lease goes to the one of theirs, held
    then, that ends first (the first given on a tie)."""
    found = [0] * len(given_leases)
    for expert_id in {lease.expert_id for lease in given_leases}:
        for second in range(0, 100):
            held_then = [
                (lease.end, i)
                for i, lease in enumerate(given_leases)
                if lease.expert_id == expert_id and covering(lease, second)
            ]
            if held_then:
                found[min(held_then)[1]] += 1
    return found


def reference_union(given_leases: list[Held], expert_id: str) -> int:
    """The seconds the expert holds at least one lease."""
    return sum(
        1
        for second in range(0, 100)
        if any(lease.expert_id == expert_id and covering(lease, second) for lease in given_leases)
    )


@given(leases)
def test_each_second_of_an_experts_time_goes_to_the_lease_held_then_that_ends_first(
    given_leases: list[Held],
) -> None:
    assert [seconds(s) for s in worktime.shares(given_leases)] == reference_shares(given_leases)


@given(leases)
def test_the_shares_of_an_experts_leases_add_up_to_the_union_of_their_intervals(
    given_leases: list[Held],
) -> None:
    shares = worktime.shares(given_leases)
    total: Counter[str] = Counter()
    for lease, share in zip(given_leases, shares, strict=True):
        total[lease.expert_id] += int(seconds(share))
    for expert_id in ("ann", "bea"):
        theirs = [(h.start, h.end) for h in given_leases if h.expert_id == expert_id]
        assert seconds(worktime.union(theirs)) == reference_union(given_leases, expert_id)
        assert total[expert_id] == reference_union(given_leases, expert_id)


@given(leases)
def test_a_share_is_never_more_than_its_own_lease_and_never_negative(
    given_leases: list[Held],
) -> None:
    for lease, share in zip(given_leases, worktime.shares(given_leases), strict=True):
        assert timedelta(0) <= share <= max(lease.end - lease.start, timedelta(0))


@given(leases)
def test_an_experts_time_is_never_more_than_from_their_first_handout_to_their_last_judgment(
    given_leases: list[Held],
) -> None:
    ann = [h for h in given_leases if h.expert_id == "ann"]
    union = worktime.union((h.start, h.end) for h in ann)
    span = max((h.end for h in ann), default=T0) - min((h.start for h in ann), default=T0)
    assert union <= max(span, timedelta(0))
    assert union <= sum((max(h.end - h.start, timedelta(0)) for h in ann), timedelta(0))


@given(leases, leases)
def test_an_experts_shares_do_not_depend_on_anyone_elses_leases(
    mine: list[Held], others: list[Held]
) -> None:
    ann = [h for h in mine if h.expert_id == "ann"]
    bea = [h for h in others if h.expert_id == "bea"]
    assert worktime.shares([*ann, *bea])[: len(ann)] == worktime.shares(ann)


def test_three_units_taken_together_and_judged_a_minute_apart_count_a_minute_each() -> None:
    prefetched = [held("ann", 0, 60), held("ann", 0, 120), held("ann", 0, 180)]
    assert [seconds(s) for s in worktime.shares(prefetched)] == [60, 60, 60]
    assert seconds(worktime.union((h.start, h.end) for h in prefetched)) == 180


def test_leases_one_after_another_count_whole() -> None:
    apart = [held("ann", 0, 30), held("ann", 40, 100), held("ann", 100, 101)]
    assert [seconds(s) for s in worktime.shares(apart)] == [30, 60, 1]


def test_a_lease_ending_before_it_starts_counts_nothing() -> None:
    assert worktime.shares([held("ann", 10, 5)]) == [timedelta(0)]
    assert worktime.union([(at(10), at(5))]) == timedelta(0)


def test_a_lease_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Held("ann", datetime(2026, 1, 5, 9), at(1))


def test_a_naive_time_is_refused_with_its_reason() -> None:
    naive = datetime(2026, 1, 5, 9, 0)
    with pytest.raises(ValueError, match=r"^a lease's start and end must be timezone-aware$"):
        Held("e1", naive, at(10))
