"""Assignment's refusals are answered in one place (``services/assignment/api/problems.py``):
every domain error a handler raises has its problem there, worded as the API answers it."""

from __future__ import annotations

from typing import Any

import pytest

from services.assignment import errors
from services.assignment.api.problems import PROBLEMS
from shared.contracts.vocabulary import TaxonomyRef
from shared.errors import FieldError

BAD = [FieldError(field="body.a", message="a is wrong"), FieldError(field="body.b", message="b")]
REF = TaxonomyRef(ontology_id="street", version=3)


def kinds(base: type[Exception]) -> list[type[Exception]]:
    found = []
    for kind in base.__subclasses__():
        found += [kind, *kinds(kind)]
    return found


def test_every_domain_error_has_its_answer() -> None:
    raised = [k for k in kinds(errors.AssignmentError) if k is not errors.Invalid]
    assert [k.__name__ for k in raised if k not in PROBLEMS] == []


def answer(error: Exception) -> tuple[int, str, str | None, list[tuple[str, str]], dict[str, str]]:
    problem = PROBLEMS[type(error)](error)
    fields = [(e.field, e.message) for e in problem.errors or []]
    return problem.status, problem.title, problem.detail, fields, problem.headers


CONFLICT, UNPROCESSABLE = (409, "Conflict"), (422, "Unprocessable Content")

