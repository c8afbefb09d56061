"""How assignment's domain errors (``services.assignment.errors``) are answered: the one place
that decides what a caller learns from a refusal. The app installs :data:`PROBLEMS`.

The secrecy rule of docs/assignment.md ("What an expert may learn") holds here: a refusal
about a unit is worded from what the caller sent and their own lease, the same status, title,
text and headers whatever the unit is (gold, audited, another judge's, escalated, absent)."""

from __future__ import annotations

from typing import Any

from services.assignment import standing
from services.assignment.errors import (
    AlreadyInvited,
    AnswersInvalid,
    AttemptExists,
    BatchDiffers,
    ChangedConcurrently,
    ExpertNamedTwice,
    ExpertNotQualifying,
    ExpertOffboarded,
    ExpertUnknown,
    FeedbackInvalid,
    FeedbackResolved,
    FeedbackSubmissionReused,
    GoldIdTaken,
    Invalid,
    InvitationAnswered,
    ItemChanged,
    ItemNotResolved,
    KeyedContentInvalid,
    KeyTaxonomyUnpublished,
    LeaseAtMaxLife,
    LeaseWithdrawn,
    NoExpertProfile,
    NoLiveLease,
    NotFound,
    OnboardingDiffers,
    OnboardingInvalid,
    ProjectClosed,
    ProjectIdTaken,
    ProjectSettingsInvalid,
    QualificationSetIdTaken,
    QualificationSetRetired,
    RosterClosed,
    RubricBusy,
    RubricDefinitionInvalid,
    RubricIdTaken,
    RubricVersionUnknown,
    SubmissionDiffers,
    TaxonomyNotKnownYet,
    TransitionRefused,
    UnitJudgedAlready,
    UnitNotHeld,
)
from shared.errors import FieldError
from shared.http.problems import Problem, ProblemDetail, Translation, not_found


def _conflict(detail: str, errors: list[FieldError] | None = None) -> Problem:
    return Problem(409, "Conflict", detail, errors=errors)


def _at(field: str, message: str) -> list[FieldError]:
    return [FieldError(field=field, message=message)]


def _unprocessable(detail: str, errors: list[FieldError]) -> Problem:
    return Problem(422, "Unprocessable Content", detail, errors=errors)


def _refused(what: str) -> Translation:
    """The answer to an :class:`Invalid` of a kind: ``<what>: `` and each field's message."""

    def answer(exc: Invalid) -> Problem:
        return _unprocessable(f"{what}: " + "; ".join(e.message for e in exc.errors), exc.errors)

    return answer


def _onboarding_invalid(exc: OnboardingInvalid) -> Problem:
    return _unprocessable("invalid request: " + ", ".join(e.field for e in exc.errors), exc.errors)


def _answers_invalid(exc: AnswersInvalid) -> Problem:
    return _refused(f"the answers do not fit the {exc.of}'s rubric")(exc)


def _keyed_content_invalid(exc: KeyedContentInvalid) -> Problem:
    return _refused(f"the {exc.what} cannot be used")(exc)


def _rubric_version_unknown(exc: RubricVersionUnknown) -> Problem:
    where = "body.rubric.version" if exc.version is not None else "body.rubric.rubric_id"
    return _unprocessable(
        f"no such rubric version: {exc.rubric_id} {exc.version or ''}".strip()
        + " (create it at /v1/rubrics first)",
        _at(where, "no such rubric or version"),
    )


def _expert_unknown(exc: ExpertUnknown) -> Problem:
    return _unprocessable(
        f"expert {exc.expert_id} is not known: invite them to Quorum first (POST /v1/experts)",
        _at("body.expert_id", "no such expert"),
    )


def _transition_refused(exc: TransitionRefused) -> Problem:
    return _conflict(exc.reasons[0], [FieldError(field=exc.field, message=m) for m in exc.reasons])


