"""Rubrics and the answers a judgment gives to one: shapes shared by assignment (which
validates answers against a rubric version) and metrics (which reads ratings, severity
and flags)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.contracts.spec import Contract
from shared.contracts.vocabulary import Label, Name, Severity
from shared.contracts.work import Verdict


class Answers(Contract):
    """What an expert answered on a unit's rubric form: each field optional here, required
    or forbidden by the rubric version's rules (``services/assignment/rubric.py``)."""

    verdict: Verdict | None = Field(
        None,
        description="one of the rubric's verdicts; required when it offers any (a ratings-only "
        "rubric offers none); with a gate flag raised, reject or a gate verdict",
    )
    ratings: dict[Name, int] = Field(
        default_factory=dict, max_length=100, description="rubric dimension -> point of its scale"
    )
    severity: Severity | None = None
    flags: list[Name] = Field(default_factory=list, max_length=50)
    labels: list[Label] = Field(
        default_factory=list, max_length=2_000, description="corrected labels"
    )
    justification: str = Field("", max_length=20_000)


# --- The rubric definition: the fields of a form and the rules that make them required ---

#: Most points a rating scale has (0 to 100 at the widest).
MAX_SCALE_POINTS = 101

#: A dimension's or flag's name: the key of ``Answers.ratings`` and the value of
#: ``Answers.flags``, so it ends field paths (``body.ratings.visual_quality``) and form keys:
#: letters, digits, ``_`` and ``-``, no dots or spaces.
RubricKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")
]
#: A point of a rating scale.
ScalePoint = Annotated[int, Field(ge=-1_000, le=1_000)]


class LabelShape(StrEnum):
    """What a corrected label may carry: a geometry (box, polygon, mask), a time segment, text."""

    box = "box"
    polygon = "polygon"
    mask = "mask"
    segment = "segment"
    text = "text"


class RatingDimension(Contract):
    """One rated dimension: an integer scale, with anchor texts for some or all of its points."""

    name: RubricKey
    title: str = Field(max_length=200)
    description: str = Field("", max_length=2_000)
    scale_min: ScalePoint = 1
    scale_max: ScalePoint = 5
    anchors: dict[ScalePoint, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict,
        max_length=MAX_SCALE_POINTS,
        description="point of the scale -> what it means; for any of its points (all, the ends, "
        "none)",
    )


class FlagSpec(Contract):
    """A flag the expert may raise. A ``gate`` flag ends the form: the dimensions (and
    corrected labels) are not asked after it, and the verdict with it is ``reject`` or a gate
    verdict (``accept`` and ``correct`` would vouch for what it skipped)."""

    name: RubricKey
    title: str = Field(max_length=200)
    description: str = Field("", max_length=2_000)
    gate: bool = Field(
        False, description="ends the form; raised, the verdict is reject or a gate verdict"
    )
    requires_severity: bool = Field(False, description="raised, it needs a severity above none")


class JustificationRule(Contract):
    """When a written justification is required, and how long it must be then."""

    min_length: int = Field(
        0, ge=0, le=20_000, description="characters, whitespace runs counted as one, ends stripped"
    )
    always: bool = False
    verdicts: list[Verdict] = Field(
        default_factory=list, max_length=4, description="required for these verdicts"
    )
    severity_at_least: Severity | None = Field(
        None, description="required at this severity and above"
    )


class LabelsSpec(Contract):
    """Whether corrected labels are asked, of which shapes, and for which verdicts required.
    A label with none of the shapes (a class for the whole item) is allowed when asked."""

    asked: bool = False
    shapes: list[LabelShape] = Field(default_factory=list, max_length=5)
    required_for: list[Verdict] = Field(
        default_factory=list, max_length=4, description="verdicts that need corrected labels"
    )


class RubricDefinition(Contract):
    """A rubric: the form's fields and rules, free of ids and version numbers (the store
    wraps a definition in its rubric version; a judgment records that version)."""

    name: str = Field(max_length=200)
    description: str = Field("", max_length=10_000)
    feasibility_check: bool = Field(False, description="offers the infeasible verdict")
    verdicts: list[Verdict] = Field(
        default_factory=lambda: [Verdict.accept, Verdict.correct, Verdict.reject],
        max_length=4,
        description="the verdicts offered; empty: a ratings-only rubric, answered without one",
    )
    gate_verdicts: list[Verdict] = Field(
        default_factory=list, max_length=4, description="verdicts that end the form"
    )
    dimensions: list[RatingDimension] = Field(default_factory=list, max_length=100)
    asks_severity: bool = False
    flags: list[FlagSpec] = Field(default_factory=list, max_length=50)
    labels: LabelsSpec = Field(default_factory=LabelsSpec)
    justification: JustificationRule = Field(default_factory=JustificationRule)
