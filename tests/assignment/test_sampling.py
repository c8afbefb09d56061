"""Sampling: the overlap policy, the agreement sample, dynamic overlap and gold injection."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.sampling import (
    ItemPlan,
    OverlapPolicy,
    draw,
    gold_due,
    gold_phase,
    needs_more,
    pick_gold,
    plan,
    policy_errors,
)

#: a project's key, as ``stores/secrets.py`` makes them (32 random bytes), fixed here
KEY = bytes(range(32))
ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=20)
revisions = st.integers(1, 2**31 - 1)


@st.composite
def policies(draw_: st.DrawFn) -> OverlapPolicy:
    k = draw_(st.integers(1, 6))
    return OverlapPolicy(
        k=k,
        iaa_share=draw_(st.floats(0, 1)),
        k_iaa=draw_(st.integers(k, 10)),
        dynamic=draw_(st.booleans()),
        k_max=draw_(st.integers(k, 12)),
        gold_rate=draw_(st.floats(0, 1)),
    )


# --- the policy ---------------------------------------------------------------------------


@given(policies())
def test_a_policy_within_its_bounds_has_no_errors(policy: OverlapPolicy) -> None:
    assert policy_errors(policy) == []


def test_every_problem_of_a_policy_is_reported_at_once() -> None:
    policy = OverlapPolicy(k=3, iaa_share=1.5, k_iaa=2, dynamic=True, k_max=1, gold_rate=-0.1)
    errors = policy_errors(policy, where="body.overlap")
    assert [(e.field, e.message) for e in errors] == [
        ("body.overlap.iaa_share", "must be a number from 0 to 1"),
        ("body.overlap.k_iaa", "must be at least k (3)"),
        ("body.overlap.k_max", "must be at least k (3)"),
        ("body.overlap.gold_rate", "must be a number from 0 to 1"),
    ]


def test_k_is_at_least_one_and_the_others_are_then_checked_against_one() -> None:
    errors = policy_errors(OverlapPolicy(k=0, k_iaa=0, k_max=1))
    assert [(e.field, e.message) for e in errors] == [
        ("overlap.k", "must be at least 1"),
        ("overlap.k_iaa", "must be at least 1"),
    ]


@pytest.mark.parametrize("field", ["k", "k_iaa", "k_max"])
def test_no_count_of_a_policy_passes_fifty(field: str) -> None:
    counts = {"k": 1, "k_iaa": 1, "k_max": 1, field: 51}
    errors = policy_errors(OverlapPolicy(**counts))  # type: ignore[arg-type]
    assert [(e.field, e.message) for e in errors if e.field == f"overlap.{field}"] == [
        (f"overlap.{field}", "must be at most 50")
    ]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), True])
def test_shares_that_are_not_numbers_from_zero_to_one_are_refused(value: float) -> None:
    errors = policy_errors(OverlapPolicy(iaa_share=value, gold_rate=value))
    assert [e.field for e in errors] == ["overlap.iaa_share", "overlap.gold_rate"]


def test_counts_and_the_dynamic_flag_have_their_types() -> None:
    bad = OverlapPolicy(k=2.5, k_iaa=3, dynamic="yes", k_max=3)  # type: ignore[arg-type]
    assert [(e.field, e.message) for e in policy_errors(bad)] == [
        ("overlap.k", "must be a whole number"),
        ("overlap.dynamic", "must be true or false"),
    ]


# --- draws and plans ----------------------------------------------------------------------


@given(ids, revisions, st.sampled_from(["iaa", "gold", "x"]))
def test_a_draw_is_in_zero_to_one(item_id: str, revision: int, purpose: str) -> None:
    assert 0 <= draw(KEY, item_id, revision, purpose) < 1


def test_draws_are_pinned_so_every_replica_and_every_replay_agrees() -> None:
    # changing the hash or the encoding of its fields would change every plan already made
    assert draw(KEY, "item-1", 3, "iaa") == 0.9282518958382462
    assert draw(KEY, "5b0e7c1a-0000-4000-8000-000000000001", 1, "iaa") == 0.9487443719072522
    assert draw(KEY, "item-1", 3, "iaa") != draw(KEY, "item-1", 4, "iaa")
    assert draw(KEY, "item-1", 3, "iaa") != draw(KEY, "item-1", 3, "gold")
    assert draw(KEY, "item-1", 3, "iaa") != draw(KEY, "item-2", 3, "iaa")


def test_without_the_projects_key_no_draw_can_be_predicted_from_the_ids_an_expert_sees() -> None:
    # what an expert knows (their id, the project id, their count of handouts) gives the draw
    # only with the key: another key, or none, draws independently
    other = bytes(reversed(KEY))
    for n in range(50):
        mine = gold_phase(KEY, "expert-7", "p1", n)
        assert mine != gold_phase(other, "expert-7", "p1", n)
        assert mine != gold_phase(b"", "expert-7", "p1", n)
    sampled = [
        plan(KEY, f"i{n}", 1, OverlapPolicy(k=1, iaa_share=0.5, k_iaa=2)) for n in range(400)
    ]
    elsewhere = [
        plan(other, f"i{n}", 1, OverlapPolicy(k=1, iaa_share=0.5, k_iaa=2)) for n in range(400)
    ]
    same = sum(
        a.in_agreement_sample == b.in_agreement_sample
        for a, b in zip(sampled, elsewhere, strict=True)
    )
    assert 150 < same < 250  # independent: as often alike as a coin says


def test_a_key_longer_than_blake2b_takes_is_refused() -> None:
    with pytest.raises(ValueError, match="at most 64 bytes"):
        draw(bytes(65), "item", 1, "iaa")


def test_draws_and_plans_are_the_same_in_processes_with_other_hash_seeds() -> None:
    policy = OverlapPolicy(k=2, iaa_share=0.3, k_iaa=4)
    script = (
        "import json; from services.assignment.sampling import OverlapPolicy, plan, draw; "
        f"KEY = {KEY!r}; "
        "p = OverlapPolicy(k=2, iaa_share=0.3, k_iaa=4); "
        "print(json.dumps([[plan(KEY, f'item-{n}', 7, p).needed, draw(KEY, f'item-{n}', 7, 'iaa')] "
        "for n in range(200)]))"
    )
    here = [
        [plan(KEY, f"item-{n}", 7, policy).needed, draw(KEY, f"item-{n}", 7, "iaa")]
        for n in range(200)
    ]
    for seed in ("1", "4242"):
        out = subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out) == here


@given(st.lists(ids, min_size=1, max_size=30, unique=True), revisions, policies())
def test_an_items_plan_depends_on_its_id_revision_and_policy_only(
    items: list[str], revision: int, policy: OverlapPolicy
) -> None:
    first = {i: plan(KEY, i, revision, policy) for i in items}
    other = OverlapPolicy(k=1, iaa_share=0.5, k_iaa=3)
    for i in reversed(items):  # other items and other policies planned in between
        plan(KEY, i + "x", revision + 1, other)
        assert plan(KEY, i, revision, policy) == first[i]


@given(ids, revisions, policies())
def test_an_item_in_the_agreement_sample_needs_k_iaa_experts_and_any_other_k(
    item_id: str, revision: int, policy: OverlapPolicy
) -> None:
    p = plan(KEY, item_id, revision, policy)
    assert p.in_agreement_sample == (draw(KEY, item_id, revision, "iaa") < policy.iaa_share)
    assert p.needed == (policy.k_iaa if p.in_agreement_sample else policy.k)
    assert (p.item_id, p.revision) == (item_id, revision)


@given(share=st.floats(0, 1), revision=revisions, prefix=ids)
def test_the_agreement_sample_over_many_items_is_within_tolerance_of_its_share(
    share: float, revision: int, prefix: str
) -> None:
    policy = OverlapPolicy(k=1, iaa_share=share, k_iaa=2, k_max=2)
    n = 5_000
    sampled = sum(
        plan(KEY, f"{prefix}/{i}", revision, policy).in_agreement_sample for i in range(n)
    )
    # five standard deviations of a binomial at its widest (share 0.5) is 0.035
    assert abs(sampled / n - share) <= 0.035


def test_shares_zero_and_one_sample_no_item_and_every_item() -> None:
    none = OverlapPolicy(k=1, iaa_share=0.0, k_iaa=3, k_max=3)
    every = OverlapPolicy(k=1, iaa_share=1.0, k_iaa=3, k_max=3)
    items = [f"item-{i}" for i in range(500)]
    assert not any(plan(KEY, i, 1, none).in_agreement_sample for i in items)
    assert all(plan(KEY, i, 1, every).needed == 3 for i in items)


# --- dynamic overlap ----------------------------------------------------------------------

DYNAMIC = OverlapPolicy(k=2, iaa_share=0.0, k_iaa=2, dynamic=True, k_max=4)


def test_disagreeing_first_judgments_get_one_more_at_a_time_up_to_k_max() -> None:
    p = plan(KEY, "item", 1, DYNAMIC)
    assert [needs_more(p, n, False, DYNAMIC) for n in range(6)] == [
        False,  # the planned units are not all in yet
        False,
        True,  # 2 in, disagreeing: a third
        True,  # 3 in: a fourth
        False,  # 4 = k_max
        False,
    ]


def test_agreement_or_static_overlap_adds_no_judgment() -> None:
    p = plan(KEY, "item", 1, DYNAMIC)
    assert not needs_more(p, 2, True, DYNAMIC)
    static = OverlapPolicy(k=2, k_iaa=2, dynamic=False, k_max=4)
    assert not needs_more(plan(KEY, "item", 1, static), 2, False, static)


def test_an_agreement_sample_item_planned_past_k_max_gets_no_more() -> None:
    policy = OverlapPolicy(k=2, iaa_share=1.0, k_iaa=5, dynamic=True, k_max=3)
    p = plan(KEY, "item", 1, policy)
    assert p.needed == 5
    assert not any(needs_more(p, n, False, policy) for n in range(10))


@given(policy=policies(), item_id=ids, agreements=st.lists(st.booleans(), max_size=60))
def test_dynamic_overlap_never_lets_the_count_pass_k_max(
    policy: OverlapPolicy, item_id: str, agreements: list[bool]
) -> None:
    p = plan(KEY, item_id, 1, policy)
    judgments = p.needed  # the planned ones are in
    for agreed in agreements:
        if needs_more(p, judgments, agreed, policy):
            judgments += 1
            assert judgments <= policy.k_max
    assert judgments <= max(policy.k_max, p.needed)
    if policy.dynamic and not any(agreements) and len(agreements) >= policy.k_max:
        assert judgments == max(policy.k_max, p.needed)  # disagreement goes all the way


def test_an_item_plan_is_a_value() -> None:
    assert plan(KEY, "item", 2, DYNAMIC) == ItemPlan("item", 2, False, 2)


# --- gold ---------------------------------------------------------------------------------


def run_gold(rate: float, phases: Iterator[float], units: int) -> list[bool]:
    gold = 0
    served = []
    for n in range(units):
        due = gold_due(n, gold, rate, next(phases))
        gold += due
        served.append(due)
        assert abs(gold - Fraction(rate) * (n + 1)) < 1  # after every unit, exactly
    return served


@given(rate=st.floats(0, 1), phases=st.lists(st.floats(0, 1, exclude_max=True), min_size=1))
def test_an_experts_gold_stays_within_one_unit_of_the_rate_times_units_served(
    rate: float, phases: list[float]
) -> None:
    cycle = iter(phases * (400 // len(phases) + 1))
    served = run_gold(rate, cycle, 400)
    assert abs(sum(served) - Fraction(rate) * 400) < 1


@given(rate=st.floats(0, 1), expert=ids, project=ids)
def test_gold_placed_by_the_experts_phase_keeps_the_rate(
    rate: float, expert: str, project: str
) -> None:
    phases = (gold_phase(KEY, expert, project, n) for n in range(10**6))
    run_gold(rate, phases, 300)


def test_gold_at_rate_zero_never_comes_and_at_one_always() -> None:
    assert not any(run_gold(0.0, iter([0.0] * 50), 50))
    assert all(run_gold(1.0, iter([0.999] * 50), 50))


def test_gold_placed_by_the_experts_phase_is_not_every_tenth_unit() -> None:
    phases = (gold_phase(KEY, "expert-7", "p1", n) for n in range(400))
    served = run_gold(0.1, phases, 400)
    places = [n for n, gold in enumerate(served) if gold]
    gaps = {b - a for a, b in itertools.pairwise(places)}
    assert len(gaps) > 3
    assert 39 <= len(places) <= 41


def test_a_phase_is_in_zero_to_one() -> None:
    for phase in (-0.1, 1.0, float("nan")):
        with pytest.raises(ValueError, match="phase"):
            gold_due(0, 0, 0.5, phase)


@given(
    golds=st.lists(ids, unique=True, max_size=20),
    seen=st.sets(ids, max_size=20),
    expert=ids,
)
def test_a_gold_item_never_reaches_an_expert_twice(
    golds: list[str], seen: set[str], expert: str
) -> None:
    seen |= set(golds[: len(golds) // 2])
    chosen = pick_gold(KEY, golds, seen, expert)
    if set(golds) <= seen:
        assert chosen is None
    else:
        assert chosen in golds
        assert chosen not in seen


def test_an_expert_sees_every_gold_item_once_before_none_is_left() -> None:
    golds = [f"g{i}" for i in range(12)]
    seen: set[str] = set()
    while (chosen := pick_gold(KEY, golds, seen, "e1")) is not None:
        seen.add(chosen)
    assert seen == set(golds)


def test_experts_do_not_all_get_the_same_gold_item_first() -> None:
    golds = [f"g{i}" for i in range(20)]
    firsts = {pick_gold(KEY, golds, set(), f"expert-{n}") for n in range(10)}
    assert len(firsts) > 3


def test_the_audit_draw_is_the_items_keyed_draw_for_audit_pinned() -> None:
    from services.assignment.sampling import audit_draw

    # pinned: a change of its inputs would re-decide which past consensuses were audited
    assert audit_draw(KEY, "item-1") == draw(KEY, "item-1", 0, "audit")
    assert audit_draw(KEY, "item-1") == 0.567481247441487


def test_a_key_of_the_largest_size_draws_and_one_byte_more_is_refused() -> None:
    assert draw(bytes(64), "i", 0, "x") == 0.9875566559657928
    with pytest.raises(ValueError, match=r"^a draw key has at most 64 bytes, not 65$"):
        draw(bytes(65), "i", 0, "x")


def test_the_first_gold_item_of_an_expert_is_pinned() -> None:
    # pinned: a change of the draw's inputs would reorder every expert's gold
    golds = [f"g{i}" for i in range(10)]
    assert pick_gold(KEY, golds, set(), "expert-1") == "g2"
    assert pick_gold(KEY, golds, set()) == "g9"  # without an expert id: the draw of ""


def test_without_a_phase_gold_comes_as_early_as_the_rate_allows() -> None:
    assert gold_due(0, 0, 0.5)
    assert not gold_due(1, 1, 0.5)


def test_an_overlap_of_the_largest_size_is_accepted() -> None:
    assert policy_errors(OverlapPolicy(k=50, k_iaa=50, k_max=50)) == []
    [error] = policy_errors(OverlapPolicy(k=51, k_iaa=51, k_max=51))[:1]
    assert (error.field, error.message) == ("overlap.k", "must be at most 50")
