"""Staffing: which experts are proposed for a project's roster and in which order, and when the
pending work outgrows the roster's hours."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.eligibility import MAX_LEVEL, MIN_LEVEL, VettingState
from services.assignment.staffing import (
    MAX_LIMIT,
    Candidate,
    Proposal,
    demand,
    proposals,
    rank_key,
)

V = VettingState
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
REQUIRED = {"modality.video": 3, "task.detection": 2}


def candidate(expert_id: str = "e1", /, **changes: object) -> Candidate:
    base = Candidate(
        expert_id=expert_id,
        state=V.vetted,
        skills={"modality.video": 3, "task.detection": 4, "lang.ja": 5},
        max_leases=3,
        active_leases=1,
        hours_per_week=20.0,
        calibration={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def ids(found: list[Proposal]) -> list[str]:
    return [p.expert_id for p in found]


# --- who is proposed ----------------------------------------------------------------------


def test_a_vetted_expert_meeting_every_requirement_with_spare_capacity_is_proposed() -> None:
    [proposal] = proposals([candidate()], REQUIRED)
    assert proposal == Proposal(
        expert_id="e1",
        calibration=None,
        spare_leases=2,
        hours_per_week=20.0,
        skills={"modality.video": 3, "task.detection": 4},
        adjudicates=True,  # no adjudicator level given: level 1
    )
    assert proposal.why == ("required_skills", "adjudicator_level")


@pytest.mark.parametrize("state", [V.invited, V.vetting, V.suspended, V.offboarded])
def test_an_expert_who_is_not_vetted_is_never_proposed(state: VettingState) -> None:
    assert proposals([candidate(state=state)], REQUIRED) == []


def test_an_expert_already_invited_to_or_on_the_roster_is_not_proposed_again() -> None:
    assert proposals([candidate(on_roster=True)], REQUIRED) == []


def test_an_expert_without_a_required_skill_is_never_proposed() -> None:
    assert proposals([candidate(skills={"modality.video": 5})], REQUIRED) == []


def test_an_expert_below_a_required_level_is_never_proposed() -> None:
    below = candidate(skills={"modality.video": 2, "task.detection": 5})
    at = candidate("e2", skills={"modality.video": 3, "task.detection": 2})
    assert ids(proposals([below, at], REQUIRED)) == ["e2"]


def test_an_expert_with_no_spare_lease_is_not_proposed() -> None:
    full = candidate(max_leases=2, active_leases=2)
    over = candidate("e2", max_leases=1, active_leases=3)  # their maximum was lowered
    one_left = candidate("e3", max_leases=2, active_leases=1)
    assert ids(proposals([full, over, one_left], REQUIRED)) == ["e3"]


def test_an_expert_offering_no_hours_is_not_proposed() -> None:
    assert proposals([candidate(hours_per_week=0.0)], REQUIRED) == []


def test_a_project_requiring_no_skill_may_be_proposed_any_vetted_expert() -> None:
    [proposal] = proposals([candidate(skills={})], {})
    assert proposal.skills == {}


def test_a_proposal_shows_the_experts_levels_of_the_required_skills_only() -> None:
    [proposal] = proposals([candidate()], {"lang.ja": 4})
    assert proposal.skills == {"lang.ja": 5}


# --- the calibration of a proposal ----------------------------------------------------------


def test_the_calibration_is_the_lowest_among_the_required_skills_that_have_one() -> None:
    means = {"modality.video": 0.9, "task.detection": 0.7, "lang.ja": 0.1}
    [proposal] = proposals([candidate(calibration=means)], REQUIRED)
    assert proposal.calibration == 0.7  # lang.ja is lower, but not required


def test_a_required_skill_without_a_score_does_not_count_towards_the_calibration() -> None:
    [proposal] = proposals([candidate(calibration={"task.detection": 0.8})], REQUIRED)
    assert proposal.calibration == 0.8


def test_an_expert_with_no_score_on_any_required_skill_has_no_calibration() -> None:
    [proposal] = proposals([candidate(calibration={"lang.ja": 0.9})], REQUIRED)
    assert proposal.calibration is None


def test_with_no_required_skill_the_calibration_is_the_lowest_over_all_skills() -> None:
    means = {"modality.video": 0.9, "lang.ja": 0.4}
    [calibrated, new] = proposals([candidate(calibration=means), candidate("e2")], {})
    assert calibrated.calibration == 0.4
    assert new.calibration is None


# --- the order and the limit ----------------------------------------------------------------


def test_proposals_are_ranked_by_calibration_and_the_uncalibrated_come_last() -> None:
    found = proposals(
        [
            candidate("new", calibration={}),
            candidate("low", calibration={"modality.video": 0.2, "task.detection": 0.9}),
            candidate("high", calibration={"modality.video": 0.95}),
            candidate("zero", calibration={"task.detection": 0.0}),
        ],
        REQUIRED,
    )
    assert ids(found) == ["high", "low", "zero", "new"]


def test_ties_go_to_more_spare_leases_then_more_hours_then_the_smaller_expert_id() -> None:
    same = {"modality.video": 0.8}
    found = proposals(
        [
            candidate("b", calibration=same, max_leases=3, active_leases=1, hours_per_week=10),
            candidate("a", calibration=same, max_leases=3, active_leases=1, hours_per_week=10),
            candidate("fewer", calibration=same, max_leases=2, active_leases=1, hours_per_week=40),
            candidate("more", calibration=same, max_leases=5, active_leases=1, hours_per_week=1),
            candidate("hours", calibration=same, max_leases=3, active_leases=1, hours_per_week=30),
        ],
        REQUIRED,
    )
    assert ids(found) == ["more", "hours", "a", "b", "fewer"]


def test_uncalibrated_experts_are_ordered_by_the_same_tie_breaks() -> None:
    found = proposals([candidate("b"), candidate("a"), candidate("spare", max_leases=9)], REQUIRED)
    assert ids(found) == ["spare", "a", "b"]


def test_at_most_limit_experts_are_proposed_the_best_ones() -> None:
    pool = [candidate(f"e{i}", calibration={"modality.video": i / 10}) for i in range(10)]
    assert ids(proposals(pool, REQUIRED, limit=3)) == ["e9", "e8", "e7"]
    assert len(proposals(pool, REQUIRED)) == 10  # 50 by default


def test_the_limit_is_one_to_a_thousand() -> None:
    assert MAX_LIMIT == 1000
    proposals([candidate()], REQUIRED, limit=1)
    proposals([candidate()], REQUIRED, limit=1000)
    for limit in (0, 1001, -1):
        with pytest.raises(ValueError, match=r"^limit is a whole number from 1 to 1000"):
            proposals([candidate()], REQUIRED, limit=limit)
    with pytest.raises(ValueError, match=r"^limit"):
        proposals([candidate()], REQUIRED, limit=True)


def test_an_expert_named_twice_among_the_candidates_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^expert 'e1' is a candidate twice$"):
        proposals([candidate(), candidate(on_roster=True)], REQUIRED)


@pytest.mark.parametrize("level", [0, 6])
def test_a_required_level_is_from_one_to_five(level: int) -> None:
    with pytest.raises(ValueError, match=r"^required skill lang\.ja: a skill level is from"):
        proposals([candidate()], {"lang.ja": level})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"max_leases": -1}, "max_leases and active_leases are whole numbers from 0"),
        ({"active_leases": -1}, "max_leases and active_leases are whole numbers from 0"),
        ({"hours_per_week": -1.0}, "hours_per_week is a finite number from 0"),
        ({"hours_per_week": math.inf}, "hours_per_week is a finite number from 0"),
        ({"hours_per_week": math.nan}, "hours_per_week is a finite number from 0"),
        ({"skills": {"lang.ja": 6}}, "skill lang.ja: a skill level is from 1 to 5"),
        ({"calibration": {"lang.ja": 1.5}}, "skill lang.ja: a calibration is from 0 to 1"),
        ({"calibration": {"lang.ja": math.nan}}, "skill lang.ja: a calibration is from 0 to 1"),
    ],
)
def test_a_candidate_with_impossible_numbers_is_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=r"^expert 'e1'") as raised:
        candidate(**changes)
    assert message in str(raised.value)


# --- properties of proposals ------------------------------------------------------------------

SKILLS = ["modality.video", "task.detection", "lang.ja", "domain.clinical"]
levels = st.integers(MIN_LEVEL, MAX_LEVEL)
skill_maps = st.dictionaries(st.sampled_from(SKILLS), levels, max_size=len(SKILLS))
means = st.dictionaries(
    st.sampled_from(SKILLS), st.sampled_from([0.0, 0.25, 0.5, 0.8, 1.0]), max_size=len(SKILLS)
)


@st.composite
def candidate_lists(draw: st.DrawFn) -> list[Candidate]:
    expert_ids = draw(st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10))
    return [
        Candidate(
            expert_id=expert_id,
            state=draw(st.sampled_from(list(V))),
            skills=draw(skill_maps),
            max_leases=draw(st.integers(0, 4)),
            active_leases=draw(st.integers(0, 4)),
            hours_per_week=draw(st.sampled_from([0.0, 5.0, 20.0, 40.0])),
            calibration=draw(means),
            on_roster=draw(st.booleans()),
        )
        for expert_id in expert_ids
    ]


requirements = st.dictionaries(st.sampled_from(SKILLS), levels, max_size=3)
limits = st.integers(1, 12)


@given(pool=candidate_lists(), required=requirements, limit=limits)
def test_every_proposal_meets_the_requirements_and_has_spare_capacity(
    pool: list[Candidate], required: dict[str, int], limit: int
) -> None:
    by_id = {c.expert_id: c for c in pool}
    for proposal in proposals(pool, required, limit):
        expert = by_id[proposal.expert_id]
        assert expert.state is V.vetted
        assert not expert.on_roster
        assert all(expert.skills.get(s, 0) >= level for s, level in required.items())
        assert proposal.skills == {s: expert.skills[s] for s in required}
        assert proposal.spare_leases == expert.max_leases - expert.active_leases >= 1
        assert proposal.hours_per_week == expert.hours_per_week > 0


@given(pool=candidate_lists(), required=requirements)
def test_every_expert_meeting_the_rules_is_proposed_when_the_limit_allows(
    pool: list[Candidate], required: dict[str, int]
) -> None:
    expected = {
        c.expert_id
        for c in pool
        if c.state is V.vetted
        and not c.on_roster
        and all(c.skills.get(s, 0) >= level for s, level in required.items())
        and c.max_leases - c.active_leases >= 1
        and c.hours_per_week > 0
    }
    assert set(ids(proposals(pool, required, MAX_LIMIT))) == expected


@given(pool=candidate_lists(), required=requirements, limit=limits)
def test_proposals_are_distinct_candidates_at_most_limit(
    pool: list[Candidate], required: dict[str, int], limit: int
) -> None:
    found = ids(proposals(pool, required, limit))
    assert len(found) == len(set(found)) <= limit
    assert set(found) <= {c.expert_id for c in pool}


@given(pool=candidate_lists(), required=requirements, limit=limits)
def test_proposals_are_sorted_by_the_documented_key(
    pool: list[Candidate], required: dict[str, int], limit: int
) -> None:
    found = proposals(pool, required, limit)
    keys = [
        (
            -p.unblocks,  # 0 without stuck work (tests/assignment/test_stuck.py has it)
            p.calibration is None,
            -(p.calibration or 0.0),
            -p.spare_leases,
            -p.hours_per_week,
            p.expert_id,
        )
        for p in found
    ]
    assert keys == sorted(keys)
    assert [rank_key(p) for p in found] == keys


@given(pool=candidate_lists(), required=requirements, limit=limits)
def test_a_limited_list_is_the_head_of_the_full_one_whatever_the_candidates_order(
    pool: list[Candidate], required: dict[str, int], limit: int
) -> None:
    full = proposals(pool, required, MAX_LIMIT)
    assert proposals(pool, required, limit) == full[:limit]
    assert proposals(list(reversed(pool)), required, MAX_LIMIT) == full


@given(pool=candidate_lists(), required=requirements)
def test_the_calibration_is_the_lowest_score_of_a_required_skill(
    pool: list[Candidate], required: dict[str, int]
) -> None:
    by_id = {c.expert_id: c for c in pool}
    for proposal in proposals(pool, required, MAX_LIMIT):
        scores = by_id[proposal.expert_id].calibration
        considered = [scores[s] for s in (required or scores) if s in scores]
        assert proposal.calibration == (min(considered) if considered else None)


# --- demand ----------------------------------------------------------------------------------


def test_the_hours_needed_are_the_pending_units_at_the_median_time_spent() -> None:
    found = demand(90, [30.0, 60.0, 600.0], [10.0, 5.0], now=NOW)
    assert found.seconds_per_unit == 60.0  # the median: the 600 s outlier does not count
    assert found.hours_needed == 1.5
    assert found.roster_hours_per_week == 15.0
    assert found.weeks_to_clear == 0.1


def test_the_median_of_an_even_number_of_judgments_is_the_mean_of_the_middle_two() -> None:
    assert demand(1, [10.0, 20.0, 40.0, 1000.0], [1.0], now=NOW).seconds_per_unit == 30.0


def test_before_the_first_judgment_a_unit_takes_the_default_time() -> None:
    assert demand(30, [], [1.0], now=NOW).seconds_per_unit == 120.0
    found = demand(30, [], [1.0], now=NOW, default_seconds_per_unit=240.0)
    assert found.seconds_per_unit == 240.0
    assert found.hours_needed == 2.0


def test_without_a_due_date_the_roster_hours_are_counted_over_the_horizon() -> None:
    week = demand(100, [360.0], [5.0], now=NOW)  # 10 hours needed
    assert (week.weeks_available, week.hours_available, week.outgrown) == (1.0, 5.0, True)
    month = demand(100, [360.0], [5.0], now=NOW, horizon_weeks=4.0)
    assert (month.weeks_available, month.hours_available, month.outgrown) == (4.0, 20.0, False)


def test_with_a_due_date_the_roster_hours_are_counted_until_it() -> None:
    soon = demand(100, [360.0], [20.0], now=NOW, due_at=NOW + timedelta(days=3.5))
    assert soon.weeks_available == 0.5
    assert soon.hours_available == 10.0
    assert not soon.outgrown  # 10 hours needed, 10 available: not more
    sooner = demand(100, [360.0], [20.0], now=NOW, due_at=NOW + timedelta(days=3))
    assert sooner.outgrown
    later = demand(100, [360.0], [5.0], now=NOW, due_at=NOW + timedelta(weeks=3), horizon_weeks=1)
    assert later.weeks_available == 3.0  # the due date wins over the horizon
    assert not later.outgrown


def test_past_the_due_date_no_hours_are_available_and_any_pending_work_has_outgrown() -> None:
    found = demand(1, [60.0], [40.0], now=NOW, due_at=NOW - timedelta(days=1))
    assert (found.weeks_available, found.hours_available) == (0.0, 0.0)
    assert found.outgrown
    assert found.weeks_to_clear == 60.0 / 3600 / 40.0  # the roster could still clear it
    assert not demand(0, [60.0], [40.0], now=NOW, due_at=NOW - timedelta(days=1)).outgrown


def test_a_due_date_exactly_now_leaves_no_weeks() -> None:
    assert demand(1, [60.0], [40.0], now=NOW, due_at=NOW).weeks_available == 0.0


def test_a_roster_offering_no_hours_never_clears_pending_work() -> None:
    for roster in ([], [0.0, 0.0]):
        found = demand(5, [60.0], roster, now=NOW)
        assert found.roster_hours_per_week == 0.0
        assert found.hours_available == 0.0
        assert found.weeks_to_clear is None
        assert found.outgrown


def test_with_nothing_pending_nothing_is_needed_and_nothing_has_outgrown() -> None:
    for roster in ([], [10.0]):
        found = demand(0, [60.0], roster, now=NOW)
        assert found.hours_needed == 0.0
        assert found.weeks_to_clear == 0.0
        assert not found.outgrown


def test_times_must_be_timezone_aware() -> None:
    naive = datetime(2025, 3, 3, 9, 0)  # naive: the point of the test
    with pytest.raises(ValueError, match=r"^now must be timezone-aware$"):
        demand(1, [], [1.0], now=naive)
    with pytest.raises(ValueError, match=r"^due_at must be timezone-aware$"):
        demand(1, [], [1.0], now=NOW, due_at=naive)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pending_units": -1}, r"^pending_units is a whole number from 0"),
        ({"pending_units": 1.5}, r"^pending_units is a whole number from 0"),
        ({"time_spent_s": [60.0, -1.0]}, r"^the time spent on a judgment is a finite number"),
        ({"time_spent_s": [math.nan]}, r"^the time spent on a judgment is a finite number"),
        ({"time_spent_s": [math.inf]}, r"^the time spent on a judgment is a finite number"),
        ({"roster_hours_per_week": [-5.0]}, r"^an expert's hours per week are a finite number"),
        ({"roster_hours_per_week": [math.inf]}, r"^an expert's hours per week are a finite"),
        ({"default_seconds_per_unit": 0.0}, r"^default_seconds_per_unit is a positive finite"),
        ({"default_seconds_per_unit": math.nan}, r"^default_seconds_per_unit is a positive"),
        ({"horizon_weeks": 0.0}, r"^horizon_weeks is a positive finite number, not 0\.0$"),
        ({"horizon_weeks": -1.0}, r"^horizon_weeks is a positive finite number"),
        ({"horizon_weeks": math.inf}, r"^horizon_weeks is a positive finite number"),
    ],
)
def test_impossible_demand_inputs_are_refused(arguments: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "pending_units": 10,
        "time_spent_s": [60.0],
        "roster_hours_per_week": [10.0],
    }
    with pytest.raises(ValueError, match=message):
        demand(**{**base, **arguments}, now=NOW)  # type: ignore[arg-type]


# --- properties of demand ---------------------------------------------------------------------

counts = st.integers(0, 100_000)
seconds = st.lists(st.floats(0, 36_000), max_size=30)
roster_hours = st.lists(st.floats(0, 168), max_size=30)
offsets = st.one_of(st.none(), st.floats(-30, 365).map(lambda days: NOW + timedelta(days=days)))
horizons = st.floats(0.01, 52)


@given(pending=counts, spent=seconds, hours=roster_hours, due_at=offsets, horizon=horizons)
def test_outgrown_exactly_when_the_hours_needed_exceed_the_hours_available(
    pending: int, spent: list[float], hours: list[float], due_at: datetime | None, horizon: float
) -> None:
    found = demand(pending, spent, hours, now=NOW, due_at=due_at, horizon_weeks=horizon)
    assert found.outgrown is (found.hours_needed > found.hours_available)
    assert found.hours_available == found.roster_hours_per_week * found.weeks_available
    assert found.hours_needed == pending * found.seconds_per_unit / 3600
    assert found.weeks_available >= 0
    if due_at is None:
        assert found.weeks_available == horizon
    if found.hours_needed == 0:
        assert found.weeks_to_clear == 0.0
        assert not found.outgrown
    elif found.roster_hours_per_week == 0:
        assert found.weeks_to_clear is None
        assert found.outgrown
    else:
        assert found.weeks_to_clear == found.hours_needed / found.roster_hours_per_week


@given(pending=counts, factor=st.integers(0, 50), spent=seconds, hours=roster_hours)
def test_the_hours_needed_scale_linearly_with_the_pending_units(
    pending: int, factor: int, spent: list[float], hours: list[float]
) -> None:
    once = demand(pending, spent, hours, now=NOW)
    scaled = demand(pending * factor, spent, hours, now=NOW)
    # abs_tol: a subnormal time per unit (5e-324 s) underflows to 0 hours for small counts
    assert math.isclose(
        scaled.hours_needed, factor * once.hours_needed, rel_tol=1e-12, abs_tol=1e-300
    )
    assert scaled.seconds_per_unit == once.seconds_per_unit
    assert scaled.hours_available == once.hours_available


@given(pending=counts, spent=seconds, hours=roster_hours, extra=st.floats(0.1, 40))
def test_more_roster_hours_never_make_demand_outgrown(
    pending: int, spent: list[float], hours: list[float], extra: float
) -> None:
    before = demand(pending, spent, hours, now=NOW)
    after = demand(pending, spent, [*hours, extra], now=NOW)
    assert after.hours_available >= before.hours_available
    assert before.outgrown or not after.outgrown
