"""Gold scoring: each field of the key against the answer, and the score as the share of
fields correct."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import gold
from services.assignment.gold import GoldTolerances
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Box, Label, Severity, TimeSegment
from shared.contracts.work import Verdict

TOLERANCES = GoldTolerances()
CAR = Label(class_id="car", geometry=Box(x=0, y=0, width=10, height=10))
SPEECH = Label(class_id="speech", segment=TimeSegment(start_s=1, end_s=3))
STREET = Label(class_id="street")
KEY = Answers(
    verdict=Verdict.correct,
    ratings={"clarity": 4, "accuracy": 2},
    severity=Severity.major,
    flags=["occlusion", "rare_class"],
    labels=[STREET, CAR, SPEECH],
    justification="the car is partly hidden",
)
ALL_FIELDS = {"verdict", "ratings.accuracy", "ratings.clarity", "severity", "flags", "labels"}


def with_car(box: Box) -> Answers:
    return KEY.model_copy(
        update={"labels": [STREET, CAR.model_copy(update={"geometry": box}), SPEECH]}
    )


def test_the_key_itself_scores_1_with_every_field_true() -> None:
    result = gold.score(KEY, KEY, tolerances=TOLERANCES)
    assert result.fields == dict.fromkeys(ALL_FIELDS, True)
    assert result.score == 1.0


WRONG_ALONE: dict[str, Callable[[], Answers]] = {
    "verdict": lambda: KEY.model_copy(update={"verdict": Verdict.reject}),
    "ratings.clarity": lambda: KEY.model_copy(update={"ratings": {"clarity": 2, "accuracy": 2}}),
    "ratings.accuracy": lambda: KEY.model_copy(update={"ratings": {"clarity": 4}}),
    "severity": lambda: KEY.model_copy(update={"severity": Severity.minor}),
    "flags": lambda: KEY.model_copy(update={"flags": ["occlusion", "rare_class", "safety"]}),
    "labels": lambda: with_car(Box(x=6, y=0, width=10, height=10)),
}


@pytest.mark.parametrize("field", sorted(WRONG_ALONE))
def test_each_field_wrong_alone_flips_exactly_that_field(field: str) -> None:
    result = gold.score(WRONG_ALONE[field](), KEY, tolerances=TOLERANCES)
    assert [name for name, ok in result.fields.items() if not ok] == [field]
    assert set(result.fields) == ALL_FIELDS
    assert result.score == pytest.approx(5 / 6)


@pytest.mark.parametrize(
    ("given", "correct"), [(4, True), (5, True), (3, True), (6, False), (2, False)]
)
def test_a_rating_is_correct_within_one_point_of_the_key(given: int, correct: bool) -> None:
    answer = KEY.model_copy(update={"ratings": {"clarity": given, "accuracy": 2}})
    assert gold.score(answer, KEY, tolerances=TOLERANCES).fields["ratings.clarity"] is correct


def test_a_dimension_may_have_a_tolerance_of_its_own() -> None:
    answer = KEY.model_copy(update={"ratings": {"clarity": 5, "accuracy": 3}})
    strict = GoldTolerances(ratings={"clarity": 0})
    fields = gold.score(answer, KEY, tolerances=strict).fields
    assert (fields["ratings.clarity"], fields["ratings.accuracy"]) == (False, True)


@pytest.mark.parametrize(
    ("box", "correct"),
    [
        (Box(x=0, y=0, width=10, height=5), True),  # IoU 50 / 100, at the threshold
        (Box(x=0, y=0, width=10, height=4.9), False),  # IoU 0.49
        (Box(x=0, y=0, width=20, height=10), True),  # IoU 100 / 200
        (Box(x=0, y=0, width=20.1, height=10), False),
    ],
)
def test_a_box_is_correct_at_the_iou_threshold_and_not_below(box: Box, correct: bool) -> None:
    assert gold.score(with_car(box), KEY, tolerances=TOLERANCES).fields["labels"] is correct


@pytest.mark.parametrize(
    ("labels", "correct"),
    [
        ([CAR, SPEECH, STREET], True),  # order does not matter
        ([STREET, CAR], False),  # a key label missing
        ([STREET, CAR, SPEECH, Label(class_id="tree")], False),  # an extra label
        ([STREET, CAR.model_copy(update={"class_id": "truck"}), SPEECH], False),  # another class
        (
            [
                STREET,
                CAR,
                SPEECH.model_copy(update={"segment": TimeSegment(start_s=1.5, end_s=3.5)}),
            ],
            True,
        ),
        (
            [STREET, CAR, SPEECH.model_copy(update={"segment": TimeSegment(start_s=1.6, end_s=3)})],
            False,
        ),
    ],
)
def test_labels_are_correct_when_every_key_label_is_matched_and_none_is_left_over(
    labels: list[Label], correct: bool
) -> None:
    answer = KEY.model_copy(update={"labels": labels})
    assert gold.score(answer, KEY, tolerances=TOLERANCES).fields["labels"] is correct


def test_flags_are_correct_as_the_same_set() -> None:
    same = KEY.model_copy(update={"flags": ["rare_class", "occlusion", "rare_class"]})
    fewer = KEY.model_copy(update={"flags": ["occlusion"]})
    assert gold.score(same, KEY, tolerances=TOLERANCES).fields["flags"] is True
    assert gold.score(fewer, KEY, tolerances=TOLERANCES).fields["flags"] is False


def test_the_justification_is_never_scored() -> None:
    answer = KEY.model_copy(update={"justification": "something else entirely"})
    result = gold.score(answer, KEY, tolerances=TOLERANCES)
    assert result.score == 1.0 and set(result.fields) == ALL_FIELDS


def test_only_fields_the_key_sets_are_scored() -> None:
    key = Answers(verdict=Verdict.accept, ratings={"clarity": 3})
    answer = Answers(
        verdict=Verdict.accept, ratings={"clarity": 3, "style": 1}, labels=[CAR], flags=["x"]
    )
    assert gold.score(answer, key, tolerances=TOLERANCES).fields == {
        "verdict": True,
        "ratings.clarity": True,
    }


def test_an_empty_list_in_the_key_is_scored_only_when_named_an_answer() -> None:
    key = Answers(verdict=Verdict.accept)
    answer = Answers(verdict=Verdict.accept, labels=[CAR])
    assert "labels" not in gold.score(answer, key, tolerances=TOLERANCES).fields
    tolerances = GoldTolerances(empty_is_answer=frozenset({"labels", "flags"}))
    assert gold.score(answer, key, tolerances=tolerances).fields == {
        "verdict": True,
        "flags": True,
        "labels": False,
    }


def test_a_key_that_sets_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="no field"):
        gold.score(KEY, Answers(justification="only words"), tolerances=TOLERANCES)


def test_tolerances_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="rating, iou_threshold, empty_is_answer"):
        GoldTolerances(rating=-1, iou_threshold=2.0, empty_is_answer=frozenset({"verdict"}))


answers = st.builds(
    Answers,
    verdict=st.sampled_from([*Verdict, None]),
    ratings=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 5), max_size=3),
    severity=st.sampled_from([*Severity, None]),
    flags=st.lists(st.sampled_from(["safety", "edge_case", "ambiguous"]), max_size=3),
    labels=st.lists(st.sampled_from([STREET, CAR, SPEECH]), max_size=3),
)


@given(answers, answers)
def test_the_score_is_the_share_of_fields_correct(answer: Answers, key: Answers) -> None:
    expected_fields = (
        ({"verdict"} if key.verdict is not None else set())
        | {f"ratings.{d}" for d in key.ratings}
        | ({"severity"} if key.severity is not None else set())
        | ({"flags"} if key.flags else set())
        | ({"labels"} if key.labels else set())
    )
    if not expected_fields:
        with pytest.raises(ValueError, match="no field"):
            gold.score(answer, key, tolerances=TOLERANCES)
        return
    result = gold.score(answer, key, tolerances=TOLERANCES)
    assert set(result.fields) == expected_fields
    assert result.score == sum(result.fields.values()) / len(result.fields)
    assert 0.0 <= result.score <= 1.0
    assert gold.score(key, key, tolerances=TOLERANCES).score == 1.0