def _taxonomy_not_known_yet(exc: TaxonomyNotKnownYet) -> Problem:
    return Problem(
        503,
        "Service Unavailable",
        f"taxonomy {exc.ref.ontology_id} version {exc.ref.version} is not known here yet: "
        f"try again in {exc.retry_s} s",
        headers={"Retry-After": str(exc.retry_s)},
    )


def _key_taxonomy_unpublished(exc: KeyTaxonomyUnpublished) -> Problem:
    return _conflict(
        f"the key has labels, and taxonomy {exc.ref.ontology_id} version {exc.ref.version} "
        "is not published here (yet): register the item once it is"
    )


def _already(detail: str, field: str) -> Problem:
    """An id taken already: ``field`` is where it was sent."""
    return _conflict(detail, _at(field, "already exists"))


def _unit_not_held(exc: UnitNotHeld) -> Problem:
    if exc.lease_id is None:  # feedback names a unit, not a lease
        what = f"unit {exc.unit_id} is not one you hold or judged"
    elif exc.unit_id is None:
        what = f"lease {exc.lease_id} is not a live lease of yours"
    else:
        what = f"you hold no live lease {exc.lease_id} on unit {exc.unit_id}"
    return Problem(
        409,
        "Conflict",
        f"{what}: a lease ends when it expires, is given back or the unit is judged; "
        "ask for new work (POST /v1/work:next)",
        errors=[FieldError(field=exc.field, message="no live lease of yours")],
    )


def _no_live_lease(exc: NoLiveLease) -> Problem:
    return Problem(
        404,
        "Not Found",
        f"expert {exc.expert_id} holds no live lease {exc.lease_id} here (it expired or was "
        "given back, or never was)",
        errors=[FieldError(field="path.lease_id", message="no live lease of the expert")],
    )


def _submission_differs(exc: SubmissionDiffers) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"submission {exc.submission_id} was made with another body: "
        + ", ".join(e.field for e in exc.errors)
        + " differ (a unit is judged once: the first answers stand)",
        errors=exc.errors,
    )


def _lease_withdrawn(exc: LeaseWithdrawn) -> Problem:
    why = standing.told(exc.why, exc.project_id)
    return Problem(
        409,
        "Conflict",
        f"lease {exc.lease_id} was released because {why}; its unit is no longer yours",
        errors=[FieldError(field=exc.field, message=f"withdrawn: {exc.why.value}")],
    )


def _lease_at_max_life(exc: LeaseAtMaxLife) -> Problem:
    return Problem(
        409,
        "Conflict",
        f"lease {exc.lease_id} reached its maximum life ({exc.max_life_s} s from its handout "
        f"at {exc.leased_at.isoformat()}): no heartbeat extends it past "
        f"{exc.expires_at.isoformat()}; submit or release the unit before then",
        errors=[FieldError(field="path.lease_id", message="at its maximum life")],
    )


