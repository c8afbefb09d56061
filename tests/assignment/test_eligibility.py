"""Eligibility: vetting moves, skill ids, every reason an expert may not take a unit, the
order of units and the fair share of handouts across projects."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.eligibility import (
    TRANSITIONS,
    ExpertView,
    FairShare,
    NoWorkReason,
    ProjectView,
    Reason,
    ReasonCode,
    UnitKind,
    UnitView,
    VettingState,
    adjudicator_skills,
    ineligibility,
    level_errors,
    no_work_reason,
    priority_key,
    skill_id_errors,
    transition_errors,
)
from shared.contracts.work import ProjectStatus

V = VettingState
R = ReasonCode


def expert(**changes: object) -> ExpertView:
    base = ExpertView(
        expert_id="e1",
        state=V.vetted,
        skills={"modality.video": 3, "task.detection": 4},
        max_leases=2,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def project(**changes: object) -> ProjectView:
    base = ProjectView(
        project_id="p1",
        status=ProjectStatus.active,
        required={"modality.video": 3, "task.detection": 2},
        adjudicator_min_level=4,
        roster=frozenset({"e1", "e2"}),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def unit(kind: UnitKind = UnitKind.review, **changes: object) -> UnitView:
    qualification = ("lang.ja", 2) if kind is UnitKind.qualification else None
    base = UnitView(
        unit_id="u1", item_id="i1", project_id="p1", kind=kind, qualification=qualification
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def codes(reasons: list[Reason]) -> list[ReasonCode]:
    return [r.code for r in reasons]


# --- vetting states -----------------------------------------------------------------------

ALLOWED = {
    (V.invited, V.vetting),
    (V.vetting, V.vetted),
    (V.vetted, V.suspended),
    (V.suspended, V.vetted),
    (V.invited, V.offboarded),
    (V.vetting, V.offboarded),
    (V.vetted, V.offboarded),
    (V.suspended, V.offboarded),
}


@pytest.mark.parametrize("current", list(V))
@pytest.mark.parametrize("target", list(V))
def test_exactly_the_listed_moves_between_vetting_states_are_allowed(
    current: VettingState, target: VettingState
) -> None:
    errors = transition_errors(current, target)
    assert (errors == []) == ((current, target) in ALLOWED)
    assert (target in TRANSITIONS[current]) == ((current, target) in ALLOWED)


def test_a_candidate_in_vetting_cannot_be_suspended_and_is_told_the_moves_there_are() -> None:
    assert transition_errors(V.vetting, V.suspended) == [
        "an expert in vetting cannot move to suspended; from vetting: offboarded, vetted"
    ]


def test_offboarded_is_final() -> None:
    assert transition_errors(V.offboarded, V.vetted) == [
        "offboarded is final: an expert never leaves it"
    ]


def test_staying_in_a_state_is_not_a_move() -> None:
    assert transition_errors(V.vetted, V.vetted) == ["the expert is already vetted"]


# --- skill ids and levels -----------------------------------------------------------------


@pytest.mark.parametrize(
    "skill_id",
    ["modality.video", "task.detection", "domain.clinical", "lang.ja", "task.av_sync", "a.b.c.d"],
)
def test_dotted_lower_case_ids_of_two_to_four_segments_are_skill_ids(skill_id: str) -> None:
    assert skill_id_errors(skill_id) == []


@pytest.mark.parametrize(
    ("skill_id", "expected"),
    [
        ("video", ["a skill id has 2 to 4 dot-separated segments, not 1"]),
        ("a.b.c.d.e", ["a skill id has 2 to 4 dot-separated segments, not 5"]),
        ("task..x", ["segment 2 is empty"]),
        (".video", ["segment 1 is empty"]),
        ("task.av-sync", ["segment 2 ('av-sync') may hold only"]),
        ("Modality.Video", ["segment 1 ('Modality') may hold only", "segment 2 ('Video')"]),
    ],
)
def test_a_bad_skill_id_gets_every_reason(skill_id: str, expected: list[str]) -> None:
    errors = skill_id_errors(skill_id)
    assert len(errors) == len(expected)
    for error, start in zip(errors, expected, strict=True):
        assert error.startswith(start)


def test_a_skill_id_is_at_most_256_characters() -> None:
    assert skill_id_errors("a." + "b" * 254) == []
    assert skill_id_errors("a." + "b" * 255) == ["a skill id is at most 256 characters"]


@given(st.text(alphabet="ab_9.A-", max_size=12))
def test_skill_ids_are_exactly_the_dotted_segments_of_lower_case_digits_and_underscore(
    text: str,
) -> None:
    valid = re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+){1,3}", text) is not None
    assert (skill_id_errors(text) == []) == valid


@pytest.mark.parametrize(("level", "ok"), [(1, True), (5, True), (0, False), (6, False)])
def test_skill_levels_are_one_to_five(level: int, ok: bool) -> None:
    assert (level_errors(level) == []) is ok


@pytest.mark.parametrize("level", [True, 2.0, "3"])
def test_a_skill_level_is_a_whole_number(level: object) -> None:
    assert level_errors(level) == ["a skill level is a whole number from 1 to 5"]  # type: ignore[arg-type]


# --- ineligibility ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [UnitKind.review, UnitKind.gold, UnitKind.adjudication])
def test_a_vetted_expert_on_the_roster_with_the_skills_and_room_is_eligible(
    kind: UnitKind,
) -> None:
    e = expert(skills={"modality.video": 4, "task.detection": 4})
    assert ineligibility(e, project(), unit(kind)) == []


def test_every_reason_is_reported_at_once() -> None:
    e = expert(
        state=V.suspended,
        expert_id="e9",
        skills={"modality.video": 1},
        active_leases=2,
        hours_per_week=10.0,
        hours_this_week=12.5,
        benched_from=frozenset({"p1"}),
    )
    reasons = ineligibility(e, project(status=ProjectStatus.paused), unit(judges=frozenset({"e9"})))
    assert reasons == [
        Reason(R.not_vetted),
        Reason(R.not_on_roster),
        Reason(R.project_not_active),
        Reason(R.skill_below_level, "modality.video"),
        Reason(R.missing_skill, "task.detection"),
        Reason(R.at_capacity),
        Reason(R.weekly_hours_reached),
        Reason(R.already_judged_item),
        Reason(R.benched_by_calibration),
    ]


@pytest.mark.parametrize("state", [V.invited, V.vetting, V.suspended, V.offboarded])
@pytest.mark.parametrize("kind", [UnitKind.review, UnitKind.gold, UnitKind.adjudication])
def test_only_vetted_experts_get_ordinary_work(state: VettingState, kind: UnitKind) -> None:
    e = expert(state=state, skills={"modality.video": 5, "task.detection": 5})
    assert codes(ineligibility(e, project(), unit(kind))) == [R.not_vetted]


@pytest.mark.parametrize(
    "status", [ProjectStatus.draft, ProjectStatus.paused, ProjectStatus.closed]
)
def test_a_project_that_is_not_active_hands_out_nothing(status: ProjectStatus) -> None:
    assert codes(ineligibility(expert(), project(status=status), unit())) == [R.project_not_active]


def test_an_empty_roster_admits_nobody() -> None:
    assert codes(ineligibility(expert(), project(roster=frozenset()), unit())) == [R.not_on_roster]


def test_each_missing_or_low_skill_is_named_and_the_minimum_level_itself_suffices() -> None:
    p = project(required={"a.x": 3, "b.x": 2, "c.x": 1, "d.x": 4})
    e = expert(skills={"a.x": 2, "c.x": 5, "d.x": 4})
    assert ineligibility(e, p, unit()) == [
        Reason(R.skill_below_level, "a.x"),
        Reason(R.missing_skill, "b.x"),
    ]
    assert Reason(R.missing_skill, "b.x").message == "the expert lacks a required skill: b.x"


def test_an_adjudicator_holds_every_required_skill_at_the_adjudicator_level() -> None:
    e = expert(skills={"modality.video": 4, "task.detection": 3})
    # enough to review, not to adjudicate: detection is at 3, the adjudicator's minimum is 4
    assert ineligibility(e, project(), unit(UnitKind.review)) == []
    assert ineligibility(e, project(), unit(UnitKind.adjudication)) == [
        Reason(R.adjudicator_level, "task.detection")
    ]


def test_an_adjudicator_below_both_minimums_gets_both_reasons() -> None:
    e = expert(skills={"modality.video": 2, "task.detection": 4})
    assert ineligibility(e, project(), unit(UnitKind.adjudication)) == [
        Reason(R.skill_below_level, "modality.video"),
        Reason(R.adjudicator_level, "modality.video"),
    ]


def test_the_adjudicators_skill_is_the_one_the_project_names_else_its_required_ones() -> None:
    assert adjudicator_skills({"task.detection": 2}, "role.adjudicator", "video") == {
        "role.adjudicator"
    }
    assert adjudicator_skills({"task.detection": 2, "lang.ja": 3}, None, "video") == {
        "task.detection",
        "lang.ja",
    }


def test_a_project_requiring_no_skill_is_adjudicated_by_its_modality_skill() -> None:
    assert adjudicator_skills({}, None, "image") == {"modality.image"}


def test_an_adjudicator_holds_the_named_adjudicator_skill_at_the_adjudicator_level() -> None:
    named = project(adjudicator_skills=frozenset({"role.adjudicator"}))
    reviewer = expert(skills={"modality.video": 3, "task.detection": 2})
    assert ineligibility(reviewer, named, unit(UnitKind.review)) == []
    assert ineligibility(reviewer, named, unit(UnitKind.adjudication)) == [
        Reason(R.adjudicator_level, "role.adjudicator")
    ]
    junior = expert(skills={**reviewer.skills, "role.adjudicator": 3})
    assert codes(ineligibility(junior, named, unit(UnitKind.adjudication))) == [R.adjudicator_level]
    # the required skills at their minimum, the adjudicator's skill at the adjudicator's level
    senior = expert(skills={**reviewer.skills, "role.adjudicator": 4})
    assert ineligibility(senior, named, unit(UnitKind.adjudication)) == []


def test_without_required_skills_an_expert_without_skills_reviews_but_never_adjudicates() -> None:
    open_project = project(required={}, adjudicator_skills=adjudicator_skills({}, None, "video"))
    novice = expert(skills={})
    assert ineligibility(novice, open_project, unit(UnitKind.review)) == []
    assert ineligibility(novice, open_project, unit(UnitKind.adjudication)) == [
        Reason(R.adjudicator_level, "modality.video")
    ]
    seasoned = expert(skills={"modality.video": 4})
    assert ineligibility(seasoned, open_project, unit(UnitKind.adjudication)) == []


def test_an_adjudicator_is_held_to_one_skill_or_more() -> None:
    with pytest.raises(ValueError, match="adjudicator_skills"):
        project(adjudicator_skills=frozenset())


def test_an_original_judge_never_adjudicates_the_item() -> None:
    e = expert(skills={"modality.video": 5, "task.detection": 5})
    u = unit(UnitKind.adjudication, judges=frozenset({"e1", "e2"}))
    assert codes(ineligibility(e, project(), u)) == [R.original_judge]


@pytest.mark.parametrize("kind", [UnitKind.review, UnitKind.gold, UnitKind.qualification])
def test_an_expert_never_gets_an_item_they_judged_or_hold_a_lease_on(kind: UnitKind) -> None:
    e = expert(screening={"lang.ja": 2})
    assert ineligibility(e, project(), unit(kind, judges=frozenset({"e2"}))) == []
    assert codes(ineligibility(e, project(), unit(kind, judges=frozenset({"e1"})))) == [
        R.already_judged_item
    ]


def test_an_expert_under_their_lease_limit_gets_work_and_one_at_it_does_not() -> None:
    assert ineligibility(expert(active_leases=1), project(), unit()) == []
    assert codes(ineligibility(expert(active_leases=2), project(), unit())) == [R.at_capacity]


def test_an_expert_who_worked_their_weekly_hours_gets_no_more_work() -> None:
    assert ineligibility(expert(hours_per_week=10.0, hours_this_week=9.9), project(), unit()) == []
    assert codes(
        ineligibility(expert(hours_per_week=10.0, hours_this_week=10.0), project(), unit())
    ) == [R.weekly_hours_reached]
    assert ineligibility(expert(hours_this_week=1000.0), project(), unit()) == []  # no limit


def test_a_bench_stops_that_projects_work_only() -> None:
    e = expert(benched_from=frozenset({"p2"}))
    assert ineligibility(e, project(), unit()) == []
    assert codes(ineligibility(e, project(project_id="p2"), unit(project_id="p2"))) == [
        R.benched_by_calibration
    ]


def test_a_candidate_in_vetting_gets_the_qualification_units_of_the_skill_screened_for() -> None:
    e = expert(state=V.vetting, skills={}, screening={"lang.ja": 2}, expert_id="new")
    # neither on the roster nor holding the project's skills: the screening admits them
    assert ineligibility(e, project(), unit(UnitKind.qualification)) == []
    assert ineligibility(
        e, project(), unit(UnitKind.qualification, qualification=("lang.ja", 3))
    ) == [Reason(R.not_screened, "lang.ja")]
    assert ineligibility(
        e, project(), unit(UnitKind.qualification, qualification=("lang.ko", 2))
    ) == [Reason(R.not_screened, "lang.ko")]
    assert codes(ineligibility(e, project(), unit(UnitKind.review))) == [
        R.not_vetted,
        R.not_on_roster,
        R.missing_skill,
        R.missing_skill,
    ]


def test_a_vetted_expert_screened_for_a_new_skill_gets_its_qualification_units() -> None:
    e = expert(screening={"lang.ja": 2})
    assert ineligibility(e, project(), unit(UnitKind.qualification)) == []
    assert codes(ineligibility(expert(), project(), unit(UnitKind.qualification))) == [
        R.not_screened
    ]


@pytest.mark.parametrize("state", [V.invited, V.suspended, V.offboarded])
def test_qualification_units_are_only_for_experts_in_vetting_or_vetted(
    state: VettingState,
) -> None:
    e = expert(state=state, screening={"lang.ja": 2})
    assert codes(ineligibility(e, project(), unit(UnitKind.qualification))) == [R.not_in_vetting]


def test_qualification_units_respect_capacity_and_the_qualification_sets_status() -> None:
    e = expert(state=V.vetting, screening={"lang.ja": 2}, active_leases=2)
    u = unit(UnitKind.qualification)
    assert codes(ineligibility(e, project(status=ProjectStatus.paused), u)) == [
        R.project_not_active,
        R.at_capacity,
    ]


def test_a_unit_of_another_project_is_a_callers_error() -> None:
    with pytest.raises(ValueError, match=r"^unit 'u1' is not of project 'p2'$"):
        ineligibility(expert(), project(project_id="p2"), unit())


def test_a_qualification_unit_and_only_one_names_a_skill_and_level() -> None:
    with pytest.raises(ValueError, match="qualification unit"):
        UnitView("u", "i", "p", UnitKind.qualification)
    with pytest.raises(ValueError, match="qualification unit"):
        UnitView("u", "i", "p", UnitKind.review, qualification=("lang.ja", 2))


SKILLS = ["a.x", "b.x", "modality.image"]
levels = st.integers(1, 5)


@given(
    state=st.sampled_from(list(V)),
    skills=st.dictionaries(st.sampled_from(SKILLS), levels),
    screening=st.dictionaries(st.sampled_from(SKILLS), levels),
    leases=st.integers(0, 3),
    benched=st.booleans(),
    status=st.sampled_from(list(ProjectStatus)),
    required=st.dictionaries(st.sampled_from(SKILLS), levels),
    adjudicator_min=levels,
    adjudicator_skill=st.none() | st.sampled_from(SKILLS),
    on_roster=st.booleans(),
    kind=st.sampled_from(list(UnitKind)),
    qualification=st.tuples(st.sampled_from(SKILLS), levels),
    judged=st.booleans(),
)
def test_an_expert_is_eligible_exactly_when_every_rule_of_the_issue_holds(
    state: VettingState,
    skills: dict[str, int],
    screening: dict[str, int],
    leases: int,
    benched: bool,
    status: ProjectStatus,
    required: dict[str, int],
    adjudicator_min: int,
    adjudicator_skill: str | None,
    on_roster: bool,
    kind: UnitKind,
    qualification: tuple[str, int],
    judged: bool,
) -> None:
    e = ExpertView(
        "e1",
        state,
        skills,
        max_leases=2,
        active_leases=leases,
        benched_from=frozenset({"p1"} if benched else ()),
        screening=screening,
    )
    p = ProjectView(
        "p1",
        status,
        required,
        adjudicator_min,
        frozenset({"e1"} if on_roster else ()),
        adjudicator_skills=adjudicator_skills(required, adjudicator_skill, "image"),
    )
    qualifying = kind is UnitKind.qualification
    u = UnitView(
        "u1",
        "i1",
        "p1",
        kind,
        judges=frozenset({"e1"} if judged else ()),
        qualification=qualification if qualifying else None,
    )
    if qualifying:
        skill, level = qualification
        admitted = state in (V.vetting, V.vetted) and screening.get(skill) == level
        skilled = True
    else:
        admitted = state is V.vetted and on_roster
        skilled = all(skills.get(s, 0) >= m for s, m in required.items())
        if kind is UnitKind.adjudication:
            # the named skill, else every required one, else the modality's
            held_to = (
                [adjudicator_skill]
                if adjudicator_skill is not None
                else list(required) or ["modality.image"]
            )
            skilled = skilled and all(skills.get(s, 0) >= adjudicator_min for s in held_to)
    eligible = (
        admitted
        and skilled
        and status is ProjectStatus.active
        and leases < 2
        and not judged
        and not benched
    )
    reasons = ineligibility(e, p, u)
    assert (reasons == []) == eligible
    assert len(set(reasons)) == len(reasons)  # each reason once


# --- order of units -----------------------------------------------------------------------

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_higher_priority_comes_first_whatever_the_due_date_and_age() -> None:
    urgent = priority_key(2, None, T0 + timedelta(days=9))
    other = priority_key(1, T0, T0)
    assert urgent < other


def test_at_one_priority_the_earlier_due_date_comes_first_and_no_due_date_last() -> None:
    early = priority_key(1, T0 + timedelta(hours=1), T0 + timedelta(days=5))
    late = priority_key(1, T0 + timedelta(hours=2), T0)
    undated = priority_key(1, None, T0 - timedelta(days=30))
    assert early < late < undated


def test_at_one_priority_and_due_date_the_older_unit_comes_first() -> None:
    assert priority_key(1, None, T0) < priority_key(1, None, T0 + timedelta(seconds=1))
    due = T0 + timedelta(days=1)
    assert priority_key(1, due, T0) < priority_key(1, due, T0 + timedelta(seconds=1))


def test_times_of_the_order_are_timezone_aware() -> None:
    with pytest.raises(ValueError, match=r"^due_at must be timezone-aware$"):
        priority_key(1, datetime(2026, 1, 1), T0)
    with pytest.raises(ValueError, match=r"^created_at must be timezone-aware$"):
        priority_key(1, None, datetime(2026, 1, 1))


# --- fair share ---------------------------------------------------------------------------

weights_st = st.lists(
    st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0]), min_size=1, max_size=6
).map(lambda ws: {f"p{i}": w for i, w in enumerate(ws)})


@given(weights=weights_st, picks=st.integers(1, 600))
def test_always_eligible_projects_get_their_weights_share_within_one_pick_per_project(
    weights: dict[str, float], picks: int
) -> None:
    fair = FairShare(weights)
    served: Counter[str] = Counter()
    total = sum(weights.values())
    for done in range(1, picks + 1):
        chosen = fair.pick(list(weights))
        assert chosen is not None
        fair.served(chosen)
        served[chosen] += 1
        for p, w in weights.items():  # at every point, not only at the end
            assert abs(served[p] - done * w / total) < len(weights)


@given(weights=weights_st, away=st.integers(1, 300), back=st.integers(1, 300))
def test_a_project_with_nothing_eligible_is_skipped_and_comes_back_without_a_burst(
    weights: dict[str, float], away: int, back: int
) -> None:
    weights = {**weights, "idle": 2.0}
    fair = FairShare(weights)
    while True:  # all eligible until "idle" has been served: it has a pass of its own
        chosen = fair.pick(list(weights))
        assert chosen is not None
        fair.served(chosen)
        if chosen == "idle":
            break
    others = [p for p in weights if p != "idle"]
    served: Counter[str] = Counter()
    for _ in range(away):  # "idle" has nothing eligible: the others share every pick
        chosen = fair.pick(others)
        assert chosen in others
        fair.served(chosen)
        served[chosen] += 1
    rest = sum(weights[p] for p in others)
    for p in others:
        assert abs(served[p] - away * weights[p] / rest) < len(others)
    after: Counter[str] = Counter()
    for _ in range(back):
        chosen = fair.pick(list(weights))
        assert chosen is not None
        fair.served(chosen)
        after[chosen] += 1
    share = back * 2.0 / sum(weights.values())
    # no credit from its absence: at its share, plus the one pick a newcomer gets first
    assert after["idle"] <= share + len(weights)
    assert after["idle"] >= share - len(weights)


def test_a_returning_project_is_served_once_and_then_at_its_share() -> None:
    fair = FairShare({"a": 1.0, "b": 1.0})
    for _ in range(4):
        chosen = fair.pick(["a", "b"])
        assert chosen is not None
        fair.served(chosen)
    for _ in range(100):  # b has nothing eligible
        chosen = fair.pick(["a"])
        assert chosen == "a"
        fair.served(chosen)
    sequence = []
    for _ in range(6):
        chosen = fair.pick(["a", "b"])
        assert chosen is not None
        fair.served(chosen)
        sequence.append(chosen)
    assert sequence == ["b", "a", "b", "a", "b", "a"]


@given(
    weights=weights_st,
    eligible=st.lists(st.sets(st.sampled_from([f"p{i}" for i in range(6)])), max_size=60),
)
def test_two_replicas_with_the_same_handouts_pick_alike(
    weights: dict[str, float], eligible: list[set[str]]
) -> None:
    one, two = FairShare(weights), FairShare(weights)
    for ids in eligible:
        ids = {p for p in ids if p in weights}
        first, second = one.pick(ids), two.pick(sorted(ids, reverse=True))
        assert first == second
        if first is not None:
            assert first in ids
            one.served(first)
            two.served(first)


def test_equal_passes_go_to_the_smallest_project_id() -> None:
    assert FairShare({"b": 1.0, "a": 1.0}).pick(["b", "a"]) == "a"


def test_a_heavier_weight_after_a_change_gets_the_larger_share() -> None:
    fair = FairShare({"a": 1.0, "b": 1.0})
    fair.set_weight("b", 3.0)
    served: Counter[str] = Counter()
    for _ in range(400):
        chosen = fair.pick(["a", "b"])
        assert chosen is not None
        fair.served(chosen)
        served[chosen] += 1
    assert abs(served["b"] - 300) <= 2


def test_nothing_eligible_picks_nothing() -> None:
    assert FairShare({"a": 1.0}).pick([]) is None


def test_a_project_without_a_weight_or_with_a_non_positive_one_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^no weight for project\(s\) x$"):
        FairShare({"a": 1.0}).pick(["a", "x"])
    for weight in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="positive number"):
            FairShare({"a": weight})


def test_a_forgotten_project_is_no_longer_known() -> None:
    fair = FairShare({"a": 1.0, "b": 1.0})
    fair.forget("b")
    with pytest.raises(ValueError, match="no weight"):
        fair.pick(["b"])


def _view(project_id: str = "p1", **changes: Any) -> ProjectView:
    """A project as a no-work reason reads it: active, requiring lang.ja at 2."""
    fields: dict[str, Any] = {
        "project_id": project_id,
        "status": ProjectStatus.active,
        "required": {"lang.ja": 2},
        "adjudicator_min_level": 4,
        "adjudicator_skills": frozenset({"lang.ja"}),
        "roster": frozenset({"e1"}),
        **changes,
    }
    return ProjectView(**fields)


def _reason(
    expert_changes: dict[str, Any] | None = None,
    projects: tuple[ProjectView, ...] = (),
    *,
    on_a_roster: bool = True,
    screening: bool = False,
) -> NoWorkReason:
    fields: dict[str, Any] = {
        "expert_id": "e1",
        "state": VettingState.vetted,
        "skills": {"lang.ja": 3},
        "max_leases": 2,
        **(expert_changes or {}),
    }
    return no_work_reason(
        ExpertView(**fields), projects, on_a_roster=on_a_roster, screening=screening
    )


@pytest.mark.parametrize(
    ("expert_changes", "projects", "on_a_roster", "screening", "reason"),
    [
        ({"state": VettingState.vetting}, (_view(),), True, False, NoWorkReason.not_vetted),
        ({"state": VettingState.suspended}, (_view(),), True, False, NoWorkReason.not_vetted),
        ({"active_leases": 2}, (_view(),), True, False, NoWorkReason.at_capacity),
        # in vetting with a qualification attempt: its items come first
        (
            {"state": VettingState.vetting, "active_leases": 2},
            (),
            False,
            True,
            NoWorkReason.at_capacity,
        ),
        ({"state": VettingState.vetting}, (), False, True, NoWorkReason.nothing_left),
        ({}, (), False, False, NoWorkReason.not_on_roster),
        ({}, (), True, False, NoWorkReason.benched),
        ({}, (_view(status=ProjectStatus.paused),), True, False, NoWorkReason.no_active_project),
        ({"skills": {"lang.ja": 1}}, (_view(),), True, False, NoWorkReason.missing_skill),
        ({"skills": {}}, (_view(),), True, False, NoWorkReason.missing_skill),
        # one active project they qualify for: the others do not matter
        (
            {"skills": {"lang.ja": 1}},
            (_view(), _view("p2", required={}), _view("p3", status=ProjectStatus.closed)),
            True,
            False,
            NoWorkReason.nothing_left,
        ),
        # a paused project they would qualify for, an active one they do not
        (
            {"skills": {}},
            (_view("p2", status=ProjectStatus.paused, required={}), _view()),
            True,
            False,
            NoWorkReason.missing_skill,
        ),
        ({}, (_view(),), True, False, NoWorkReason.nothing_left),
    ],
)
def test_an_expert_without_work_is_told_the_first_reason_that_holds(
    expert_changes: dict[str, Any],
    projects: tuple[ProjectView, ...],
    on_a_roster: bool,
    screening: bool,
    reason: NoWorkReason,
) -> None:
    assert _reason(expert_changes, projects, on_a_roster=on_a_roster, screening=screening) is reason


def test_an_adjudicators_level_is_no_reason_for_no_work() -> None:
    """Review units need the required level only: a reviewer short of the adjudicator's is
    not told they lack a skill."""
    assert _reason({"skills": {"lang.ja": 2}}, (_view(),)) is NoWorkReason.nothing_left
