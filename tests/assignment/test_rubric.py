"""Rubric rules: definitions that make sense, answers checked against them with every
problem named at once, and the templates shipped as data."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from importlib import resources
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from services.assignment import rubric
from shared.contracts.rubric import (
    Answers,
    FlagSpec,
    JustificationRule,
    LabelShape,
    LabelsSpec,
    RatingDimension,
    RubricDefinition,
)
from shared.contracts.taxonomy import AttributeSpec, ClassSnapshot, ClassStatus
from shared.contracts.vocabulary import Box, Label, Polygon, RleMask, Severity, TimeSegment
from shared.contracts.work import Verdict
from shared.errors import FieldError

A, C, R, INF = Verdict.accept, Verdict.correct, Verdict.reject, Verdict.infeasible
LONG = "The edit changes the wrong object entirely."  # over 20 characters

CLASSES = {
    "car": ClassSnapshot(
        id="car",
        name="Car",
        attributes=[
            AttributeSpec(name="colour", type="enum", values=["red", "blue"], required=True),
            AttributeSpec(name="doors", type="int"),
        ],
    ),
    "person": ClassSnapshot(
        id="person",
        name="Person",
        attributes=[
            AttributeSpec(name="occluded", type="bool"),
            AttributeSpec(name="height_m", type="float"),
            AttributeSpec(name="note", type="string"),
        ],
    ),
    "caption": ClassSnapshot(id="caption", name="Caption"),
    "old": ClassSnapshot(id="old", name="Old", status=ClassStatus.deprecated),
}


def _pairs(errors: list[FieldError]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in errors]


def _dim(name: str = "quality", lo: int = 1, hi: int = 5, **changes: Any) -> RatingDimension:
    values: dict[str, Any] = {
        "name": name,
        "title": name.title(),
        "scale_min": lo,
        "scale_max": hi,
        "anchors": {p: f"point {p}" for p in range(lo, hi + 1)},
    }
    return RatingDimension.model_validate({**values, **changes})


def _rubric(**changes: Any) -> RubricDefinition:
    """A sound rubric: two dimensions, severity, a gate flag and a plain one, labels."""
    values: dict[str, Any] = {
        "name": "Test rubric",
        "verdicts": [A, C, R],
        "dimensions": [_dim("quality"), _dim("fit", 0, 2)],
        "asks_severity": True,
        "flags": [
            FlagSpec(name="unsafe", title="Unsafe", gate=True, requires_severity=True),
            FlagSpec(name="edge_case", title="Edge case"),
        ],
        "labels": LabelsSpec(asked=True, shapes=[LabelShape.box], required_for=[C]),
        "justification": JustificationRule(
            min_length=20, verdicts=[C, R], severity_at_least=Severity.major
        ),
    }
    return RubricDefinition.model_validate({**values, **changes})


def _answers(**changes: Any) -> Answers:
    """A complete valid answer to :func:`_rubric`."""
    values: dict[str, Any] = {
        "verdict": A,
        "ratings": {"quality": 4, "fit": 1},
        "severity": Severity.none,
    }
    return Answers.model_validate({**values, **changes})


def _check(
    answers: Answers,
    definition: RubricDefinition | None = None,
    classes: dict[str, ClassSnapshot] | None = CLASSES,
) -> list[tuple[str, str]]:
    return _pairs(rubric.answer_errors(definition or _rubric(), answers, classes=classes))


def _car(**changes: Any) -> Label:
    return Label.model_validate(
        {
            "class_id": "car",
            "attributes": {"colour": "red"},
            "geometry": Box(x=1, y=1, width=2, height=2),
            **changes,
        }
    )


def test_the_helpers_build_a_sound_rubric_and_a_valid_answer() -> None:
    assert rubric.definition_errors(_rubric()) == []
    assert _check(_answers()) == []


# --- templates ---


@pytest.mark.parametrize("name", rubric.TEMPLATES)
def test_every_template_is_a_sound_definition(name: str) -> None:
    assert rubric.definition_errors(rubric.load_template(name)) == []


@pytest.mark.parametrize("name", rubric.TEMPLATES)
def test_a_template_file_holds_exactly_what_the_definition_serialises_to(name: str) -> None:
    """No key of the file is one the model ignores, and the JSON is clean both ways."""
    folder = resources.files("services.assignment").joinpath("templates")
    raw = json.loads(folder.joinpath(f"{name}.json").read_text(encoding="utf-8"))
    definition = rubric.load_template(name)
    assert definition.model_dump(mode="json") == raw
    assert RubricDefinition.model_validate_json(definition.model_dump_json()) == definition


def test_the_templates_folder_holds_the_listed_templates_and_no_other() -> None:
    folder = resources.files("services.assignment").joinpath("templates")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    assert names == sorted(f"{n}.json" for n in rubric.TEMPLATES)


def test_an_unknown_template_name_is_refused_naming_the_templates() -> None:
    with pytest.raises(ValueError, match="image_edit_evaluation, multimodal_label_qa"):
        rubric.load_template("../image_edit_evaluation")


def test_the_image_edit_template_gates_on_feasibility_and_safety_and_rates_six_dimensions() -> None:
    t = rubric.load_template("image_edit_evaluation")
    assert t.feasibility_check and INF in t.verdicts and t.gate_verdicts == [INF]
    # feasibility is the infeasible verdict alone: no flag says it again
    assert [f.name for f in t.flags] == ["unsafe"]
    [unsafe] = t.flags
    assert unsafe.gate and unsafe.requires_severity
    assert [d.name for d in t.dimensions] == [
        "instruction_adherence",
        "structural_integrity",
        "preservation",
        "visual_quality",
        "style_alignment",
        "character_consistency",
    ]
    for d in t.dimensions:
        assert (d.scale_min, d.scale_max) == (1, 5)
        assert all("\n" not in text and text.strip() for text in d.anchors.values())
    rule = t.justification
    assert (rule.min_length, set(rule.verdicts), rule.severity_at_least) == (
        20,
        {C, R},
        Severity.major,
    )
    assert not t.labels.asked


def test_the_label_qa_template_asks_severity_flags_and_corrected_labels_of_every_shape() -> None:
    t = rubric.load_template("multimodal_label_qa")
    assert [d.name for d in t.dimensions] == [
        "class_correctness",
        "temporal_alignment",
        "guideline_fit",
    ]
    assert t.asks_severity and not t.feasibility_check
    assert [f.name for f in t.flags] == [
        "occlusion",
        "rare_class",
        "ambiguous",
        "edge_case",
        "unsafe",
    ]
    assert t.labels.asked and set(t.labels.shapes) == set(LabelShape)
    assert t.labels.required_for == [C]


def test_an_infeasible_image_edit_needs_no_ratings_and_a_complete_one_passes() -> None:
    t = rubric.load_template("image_edit_evaluation")
    assert _check(Answers(verdict=INF), t) == []
    complete = Answers(verdict=A, ratings={d.name: 5 for d in t.dimensions}, severity=Severity.none)
    assert _check(complete, t) == []


def test_an_image_edit_says_infeasible_by_its_verdict_only_not_by_a_second_flag() -> None:
    t = rubric.load_template("image_edit_evaluation")
    complete = Answers(verdict=A, ratings={d.name: 5 for d in t.dimensions}, severity=Severity.none)
    twice = complete.model_copy(update={"flags": ["infeasible_instruction"]})
    assert _check(twice, t) == [("body.flags.0", "no flag 'infeasible_instruction' in this rubric")]


def test_an_image_edit_accepted_as_unsafe_contradicts_the_gate_and_names_the_verdict() -> None:
    t = rubric.load_template("image_edit_evaluation")
    unsafe = Answers(verdict=A, flags=["unsafe"], severity=Severity.critical, justification=LONG)
    assert _check(unsafe, t) == [
        (
            "body.verdict",
            "the verdict 'accept' contradicts the flag 'unsafe', which ends the form: 'accept' "
            "vouches for the ratings and labels the gate skips; give reject or infeasible",
        )
    ]
    assert _check(unsafe.model_copy(update={"verdict": R}), t) == []
    assert _check(unsafe.model_copy(update={"verdict": INF}), t) == []


# --- definition errors: each named, and gone once fixed ---

DEFINITION_CASES: list[tuple[str, dict[str, Any], dict[str, Any], str, str]] = [
    ("blank_name", {"name": "  "}, {"name": "Named"}, "body.name", "a rubric needs a name"),
    (
        "gate_flag_with_no_verdict_to_go_with_it",
        {"verdicts": [A, C], "justification": JustificationRule()},
        {"verdicts": [A, C, R], "justification": JustificationRule()},
        "body.flags.0.gate",
        "a gate flag is raised with the verdict reject or a gate verdict, and this rubric "
        "offers neither: offer one, or make the flag no gate",
    ),
    (
        "verdict_twice",
        {"verdicts": [A, C, R, A]},
        {"verdicts": [A, C, R]},
        "body.verdicts.3",
        "verdict 'accept' is listed twice",
    ),
    (
        "infeasible_without_feasibility_check",
        {"verdicts": [A, C, R, INF], "gate_verdicts": [INF]},
        {"verdicts": [A, C, R, INF], "gate_verdicts": [INF], "feasibility_check": True},
        "body.verdicts.3",
        "the infeasible verdict is offered only with a feasibility check (feasibility_check)",
    ),
    (
        "feasibility_check_without_infeasible",
        {"feasibility_check": True},
        {"feasibility_check": True, "verdicts": [A, C, R, INF], "gate_verdicts": [INF]},
        "body.verdicts",
        "a feasibility check offers the infeasible verdict: add it",
    ),
    (
        "infeasible_not_a_gate",
        {"feasibility_check": True, "verdicts": [A, C, R, INF]},
        {"feasibility_check": True, "verdicts": [A, C, R, INF], "gate_verdicts": [INF]},
        "body.gate_verdicts",
        "the infeasible verdict ends the form: list it among the gate verdicts",
    ),
    (
        "gate_verdict_not_offered",
        {
            "verdicts": [A, C],
            "gate_verdicts": [R],
            "justification": JustificationRule(),
            "flags": [],
        },
        {
            "verdicts": [A, C, R],
            "gate_verdicts": [R],
            "justification": JustificationRule(),
            "flags": [],
        },
        "body.gate_verdicts.0",
        "the verdict 'reject' is not offered (verdicts)",
    ),
    (
        "gate_verdict_twice",
        {"gate_verdicts": [R, R]},
        {"gate_verdicts": [R]},
        "body.gate_verdicts.1",
        "verdict 'reject' is listed twice",
    ),
    (
        "dimension_twice",
        {"dimensions": [_dim("quality"), _dim("quality")]},
        {"dimensions": [_dim("quality"), _dim("fit")]},
        "body.dimensions.1.name",
        "dimension 'quality' is defined twice",
    ),
    (
        "dimension_without_title",
        {"dimensions": [_dim("quality", title=" ")]},
        {"dimensions": [_dim("quality", title="Quality")]},
        "body.dimensions.0.title",
        "a dimension needs a title",
    ),
    (
        "scale_of_one_point",
        {"dimensions": [_dim("q", 3, 3)]},
        {"dimensions": [_dim("q", 3, 4)]},
        "body.dimensions.0.scale_max",
        "must be above scale_min (3)",
    ),
    (
        "scale_upside_down",
        {"dimensions": [_dim("q", 5, 1, anchors={})]},
        {"dimensions": [_dim("q", 1, 5)]},
        "body.dimensions.0.scale_max",
        "must be above scale_min (5)",
    ),
    (
        "scale_too_wide",
        {"dimensions": [_dim("q", 0, 101, anchors={})]},
        {"dimensions": [_dim("q", 0, 100)]},
        "body.dimensions.0.scale_max",
        "a scale has at most 101 points; 0 to 101 has 102",
    ),
    (
        "anchor_outside_the_scale",
        {"dimensions": [_dim("q", 1, 2, anchors={0: "z", 1: "a", 2: "b", 3: "c"})]},
        {"dimensions": [_dim("q", 1, 2, anchors={1: "a", 2: "b"})]},
        "body.dimensions.0.anchors",
        "anchors for 0, 3 are outside the scale 1 to 2",
    ),
    (
        "empty_anchor_text",
        {"dimensions": [_dim("q", 1, 2, anchors={1: "a", 2: " \n"})]},
        {"dimensions": [_dim("q", 1, 2, anchors={1: "a", 2: "b"})]},
        "body.dimensions.0.anchors.2",
        "the anchor text is empty",
    ),
    (
        "flag_twice",
        {"flags": [FlagSpec(name="x", title="X"), FlagSpec(name="x", title="Y")]},
        {"flags": [FlagSpec(name="x", title="X"), FlagSpec(name="y", title="Y")]},
        "body.flags.1.name",
        "flag 'x' is defined twice",
    ),
    (
        "flag_without_title",
        {"flags": [FlagSpec(name="x", title="")]},
        {"flags": [FlagSpec(name="x", title="X")]},
        "body.flags.0.title",
        "a flag needs a title",
    ),
    (
        "severity_flag_without_severity_asked",
        {
            "asks_severity": False,
            "justification": JustificationRule(),
            "flags": [FlagSpec(name="unsafe", title="U", requires_severity=True)],
        },
        {"asks_severity": False, "justification": JustificationRule(), "flags": []},
        "body.flags.0.requires_severity",
        "the flag needs a severity, but the rubric does not ask for one (asks_severity)",
    ),
    (
        "justification_on_severity_without_severity_asked",
        {"asks_severity": False, "flags": []},
        {"asks_severity": True, "flags": []},
        "body.justification.severity_at_least",
        "depends on the severity, but the rubric does not ask for one (asks_severity)",
    ),
    (
        "justification_for_a_verdict_not_offered",
        {
            "verdicts": [A, C],
            "labels": LabelsSpec(),
            "justification": JustificationRule(verdicts=[R]),
            "flags": [],
        },
        {
            "verdicts": [A, C],
            "labels": LabelsSpec(),
            "justification": JustificationRule(verdicts=[C]),
            "flags": [],
        },
        "body.justification.verdicts.0",
        "the verdict 'reject' is not offered (verdicts)",
    ),
    (
        "justification_verdict_twice",
        {"justification": JustificationRule(verdicts=[R, R])},
        {"justification": JustificationRule(verdicts=[R])},
        "body.justification.verdicts.1",
        "verdict 'reject' is listed twice",
    ),
    (
        "minimum_length_no_rule_applies",
        {"justification": JustificationRule(min_length=5)},
        {"justification": JustificationRule(min_length=5, always=True)},
        "body.justification.min_length",
        "no rule requires a justification, so the minimum length never applies: "
        "set always, verdicts or severity_at_least",
    ),
    (
        "shapes_without_labels_asked",
        {"labels": LabelsSpec(shapes=[LabelShape.box])},
        {"labels": LabelsSpec(asked=True, shapes=[LabelShape.box])},
        "body.labels.shapes",
        "corrected labels are not asked (asked)",
    ),
    (
        "required_labels_without_labels_asked",
        {"labels": LabelsSpec(required_for=[C])},
        {"labels": LabelsSpec(asked=True, required_for=[C])},
        "body.labels.required_for",
        "corrected labels are not asked (asked)",
    ),
    (
        "shape_twice",
        {"labels": LabelsSpec(asked=True, shapes=[LabelShape.box, LabelShape.box])},
        {"labels": LabelsSpec(asked=True, shapes=[LabelShape.box])},
        "body.labels.shapes.1",
        "shape 'box' is listed twice",
    ),
    (
        "labels_required_for_a_verdict_not_offered",
        {
            "verdicts": [A, R],
            "labels": LabelsSpec(asked=True, required_for=[C]),
            "justification": JustificationRule(),
        },
        {
            "verdicts": [A, R],
            "labels": LabelsSpec(asked=True, required_for=[R]),
            "justification": JustificationRule(),
        },
        "body.labels.required_for.0",
        "the verdict 'correct' is not offered (verdicts)",
    ),
    (
        "labels_required_for_a_verdict_twice",
        {"labels": LabelsSpec(asked=True, required_for=[C, C])},
        {"labels": LabelsSpec(asked=True, required_for=[C])},
        "body.labels.required_for.1",
        "verdict 'correct' is listed twice",
    ),
    (
        "labels_required_for_a_gate_verdict",
        {"gate_verdicts": [R], "labels": LabelsSpec(asked=True, required_for=[R])},
        {"gate_verdicts": [R], "labels": LabelsSpec(asked=True, required_for=[C])},
        "body.labels.required_for.0",
        "the verdict 'reject' ends the form, so labels are never asked with it",
    ),
]


@pytest.mark.parametrize(
    ("bad", "fixed", "field", "message"),
    [case[1:] for case in DEFINITION_CASES],
    ids=[case[0] for case in DEFINITION_CASES],
)
def test_a_definition_error_names_its_field_and_goes_once_fixed(
    bad: dict[str, Any], fixed: dict[str, Any], field: str, message: str
) -> None:
    assert _pairs(rubric.definition_errors(_rubric(**bad))) == [(field, message)]
    assert rubric.definition_errors(_rubric(**fixed)) == []


def test_a_ratings_only_rubric_offers_no_verdict_and_is_sound() -> None:
    ratings_only = _rubric(verdicts=[], labels=LabelsSpec(), justification=JustificationRule())
    assert rubric.definition_errors(ratings_only) == []


def test_a_scale_may_anchor_only_some_of_its_points_or_none() -> None:
    ends = _dim("q", 1, 7, anchors={1: "poor", 7: "excellent"})
    assert rubric.definition_errors(_rubric(dimensions=[ends, _dim("fit", 0, 2, anchors={})])) == []


def test_every_definition_error_is_reported_at_once() -> None:
    bad = _rubric(
        name="",
        verdicts=[A, C, R, INF],
        dimensions=[_dim("q", 2, 2), _dim("q", anchors={9: "a"})],
        asks_severity=False,
        justification=JustificationRule(min_length=3),
        labels=LabelsSpec(shapes=[LabelShape.mask]),
    )
    assert [e.field for e in rubric.definition_errors(bad)] == [
        "body.name",
        "body.verdicts.3",
        "body.gate_verdicts",
        "body.dimensions.0.scale_max",
        "body.dimensions.1.name",
        "body.dimensions.1.anchors",
        "body.flags.0.requires_severity",
        "body.justification.min_length",
        "body.labels.shapes",
    ]


def test_a_dimension_or_flag_name_that_would_break_a_field_path_is_refused_by_the_shape() -> None:
    with pytest.raises(ValueError, match="pattern"):
        _dim("visual.quality")
    with pytest.raises(ValueError, match="pattern"):
        FlagSpec(name="two words", title="T")


# --- answers: the verdict and the flags ---


def test_an_answer_without_a_verdict_names_the_verdict() -> None:
    assert _check(_answers(verdict=None)) == [("body.verdict", "a verdict is required")]


def test_a_ratings_only_rubric_is_answered_without_a_verdict_and_refuses_one() -> None:
    ratings_only = _rubric(verdicts=[], labels=LabelsSpec(), justification=JustificationRule())
    assert _check(_answers(verdict=None), ratings_only) == []
    assert _check(_answers(), ratings_only) == [
        ("body.verdict", "this rubric asks for no verdict: it rates only")
    ]
    unsafe = Answers(flags=["unsafe"], severity=Severity.major)
    assert _check(unsafe, ratings_only) == []  # the gate flag ends it; no verdict to contradict


def test_a_verdict_the_rubric_does_not_offer_is_refused_naming_those_offered() -> None:
    assert _check(_answers(verdict=INF)) == [
        (
            "body.verdict",
            "the verdict 'infeasible' is not offered by this rubric; offered: accept, correct, reject",
        )
    ]


def test_a_flag_outside_the_rubric_is_refused_at_its_position() -> None:
    assert _check(_answers(flags=["edge_case", "sparkly"])) == [
        ("body.flags.1", "no flag 'sparkly' in this rubric")
    ]
    assert _check(_answers(flags=["edge_case"])) == []


def test_a_flag_given_twice_is_refused_at_its_second_position() -> None:
    assert _check(_answers(flags=["edge_case", "edge_case"])) == [
        ("body.flags.1", "the flag 'edge_case' is given twice")
    ]


# --- answers: ratings ---


def test_each_dimension_must_be_rated() -> None:
    assert _check(_answers(ratings={"fit": 1})) == [
        ("body.ratings.quality", "a rating is required")
    ]


@pytest.mark.parametrize(("value", "ok"), [(0, False), (1, True), (5, True), (6, False)])
def test_a_rating_must_be_a_point_of_its_scale(value: int, ok: bool) -> None:
    errors = _check(_answers(ratings={"quality": value, "fit": 1}))
    assert errors == ([] if ok else [("body.ratings.quality", "must be an integer from 1 to 5")])


def test_a_rating_that_is_not_an_integer_is_refused() -> None:
    """``Answers`` keeps ratings integers; an answer built without validation is still caught."""
    answers = _answers().model_copy(update={"ratings": {"quality": 2.5, "fit": True}})
    assert _check(answers) == [
        ("body.ratings.quality", "must be an integer from 1 to 5"),
        ("body.ratings.fit", "must be an integer from 0 to 2"),
    ]


def test_a_rating_of_a_dimension_the_rubric_lacks_is_refused() -> None:
    assert _check(_answers(ratings={"quality": 4, "fit": 1, "charm": 3})) == [
        ("body.ratings.charm", "no dimension 'charm' in this rubric")
    ]


# --- answers: the gate ---


def _feasibility(**changes: Any) -> RubricDefinition:
    return _rubric(feasibility_check=True, verdicts=[A, C, R, INF], gate_verdicts=[INF], **changes)


def test_an_infeasible_verdict_with_ratings_is_refused_as_after_the_gate() -> None:
    answers = Answers(verdict=INF, ratings={"quality": 3, "fit": 1})
    gate = "not asked after the gate: the verdict 'infeasible' ends the form"
    assert _check(answers, _feasibility()) == [
        ("body.ratings.quality", gate),
        ("body.ratings.fit", gate),
    ]


def test_an_infeasible_verdict_without_ratings_or_severity_is_accepted() -> None:
    assert _check(Answers(verdict=INF), _feasibility()) == []


def test_a_gate_flag_ends_the_form() -> None:
    gated = Answers(
        verdict=R, flags=["unsafe"], severity=Severity.minor, ratings={"fit": 2}, justification=LONG
    )
    assert _check(gated) == [
        ("body.ratings.fit", "not asked after the gate: the flag 'unsafe' ends the form")
    ]
    assert _check(gated.model_copy(update={"ratings": {}})) == []


@pytest.mark.parametrize("verdict", [A, C])
def test_a_gate_flag_with_a_verdict_that_vouches_for_what_it_skipped_is_refused(
    verdict: Verdict,
) -> None:
    gated = Answers(verdict=verdict, flags=["unsafe"], severity=Severity.minor, justification=LONG)
    assert _check(gated) == [
        (
            "body.verdict",
            f"the verdict '{verdict.value}' contradicts the flag 'unsafe', which ends the form: "
            f"'{verdict.value}' vouches for the ratings and labels the gate skips; give reject",
        )
    ]


def test_a_gate_flag_goes_with_a_gate_verdict_too() -> None:
    gated = Answers(verdict=INF, flags=["unsafe"], severity=Severity.minor)
    assert _check(gated, _feasibility()) == []


def test_a_plain_flag_does_not_end_the_form() -> None:
    assert _check(Answers(verdict=A, flags=["edge_case"], severity=Severity.none)) == [
        ("body.ratings.quality", "a rating is required"),
        ("body.ratings.fit", "a rating is required"),
    ]


def test_after_the_gate_severity_may_still_be_given() -> None:
    assert _check(Answers(verdict=INF, severity=Severity.minor), _feasibility()) == []


def test_corrected_labels_after_the_gate_are_refused() -> None:
    answers = Answers(verdict=INF, labels=[_car()])
    assert _check(answers, _feasibility()) == [
        ("body.labels", "not asked after the gate: the verdict 'infeasible' ends the form")
    ]


def test_a_gate_does_not_skip_a_required_justification() -> None:
    answers = Answers(verdict=INF, flags=["unsafe"], severity=Severity.critical)
    assert _check(answers, _feasibility()) == [
        (
            "body.justification",
            "a justification of at least 20 characters is required for the severity 'critical'",
        )
    ]
    assert _check(answers.model_copy(update={"justification": LONG}), _feasibility()) == []


def test_a_missing_verdict_does_not_require_ratings_when_it_could_have_ended_the_form() -> None:
    assert _check(Answers(), _feasibility()) == [("body.verdict", "a verdict is required")]


def test_a_missing_verdict_still_requires_ratings_when_no_verdict_ends_the_form() -> None:
    assert _check(Answers(severity=Severity.none)) == [
        ("body.verdict", "a verdict is required"),
        ("body.ratings.quality", "a rating is required"),
        ("body.ratings.fit", "a rating is required"),
    ]


# --- answers: severity ---


def test_severity_is_required_when_the_rubric_asks_for_it() -> None:
    assert _check(_answers(severity=None)) == [("body.severity", "a severity is required")]


def test_a_severity_the_rubric_does_not_ask_for_is_refused() -> None:
    plain = _rubric(asks_severity=False, flags=[], justification=JustificationRule())
    assert _check(_answers(), plain) == [
        ("body.severity", "this rubric does not ask for a severity")
    ]
    assert _check(_answers(severity=None), plain) == []


def test_a_safety_flag_without_severity_names_the_severity() -> None:
    answers = Answers(verdict=R, flags=["unsafe"], justification=LONG)
    assert _check(answers) == [
        ("body.severity", "a severity is required: the flag 'unsafe' needs one")
    ]
    assert _check(answers.model_copy(update={"severity": Severity.minor})) == []


def test_a_safety_flag_with_severity_none_is_refused() -> None:
    answers = Answers(verdict=R, flags=["unsafe"], severity=Severity.none, justification=LONG)
    assert _check(answers) == [("body.severity", "the flag 'unsafe' needs a severity above none")]


def test_two_flags_needing_severity_are_both_named() -> None:
    two = _rubric(
        flags=[
            FlagSpec(name="unsafe", title="U", requires_severity=True),
            FlagSpec(name="pii", title="P", requires_severity=True),
        ]
    )
    answers = _answers(flags=["unsafe", "pii"], severity=None)
    assert _check(answers, two) == [
        ("body.severity", "a severity is required: the flags 'unsafe', 'pii' need one")
    ]


# --- answers: justification ---


@pytest.mark.parametrize("verdict", [C, R])
def test_a_reject_or_correct_without_justification_names_the_justification(
    verdict: Verdict,
) -> None:
    labels = [_car()] if verdict is C else []
    answers = _answers(verdict=verdict, labels=labels)
    assert _check(answers) == [
        (
            "body.justification",
            f"a justification of at least 20 characters is required for the verdict '{verdict.value}'",
        )
    ]
    assert _check(answers.model_copy(update={"justification": LONG})) == []


def test_an_accept_needs_no_justification_and_may_carry_a_short_one() -> None:
    assert _check(_answers(justification="fine")) == []


def test_a_justification_just_below_the_minimum_is_refused_and_one_at_it_accepted() -> None:
    below = _answers(verdict=R, justification="x" * 19)
    assert _check(below) == [
        (
            "body.justification",
            "at least 20 characters are required for the verdict 'reject'; this has 19 "
            "(whitespace runs count as one, the ends not at all)",
        )
    ]
    assert _check(_answers(verdict=R, justification="x" * 20)) == []


def test_whitespace_around_or_repeated_inside_a_justification_is_not_counted() -> None:
    padded = "  \n" + "x" * 19 + "\t  "
    assert [f for f, _ in _check(_answers(verdict=R, justification=padded))] == [
        "body.justification"
    ]
    spaced = "x" * 9 + "      " + "x" * 9  # 9 + 1 + 9 = 19
    assert [f for f, _ in _check(_answers(verdict=R, justification=spaced))] == [
        "body.justification"
    ]
    assert _check(_answers(verdict=R, justification="x" * 9 + "   " + "x" * 10)) == []
    assert _check(_answers(verdict=R, justification="   ")) == [
        (
            "body.justification",
            "a justification of at least 20 characters is required for the verdict 'reject'",
        )
    ]


@pytest.mark.parametrize(
    ("severity", "required"),
    [
        (Severity.none, False),
        (Severity.minor, False),
        (Severity.major, True),
        (Severity.critical, True),
    ],
)
def test_a_justification_is_required_at_major_severity_and_above(
    severity: Severity, required: bool
) -> None:
    errors = _check(_answers(severity=severity))
    expected = (
        [
            (
                "body.justification",
                f"a justification of at least 20 characters is required for the severity '{severity.value}'",
            )
        ]
        if required
        else []
    )
    assert errors == expected


def test_every_reason_a_justification_is_required_is_named() -> None:
    answers = _answers(verdict=R, severity=Severity.critical)
    assert _check(answers) == [
        (
            "body.justification",
            "a justification of at least 20 characters is required for the verdict 'reject' "
            "and the severity 'critical'",
        )
    ]


def test_an_always_rule_requires_a_justification_for_every_verdict() -> None:
    always = _rubric(justification=JustificationRule(always=True))
    assert _check(_answers(), always) == [
        ("body.justification", "a justification is required for this rubric")
    ]
    assert _check(_answers(justification="ok"), always) == []


# --- answers: corrected labels ---


def test_corrected_labels_are_refused_when_the_rubric_asks_for_none() -> None:
    none = _rubric(labels=LabelsSpec())
    assert _check(_answers(labels=[_car()]), none) == [
        ("body.labels", "this rubric asks for no corrected labels")
    ]
    assert _check(_answers(), none) == []


def test_a_correct_without_labels_names_the_labels_when_the_rubric_requires_them() -> None:
    answers = _answers(verdict=C, justification=LONG)
    assert _check(answers) == [
        ("body.labels", "corrected labels are required for the verdict 'correct'")
    ]
    assert _check(answers.model_copy(update={"labels": [_car()]})) == []


def test_labels_are_optional_for_a_verdict_that_does_not_require_them() -> None:
    assert _check(_answers(labels=[_car()])) == []


@pytest.mark.parametrize(
    ("label", "field", "shape"),
    [
        (_car(geometry=Polygon(points=[(0, 0), (1, 0), (1, 1)])), "geometry", "polygon"),
        (_car(geometry=RleMask(size=(2, 2), counts="04")), "geometry", "mask"),
        (_car(segment=TimeSegment(start_s=0, end_s=1)), "segment", "segment"),
        (_car(text="a red car"), "text", "text"),
    ],
)
def test_a_label_shape_the_rubric_does_not_ask_for_is_refused(
    label: Label, field: str, shape: str
) -> None:
    assert _check(_answers(labels=[_car(), label])) == [
        (f"body.labels.1.{field}", f"{shape} labels are not asked; this rubric asks for box")
    ]
    every = _rubric(labels=LabelsSpec(asked=True, shapes=list(LabelShape)))
    assert _check(_answers(labels=[_car(), label]), every) == []


def test_a_whole_item_class_label_needs_no_shape() -> None:
    none = _rubric(labels=LabelsSpec(asked=True))
    assert _check(_answers(labels=[_car(geometry=None)]), none) == []
    assert _check(_answers(labels=[_car()]), none) == [
        ("body.labels.0.geometry", "box labels are not asked; this rubric asks for none")
    ]


def test_a_label_class_outside_the_taxonomy_version_is_refused() -> None:
    answers = _answers(labels=[_car(), _car(class_id="bus", attributes={})])
    assert _check(answers) == [("body.labels.1.class_id", "no class 'bus' in the taxonomy version")]


def test_class_ids_are_not_checked_when_the_taxonomy_is_unknown() -> None:
    answers = _answers(labels=[_car(class_id="bus", attributes={"any": 1})])
    assert _check(answers, classes=None) == []


def test_a_deprecated_class_is_refused() -> None:
    answers = _answers(labels=[_car(class_id="old", attributes={})])
    assert _check(answers) == [
        (
            "body.labels.0.class_id",
            "class 'old' is deprecated in the taxonomy version: use its replacement",
        )
    ]


@pytest.mark.parametrize(
    ("class_id", "attributes", "name", "message"),
    [
        ("car", {"colour": "green"}, "colour", "must be one of red, blue"),
        ("car", {"colour": "red", "doors": 2.5}, "doors", "must be int"),
        ("car", {"colour": "red", "doors": True}, "doors", "must be int"),
        ("person", {"occluded": 1}, "occluded", "must be bool"),
        ("person", {"height_m": "tall"}, "height_m", "must be float"),
        ("person", {"height_m": False}, "height_m", "must be float"),
        ("person", {"note": 3}, "note", "must be string"),
        ("person", {"mood": "calm"}, "mood", "class 'person' has no such attribute"),
        ("car", {}, "colour", "required by the class"),
    ],
)
def test_attribute_values_are_checked_against_the_class(
    class_id: str, attributes: dict[str, Any], name: str, message: str
) -> None:
    answers = _answers(labels=[_car(class_id=class_id, attributes=attributes)])
    assert _check(answers) == [(f"body.labels.0.attributes.{name}", message)]


def test_attribute_values_that_fit_their_class_pass() -> None:
    fitting = [
        _car(attributes={"colour": "blue", "doors": 4}),
        _car(class_id="person", attributes={"occluded": False, "height_m": 2, "note": "x"}),
        _car(class_id="person", attributes={"height_m": 1.8}),
    ]
    assert _check(_answers(labels=fitting)) == []


# --- every problem at once ---


def test_every_problem_of_an_answer_is_reported_at_once() -> None:
    answers = Answers(
        verdict=C,
        ratings={"quality": 9, "charm": 1},
        flags=["edge_case", "nope", "edge_case"],
        severity=None,
        labels=[_car(class_id="bus", text="caption")],
        justification="too short",
    )
    assert [f for f, _ in _check(answers)] == [
        "body.flags.1",
        "body.flags.2",
        "body.ratings.quality",
        "body.ratings.fit",
        "body.ratings.charm",
        "body.severity",
        "body.justification",
        "body.labels.0.text",
        "body.labels.0.class_id",
    ]


# --- properties over generated definitions and answers ---

KEYS = st.text(alphabet="abcdefgh_0", min_size=1, max_size=6)
WORDS = st.lists(
    st.sampled_from(["edit", "wrong", "car", "colour", "blur", "x"]), min_size=1, max_size=4
)


@st.composite
def dimensions(draw: st.DrawFn, name: str) -> RatingDimension:
    lo = draw(st.integers(-3, 3))
    hi = draw(st.integers(lo + 1, lo + 10))
    anchors = {p: " ".join(draw(WORDS)) for p in range(lo, hi + 1)}
    return RatingDimension(
        name=name, title=name.title(), scale_min=lo, scale_max=hi, anchors=anchors
    )


def _subset(draw: st.DrawFn, values: list[Any]) -> list[Any]:
    return draw(st.lists(st.sampled_from(values), unique=True)) if values else []


@st.composite
def definitions(draw: st.DrawFn) -> RubricDefinition:
    feasibility = draw(st.booleans())
    verdicts = draw(st.lists(st.sampled_from([A, C, R]), unique=True))  # none: ratings only
    if feasibility:
        verdicts.insert(draw(st.integers(0, len(verdicts))), INF)
    gates = [INF] if feasibility else []
    gates += _subset(draw, [v for v in verdicts if v is not INF])
    names = draw(st.lists(KEYS, max_size=4, unique=True))
    flag_names = draw(st.lists(KEYS, max_size=5, unique=True))
    # a gate flag goes with reject or a gate verdict: a rubric offering verdicts offers one
    gates_possible = not verdicts or R in verdicts or bool(gates)
    flags = [
        FlagSpec(
            name=n,
            title=n,
            gate=gates_possible and draw(st.booleans()),
            requires_severity=draw(st.booleans()),
        )
        for n in flag_names
    ]
    asks_severity = draw(st.booleans()) or any(f.requires_severity for f in flags)
    asked = draw(st.booleans())
    labels = LabelsSpec(
        asked=asked,
        shapes=_subset(draw, list(LabelShape)) if asked else [],
        required_for=_subset(draw, [v for v in verdicts if v not in gates]) if asked else [],
    )
    level = draw(st.none() | st.sampled_from(list(Severity))) if asks_severity else None
    always = draw(st.booleans())
    on_verdicts = _subset(draw, verdicts)
    requires = always or bool(on_verdicts) or level is not None
    return RubricDefinition(
        name=draw(KEYS),
        feasibility_check=feasibility,
        verdicts=verdicts,
        gate_verdicts=gates,
        dimensions=[draw(dimensions(n)) for n in names],
        asks_severity=asks_severity,
        flags=flags,
        labels=labels,
        justification=JustificationRule(
            min_length=draw(st.integers(0, 30)) if requires else 0,
            always=always,
            verdicts=on_verdicts,
            severity_at_least=level,
        ),
    )


@st.composite
def labels_of(draw: st.DrawFn, shapes: list[LabelShape]) -> Label:
    class_id = draw(st.sampled_from(["car", "person", "caption"]))
    person: dict[str, Any] = draw(
        st.fixed_dictionaries({}, optional={"occluded": st.booleans(), "height_m": st.floats(0, 3)})
    )
    car = {"colour": draw(st.sampled_from(["red", "blue"]))}
    attributes = {"car": car, "person": person, "caption": {}}[class_id]
    geometries: list[Any] = []
    if LabelShape.box in shapes:
        geometries.append(Box(x=0, y=0, width=3, height=4))
    if LabelShape.polygon in shapes:
        geometries.append(Polygon(points=[(0, 0), (2, 0), (2, 2)]))
    if LabelShape.mask in shapes:
        geometries.append(RleMask(size=(2, 2), counts=[0, 4]))
    geometry = draw(st.sampled_from([None, *geometries]))
    segment = (
        TimeSegment(start_s=0, end_s=draw(st.floats(0, 10)))
        if LabelShape.segment in shapes and draw(st.booleans())
        else None
    )
    text = " ".join(draw(WORDS)) if LabelShape.text in shapes and draw(st.booleans()) else None
    return Label(
        class_id=class_id, attributes=attributes, geometry=geometry, segment=segment, text=text
    )


def _is_gated(definition: RubricDefinition, answers: Answers) -> bool:
    gate_flags = {f.name for f in definition.flags if f.gate}
    return answers.verdict in definition.gate_verdicts or bool(gate_flags & set(answers.flags))


def _required_fields(definition: RubricDefinition, answers: Answers) -> list[str]:
    """The fields a complete answer cannot leave out (the definition of the rules)."""
    gated = _is_gated(definition, answers)
    raised = [f for f in definition.flags if f.name in answers.flags]
    fields = ["body.verdict"] if definition.verdicts else []
    if not gated:
        fields += [f"body.ratings.{d.name}" for d in definition.dimensions]
    if any(f.requires_severity for f in raised) or (definition.asks_severity and not gated):
        fields.append("body.severity")
    rule = definition.justification
    order = list(reversed(Severity))  # none, minor, major, critical
    if (
        rule.always
        or answers.verdict in rule.verdicts
        or (
            rule.severity_at_least is not None
            and answers.severity is not None
            and order.index(answers.severity) >= order.index(rule.severity_at_least)
        )
    ):
        fields.append("body.justification")
    if definition.labels.asked and not gated and answers.verdict in definition.labels.required_for:
        fields.append("body.labels")
    return fields


def _with_a_gate_flag(definition: RubricDefinition) -> list[Verdict]:
    """The verdicts that may go with a raised gate flag: reject and the gate verdicts."""
    return [v for v in definition.verdicts if v is R or v in definition.gate_verdicts]


@st.composite
def valid_answers(draw: st.DrawFn, definition: RubricDefinition) -> Answers:
    verdict = draw(st.sampled_from(definition.verdicts)) if definition.verdicts else None
    flags = _subset(draw, [f.name for f in definition.flags])
    gate_flags = {f.name for f in definition.flags if f.gate}
    if verdict is not None and gate_flags & set(flags):
        verdict = draw(st.sampled_from(_with_a_gate_flag(definition)))
    draft = Answers(verdict=verdict, flags=flags)
    gated = _is_gated(definition, draft)
    ratings = (
        {}
        if gated
        else {d.name: draw(st.integers(d.scale_min, d.scale_max)) for d in definition.dimensions}
    )
    needs = any(f.requires_severity for f in definition.flags if f.name in flags)
    severity: Severity | None = None
    if needs:
        severity = draw(st.sampled_from([Severity.minor, Severity.major, Severity.critical]))
    elif definition.asks_severity:
        severity = draw(st.sampled_from(list(Severity)) | (st.none() if gated else st.nothing()))
    labels: list[Label] = []
    if definition.labels.asked and not gated:
        least = 1 if verdict in definition.labels.required_for else 0
        labels = draw(st.lists(labels_of(definition.labels.shapes), min_size=least, max_size=3))
    answers = Answers(
        verdict=verdict, flags=flags, ratings=ratings, severity=severity, labels=labels
    )
    if "body.justification" in _required_fields(definition, answers):
        words = " ".join(draw(WORDS))
        text = (words + " ") * (definition.justification.min_length // 2 + 1)
    else:
        text = draw(st.sampled_from(["", "ok", "  "]))
    return answers.model_copy(update={"justification": text})


@st.composite
def cases(draw: st.DrawFn) -> tuple[RubricDefinition, Answers, dict[str, ClassSnapshot] | None]:
    definition = draw(definitions())
    return definition, draw(valid_answers(definition)), draw(st.sampled_from([CLASSES, None]))


@settings(max_examples=150)
@given(definitions())
def test_a_generated_sound_definition_has_no_definition_error(definition: RubricDefinition) -> None:
    assert rubric.definition_errors(definition) == []


@settings(max_examples=150)
@given(cases())
def test_a_complete_valid_answer_to_a_sound_definition_has_no_error(
    case: tuple[RubricDefinition, Answers, dict[str, ClassSnapshot] | None],
) -> None:
    definition, answers, classes = case
    assert rubric.answer_errors(definition, answers, classes=classes) == []


def _without(answers: Answers, field: str) -> Answers:
    if field.startswith("body.ratings."):
        name = field.removeprefix("body.ratings.")
        return answers.model_copy(
            update={"ratings": {k: v for k, v in answers.ratings.items() if k != name}}
        )
    empty: dict[str, Any] = {
        "body.verdict": None,
        "body.severity": None,
        "body.justification": "",
        "body.labels": [],
    }
    return answers.model_copy(update={field.removeprefix("body."): empty[field]})


@settings(max_examples=150)
@given(cases(), st.data())
def test_removing_any_one_required_field_yields_an_error_naming_exactly_that_field(
    case: tuple[RubricDefinition, Answers, dict[str, ClassSnapshot] | None], data: st.DataObject
) -> None:
    definition, answers, classes = case
    required = _required_fields(definition, answers)
    assume(required)  # a ratings-only answer after a gate flag may require nothing
    field = data.draw(st.sampled_from(required))
    errors = rubric.answer_errors(definition, _without(answers, field), classes=classes)
    assert [e.field for e in errors] == [field]


@settings(max_examples=150)
@given(cases(), st.data())
def test_with_a_gate_flag_raised_exactly_a_verdict_other_than_reject_or_a_gate_is_refused(
    case: tuple[RubricDefinition, Answers, dict[str, ClassSnapshot] | None], data: st.DataObject
) -> None:
    definition, answers, classes = case
    gate_flags = [f.name for f in definition.flags if f.gate]
    if not gate_flags or not definition.verdicts:
        return
    verdict = data.draw(st.sampled_from(definition.verdicts))
    flags = sorted({*answers.flags, data.draw(st.sampled_from(gate_flags))})
    gated = answers.model_copy(update={"verdict": verdict, "flags": flags})
    errors = rubric.answer_errors(definition, gated, classes=classes)
    refused = verdict not in _with_a_gate_flag(definition)
    assert ("body.verdict" in [e.field for e in errors]) == refused


Fault = Callable[[Answers], Answers]


def _off_scale(dim: RatingDimension) -> Fault:
    def fault(a: Answers) -> Answers:
        return a.model_copy(update={"ratings": {**a.ratings, dim.name: dim.scale_max + 1}})

    return fault


def _faults(
    definition: RubricDefinition, answers: Answers, classes: dict[str, ClassSnapshot] | None
) -> dict[str, Fault]:
    """Faults by the part of the answer they touch; faults of different parts are independent."""
    faults: dict[str, Fault] = {
        "unknown rating": lambda a: a.model_copy(
            update={"ratings": {**a.ratings, "not-a-dimension": 1}}
        ),
        "flags": lambda a: a.model_copy(update={"flags": [*a.flags, "not-a-flag"]}),
    }
    if answers.flags:
        faults["flags"] = lambda a: a.model_copy(update={"flags": [*a.flags, a.flags[0]]})
    for dim in definition.dimensions:
        if dim.name in answers.ratings:
            faults[f"rating {dim.name}"] = _off_scale(dim)
    if "body.justification" in _required_fields(definition, answers):
        faults["justification"] = lambda a: a.model_copy(update={"justification": " "})
    if answers.labels and classes is not None:
        faults["labels"] = lambda a: a.model_copy(
            update={"labels": [a.labels[0].model_copy(update={"class_id": "bus"}), *a.labels[1:]]}
        )
    return faults


@settings(max_examples=150)
@given(cases(), st.data())
def test_two_independent_faults_together_give_the_union_of_their_errors(
    case: tuple[RubricDefinition, Answers, dict[str, ClassSnapshot] | None], data: st.DataObject
) -> None:
    definition, answers, classes = case
    faults = _faults(definition, answers, classes)
    first, second = data.draw(
        st.lists(st.sampled_from(sorted(faults)), min_size=2, max_size=2, unique=True)
    )

    def errors(a: Answers) -> Counter[tuple[str, str]]:
        return Counter(_pairs(rubric.answer_errors(definition, a, classes=classes)))

    one, other = errors(faults[first](answers)), errors(faults[second](answers))
    assert one and other
    assert errors(faults[second](faults[first](answers))) == one + other
