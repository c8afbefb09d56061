"""Feedback rules: a missing class is taxonomy feedback and names the class; classes must be
of the unit's taxonomy version (and a unit without one takes no taxonomy feedback); every
problem is returned at once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from services.assignment.feedback import feedback_errors
from shared.contracts.work import FeedbackAbout, FeedbackKind

CLASSES = frozenset({"car", "bus"})


def fields(*args: object) -> list[str]:
    return [e.field for e in feedback_errors(*args)]  # type: ignore[arg-type]


def test_well_formed_feedback_of_each_kind_is_taken() -> None:
    taxonomy, rubric = FeedbackAbout.taxonomy, FeedbackAbout.rubric
    assert fields(taxonomy, FeedbackKind.missing_class, ["car"], "Van", CLASSES) == []
    assert fields(taxonomy, FeedbackKind.contradictory_example, ["bus"], None, CLASSES) == []
    assert fields(rubric, FeedbackKind.unclear_guideline, [], None, None) == []
    assert fields(rubric, FeedbackKind.other, ["car"], None, CLASSES) == []


def test_every_problem_is_named_at_once() -> None:
    got = fields(FeedbackAbout.rubric, FeedbackKind.missing_class, ["van", "van"], None, CLASSES)
    assert got == [
        "body.about",
        "body.proposed_class",
        "body.class_ids[0]",
        "body.class_ids[1]",
        "body.class_ids",
    ]


def test_a_unit_without_a_taxonomy_takes_no_taxonomy_feedback_nor_classes() -> None:
    assert fields(FeedbackAbout.taxonomy, FeedbackKind.other, [], None, None) == ["body.about"]
    assert fields(FeedbackAbout.rubric, FeedbackKind.other, ["car"], None, None) == [
        "body.class_ids"
    ]


@given(
    st.sampled_from(list(FeedbackAbout)),
    st.sampled_from(list(FeedbackKind)),
    st.lists(st.sampled_from(["car", "bus", "van"]), max_size=4),
    st.one_of(st.none(), st.just("Van")),
)
def test_feedback_is_taken_exactly_when_no_rule_is_broken(
    about: FeedbackAbout, kind: FeedbackKind, class_ids: list[str], proposed: str | None
) -> None:
    broken = (
        (kind is FeedbackKind.missing_class and about is not FeedbackAbout.taxonomy)
        or ((kind is FeedbackKind.missing_class) != (proposed is not None))
        or any(c not in CLASSES for c in class_ids)
        or len(set(class_ids)) != len(class_ids)
    )
    assert (fields(about, kind, class_ids, proposed, CLASSES) != []) == broken


def test_each_refusal_has_its_exact_field_and_message() -> None:
    # what the expert reads in the problem: pinned, field and text, for every rule
    def told(*args: object) -> list[tuple[str, str]]:
        return [(e.field, e.message) for e in feedback_errors(*args)]  # type: ignore[arg-type]

    taxonomy, rubric = FeedbackAbout.taxonomy, FeedbackAbout.rubric
    assert told(taxonomy, FeedbackKind.missing_class, [], None, CLASSES) == [
        ("body.proposed_class", "name the class that is missing")
    ]
    assert told(rubric, FeedbackKind.other, [], "Van", CLASSES) == [
        ("body.proposed_class", "only for a missing class")
    ]
    assert told(taxonomy, FeedbackKind.other, [], None, None) == [
        ("body.about", "the unit has no taxonomy version to discuss")
    ]
    assert told(rubric, FeedbackKind.other, ["car"], None, None) == [
        ("body.class_ids", "the unit has no taxonomy")
    ]
    assert told(rubric, FeedbackKind.other, ["car", "car"], None, CLASSES) == [
        ("body.class_ids", "a class is named twice")
    ]
