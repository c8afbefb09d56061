"""Assignment's consensus policy (services/assignment/consensus.py): per-type agreement and
the consensus decision, each against its plain definition or a value worked out by hand.
The measures it uses (IoU, matching) are tested in tests/shared/test_annotation_*.py."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import consensus
from services.assignment.consensus import ConsensusPolicy
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Label, Severity
from shared.contracts.work import Resolution, Verdict
from tests.shared.annotation_cases import box, seg


def plain_majority_passes(values: Sequence[object], quorum: float) -> bool:
    counts = Counter(values).most_common()
    top = counts[0][1]
    leaders = [v for v, c in counts if c == top]
    return len(leaders) == 1 and top / len(values) >= quorum


# --- agreement per label type -------------------------------------------------------------


@given(
    st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=7),
    st.sampled_from([0.0, 0.3, 0.5, 0.6, 2 / 3, 0.75, 1.0]),
)
def test_class_majority_agrees_with_counting(values: list[str | None], quorum: float) -> None:
    vote = consensus.class_majority(values, quorum=quorum)
    (top, count), *_ = Counter(values).most_common(1)
    assert vote.agreement == count / len(values)
    assert vote.passed is plain_majority_passes(values, quorum)
    assert vote.value == (top if vote.passed else None)


@pytest.mark.parametrize("values", [["a", "b"], ["a", "a", "b", "b"], ["a", "b", "c"], ["a", None]])
def test_ties_never_pass_even_with_no_quorum(values: list[str | None]) -> None:
    vote = consensus.class_majority(values, quorum=0.0)
    assert not vote.passed
    assert vote.value is None


def test_two_of_three_pass_a_two_thirds_quorum_and_not_0_67() -> None:
    assert consensus.class_majority(["a", "a", "b"], quorum=2 / 3).value == "a"
    assert not consensus.class_majority(["a", "a", "b"], quorum=0.67).passed


@pytest.mark.parametrize(
    ("points", "passed", "value", "figure"),
    [
        ([3, 4, 4], True, 4, 0.75),  # spread 1, at the limit; 1 - 1/4
        ([3, 5, 4], False, None, 0.5),  # spread 2, just over
        ([2, 3], True, 2.5, 0.75),  # an even count: the midpoint of the two middle points
        ([4, 4, 4], True, 4, 1.0),
        ([1, 5], False, None, 0.0),
    ],
)
def test_rating_spread_passes_up_to_the_limit(
    points: list[int], passed: bool, value: float | None, figure: float
) -> None:
    spread = consensus.rating_spread(points, max_spread=1, scale_min=1, scale_max=5)
    assert (spread.passed, spread.value, spread.agreement) == (passed, value, figure)
    assert spread.spread == max(points) - min(points)


@given(st.lists(st.integers(1, 7), min_size=1, max_size=7), st.integers(0, 6))
def test_rating_consensus_is_the_median_between_the_middle_points(
    points: list[int], limit: int
) -> None:
    spread = consensus.rating_spread(points, max_spread=limit, scale_min=1, scale_max=7)
    assert spread.passed is (max(points) - min(points) <= limit)
    if spread.passed:
        ordered = sorted(points)
        middle = ordered[(len(ordered) - 1) // 2 : len(ordered) // 2 + 1]
        assert spread.value == sum(middle) / len(middle)
        assert statistics.median_low(points) <= spread.value <= statistics.median_high(points)


THREE_CARS = [box(0, 0, 10, 10), box(20, 0, 10, 10), box(40, 0, 10, 10)]


def test_identical_judges_agree_fully_on_regions() -> None:
    result = consensus.region_agreement([THREE_CARS] * 3, iou_threshold=0.5, quorum=2 / 3)
    assert (result.agreement, result.passed, result.unsettled) == (1.0, True, 0)
    assert result.labels == tuple(THREE_CARS)


def test_a_judge_missing_a_box_lowers_region_agreement_and_two_judges_split_on_it() -> None:
    result = consensus.region_agreement(
        [THREE_CARS, THREE_CARS[:2]], iou_threshold=0.5, quorum=2 / 3
    )
    assert result.agreement == pytest.approx(2 * 2 / 5)
    assert not result.passed  # one of two draws the third box: a tie
    assert result.unsettled == 1
    assert result.labels is None


def test_a_box_two_of_three_judges_draw_is_kept_and_one_only_one_draws_is_dropped() -> None:
    extra = box(70, 0, 10, 10)
    judges = [THREE_CARS, THREE_CARS, [*THREE_CARS[:2], extra]]
    result = consensus.region_agreement(judges, iou_threshold=0.5, quorum=2 / 3)
    # pairs: 1, 2*2/6, 2*2/6 -> mean 7/9
    assert result.agreement == pytest.approx(7 / 9)
    assert result.passed
    assert result.source == 0  # the first of the two with the highest mean agreement
    assert result.labels == tuple(THREE_CARS)


def test_an_object_the_reference_lacks_but_a_majority_draws_is_unsettled() -> None:
    # judges 1 and 2 both draw a fourth box the reference (judge 0, first among equals) lacks
    extra = box(70, 0, 10, 10)
    judges = [THREE_CARS[:1], [THREE_CARS[0], extra], [THREE_CARS[0], extra], THREE_CARS[:1]]
    result = consensus.region_agreement(judges, iou_threshold=0.5, quorum=0.5)
    assert not result.passed


def test_regions_of_different_classes_do_not_agree() -> None:
    result = consensus.region_agreement(
        [[box(0, 0, 10, 10, "car")], [box(0, 0, 10, 10, "truck")]], iou_threshold=0.5, quorum=0.5
    )
    assert result.agreement == 0.0
    assert not result.passed


def test_judges_drawing_no_regions_agree() -> None:
    result = consensus.region_agreement([[], []], iou_threshold=0.5, quorum=2 / 3)
    assert (result.agreement, result.passed, result.labels) == (1.0, True, ())


@pytest.mark.parametrize(("shift", "passed"), [(0.5, True), (0.6, False)])
def test_segments_agree_up_to_the_tolerance(shift: float, passed: bool) -> None:
    reference = [seg(1.0, 3.0), seg(5.0, 6.0)]
    other = [seg(1.0 + shift, 3.0 - shift), seg(5.0, 6.0)]
    result = consensus.segment_agreement(
        [reference, other], onset_tolerance_s=0.5, offset_tolerance_s=0.5, quorum=2 / 3
    )
    assert result.passed is passed
    assert result.agreement == (1.0 if passed else 0.5)


def test_class_labels_agree_by_majority_of_the_whole_set() -> None:
    cat, dog = Label(class_id="cat"), Label(class_id="dog")
    kept = consensus.class_labels_agreement([[cat, dog], [dog, cat], [cat]], quorum=2 / 3)
    assert kept.passed and kept.labels == (cat, dog) and kept.source == 0
    split = consensus.class_labels_agreement([[cat], [dog], [cat, dog]], quorum=0.5)
    assert not split.passed and split.agreement == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("given", "quorum", "expected"),
    [
        ([Severity.critical, Severity.major, Severity.none], 2 / 3, Severity.major),
        ([Severity.critical, Severity.none, Severity.none], 2 / 3, Severity.none),
        ([Severity.critical, Severity.none], 0.5, Severity.none),  # half is no majority
        ([Severity.minor, None, Severity.minor], 2 / 3, Severity.minor),
        ([None, None], 2 / 3, None),
    ],
)
def test_severity_is_the_most_severe_a_qualified_majority_reports_or_exceeds(
    given: list[Severity | None], quorum: float, expected: Severity | None
) -> None:
    assert consensus.severity_consensus(given, quorum=quorum) is expected


# --- the decision -------------------------------------------------------------------------


def test_agreeing_judgments_resolve_by_consensus_with_every_value() -> None:
    answers = [
        Answers(
            verdict=Verdict.correct,
            ratings={"clarity": 4, "accuracy": 2},
            severity=Severity.minor,
            labels=[Label(class_id="street"), *THREE_CARS, seg(1, 2)],
        ),
        Answers(
            verdict=Verdict.correct,
            ratings={"clarity": 3, "accuracy": 2},
            severity=Severity.minor,
            labels=[seg(1.1, 2.1), *THREE_CARS, Label(class_id="street")],
        ),
    ]
    decision = consensus.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert decision.method is Resolution.consensus and not decision.escalated
    assert decision.reasons == ()
    assert decision.verdict is Verdict.correct
    assert decision.ratings == {"accuracy": 2, "clarity": 3.5}  # judges split 4 / 3
    assert decision.spreads == {"accuracy": 0, "clarity": 1}
    assert decision.severity is Severity.minor
    assert decision.labels == (Label(class_id="street"), *THREE_CARS, seg(1, 2))
    assert decision.label_sources == (0, 0, 0, 0, 0)
    assert decision.figures == {
        "verdict": 1.0,
        "labels.classes": 1.0,
        "labels.regions": 1.0,
        "labels.segments": 1.0,
        "ratings.accuracy": 1.0,
        "ratings.clarity": 0.75,
    }
    assert decision.agreement == 0.75


def test_disagreements_are_each_named_and_their_values_left_out() -> None:
    answers = [
        Answers(verdict=Verdict.accept, ratings={"clarity": 1}, labels=THREE_CARS),
        Answers(verdict=Verdict.reject, ratings={"clarity": 5}, labels=THREE_CARS[:2]),
    ]
    decision = consensus.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert decision.method is Resolution.adjudication
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("disagreement", "verdict"),
        ("disagreement", "labels.regions"),
        ("disagreement", "ratings.clarity"),
    ]
    assert "the most frequent has 1 of 2" in decision.reasons[0].message
    assert "spread 4 is over the limit 1" in decision.reasons[2].message
    assert decision.verdict is None and decision.labels == () and decision.ratings == {}
    assert decision.agreement == 0.0


def test_a_listed_flag_a_severe_report_and_the_audit_each_escalate_agreeing_judgments() -> None:
    answers = [
        Answers(verdict=Verdict.accept, flags=["safety"], severity=Severity.critical),
        Answers(verdict=Verdict.accept, flags=["edge_case"]),
    ]
    policy = ConsensusPolicy(
        escalate_flags=frozenset({"safety", "rare_class"}),
        escalate_severity=Severity.critical,
        audit_rate=0.1,
    )
    decision = consensus.decide(answers, policy=policy, audit_draw=0.05)
    assert [(r.code, r.field) for r in decision.reasons] == [
        ("flag", "flags.safety"),
        ("severity", "severity"),
        ("audit", "audit"),
    ]
    assert decision.escalated
    assert decision.verdict is Verdict.accept  # the values that agreed, for the adjudicator


@pytest.mark.parametrize(("draw", "audited"), [(0.0999, True), (0.1, False), (0.5, False)])
def test_the_audit_draws_exactly_below_the_rate(draw: float, audited: bool) -> None:
    answers = [Answers(verdict=Verdict.accept)] * 2
    decision = consensus.decide(answers, policy=ConsensusPolicy(audit_rate=0.1), audit_draw=draw)
    assert decision.escalated is audited
    assert [r.field for r in decision.reasons] == (["audit"] if audited else [])


def test_a_single_judgment_resolves_as_single_unless_escalated() -> None:
    only = Answers(
        verdict=Verdict.reject, ratings={"clarity": 2}, labels=THREE_CARS, flags=["safety"]
    )
    single = consensus.decide([only], policy=ConsensusPolicy(), audit_draw=0.5)
    assert single.method is Resolution.single
    assert (single.verdict, single.ratings, single.labels) == (
        Verdict.reject,
        {"clarity": 2},
        tuple(THREE_CARS),
    )
    assert single.agreement is None and single.figures == {}
    flagged = consensus.decide(
        [only], policy=ConsensusPolicy(escalate_flags=frozenset({"safety"})), audit_draw=0.5
    )
    assert flagged.method is Resolution.adjudication
    assert [r.field for r in flagged.reasons] == ["flags.safety"]


def test_a_dimension_most_judgments_leave_unrated_is_left_out() -> None:
    answers = [Answers(ratings={"style": 5}), Answers(), Answers()]
    decision = consensus.decide(answers, policy=ConsensusPolicy(), audit_draw=0.5)
    assert not decision.escalated and decision.ratings == {}
    split = consensus.decide(answers[:2], policy=ConsensusPolicy(), audit_draw=0.5)
    assert [r.field for r in split.reasons] == ["ratings.style"]


def test_decide_refuses_no_judgments_and_a_draw_outside_0_1() -> None:
    with pytest.raises(ValueError, match="no judgments"):
        consensus.decide([], policy=ConsensusPolicy(), audit_draw=0.0)
    with pytest.raises(ValueError, match="audit_draw"):
        consensus.decide([Answers()], policy=ConsensusPolicy(), audit_draw=1.0)


def test_a_policy_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="quorum, audit_rate"):
        ConsensusPolicy(quorum=1.5, audit_rate=-0.1)


FLAGS = ["safety", "edge_case"]
answers_strategy = st.builds(
    Answers,
    verdict=st.sampled_from([Verdict.accept, Verdict.reject, None]),
    ratings=st.dictionaries(st.just("clarity"), st.integers(1, 5), max_size=1),
    flags=st.lists(st.sampled_from(FLAGS), unique=True),
    labels=st.lists(st.sampled_from(["cat", "dog"]), unique=True, max_size=1).map(
        lambda ids: [Label(class_id=i) for i in ids]
    ),
)


def _rated_or_not(given: list[bool], quorum: float) -> bool | None:
    """True: rated by a qualified majority; False: left unrated by one; None: neither."""
    rated, unrated = sum(given), len(given) - sum(given)
    if rated > unrated and rated / len(given) >= quorum:
        return True
    if unrated > rated and unrated / len(given) >= quorum:
        return False
    return None


@given(
    st.lists(answers_strategy, min_size=2, max_size=4),
    st.sampled_from([0.5, 0.6, 2 / 3, 0.75, 1.0]),
    st.integers(0, 2),
    st.sets(st.sampled_from(FLAGS)),
    st.sampled_from([0.0, 0.2, 0.5]),
    st.sampled_from([0.0, 0.1, 0.2, 0.7]),
)
def test_decide_escalates_exactly_when_a_rule_fails_a_listed_flag_is_set_or_the_audit_draws(
    answers: list[Answers],
    quorum: float,
    limit: int,
    flags: set[str],
    rate: float,
    draw: float,
) -> None:
    policy = ConsensusPolicy(
        quorum=quorum, default_max_spread=limit, escalate_flags=frozenset(flags), audit_rate=rate
    )
    decision = consensus.decide(answers, policy=policy, audit_draw=draw)
    expected = set()
    verdicts = [a.verdict for a in answers]
    if any(verdicts) and not plain_majority_passes(verdicts, quorum):
        expected.add("verdict")
    classes = [frozenset(label.class_id for label in a.labels) for a in answers]
    if any(classes) and not plain_majority_passes(classes, quorum):
        expected.add("labels.classes")
    points = [a.ratings["clarity"] for a in answers if "clarity" in a.ratings]
    if points:
        rated = _rated_or_not(["clarity" in a.ratings for a in answers], quorum)
        if rated is None or (rated and max(points) - min(points) > limit):
            expected.add("ratings.clarity")
    expected |= {f"flags.{f}" for f in flags if any(f in a.flags for a in answers)}
    if draw < rate:
        expected.add("audit")
    assert {r.field for r in decision.reasons} == expected
    assert len(decision.reasons) == len(expected)
    assert decision.method is (Resolution.adjudication if expected else Resolution.consensus)
    assert decision.agreement == (min(decision.figures.values()) if decision.figures else None)
