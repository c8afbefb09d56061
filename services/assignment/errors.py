"""Assignment's domain errors: what a use case refuses, named for the domain. Handlers raise
them; the one mapping at the HTTP edge (``services.assignment.api.problems.PROBLEMS``) turns
each into a problem. What an expert may learn from an error is decided there, once: add an
error here and its answer there.

Nothing here imports ``shared.http``: a handler says what went wrong, the edge says how it
is answered."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from services.assignment.standing import Withdrawal
from shared.contracts.vocabulary import TaxonomyRef
from shared.errors import FieldError


class AssignmentError(Exception):
    """A refusal of one of assignment's use cases (each kind answered at the edge)."""


# --- what is not there ------------------------------------------------------------------


class NotFound(AssignmentError):
    """``what`` (``project p-1``, ``version 2 of rubric r``) is not of the caller's tenant:
    absent, or another tenant's (the same answer)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist")
        self.what = what


class NoExpertProfile(AssignmentError):
    """The calling expert has no profile in the tenant their token names."""


# --- what was sent does not hold ---------------------------------------------------------


class Invalid(AssignmentError):
    """What was sent breaks rules the schema cannot say: ``errors`` name each field. Raised
    as one of the kinds below, which say what was refused."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        super().__init__(f"{type(self).__name__}: " + ", ".join(e.field for e in errors))
        self.errors = list(errors)


class OnboardingInvalid(Invalid):
    """An onboarding names a skill twice or starts beyond invited without a reason."""


class AnswersInvalid(Invalid):
    """Answers that do not fit the rubric version (and taxonomy version) of the ``unit``
    judged, or of the ``item`` whose outcome ops override."""

    def __init__(self, errors: Sequence[FieldError], *, of: Literal["unit", "item"]) -> None:
        super().__init__(errors)
        self.of = of


class RubricDefinitionInvalid(Invalid):
    """A rubric definition with unknown keys or rules that contradict each other."""


class KeyedContentInvalid(Invalid):
    """Media with a key (a gold item, the items of a qualification set: ``what``) that
    cannot be used: its shape, its key, or a key that cannot score."""

    def __init__(self, errors: Sequence[FieldError], *, what: str) -> None:
        super().__init__(errors)
        self.what = what


class FeedbackInvalid(Invalid):
    """Feedback that does not fit the unit it is about (classes of another version...)."""


class ProjectSettingsInvalid(Invalid):
    """A project's settings that contradict each other or its rubric (refused whole)."""


class ExpertNamedTwice(Invalid):
    """A batch of invitations naming an expert more than once."""


class RubricVersionUnknown(AssignmentError):
    """A project names rubric ``rubric_id`` at ``version`` (None: the latest), which the
    tenant does not have."""

    def __init__(self, rubric_id: str, version: int | None) -> None:
        super().__init__(f"no rubric {rubric_id} version {version}")
        self.rubric_id = rubric_id
        self.version = version


class ExpertUnknown(AssignmentError):
    """Ops invite to a project an expert the tenant does not know."""

    def __init__(self, expert_id: str) -> None:
        super().__init__(f"expert {expert_id} is not known")
        self.expert_id = expert_id


# --- what the current state refuses ------------------------------------------------------


class TransitionRefused(AssignmentError):
    """A move the state machine does not allow (an expert's vetting state, a project's
    status); ``reasons`` say why, ``field`` is what was sent (``body.state``)."""

    def __init__(self, field: str, reasons: Sequence[str]) -> None:
        super().__init__(reasons[0])
        self.field = field
        self.reasons = list(reasons)