#: Assignment's domain errors and the problem each is answered with (every
#: :class:`~services.assignment.errors.AssignmentError` has one: tests/assignment/test_problems.py).
PROBLEMS: dict[type[Exception], Translation] = {
    # what is not there
    NotFound: lambda exc: not_found(exc.what),
    NoExpertProfile: lambda exc: Problem(
        404, "Not Found", "you have no expert profile in this tenant: ask ops to invite you"
    ),
    # what was sent does not hold
    OnboardingInvalid: _onboarding_invalid,
    AnswersInvalid: _answers_invalid,
    RubricDefinitionInvalid: _refused("the rubric definition does not hold together"),
    KeyedContentInvalid: _keyed_content_invalid,
    FeedbackInvalid: _refused("the feedback does not fit the unit"),
    ProjectSettingsInvalid: _refused("the project's settings do not hold together"),
    ExpertNamedTwice: lambda exc: _unprocessable("an expert is named twice", exc.errors),
    RubricVersionUnknown: _rubric_version_unknown,
    ExpertUnknown: _expert_unknown,
    # what the current state refuses
    TransitionRefused: _transition_refused,
    ChangedConcurrently: lambda exc: _conflict(
        f"{exc.what} is being changed by someone else: try again"
    ),
    RubricBusy: lambda exc: _conflict(f"rubric {exc.rubric_id} is being changed: try again"),
    OnboardingDiffers: lambda exc: _conflict(
        f"expert {exc.expert_id} was onboarded with another body: change them with PATCH, "
        "their state and skills with their own calls",
        exc.errors,
    ),
    BatchDiffers: lambda exc: _conflict(
        f"batch {exc.batch_id} was sent before with another body: use a new batch id",
        exc.errors,
    ),
    RubricIdTaken: lambda exc: _already(
        f"rubric {exc.rubric_id} exists: add a version to it", "body.rubric_id"
    ),
    ProjectIdTaken: lambda exc: _already(
        f"project {exc.project_id} exists: change it with PATCH", "body.project_id"
    ),
    GoldIdTaken: lambda exc: _conflict(
        f"project {exc.project_id} has a gold item {exc.gold_id} already"
    ),
    QualificationSetIdTaken: lambda exc: _conflict(
        f"qualification set {exc.set_id} exists already"
    ),
    ProjectClosed: lambda exc: _conflict(f"project {exc.project_id} is closed: it changes no more"),
    RosterClosed: lambda exc: _conflict(f"project {exc.project_id} is closed"),
    ExpertOffboarded: lambda exc: _conflict(
        f"expert {exc.expert_id} is offboarded",
        _at("body.expert_id", f"expert {exc.expert_id} is offboarded"),
    ),
    AlreadyInvited: lambda exc: _conflict(
        f"expert {exc.expert_id} is invited to or on the roster of {exc.project_id} already",
        _at(
            "body.expert_id",
            f"expert {exc.expert_id} is invited to or on the roster of {exc.project_id} already",
        ),
    ),
    InvitationAnswered: lambda exc: _conflict(
        f"the invitation to {exc.project_id} is {exc.state}: nothing to answer"
    ),
    QualificationSetRetired: lambda exc: _conflict(
        f"qualification set {exc.set_id} is retired: put it back first"
    ),
    ExpertNotQualifying: lambda exc: _conflict(
        f"expert {exc.expert_id} is {exc.state}: move them to vetting first"
    ),
    AttemptExists: lambda exc: _conflict(
        f"expert {exc.expert_id} has an attempt at {exc.set_id} already: a retake is a new set"
    ),
    ItemNotResolved: lambda exc: _conflict(
        f"item {exc.item_id} is not resolved (yet): its outcome can be revised once it is"
    ),
    ItemChanged: lambda exc: _conflict(
        "the item changed while it was revised: read it and try again"
    ),
    UnitJudgedAlready: lambda exc: _conflict(
        f"unit {exc.unit_id} is judged already (another submission id)"
    ),
    FeedbackSubmissionReused: lambda exc: _conflict(
        f"submission {exc.submission_id} was feedback on another unit"
    ),
    FeedbackResolved: lambda exc: _conflict(f"feedback {exc.feedback_id} is resolved already"),
    TaxonomyNotKnownYet: _taxonomy_not_known_yet,
    KeyTaxonomyUnpublished: _key_taxonomy_unpublished,
    # leases
    LeaseWithdrawn: _lease_withdrawn,
    LeaseAtMaxLife: _lease_at_max_life,
    UnitNotHeld: _unit_not_held,
    NoLiveLease: _no_live_lease,
    SubmissionDiffers: _submission_differs,
}

#: The OpenAPI description of a :class:`UnitNotHeld` answer, for routes that may give it.
NOT_HELD: dict[int | str, dict[str, Any]] = {
    409: {
        "model": ProblemDetail,
        "description": "You hold no live lease on it (it expired, was given back, or it is "
        "not yours): the same answer for every unit; or it was released because your "
        "standing changed (suspended, offboarded, benched, taken off the roster, the project "
        "paused or closed: `detail` says which, `errors` says `withdrawn: <why>`)",
    }
}
