"""Gold scoring: each field of the key against the answer, and the score as the weighted
share of fields correct, or 0 with a decisive field wrong."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment import gold
from services.assignment.gold import GoldTolerances
from services.assignment.rubric import load_template
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Box, Label, Severity, TimeSegment
from shared.contracts.work import Verdict

TOLERANCES = GoldTolerances()
#: every field weighs the same and none decides alone: the plain share of fields correct
PLAIN = GoldTolerances(decisive=frozenset())
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
    assert gold.score(WRONG_ALONE[field](), KEY, tolerances=PLAIN).score == pytest.approx(5 / 6)


@pytest.mark.parametrize("field", sorted(WRONG_ALONE))
def test_by_default_a_wrong_verdict_or_severity_scores_0_and_another_field_one_share_less(
    field: str,
) -> None:
    result = gold.score(WRONG_ALONE[field](), KEY, tolerances=TOLERANCES)
    decisive = field in ("verdict", "severity")
    assert result.score == (0.0 if decisive else pytest.approx(5 / 6))
    assert result.missed == ((field,) if decisive else ())


#: the image-edit template's six dimensions
EDIT_DIMENSIONS = [d.name for d in load_template("image_edit_evaluation").dimensions]
EDIT_TOLERANCES = GoldTolerances(
    decisive=gold.default_decisive(load_template("image_edit_evaluation"))
)


def test_accepting_an_edit_the_key_rejects_as_major_scores_0_however_close_the_ratings() -> None:
    key = Answers(
        verdict=Verdict.reject,
        ratings=dict.fromkeys(EDIT_DIMENSIONS, 2),
        severity=Severity.major,
        justification="the edit removes the subject's face",
    )
    accepted = Answers(
        verdict=Verdict.accept, ratings=dict.fromkeys(EDIT_DIMENSIONS, 3), severity=Severity.major
    )
    result = gold.score(accepted, key, tolerances=EDIT_TOLERANCES)
    assert result.score == 0.0 and result.missed == ("verdict",)
    # weighed like one rating, as before: 7 of 8 fields, above a calibration floor of 0.7
    assert gold.score(accepted, key, tolerances=PLAIN).score == pytest.approx(7 / 8)


def test_the_image_edit_templates_decisive_fields_are_the_verdict_severity_and_unsafe() -> None:
    assert gold.default_decisive(load_template("image_edit_evaluation")) == {
        "verdict",
        "severity",
        "flags.unsafe",
    }
    assert gold.default_decisive(load_template("multimodal_label_qa")) == {
        "verdict",
        "severity",
        "flags.unsafe",
    }


def test_an_infeasible_key_is_answered_in_full_by_the_infeasible_verdict() -> None:
    key = Answers(verdict=Verdict.infeasible)
    result = gold.score(Answers(verdict=Verdict.infeasible), key, tolerances=EDIT_TOLERANCES)
    assert result.fields == {"verdict": True, "flags.unsafe": True} and result.score == 1.0


def test_a_decisive_flag_is_scored_of_its_own_and_missing_it_scores_0() -> None:
    key = Answers(verdict=Verdict.reject, flags=["unsafe"], severity=Severity.critical)
    missed = Answers(verdict=Verdict.reject, severity=Severity.critical)
    result = gold.score(missed, key, tolerances=EDIT_TOLERANCES)
    assert result.fields == {
        "verdict": True,
        "severity": True,
        "flags": False,
        "flags.unsafe": False,
    }
    assert result.score == 0.0 and result.missed == ("flags.unsafe",)


def test_raising_a_decisive_flag_the_key_does_not_raise_scores_0() -> None:
    key = Answers(verdict=Verdict.reject, ratings={"preservation": 1})
    alarmed = Answers(verdict=Verdict.reject, flags=["unsafe"], severity=Severity.minor)
    result = gold.score(alarmed, key, tolerances=EDIT_TOLERANCES)
    assert result.fields["flags.unsafe"] is False and result.score == 0.0


def test_a_decisive_field_the_key_does_not_set_decides_nothing() -> None:
    key = Answers(ratings={"clarity": 3})  # a ratings-only key: no verdict, no severity
    answer = Answers(ratings={"clarity": 3}, severity=Severity.major)
    assert gold.score(answer, key, tolerances=TOLERANCES).fields == {"ratings.clarity": True}
    assert gold.score(answer, key, tolerances=TOLERANCES).score == 1.0


def test_a_field_weighs_as_the_tolerances_say() -> None:
    answer = KEY.model_copy(update={"ratings": {"clarity": 1, "accuracy": 2}})
    heavy = GoldTolerances(decisive=frozenset(), weights={"ratings.clarity": 5, "labels": 0.5})
    # six fields weighing 1 + 5 + 1 + 1 + 1 + 0.5 = 9.5; clarity (5) wrong
    assert gold.score(answer, KEY, tolerances=heavy).score == pytest.approx(4.5 / 9.5)


def test_a_weighed_flag_is_scored_of_its_own_without_deciding() -> None:
    tolerances = GoldTolerances(decisive=frozenset(), weights={"flags.safety": 2})
    answer = KEY.model_copy(update={"flags": [*KEY.flags, "safety"]})
    result = gold.score(answer, KEY, tolerances=tolerances)
    assert result.fields["flags.safety"] is False and result.fields["flags"] is False
    assert result.score == pytest.approx(5 / 8) and result.missed == ()


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
    with pytest.raises(ValueError, match="weights, decisive"):
        GoldTolerances(weights={"verdict": 0}, decisive=frozenset({"justification"}))
    with pytest.raises(ValueError, match="weights"):
        GoldTolerances(weights={"ratings": 1})


def test_a_weight_or_decisive_flag_that_scores_nothing_is_named() -> None:
    key = Answers(verdict=Verdict.accept, ratings={"clarity": 3})
    tolerances = GoldTolerances(
        weights={"ratings.style": 2, "labels": 3, "flags.sparkly": 1, "verdict": 2},
        decisive=frozenset({"verdict", "flags.glitter", "flags.unsafe"}),
    )
    errors = gold.key_errors(key, tolerances, flags={"unsafe"})
    assert [(e.field, e.message) for e in errors] == [
        ("tolerances.decisive", "'flags.glitter': the rubric has no flag 'glitter'"),
        ("tolerances.weights.flags.sparkly", "the rubric has no flag 'sparkly'"),
        (
            "tolerances.weights.labels",
            "the key does not score 'labels': a weight for it counts nothing",
        ),
        (
            "tolerances.weights.ratings.style",
            "the key does not score 'ratings.style': a weight for it counts nothing",
        ),
    ]
    assert gold.key_errors(key, GoldTolerances(weights={"verdict": 2}), flags=()) == []


answers = st.builds(
    Answers,
    verdict=st.sampled_from([*Verdict, None]),
    ratings=st.dictionaries(st.sampled_from(["a", "b", "c"]), st.integers(1, 5), max_size=3),
    severity=st.sampled_from([*Severity, None]),
    flags=st.lists(st.sampled_from(["safety", "edge_case", "ambiguous"]), max_size=3),
    labels=st.lists(st.sampled_from([STREET, CAR, SPEECH]), max_size=3),
)


FIELD_NAMES = ["verdict", "severity", "flags", "labels", "ratings.a", "ratings.b", "flags.safety"]
tolerances = st.builds(
    GoldTolerances,
    weights=st.dictionaries(st.sampled_from(FIELD_NAMES), st.sampled_from([0.5, 1.0, 2.0, 7.0])),
    decisive=st.frozensets(st.sampled_from(FIELD_NAMES)),
)


def reference_score(answer: Answers, key: Answers, rules: GoldTolerances) -> float | None:
    """The score as the rules read, plainly: None when the key scores nothing."""
    correct: dict[str, bool] = {}
    if key.verdict is not None:
        correct["verdict"] = answer.verdict == key.verdict
    for dimension, point in key.ratings.items():
        given = answer.ratings.get(dimension)
        correct[f"ratings.{dimension}"] = given is not None and abs(given - point) <= 1
    if key.severity is not None:
        correct["severity"] = answer.severity == key.severity
    if key.flags:
        correct["flags"] = sorted(set(answer.flags)) == sorted(set(key.flags))
    for name in set(rules.decisive) | set(rules.weights):
        if name.startswith("flags."):
            flag = name[len("flags.") :]
            correct[name] = (flag in answer.flags) == (flag in key.flags)
    if key.labels:
        correct["labels"] = sorted(a.model_dump_json() for a in answer.labels) == sorted(
            k.model_dump_json() for k in key.labels
        )
    if not correct:
        return None
    for name in correct:
        if name in rules.decisive and not correct[name]:
            return 0.0
    total = 0.0
    right = 0.0
    for name in correct:
        weight = rules.weights.get(name, 1.0)
        total += weight
        if correct[name]:
            right += weight
    return right / total


@given(answers, answers, tolerances)
def test_the_score_is_the_weighted_share_of_fields_correct_or_0_with_a_decisive_one_wrong(
    answer: Answers, key: Answers, rules: GoldTolerances
) -> None:
    expected = reference_score(answer, key, rules)
    if expected is None:
        with pytest.raises(ValueError, match="no field"):
            gold.score(answer, key, tolerances=rules)
        return
    result = gold.score(answer, key, tolerances=rules)
    assert result.score == pytest.approx(expected)
    assert 0.0 <= result.score <= 1.0
    assert (result.score == 0.0) >= bool(result.missed)
    assert gold.score(key, key, tolerances=rules).score == 1.0


@given(answers, answers)
def test_without_weights_or_decisive_fields_the_score_is_the_plain_share(
    answer: Answers, key: Answers
) -> None:
    expected_fields = (
        ({"verdict"} if key.verdict is not None else set())
        | {f"ratings.{d}" for d in key.ratings}
        | ({"severity"} if key.severity is not None else set())
        | ({"flags"} if key.flags else set())
        | ({"labels"} if key.labels else set())
    )
    if not expected_fields:
        return
    result = gold.score(answer, key, tolerances=PLAIN)
    assert set(result.fields) == expected_fields
    assert result.score == sum(result.fields.values()) / len(result.fields)