class ChangedConcurrently(AssignmentError):
    """A change to ``what`` (``expert e-1``) lost to concurrent changes every time it was
    made again on the newer state."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is being changed by someone else")
        self.what = what


class RubricBusy(AssignmentError):
    """A new version of rubric ``rubric_id`` lost to concurrent new versions every time."""

    def __init__(self, rubric_id: str) -> None:
        super().__init__(f"rubric {rubric_id} is being changed")
        self.rubric_id = rubric_id


class OnboardingDiffers(AssignmentError):
    """Expert ``expert_id`` was onboarded with another body: ``errors`` name what differs."""

    def __init__(self, expert_id: str, errors: Sequence[FieldError]) -> None:
        super().__init__(f"expert {expert_id} was onboarded with another body")
        self.expert_id = expert_id
        self.errors = list(errors)


class BatchDiffers(AssignmentError):
    """Invitation batch ``batch_id`` was sent with another body: ``errors`` name what
    differs."""

    def __init__(self, batch_id: str, errors: Sequence[FieldError]) -> None:
        super().__init__(f"batch {batch_id} was sent with another body")
        self.batch_id = batch_id
        self.errors = list(errors)


class RubricIdTaken(AssignmentError):
    def __init__(self, rubric_id: str) -> None:
        super().__init__(f"rubric {rubric_id} exists")
        self.rubric_id = rubric_id


class ProjectIdTaken(AssignmentError):
    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id} exists")
        self.project_id = project_id


class GoldIdTaken(AssignmentError):
    def __init__(self, project_id: str, gold_id: str) -> None:
        super().__init__(f"project {project_id} has a gold item {gold_id}")
        self.project_id = project_id
        self.gold_id = gold_id


class QualificationSetIdTaken(AssignmentError):
    def __init__(self, set_id: str) -> None:
        super().__init__(f"qualification set {set_id} exists")
        self.set_id = set_id


class ProjectClosed(AssignmentError):
    """A change to a closed project (it changes no more)."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id} is closed")
        self.project_id = project_id


class RosterClosed(AssignmentError):
    """An invitation to a closed project."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id} is closed")
        self.project_id = project_id


class ExpertOffboarded(AssignmentError):
    """An invitation of an offboarded expert."""

    def __init__(self, expert_id: str) -> None:
        super().__init__(f"expert {expert_id} is offboarded")
        self.expert_id = expert_id


class AlreadyInvited(AssignmentError):
    """Expert ``expert_id`` is invited to or on the roster of ``project_id`` already."""

    def __init__(self, expert_id: str, project_id: str) -> None:
        super().__init__(f"expert {expert_id} is invited to {project_id} already")
        self.expert_id = expert_id
        self.project_id = project_id


class InvitationAnswered(AssignmentError):
    """The calling expert answers their invitation to ``project_id``, which is ``state``
    (accepted, declined, removed) rather than waiting for an answer."""

    def __init__(self, project_id: str, state: str) -> None:
        super().__init__(f"the invitation to {project_id} is {state}")
        self.project_id = project_id
        self.state = state


class QualificationSetRetired(AssignmentError):
    def __init__(self, set_id: str) -> None:
        super().__init__(f"qualification set {set_id} is retired")
        self.set_id = set_id


class ExpertNotQualifying(AssignmentError):
    """An enrolment of an expert in ``state``, which is handed no qualification items."""

    def __init__(self, expert_id: str, state: str) -> None:
        super().__init__(f"expert {expert_id} is {state}")
        self.expert_id = expert_id
        self.state = state


class AttemptExists(AssignmentError):
    def __init__(self, expert_id: str, set_id: str) -> None:
        super().__init__(f"expert {expert_id} has an attempt at {set_id}")
        self.expert_id = expert_id
        self.set_id = set_id


class ItemNotResolved(AssignmentError):
    """Ops revise the outcome of item ``item_id``, which has none (yet)."""

    def __init__(self, item_id: str) -> None:
        super().__init__(f"item {item_id} is not resolved")
        self.item_id = item_id


class ItemChanged(AssignmentError):
    """The item changed between the read and the write of an outcome's revision."""


class UnitJudgedAlready(AssignmentError):
    """The caller judged unit ``unit_id`` already, under another submission id (their own
    judgment: a unit has one)."""

    def __init__(self, unit_id: str) -> None:
        super().__init__(f"unit {unit_id} is judged already")
        self.unit_id = unit_id


class FeedbackSubmissionReused(AssignmentError):
    """The caller's ``submission_id`` was their feedback on another unit."""

    def __init__(self, submission_id: str) -> None:
        super().__init__(f"submission {submission_id} was feedback on another unit")
        self.submission_id = submission_id