CASES: list[tuple[Exception, tuple[int, str], str, list[tuple[str, str]]]] = [
    (errors.NotFound("project p-1"), (404, "Not Found"), "project p-1 does not exist", []),
    (
        errors.NoExpertProfile(),
        (404, "Not Found"),
        "you have no expert profile in this tenant: ask ops to invite you",
        [],
    ),
    (
        errors.OnboardingInvalid(BAD),
        UNPROCESSABLE,
        "invalid request: body.a, body.b",
        [("body.a", "a is wrong"), ("body.b", "b")],
    ),
    (
        errors.AnswersInvalid(BAD, of="unit"),
        UNPROCESSABLE,
        "the answers do not fit the unit's rubric: a is wrong; b",
        [("body.a", "a is wrong"), ("body.b", "b")],
    ),
    (
        errors.AnswersInvalid(BAD[:1], of="item"),
        UNPROCESSABLE,
        "the answers do not fit the item's rubric: a is wrong",
        [("body.a", "a is wrong")],
    ),
    (
        errors.RubricDefinitionInvalid(BAD[:1]),
        UNPROCESSABLE,
        "the rubric definition does not hold together: a is wrong",
        [("body.a", "a is wrong")],
    ),
    (
        errors.KeyedContentInvalid(BAD[:1], what="gold item"),
        UNPROCESSABLE,
        "the gold item cannot be used: a is wrong",
        [("body.a", "a is wrong")],
    ),
    (
        errors.FeedbackInvalid(BAD[:1]),
        UNPROCESSABLE,
        "the feedback does not fit the unit: a is wrong",
        [("body.a", "a is wrong")],
    ),
    (
        errors.ProjectSettingsInvalid(BAD[:1]),
        UNPROCESSABLE,
        "the project's settings do not hold together: a is wrong",
        [("body.a", "a is wrong")],
    ),
    (
        errors.ExpertNamedTwice(BAD[:1]),
        UNPROCESSABLE,
        "an expert is named twice",
        [("body.a", "a is wrong")],
    ),
    (
        errors.RubricVersionUnknown("r-1", 2),
        UNPROCESSABLE,
        "no such rubric version: r-1 2 (create it at /v1/rubrics first)",
        [("body.rubric.version", "no such rubric or version")],
    ),
    (
        errors.RubricVersionUnknown("r-1", None),
        UNPROCESSABLE,
        "no such rubric version: r-1 (create it at /v1/rubrics first)",
        [("body.rubric.rubric_id", "no such rubric or version")],
    ),
    (
        errors.ExpertUnknown("e-1"),
        UNPROCESSABLE,
        "expert e-1 is not known: invite them to Quorum first (POST /v1/experts)",
        [("body.expert_id", "no such expert")],
    ),
    (
        errors.TransitionRefused("body.state", ["no way back", "and another"]),
        CONFLICT,
        "no way back",
        [("body.state", "no way back"), ("body.state", "and another")],
    ),
    (
        errors.ChangedConcurrently("expert e-1"),
        CONFLICT,
        "expert e-1 is being changed by someone else: try again",
        [],
    ),
    (errors.RubricBusy("r-1"), CONFLICT, "rubric r-1 is being changed: try again", []),
    (
        errors.OnboardingDiffers("e-1", BAD[:1]),
        CONFLICT,
        "expert e-1 was onboarded with another body: change them with PATCH, their state and "
        "skills with their own calls",
        [("body.a", "a is wrong")],
    ),
    (
        errors.BatchDiffers("b-1", BAD[:1]),
        CONFLICT,
        "batch b-1 was sent before with another body: use a new batch id",
        [("body.a", "a is wrong")],
    ),
    (
        errors.RubricIdTaken("r-1"),
        CONFLICT,
        "rubric r-1 exists: add a version to it",
        [("body.rubric_id", "already exists")],
    ),
    (
        errors.ProjectIdTaken("p-1"),
        CONFLICT,
        "project p-1 exists: change it with PATCH",
        [("body.project_id", "already exists")],
    ),
    (errors.GoldIdTaken("p-1", "g-1"), CONFLICT, "project p-1 has a gold item g-1 already", []),
    (errors.QualificationSetIdTaken("q-1"), CONFLICT, "qualification set q-1 exists already", []),
    (errors.ProjectClosed("p-1"), CONFLICT, "project p-1 is closed: it changes no more", []),
    (errors.RosterClosed("p-1"), CONFLICT, "project p-1 is closed", []),
    (
        errors.ExpertOffboarded("e-1"),
        CONFLICT,
        "expert e-1 is offboarded",
        [("body.expert_id", "expert e-1 is offboarded")],
    ),
    (
        errors.AlreadyInvited("e-1", "p-1"),
        CONFLICT,
        "expert e-1 is invited to or on the roster of p-1 already",
        [("body.expert_id", "expert e-1 is invited to or on the roster of p-1 already")],
    ),
    (
        errors.InvitationAnswered("p-1", "declined"),
        CONFLICT,
        "the invitation to p-1 is declined: nothing to answer",
        [],
    ),
    (
        errors.QualificationSetRetired("q-1"),
        CONFLICT,
        "qualification set q-1 is retired: put it back first",
        [],
    ),
    (
        errors.ExpertNotQualifying("e-1", "suspended"),
        CONFLICT,
        "expert e-1 is suspended: move them to vetting first",
        [],
    ),
    (
        errors.AttemptExists("e-1", "q-1"),
        CONFLICT,
        "expert e-1 has an attempt at q-1 already: a retake is a new set",
        [],
    ),
    (
        errors.ItemNotResolved("i-1"),
        CONFLICT,
        "item i-1 is not resolved (yet): its outcome can be revised once it is",
        [],
    ),
    (
        errors.ItemChanged(),
        CONFLICT,
        "the item changed while it was revised: read it and try again",
        [],
    ),
    (
        errors.UnitJudgedAlready("i-1~0"),
        CONFLICT,
        "unit i-1~0 is judged already (another submission id)",
        [],
    ),
    (
        errors.FeedbackSubmissionReused("s-1"),
        CONFLICT,
        "submission s-1 was feedback on another unit",
        [],
    ),
    (errors.FeedbackResolved("f-1"), CONFLICT, "feedback f-1 is resolved already", []),
    (
        errors.KeyTaxonomyUnpublished(REF),
        CONFLICT,
        "the key has labels, and taxonomy street version 3 is not published here (yet): "
        "register the item once it is",
        [],
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "detail", "fields"), CASES, ids=[type(c[0]).__name__ for c in CASES]
)
def test_each_refusal_is_answered_as_the_api_words_it(
    error: Exception, status: tuple[int, str], detail: str, fields: list[tuple[str, str]]
) -> None:
    assert answer(error) == (*status, detail, fields, {})


def test_a_taxonomy_version_not_known_yet_is_worth_a_retry_and_says_when() -> None:
    got: Any = answer(errors.TaxonomyNotKnownYet(REF, 5))
    assert got == (
        503,
        "Service Unavailable",
        "taxonomy street version 3 is not known here yet: try again in 5 s",
        [],
        {"Retry-After": "5"},
    )
