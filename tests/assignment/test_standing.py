"""The rules of work already handed out, free of I/O: when an expert's lease no longer stands
(and why), and how long heartbeats can keep a lease."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.assignment.eligibility import VettingState
from services.assignment.leasing import (
    DEFAULT_TTL_S,
    MAX_LIFE_PER_TTL,
    LeaseLife,
    extended,
    lease_life,
    life_errors,
)
from services.assignment.standing import Standing, Withdrawal, skilled, told, withdrawal
from shared.contracts.work import ProjectStatus

GOOD = Standing(
    expert_state=VettingState.vetted,
    project_status=ProjectStatus.active,
    on_roster=True,
    benched=False,
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_vetted_expert_on_the_roster_of_an_active_project_keeps_their_lease() -> None:
    assert withdrawal(GOOD) is None


def test_each_change_of_standing_withdraws_the_lease_saying_which() -> None:
    cases = {
        Withdrawal.suspended: Standing(VettingState.suspended, ProjectStatus.active, True, False),
        Withdrawal.offboarded: Standing(VettingState.offboarded, ProjectStatus.active, True, False),
        Withdrawal.project_closed: Standing(VettingState.vetted, ProjectStatus.closed, True, False),
        Withdrawal.project_paused: Standing(VettingState.vetted, ProjectStatus.paused, True, False),
        Withdrawal.removed_from_roster: Standing(
            VettingState.vetted, ProjectStatus.active, False, False
        ),
        Withdrawal.benched: Standing(VettingState.vetted, ProjectStatus.active, True, True),
    }
    assert {why: withdrawal(standing) for why, standing in cases.items()} == {
        why: why for why in cases
    }


def test_the_experts_own_state_comes_first_then_the_project_then_roster_and_bench() -> None:
    everything_wrong = Standing(VettingState.suspended, ProjectStatus.paused, False, True)
    assert withdrawal(everything_wrong) is Withdrawal.suspended
    assert withdrawal(Standing(VettingState.vetted, ProjectStatus.closed, False, True)) is (
        Withdrawal.project_closed
    )
    assert withdrawal(Standing(VettingState.vetted, ProjectStatus.active, False, True)) is (
        Withdrawal.removed_from_roster
    )


def test_a_qualification_copy_stands_on_the_experts_vetting_state_alone() -> None:
    screening = Standing(VettingState.vetting, None, on_roster=False, benched=False)
    assert withdrawal(screening) is None
    offboarded = Standing(VettingState.offboarded, None, on_roster=False, benched=False)
    assert withdrawal(offboarded) is Withdrawal.offboarded


def test_what_the_expert_is_told_names_the_project_and_nothing_of_the_unit() -> None:
    assert told(Withdrawal.project_paused, "p-1") == "project p-1 was paused"
    assert told(Withdrawal.suspended, "p-1").startswith("you are suspended")
    for why in Withdrawal:
        text = told(why, "p-1")
        assert "gold" not in text and "unit" not in text and "item" not in text


def test_without_a_maximum_life_a_lease_lives_four_ttls() -> None:
    assert lease_life(600, None) == LeaseLife(600, MAX_LIFE_PER_TTL * 600)
    assert lease_life(None, None) == LeaseLife(DEFAULT_TTL_S, MAX_LIFE_PER_TTL * DEFAULT_TTL_S)
    assert lease_life(600, 900) == LeaseLife(600, 900)


def test_a_heartbeat_moves_the_deadline_a_ttl_from_now_until_the_cap_then_to_the_cap() -> None:
    life = LeaseLife(ttl_s=60, max_life_s=100)
    first = T0 + timedelta(seconds=60)
    assert extended(life, T0, first, T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=70)
    assert extended(life, T0, first, T0 + timedelta(seconds=50)) == T0 + timedelta(seconds=100)


def test_a_heartbeat_at_the_cap_moves_nothing() -> None:
    life = LeaseLife(ttl_s=60, max_life_s=100)
    cap = T0 + timedelta(seconds=100)
    assert extended(life, T0, cap, T0 + timedelta(seconds=80)) is None
    at_once = T0 + timedelta(seconds=1)
    assert extended(LeaseLife(60, 60), T0, T0 + timedelta(seconds=60), at_once) is None


@given(
    ttl=st.integers(5, 7 * 86_400),
    extra=st.integers(0, 30 * 86_400),
    beats=st.lists(st.integers(0, 86_400), max_size=30),
)
def test_no_run_of_heartbeats_keeps_a_lease_past_its_maximum_life(
    ttl: int, extra: int, beats: list[int]
) -> None:
    life = LeaseLife(ttl, ttl + extra)
    cap = T0 + timedelta(seconds=life.max_life_s)
    deadline, now = T0 + timedelta(seconds=ttl), T0
    for gap in beats:
        now += timedelta(seconds=gap)
        if now >= deadline:
            break  # expired: no heartbeat reaches it
        moved = extended(life, T0, deadline, now)
        if moved is None:
            assert deadline == cap
            continue
        assert moved <= cap
        deadline = moved


def test_a_maximum_life_shorter_than_the_ttl_is_refused_naming_the_field() -> None:
    [error] = life_errors(600, 300)
    assert error.field == "body.lease_max_life_s"
    assert "300 s" in error.message and "600 s" in error.message
    assert life_errors(600, 600) == [] and life_errors(600, None) == []


def test_what_the_expert_is_told_of_each_withdrawal_is_pinned() -> None:
    assert told(Withdrawal.offboarded, "p-1") == "you are offboarded"
    assert told(Withdrawal.suspended, "p-1") == (
        "you are suspended: ops decide when you work again"
    )


def test_a_heartbeat_whose_ttl_from_now_lands_on_the_cap_keeps_the_cap() -> None:
    # a TTL from now is "never past" the cap when it is the cap: the heartbeat is answered
    # with the deadline, not with "at the cap already", even when the lease is there
    life = LeaseLife(ttl_s=60, max_life_s=100)
    cap = T0 + timedelta(seconds=100)
    assert extended(life, T0, cap, T0 + timedelta(seconds=40)) == cap


def test_the_refusal_of_a_short_maximum_life_is_pinned() -> None:
    [error] = life_errors(600, 300, where="settings")
    assert error.field == "settings.lease_max_life_s"
    assert error.message == (
        "a lease's maximum life (300 s) is shorter than the lease TTL (600 s): set it to the "
        "TTL or more, or leave it unset (4 TTLs)"
    )


def test_an_expert_is_skilled_for_a_project_when_every_required_skill_meets_its_level() -> None:
    assert skilled({"domain.cars": 3, "modality.image": 1}, {"domain.cars": 3})
    assert skilled({}, {})
    assert not skilled({"domain.cars": 2}, {"domain.cars": 3})
    assert not skilled({"modality.image": 5}, {"domain.cars": 1})


def test_a_missing_skill_withdraws_a_lease_after_the_roster_and_before_a_bench() -> None:
    base = Standing(
        expert_state=VettingState.vetted,
        project_status=ProjectStatus.active,
        on_roster=True,
        benched=True,
        skilled=False,
    )
    assert withdrawal(base) is Withdrawal.missing_skill
    assert withdrawal(replace(base, on_roster=False)) is Withdrawal.removed_from_roster
    assert withdrawal(replace(base, skilled=True)) is Withdrawal.benched
