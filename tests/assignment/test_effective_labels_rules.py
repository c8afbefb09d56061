"""The effective-label rule (``services/assignment/effective_labels.py``) against a plain
reading of its table, on random answers and pre-labels."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.assignment import effective_labels
from services.assignment.rubric import load_template
from shared.contracts.rubric import Answers
from shared.contracts.vocabulary import Label
from shared.contracts.work import Verdict

labels = st.lists(st.sampled_from(["car", "bus", "truck"]).map(lambda c: Label(class_id=c)))
verdicts = st.none() | st.sampled_from(list(Verdict))


def reference(verdict: Verdict | None, given: list[Label], pre: list[Label]) -> list[Label]:
    if verdict in (Verdict.reject, Verdict.infeasible):
        return []
    if given:
        return given
    return pre if verdict == Verdict.accept else []


@given(verdicts, labels, labels)
def test_a_judgment_stands_for_what_the_table_says(
    verdict: Verdict | None, given_labels: list[Label], prelabels: list[Label]
) -> None:
    answers = Answers(verdict=verdict, labels=given_labels)
    assert effective_labels.of(answers, prelabels) == reference(verdict, given_labels, prelabels)


@given(verdicts, labels, labels)
def test_compared_answers_differ_from_the_given_ones_only_in_their_labels(
    verdict: Verdict | None, given_labels: list[Label], prelabels: list[Label]
) -> None:
    answers = Answers(verdict=verdict, labels=given_labels, flags=["edge_case"])
    effective = effective_labels.of(answers, prelabels)
    compared = effective_labels.judged(answers, effective)
    assert compared.labels == effective
    assert compared.model_dump(exclude={"labels"}) == answers.model_dump(exclude={"labels"})
    assert effective_labels.judged(answers, None) == answers


def test_a_key_that_accepts_is_scored_with_the_items_own_pre_labels() -> None:
    content = {
        "prelabels": {"model_name": "m", "model_version": "1", "labels": [{"class_id": "car"}]}
    }
    key = effective_labels.keyed(Answers(verdict=Verdict.accept), content)
    assert key.labels == [Label(class_id="car")]
    assert effective_labels.keyed(Answers(verdict=Verdict.accept), {}).labels == []


def test_correct_without_labels_is_refused_only_where_the_rubric_asks_labels() -> None:
    correct = Answers(verdict=Verdict.correct)
    asks = load_template("multimodal_label_qa")
    assert [e.field for e in effective_labels.errors(correct, asks)] == ["body.labels"]
    no_labels = asks.model_copy(update={"labels": asks.labels.model_copy(update={"asked": False})})
    assert effective_labels.errors(correct, no_labels) == []


def test_pre_labels_that_do_not_translate_are_each_named_and_left_out() -> None:
    def translate(class_id: str) -> tuple[str | None, str | None]:
        return (None, "split into sedan, hatchback") if class_id == "car" else (class_id, None)

    kept, problems = effective_labels.translated(
        [Label(class_id="bus"), Label(class_id="car")], translate
    )
    assert kept == [Label(class_id="bus")]
    assert problems == ["pre-label 1 (class 'car'): split into sedan, hatchback"]
    accept = Answers(verdict=Verdict.accept)
    [error] = effective_labels.errors(accept, load_template("multimodal_label_qa"), problems)
    assert error.field == "body.verdict" and "split into" in error.message


def test_a_translated_pre_label_takes_the_class_of_the_units_version() -> None:
    def translate(class_id: str) -> tuple[str | None, str | None]:
        return ("coach", None) if class_id == "bus" else (class_id, None)

    kept, problems = effective_labels.translated(
        [Label(class_id="bus"), Label(class_id="car")], translate
    )
    assert kept == [Label(class_id="coach"), Label(class_id="car")]
    assert problems == []


def test_each_refusal_is_pinned_and_only_a_bare_accept_is_refused_for_untranslatable() -> None:
    form = load_template("multimodal_label_qa")
    [error] = effective_labels.errors(Answers(verdict=Verdict.correct), form)
    assert error.message == (
        "a correct verdict gives the corrected labels (they replace the pre-labels); to say no "
        "label applies, reject"
    )
    problems = ["pre-label 0 (class 'car'): gone", "pre-label 2 (class 'van'): split"]
    [error] = effective_labels.errors(Answers(verdict=Verdict.accept), form, problems)
    assert error.message == (
        "the pre-labels cannot be accepted as they are in the unit's taxonomy version: "
        "pre-label 0 (class 'car'): gone; pre-label 2 (class 'van'): split; correct them instead"
    )
    # a reject, or an accept that gives its own labels, needs no pre-label
    assert effective_labels.errors(Answers(verdict=Verdict.reject), form, problems) == []
    given = Answers(verdict=Verdict.accept, labels=[Label(class_id="bus")])
    assert effective_labels.errors(given, form, problems) == []