class FeedbackResolved(AssignmentError):
    def __init__(self, feedback_id: str) -> None:
        super().__init__(f"feedback {feedback_id} is resolved already")
        self.feedback_id = feedback_id


# --- taxonomy versions -------------------------------------------------------------------


class TaxonomyNotKnownYet(AssignmentError):
    """Taxonomy version ``ref`` has not reached this replica's cache (yet): it will shortly,
    so the same request is worth sending again in ``retry_s``."""

    def __init__(self, ref: TaxonomyRef, retry_s: int) -> None:
        super().__init__(f"taxonomy {ref.ontology_id} version {ref.version} is not known yet")
        self.ref = ref
        self.retry_s = retry_s


class KeyTaxonomyUnpublished(AssignmentError):
    """A key with labels, of taxonomy version ``ref``, which is not published here (yet)."""

    def __init__(self, ref: TaxonomyRef) -> None:
        super().__init__(f"taxonomy {ref.ontology_id} version {ref.version} is not published")
        self.ref = ref


# --- leases ------------------------------------------------------------------------------


class UnitNotHeld(AssignmentError):
    """The caller holds no live lease ``lease_id`` (on unit ``unit_id``, when the route names
    a unit) and has not judged the unit: the lease expired or was given back, or the lease or
    the unit is not theirs, or does not exist.

    One error for every such case, decided from the caller's own lease, never from the unit:
    a gold copy, an audited item, another judge's unit, an item gone to adjudication and an
    id that names nothing are all refused alike (docs/assignment.md, "What an expert may
    learn"). ``field`` names what the caller sent that holds nothing: ``body.lease_id``,
    ``path.lease_id``, ``path.unit_id``."""

    def __init__(
        self, *, field: str, lease_id: str | None = None, unit_id: str | None = None
    ) -> None:
        super().__init__(f"not held: lease {lease_id}, unit {unit_id}")
        self.field = field
        self.lease_id = lease_id
        self.unit_id = unit_id


class NoLiveLease(AssignmentError):
    """Ops named a lease that expert ``expert_id`` does not hold live in their tenant (it
    expired or was given back, or it never was): ops are told plainly, as the resource is
    not there; the one refusal an expert gets is :class:`UnitNotHeld`."""

    def __init__(self, *, expert_id: str, lease_id: str) -> None:
        super().__init__(f"expert {expert_id} holds no live lease {lease_id}")
        self.expert_id = expert_id
        self.lease_id = lease_id


class SubmissionDiffers(AssignmentError):
    """The caller judged the unit under ``submission_id`` with another body: a retry sends
    the same one. ``errors`` name each field that differs, with its first value (the caller's
    own answers: nothing of anyone else's)."""

    def __init__(self, submission_id: str, errors: list[FieldError]) -> None:
        super().__init__(f"submission {submission_id} was made with another body")
        self.submission_id = submission_id
        self.errors = errors


class LeaseWithdrawn(AssignmentError):
    """The caller's lease ``lease_id`` was released because they no longer stand for its
    work (``why``, ``services/assignment/standing.py``: suspended, offboarded, benched from
    or taken off the roster of ``project_id``, the project paused or closed). Decided from
    the caller's own lease, never from its unit: the same for a gold unit as for any other.
    ``field`` names what the caller sent: ``body.lease_id``, ``path.lease_id``."""

    def __init__(self, *, field: str, lease_id: str, project_id: str, why: Withdrawal) -> None:
        super().__init__(f"lease {lease_id} withdrawn: {why}")
        self.field = field
        self.lease_id = lease_id
        self.project_id = project_id
        self.why = why


class LeaseAtMaxLife(AssignmentError):
    """A heartbeat on a lease at its maximum life (``max_life_s`` from ``leased_at``): no
    heartbeat moves its deadline ``expires_at`` further; the lease holds until then."""

    def __init__(
        self, *, lease_id: str, leased_at: datetime, expires_at: datetime, max_life_s: int
    ) -> None:
        super().__init__(f"lease {lease_id} is at its maximum life")
        self.lease_id = lease_id
        self.leased_at = leased_at
        self.expires_at = expires_at
        self.max_life_s = max_life_s
