"""Stuck work: which open units nobody on a project's roster may ever take, why, and to which
member who gave one back it returns; the proposals that unblock them; demand that counts
them apart."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.eligibility import (
    ExpertView,
    ProjectView,
    ReasonCode,
    UnitKind,
    UnitView,
    VettingState,
    ineligibility,
)
from services.assignment.staffing import (
    AWAY,
    GIVE_BACKS,
    HAD_IT,
    MAX_LIMIT,
    PASSING,
    RETURNABLE,
    Candidate,
    GivenBack,
    Member,
    OpenItem,
    Rules,
    Stuck,
    StuckReason,
    demand,
    proposals,
    rank_key,
    stuck_units,
)
from shared.contracts.work import ProjectStatus

V = VettingState
K = UnitKind
S = StuckReason
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
RULES = Rules(project_id="p1", required={"modality.video": 2}, adjudicator_min_level=4)
SKILLED = {"modality.video": 3}  # enough to review, not to adjudicate
SENIOR = {"modality.video": 4}  # enough to adjudicate


def member(expert_id: str, /, **changes: object) -> Member:
    return replace(Member(expert_id=expert_id, state=V.vetted, skills=SKILLED), **changes)  # type: ignore[arg-type]


def back(minutes: int, how: str = "skip") -> GivenBack:
    return GivenBack(at=NOW + timedelta(minutes=minutes), how=how)


def item(*units: UnitKind, **changes: object) -> OpenItem:
    kinds = units or (K.review,)
    base = OpenItem(item_id="i1", open_units=[(f"i1~{n}", k) for n, k in enumerate(kinds)])
    return replace(base, **changes)  # type: ignore[arg-type]


def reasons(found: list[Stuck]) -> list[tuple[str, StuckReason, str | None]]:
    return [(s.unit_id, s.reason, s.returns_to) for s in found]


# --- when a unit is stuck, and why ------------------------------------------------------------


def test_a_unit_some_roster_member_may_take_is_not_stuck() -> None:
    assert stuck_units(item(), [member("a")], RULES) == []


def test_a_unit_of_a_project_with_nobody_on_its_roster_is_stuck_for_an_empty_roster() -> None:
    [found] = stuck_units(item(), [], RULES)
    assert (found.reason, found.returns_to, found.blocking) == (S.roster_empty, None, True)
    assert found.needs == {"modality.video": 2}


@pytest.mark.parametrize(
    "away",
    [
        {"state": V.suspended},
        {"state": V.vetting},
        {"state": V.offboarded},
        {"benched": True},
    ],
)
def test_members_who_are_not_vetted_or_are_benched_leave_the_roster_empty(
    away: dict[str, object],
) -> None:
    [found] = stuck_units(item(), [member("a", **away)], RULES)
    assert found.reason is S.roster_empty


def test_a_review_unit_nobody_holds_the_required_levels_for_is_stuck_for_no_skilled_expert() -> (
    None
):
    low = member("a", skills={"modality.video": 1})
    other = member("b", skills={"lang.ja": 5})
    [found] = stuck_units(item(), [low, other], RULES)
    assert found.reason is S.no_skilled_expert
    assert "holds every required skill at its level" in found.message


def test_an_adjudication_unit_nobody_holds_the_adjudicators_level_for_is_stuck() -> None:
    [found] = stuck_units(item(K.adjudication), [member("a"), member("b")], RULES)
    assert found.reason is S.no_eligible_adjudicator
    assert found.needs == {"modality.video": 4}  # the adjudicator's level, not the project's
    assert found.returns_to is None


def test_an_adjudication_unit_whose_only_senior_members_judged_the_item_is_stuck() -> None:
    judged = item(K.adjudication, judges=frozenset({"a", "b"}), judged=frozenset({"a", "b"}))
    roster = [member("a", skills=SENIOR), member("b", skills=SENIOR)]
    [found] = stuck_units(judged, roster, RULES)
    assert found.reason is S.no_eligible_adjudicator


def test_an_adjudication_unit_a_senior_member_may_take_is_not_stuck() -> None:
    judged = item(K.adjudication, judges=frozenset({"a"}), judged=frozenset({"a"}))
    assert (
        stuck_units(judged, [member("a", skills=SENIOR), member("c", skills=SENIOR)], RULES) == []
    )


def test_a_project_requiring_no_skill_adjudicates_on_its_modality_skill() -> None:
    # eligibility.adjudicator_skills: modality.<modality> when nothing is required
    free = Rules(
        project_id="p1",
        required={},
        adjudicator_min_level=4,
        adjudicator_skills=frozenset({"modality.image"}),
    )
    [found] = stuck_units(item(K.adjudication), [member("a", skills={})], free)
    assert (found.reason, found.needs) == (S.no_eligible_adjudicator, {"modality.image": 4})
    senior = member("s", skills={"modality.image": 4})
    assert stuck_units(item(K.adjudication), [senior], free) == []
    assert stuck_units(item(K.review), [member("a", skills={})], free) == []


def test_a_named_adjudicator_skill_is_needed_at_the_adjudicators_level_besides_the_required() -> (
    None
):
    lead = replace(RULES, adjudicator_skills=frozenset({"domain.lead"}))
    assert lead.needs(K.adjudication) == {"domain.lead": 4, "modality.video": 2}
    assert lead.needs(K.review) == {"modality.video": 2}
    [found] = stuck_units(item(K.adjudication), [member("a", skills=SENIOR)], lead)
    assert found.reason is S.no_eligible_adjudicator
    both = member("b", skills={"modality.video": 2, "domain.lead": 5})
    assert stuck_units(item(K.adjudication), [both], lead) == []


def test_a_review_unit_every_skilled_member_judged_is_stuck_for_every_member_had_it() -> None:
    # overlap k equal to the roster: the third unit has nobody left
    done = item(K.review, judges=frozenset({"a", "b"}), judged=frozenset({"a", "b"}))
    [found] = stuck_units(done, [member("a"), member("b"), member("c", skills={})], RULES)
    assert (found.reason, found.returns_to) == (S.every_roster_member_had_it, None)
    assert "invite another expert" in found.message


def test_capacity_hours_and_the_project_status_never_make_a_unit_stuck() -> None:
    # the rule passes PASSING reasons: a member at capacity still takes the unit some day
    assert {
        ReasonCode.at_capacity,
        ReasonCode.weekly_hours_reached,
        ReasonCode.project_not_active,
    } == PASSING


def test_every_reason_an_expert_may_not_take_a_unit_is_weighed_by_the_stuck_rule() -> None:
    skill = {ReasonCode.missing_skill, ReasonCode.skill_below_level, ReasonCode.adjudicator_level}
    qualification_only = {ReasonCode.not_in_vetting, ReasonCode.not_screened}
    sets = [PASSING, AWAY, HAD_IT, skill, qualification_only]
    for code in ReasonCode:
        assert sum(code in s for s in sets) == 1, f"{code}: decide how the stuck rule weighs it"


# --- returning to an expert who gave it back -------------------------------------------------


def test_a_unit_stuck_only_because_a_member_skipped_the_item_returns_to_them() -> None:
    skipped = item(judges=frozenset({"a", "b"}), judged=frozenset({"b"}), given_back={"a": back(0)})
    [found] = stuck_units(skipped, [member("a"), member("b")], RULES)
    assert (found.reason, found.returns_to, found.blocking) == (
        S.every_roster_member_had_it,
        "a",
        False,
    )
    assert found.message.endswith("it returns to a, who gave it back")


def test_an_expired_lease_counts_as_a_skip() -> None:
    expired = item(judges=frozenset({"a"}), given_back={"a": back(0, "expired")})
    assert stuck_units(expired, [member("a")], RULES)[0].returns_to == "a"
    assert frozenset({"skip", "expired", "withdrawn"}) == RETURNABLE


def test_a_withdrawn_lease_counts_as_a_skip() -> None:
    # the expert's standing changed (a pause, a suspension): they did not decline the item
    withdrawn = item(judges=frozenset({"a"}), given_back={"a": back(0, "withdrawn")})
    assert stuck_units(withdrawn, [member("a")], RULES)[0].returns_to == "a"


@pytest.mark.parametrize("how", ["cannot_judge", "unsafe_content", "needs_another_skill"])
def test_an_item_given_back_as_not_for_them_never_returns_to_the_expert(how: str) -> None:
    refused = item(judges=frozenset({"a"}), given_back={"a": back(0, how)})
    [found] = stuck_units(refused, [member("a")], RULES)
    assert (found.reason, found.returns_to) == (S.every_roster_member_had_it, None)


def test_an_item_never_returns_to_an_expert_who_judged_or_holds_one_of_its_units() -> None:
    # a judged unit then a released one (an unlikely log): judged wins
    judged = item(judges=frozenset({"a"}), judged=frozenset({"a"}), given_back={"a": back(0)})
    holding = item(judges=frozenset({"a"}), holding=frozenset({"a"}), given_back={"a": back(0)})
    for case in (judged, holding):
        assert stuck_units(case, [member("a")], RULES)[0].returns_to is None


def test_an_expert_who_had_the_item_without_a_recorded_give_back_gets_nothing_back() -> None:
    # released before give-backs were recorded: how is unknown, so it stays theirs no more
    assert stuck_units(item(judges=frozenset({"a"})), [member("a")], RULES)[0].returns_to is None


def test_stuck_units_return_in_turn_the_oldest_give_back_first() -> None:
    three = item(
        K.review,
        K.review,
        K.review,
        judges=frozenset({"a", "b", "c"}),
        given_back={"a": back(30), "b": back(10), "c": back(20, "unsafe_content")},
    )
    roster = [member("a"), member("b"), member("c")]
    assert reasons(stuck_units(three, roster, RULES)) == [
        ("i1~0", S.every_roster_member_had_it, "b"),
        ("i1~1", S.every_roster_member_had_it, "a"),
        ("i1~2", S.every_roster_member_had_it, None),  # left over: blocks
    ]


def test_give_backs_at_the_same_moment_return_by_expert_id() -> None:
    tied = item(
        K.review, K.review, judges=frozenset({"b", "a"}), given_back={"b": back(0), "a": back(0)}
    )
    found = stuck_units(tied, [member("b"), member("a")], RULES)
    assert [s.returns_to for s in found] == ["a", "b"]


def test_the_last_give_back_is_what_counts_after_a_return() -> None:
    # a skipped it first, b later; a got it back and skipped again: b is now the oldest
    again = item(judges=frozenset({"a", "b"}), given_back={"a": back(50), "b": back(10)})
    assert stuck_units(again, [member("a"), member("b")], RULES)[0].returns_to == "b"


def test_an_adjudication_unit_returns_to_a_senior_member_who_released_it() -> None:
    adjudication = item(
        K.adjudication,
        judges=frozenset({"a", "b", "s"}),
        judged=frozenset({"a", "b"}),
        given_back={"s": back(0)},
    )
    roster = [member("a", skills=SENIOR), member("b"), member("s", skills=SENIOR)]
    [found] = stuck_units(adjudication, roster, RULES)
    assert (found.reason, found.returns_to) == (S.every_roster_member_had_it, "s")


def test_a_member_who_cannot_take_a_unit_is_never_returned_it() -> None:
    # b skipped the item but lacks the adjudicator's level: the adjudication unit blocks
    adjudication = item(
        K.adjudication,
        judges=frozenset({"a", "b"}),
        judged=frozenset({"a"}),
        given_back={"b": back(0)},
    )
    [found] = stuck_units(adjudication, [member("a", skills=SENIOR), member("b")], RULES)
    assert (found.reason, found.returns_to) == (S.no_eligible_adjudicator, None)


def test_the_units_of_an_item_are_weighed_by_kind() -> None:
    both = item(K.review, K.adjudication, judges=frozenset({"a"}), judged=frozenset({"a"}))
    roster = [member("a", skills=SENIOR), member("b")]
    assert reasons(stuck_units(both, roster, RULES)) == [
        ("i1~1", S.no_eligible_adjudicator, None)  # b may review, not adjudicate
    ]


# --- refusals ---------------------------------------------------------------------------------


def test_a_roster_naming_a_member_twice_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^a roster names each member once$"):
        stuck_units(item(), [member("a"), member("a")], RULES)


def test_only_review_and_adjudication_units_are_weighed() -> None:
    for kind in (K.gold, K.qualification):
        with pytest.raises(ValueError, match=r"only review and adjudication units stick"):
            item(kind)


def test_whoever_judged_holds_or_gave_back_an_item_is_among_its_judges() -> None:
    for changes in (
        {"judged": frozenset({"a"})},
        {"holding": frozenset({"a"})},
        {"given_back": {"a": back(0)}},
    ):
        with pytest.raises(ValueError, match=r"whoever judged, holds or gave it back had it"):
            item(**changes)


def test_a_give_back_is_timezone_aware_and_one_of_the_known_ways() -> None:
    assert (
        frozenset(
            {
                "skip",
                "cannot_judge",
                "unsafe_content",
                "needs_another_skill",
                "expired",
                "withdrawn",
            }
        )
        == GIVE_BACKS
    )
    with pytest.raises(ValueError, match=r"timezone-aware"):
        GivenBack(at=datetime(2025, 3, 3), how="skip")  # naive: the point of the test
    with pytest.raises(ValueError, match=r"a give-back is one of"):
        GivenBack(at=NOW, how="lost")


# --- properties: the same rules as the handout, and a plain reference --------------------------

EXPERTS = "abcdef"
SKILLS = ["modality.video", "lang.ja"]
skill_maps = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[OpenItem, list[Member], Rules]:
    """A roster and an item, drawn so that stuck units and returns are common: mostly vetted
    members, most of them among the judges, most give-backs a skip or an expiry."""
    ids = draw(st.lists(st.sampled_from(EXPERTS), unique=True, max_size=6))
    roster = [
        Member(
            expert_id=e,
            state=draw(st.sampled_from([V.vetted] * 4 + list(V))),
            skills=draw(st.one_of(st.just(dict.fromkeys(SKILLS, 5)), skill_maps)),
            benched=draw(st.sampled_from([False, False, False, True])),
        )
        for e in ids
    ]
    judges = frozenset(e for e in EXPERTS if draw(st.integers(0, 3)))
    judged = frozenset(e for e in judges if not draw(st.integers(0, 2)))
    holding = frozenset(e for e in judges - judged if not draw(st.integers(0, 3)))
    hows = ["skip", "expired"] * 3 + sorted(GIVE_BACKS)
    given_back = {
        e: GivenBack(
            at=NOW + timedelta(minutes=draw(st.integers(0, 3))), how=draw(st.sampled_from(hows))
        )
        for e in judges
        if draw(st.integers(0, 3))
    }
    kinds = draw(st.lists(st.sampled_from([K.review, K.adjudication]), min_size=1, max_size=4))
    open_item = OpenItem(
        item_id="i1",
        open_units=[(f"i1~{n}", k) for n, k in enumerate(kinds)],
        judges=judges,
        judged=judged,
        holding=holding,
        given_back=given_back,
    )
    rules = Rules(
        project_id="p1",
        required=draw(st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 5), max_size=2)),
        adjudicator_min_level=draw(st.integers(1, 5)),
        adjudicator_skills=draw(
            st.one_of(st.none(), st.frozensets(st.sampled_from(SKILLS), min_size=1))
        ),
    )
    return open_item, roster, rules


def reference(
    open_item: OpenItem, roster: list[Member], rules: Rules
) -> list[tuple[str, StuckReason, str | None]]:
    """The stuck rule written plainly with sets, as docs/assignment.md states it."""
    working = [m for m in roster if m.state is V.vetted and not m.benched]
    found = []
    seen: dict[UnitKind, int] = {}
    for unit_id, kind in open_item.open_units:
        level = dict(rules.required)
        if kind is K.adjudication:
            adjudicating = (
                rules.required if rules.adjudicator_skills is None else rules.adjudicator_skills
            )
            for s in adjudicating:
                level[s] = max(level.get(s, 0), rules.adjudicator_min_level)
        skilled = {
            m.expert_id for m in working if all(m.skills.get(s, 0) >= lv for s, lv in level.items())
        }
        if skilled - open_item.judges:
            continue
        returning = sorted(
            (
                e
                for e in skilled - open_item.judged - open_item.holding
                if e in open_item.given_back
                and open_item.given_back[e].how in {"skip", "expired", "withdrawn"}
            ),
            key=lambda e: (open_item.given_back[e].at, e),
        )
        if not working:
            reason = S.roster_empty
        elif kind is K.adjudication and skilled <= open_item.judged:
            reason, returning = S.no_eligible_adjudicator, []
        elif not skilled:
            reason = S.no_skilled_expert
        else:
            reason = S.every_roster_member_had_it
        index = seen.get(kind, 0)
        seen[kind] = index + 1
        found.append((unit_id, reason, returning[index] if index < len(returning) else None))
    return found


@given(world=worlds())
def test_the_stuck_rule_matches_its_plain_reference(
    world: tuple[OpenItem, list[Member], Rules],
) -> None:
    open_item, roster, rules = world
    assert reasons(stuck_units(open_item, roster, rules)) == reference(open_item, roster, rules)


@given(world=worlds())
def test_a_unit_is_stuck_exactly_when_the_handouts_rules_let_no_member_take_it_ever(
    world: tuple[OpenItem, list[Member], Rules],
) -> None:
    open_item, roster, rules = world
    stuck = {s.unit_id for s in stuck_units(open_item, roster, rules)}
    project = ProjectView(
        project_id="p1",
        status=ProjectStatus.paused,  # a paused project is no reason: it passes
        required=rules.required,
        adjudicator_min_level=rules.adjudicator_min_level,
        adjudicator_skills=rules.adjudicator_skills,
        roster=frozenset(m.expert_id for m in roster),
    )
    for unit_id, kind in open_item.open_units:
        unit = UnitView(
            unit_id=unit_id, item_id="i1", project_id="p1", kind=kind, judges=open_item.judges
        )
        someone = any(
            {
                r.code
                for r in ineligibility(
                    ExpertView(
                        expert_id=m.expert_id,
                        state=m.state,
                        skills=m.skills,
                        max_leases=1,
                        active_leases=1,  # at capacity now: passes too
                        benched_from=frozenset({"p1"}) if m.benched else frozenset(),
                    ),
                    project,
                    unit,
                )
            }
            <= PASSING
            for m in roster
        )
        assert (unit_id in stuck) is not someone


@given(world=worlds())
def test_a_unit_returns_only_to_a_skilled_member_who_gave_the_item_back_and_each_once(
    world: tuple[OpenItem, list[Member], Rules],
) -> None:
    open_item, roster, rules = world
    found = stuck_units(open_item, roster, rules)
    by_id = {m.expert_id: m for m in roster}
    for kind in (K.review, K.adjudication):
        returning = [s.returns_to for s in found if s.kind is kind and s.returns_to]
        assert len(returning) == len(set(returning))  # one unit of a kind each
    for s in found:
        if s.returns_to is None:
            continue
        m = by_id[s.returns_to]
        assert m.state is V.vetted and not m.benched
        assert all(m.skills.get(skill, 0) >= level for skill, level in s.needs.items())
        assert s.returns_to in open_item.judges
        assert s.returns_to not in open_item.judged | open_item.holding
        assert open_item.given_back[s.returns_to].how in RETURNABLE


# --- proposals that unblock stuck work -------------------------------------------------------


def candidate(expert_id: str, /, **changes: object) -> Candidate:
    base = Candidate(
        expert_id=expert_id,
        state=V.vetted,
        skills=SKILLED,
        max_leases=3,
        active_leases=0,
        hours_per_week=20.0,
        calibration={},
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def blocked(
    kind: UnitKind = K.review, judges: frozenset[str] = frozenset(), **changes: object
) -> Stuck:
    base = Stuck(
        item_id="i1",
        unit_id="i1~0",
        kind=kind,
        reason=S.no_eligible_adjudicator if kind is K.adjudication else S.no_skilled_expert,
        needs=RULES.needs(kind),
        judges=judges,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def propose(
    pool: list[Candidate], stuck: list[Stuck]
) -> list[tuple[str, int, bool, tuple[str, ...]]]:
    found = proposals(pool, RULES.required, adjudicator_min_level=4, stuck=stuck)
    return [(p.expert_id, p.unblocks, p.adjudicates, p.why) for p in found]


def test_an_expert_at_the_adjudicators_level_is_proposed_first_for_blocked_adjudication() -> None:
    pool = [
        candidate("proven", calibration={"modality.video": 1.0}),
        candidate("senior", skills=SENIOR),
    ]
    assert propose(pool, [blocked(K.adjudication), blocked(K.adjudication, unit_id="i2~2")]) == [
        ("senior", 2, True, ("required_skills", "adjudicator_level", "unblocks_stuck_units")),
        ("proven", 0, False, ("required_skills",)),
    ]


def test_without_stuck_work_proposals_keep_their_order_and_say_who_may_adjudicate() -> None:
    pool = [candidate("b", skills=SENIOR), candidate("a")]
    assert propose(pool, []) == [
        ("a", 0, False, ("required_skills",)),
        ("b", 0, True, ("required_skills", "adjudicator_level")),
    ]


def test_an_expert_who_had_the_item_does_not_unblock_it() -> None:
    pool = [candidate("had", skills=SENIOR), candidate("fresh", skills=SENIOR)]
    stuck = [blocked(K.adjudication, judges=frozenset({"had"}))]
    assert [(e, n) for e, n, _, _ in propose(pool, stuck)] == [("fresh", 1), ("had", 0)]


def test_units_returning_to_a_member_are_not_counted_as_unblocked() -> None:
    returning = blocked(reason=S.every_roster_member_had_it, returns_to="m")
    assert propose([candidate("a")], [returning])[0][1] == 0


def test_the_adjudicator_level_is_from_one_to_five() -> None:
    for level in (0, 6):
        with pytest.raises(ValueError, match=r"^adjudicator_min_level: a skill level is from"):
            proposals([candidate("a")], {}, adjudicator_min_level=level)


stuck_lists = st.lists(
    st.builds(
        blocked,
        kind=st.sampled_from([K.review, K.adjudication]),
        judges=st.frozensets(st.sampled_from(EXPERTS)),
        returns_to=st.sampled_from([None, None, "z"]),
    ),
    max_size=8,
)
pools = st.lists(
    st.builds(
        candidate,
        st.sampled_from(EXPERTS),
        skills=skill_maps,
        calibration=st.dictionaries(st.sampled_from(SKILLS), st.sampled_from([0.0, 0.5, 1.0])),
    ),
    max_size=6,
    unique_by=lambda c: c.expert_id,
)


@given(pool=pools, stuck=stuck_lists)
def test_unblocks_counts_the_blocking_units_the_expert_could_take(
    pool: list[Candidate], stuck: list[Stuck]
) -> None:
    by_id = {c.expert_id: c for c in pool}
    for p in proposals(pool, RULES.required, MAX_LIMIT, adjudicator_min_level=4, stuck=stuck):
        c = by_id[p.expert_id]
        assert p.unblocks == sum(
            1
            for s in stuck
            if s.returns_to is None
            and c.expert_id not in s.judges
            and all(c.skills.get(k, 0) >= v for k, v in s.needs.items())
        )
        assert p.adjudicates is (c.skills.get("modality.video", 0) >= 4)


@given(pool=pools, stuck=stuck_lists)
def test_proposals_unblocking_more_come_first_then_the_usual_order(
    pool: list[Candidate], stuck: list[Stuck]
) -> None:
    found = proposals(pool, RULES.required, MAX_LIMIT, adjudicator_min_level=4, stuck=stuck)
    keys = [
        (
            -p.unblocks,
            p.calibration is None,
            -(p.calibration or 0.0),
            -p.spare_leases,
            -p.hours_per_week,
            p.expert_id,
        )
        for p in found
    ]
    assert keys == sorted(keys) == [rank_key(p) for p in found]


# --- demand with stuck work ------------------------------------------------------------------


def test_stuck_work_blocks_the_demand_and_never_gets_a_clearing_time() -> None:
    # the report seen: one adjudication unit nobody may take, a roster with hours to spare
    found = demand(1, [0.05], [40.0], now=NOW, stuck_units=1)
    assert found.hours_needed < found.hours_available
    assert (found.stuck_units, found.blocked, found.outgrown) == (1, True, True)
    assert found.weeks_to_clear is None


def test_demand_without_stuck_work_is_not_blocked() -> None:
    found = demand(10, [60.0], [40.0], now=NOW)
    assert (found.stuck_units, found.blocked, found.outgrown) == (0, False, False)
    assert found.weeks_to_clear == pytest.approx(10 * 60 / 3600 / 40)


@pytest.mark.parametrize("stuck", [-1, 11, 1.5, True])
def test_stuck_units_are_a_whole_number_up_to_the_pending_units(stuck: object) -> None:
    with pytest.raises(ValueError, match=r"^stuck_units is a whole number from 0 to pending_units"):
        demand(10, [60.0], [40.0], now=NOW, stuck_units=stuck)  # type: ignore[arg-type]


@given(
    pending=st.integers(0, 1000),
    share=st.floats(0, 1),
    spent=st.lists(st.floats(0, 3600), max_size=5),
    hours=st.lists(st.floats(0, 168), max_size=5),
)
def test_outgrown_exactly_when_short_of_hours_or_blocked(
    pending: int, share: float, spent: list[float], hours: list[float]
) -> None:
    stuck = math.floor(pending * share)
    found = demand(pending, spent, hours, now=NOW, stuck_units=stuck)
    assert found.blocked is (stuck > 0)
    assert found.outgrown is (found.hours_needed > found.hours_available or stuck > 0)
    if found.blocked:
        assert found.weeks_to_clear is None
    unblocked = demand(pending, spent, hours, now=NOW)
    assert found.hours_needed == unblocked.hours_needed  # the stuck units still take time
