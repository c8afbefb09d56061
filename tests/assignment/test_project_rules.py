"""Project rules: the status moves, the settings against the rubric version, and the
``project.changed`` event a project is described by."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.assignment.models.projects import CalibrationPolicy, Project
from services.assignment.projects import (
    STATUS_MOVES,
    changed_event,
    settings_errors,
    status_errors,
)
from services.assignment.rubric import load_template
from shared.contracts.rubric import (
    FlagSpec,
    LabelsSpec,
    RatingDimension,
    RubricDefinition,
)
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import (
    AdjudicationPolicy,
    OverlapSpec,
    ProjectChangedV1,
    ProjectStatus,
    RubricDimension,
    RubricRef,
)
from shared.errors import FieldError

DRAFT, ACTIVE, PAUSED, CLOSED = (
    ProjectStatus.draft,
    ProjectStatus.active,
    ProjectStatus.paused,
    ProjectStatus.closed,
)
CREATED = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
TAXONOMY = TaxonomyRef(ontology_id="onto-vehicles", version=3)

EDIT = load_template("image_edit_evaluation")  # flags, no corrected labels
QA = load_template("multimodal_label_qa")  # flags in no sorted order, corrected labels
PLAIN = RubricDefinition(name="plain")  # no flags, no labels


def project(**changes: Any) -> Project:
    """A consistent project with every field set; ``changes`` replace some."""
    fields: dict[str, Any] = {
        "project_id": "proj-1",
        "tenant": "acme",
        "name": "Street scenes",
        "modality": Modality.image,
        "taxonomy": TAXONOMY,
        "rubric": RubricRef(rubric_id="rub-1", version=2),
        "required_skills": {},
        "overlap": OverlapSpec(),
        "gold_rate": 0.0,
        "adjudication": AdjudicationPolicy(),
        "calibration": CalibrationPolicy(),
        "lease_ttl_s": 1_800,
        "priority_weight": 1.0,
        "due_at": None,
        "status": DRAFT,
        "revision": 1,
        "created_at": CREATED,
        "changed_at": CREATED,
        "changed_by": "ops-ana",
    }
    fields.update(changes)
    return Project(**fields)


def unchecked_overlap(**changes: Any) -> OverlapSpec:
    """An overlap its model would refuse (a stored or hand-built value the rules still judge)."""
    fields: dict[str, Any] = {"k": 1, "iaa_share": 0.0, "k_iaa": 1, "dynamic": False, "k_max": 1}
    fields.update(changes)
    return OverlapSpec.model_construct(**fields)


def err(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


# --- status moves ---------------------------------------------------------------------------

ALREADY = "the project is already {}"
FINAL = "closed is final: a closed project does not reopen"

#: Every (current, target) pair and its errors.
STATUS_CASES: dict[tuple[ProjectStatus, ProjectStatus], list[str]] = {
    (DRAFT, DRAFT): [ALREADY.format("draft")],
    (DRAFT, ACTIVE): [],
    (DRAFT, PAUSED): ["a draft project cannot become paused; from draft: active, closed"],
    (DRAFT, CLOSED): [],
    (ACTIVE, DRAFT): ["a active project cannot become draft; from active: closed, paused"],
    (ACTIVE, ACTIVE): [ALREADY.format("active")],
    (ACTIVE, PAUSED): [],
    (ACTIVE, CLOSED): [],
    (PAUSED, DRAFT): ["a paused project cannot become draft; from paused: active, closed"],
    (PAUSED, ACTIVE): [],
    (PAUSED, PAUSED): [ALREADY.format("paused")],
    (PAUSED, CLOSED): [],
    (CLOSED, DRAFT): [FINAL],
    (CLOSED, ACTIVE): [FINAL],
    (CLOSED, PAUSED): [FINAL],
    (CLOSED, CLOSED): [ALREADY.format("closed")],
}


def test_the_status_cases_cover_every_pair_of_statuses() -> None:
    assert set(STATUS_CASES) == set(itertools.product(ProjectStatus, repeat=2))


@pytest.mark.parametrize(
    ("current", "target", "expected"),
    [(current, target, expected) for (current, target), expected in STATUS_CASES.items()],
    ids=[f"{current}-to-{target}" for current, target in STATUS_CASES],
)
def test_status_errors_allow_the_documented_moves_and_explain_every_other(
    current: ProjectStatus, target: ProjectStatus, expected: list[str]
) -> None:
    assert status_errors(current, target) == expected


def test_status_moves_are_the_documented_graph() -> None:
    assert dict(STATUS_MOVES) == {
        DRAFT: frozenset({ACTIVE, CLOSED}),
        ACTIVE: frozenset({PAUSED, CLOSED}),
        PAUSED: frozenset({ACTIVE, CLOSED}),
        CLOSED: frozenset(),
    }


def test_a_refused_move_lists_the_allowed_targets_sorted() -> None:
    # closed sorts before paused although the graph names paused first
    assert status_errors(ACTIVE, DRAFT)[0].endswith("from active: closed, paused")


# --- settings against the rubric -----------------------------------------------------------

OVERLAP_CASES = [
    pytest.param(unchecked_overlap(k=0), err("body.overlap.k", "must be at least 1"), id="k-zero"),
    pytest.param(unchecked_overlap(k=51), err("body.overlap.k", "must be at most 50"), id="k-big"),
    pytest.param(
        unchecked_overlap(k=2.5), err("body.overlap.k", "must be a whole number"), id="k-fraction"
    ),
    pytest.param(
        unchecked_overlap(iaa_share=1.5),
        err("body.overlap.iaa_share", "must be a number from 0 to 1"),
        id="iaa_share-above-one",
    ),
    pytest.param(
        unchecked_overlap(iaa_share=-0.1),
        err("body.overlap.iaa_share", "must be a number from 0 to 1"),
        id="iaa_share-negative",
    ),
    pytest.param(
        OverlapSpec(k=3, k_iaa=2, k_max=3),
        err("body.overlap.k_iaa", "must be at least k (3)"),
        id="k_iaa-below-k",
    ),
    pytest.param(
        unchecked_overlap(k_iaa=51),
        err("body.overlap.k_iaa", "must be at most 50"),
        id="k_iaa-big",
    ),
    pytest.param(
        OverlapSpec(k=3, k_iaa=3, k_max=2),
        err("body.overlap.k_max", "must be at least k (3)"),
        id="k_max-below-k",
    ),
    pytest.param(
        unchecked_overlap(k_max=51),
        err("body.overlap.k_max", "must be at most 50"),
        id="k_max-big",
    ),
    pytest.param(
        unchecked_overlap(dynamic="yes"),
        err("body.overlap.dynamic", "must be true or false"),
        id="dynamic-not-a-bool",
    ),
]


@pytest.mark.parametrize(("overlap", "expected"), OVERLAP_CASES)
def test_an_overlap_problem_is_reported_at_its_overlap_field(
    overlap: OverlapSpec, expected: FieldError
) -> None:
    assert settings_errors(project(overlap=overlap), EDIT) == [expected]


@pytest.mark.parametrize("gold_rate", [1.5, -0.25], ids=["above-one", "negative"])
def test_a_bad_gold_rate_is_reported_beside_the_overlap_not_in_it(gold_rate: float) -> None:
    errors = settings_errors(project(gold_rate=gold_rate), EDIT)
    assert errors == [err("body.gold_rate", "must be a number from 0 to 1")]
    assert all(e.field != "body.overlap.gold_rate" for e in errors)


@pytest.mark.parametrize("gold_rate", [0.0, 0.1, 1.0], ids=["zero", "a-tenth", "one"])
def test_a_gold_rate_from_zero_to_one_is_accepted(gold_rate: float) -> None:
    assert settings_errors(project(gold_rate=gold_rate), EDIT) == []


def test_an_unknown_escalating_flag_is_reported_at_its_index_naming_the_flags_sorted() -> None:
    adjudication = AdjudicationPolicy(escalate_flags=["unsafe", "blurry", "occlusion", "glare"])
    known = "ambiguous, edge_case, occlusion, rare_class, unsafe"
    assert settings_errors(project(adjudication=adjudication), QA) == [
        err(
            "body.adjudication.escalate_flags.1",
            f"the rubric has no flag 'blurry' (its flags: {known})",
        ),
        err(
            "body.adjudication.escalate_flags.3",
            f"the rubric has no flag 'glare' (its flags: {known})",
        ),
    ]


def test_an_escalating_flag_of_a_rubric_without_flags_names_none() -> None:
    adjudication = AdjudicationPolicy(escalate_flags=["unsafe"])
    assert settings_errors(project(adjudication=adjudication), PLAIN) == [
        err(
            "body.adjudication.escalate_flags.0",
            "the rubric has no flag 'unsafe' (its flags: none)",
        )
    ]


def test_the_flags_are_sorted_by_name_whatever_the_rubric_order() -> None:
    rubric = RubricDefinition(
        name="custom",
        flags=[FlagSpec(name=n, title=n) for n in ("zeta", "alpha", "mid")],
    )
    adjudication = AdjudicationPolicy(escalate_flags=["beta"])
    assert settings_errors(project(adjudication=adjudication), rubric) == [
        err(
            "body.adjudication.escalate_flags.0",
            "the rubric has no flag 'beta' (its flags: alpha, mid, zeta)",
        )
    ]


@pytest.mark.parametrize("skill", ["lead", "Role.Lead", "role..lead", "a.b.c.d.e"])
def test_an_adjudicator_skill_that_is_no_skill_id_is_refused(skill: str) -> None:
    errors = settings_errors(
        project(adjudication=AdjudicationPolicy(adjudicator_skill=skill)), EDIT
    )
    assert errors and {e.field for e in errors} == {"body.adjudication.adjudicator_skill"}
    assert all("e.g. role.adjudicator" in e.message for e in errors)


def test_an_adjudicator_skill_is_refused_naming_every_problem_of_its_id() -> None:
    policy = AdjudicationPolicy(adjudicator_skill="Lead")
    assert settings_errors(project(adjudication=policy), EDIT) == [
        err(
            "body.adjudication.adjudicator_skill",
            "a skill id has 2 to 4 dot-separated segments, not 1 (e.g. modality.video, "
            "task.av_sync) (a skill id as experts' skills have, e.g. role.adjudicator)",
        ),
        err(
            "body.adjudication.adjudicator_skill",
            "segment 1 ('Lead') may hold only lower-case letters a-z, digits and _ "
            "(a skill id as experts' skills have, e.g. role.adjudicator)",
        ),
    ]


@pytest.mark.parametrize("skill", ["role.adjudicator", "task.image_edit", "a.b.c.d", None])
def test_an_adjudicator_skill_of_the_experts_skill_id_form_is_accepted(skill: str | None) -> None:
    policy = AdjudicationPolicy(adjudicator_skill=skill)
    assert settings_errors(project(adjudication=policy), EDIT) == []


TAXONOMY_MESSAGE = (
    "the rubric asks for corrected labels: name the taxonomy version their classes come from"
)


ASKING = RubricDefinition(name="labels-only", labels=LabelsSpec(asked=True))


@pytest.mark.parametrize("rubric", [QA, ASKING], ids=["multimodal_label_qa", "labels-only"])
def test_a_rubric_asking_for_corrected_labels_needs_a_taxonomy(rubric: RubricDefinition) -> None:
    assert settings_errors(project(taxonomy=None), rubric) == [
        err("body.taxonomy", TAXONOMY_MESSAGE)
    ]


@pytest.mark.parametrize("rubric", [QA, ASKING], ids=["multimodal_label_qa", "labels-only"])
def test_a_rubric_asking_for_corrected_labels_is_satisfied_by_a_taxonomy(
    rubric: RubricDefinition,
) -> None:
    assert settings_errors(project(taxonomy=TAXONOMY), rubric) == []


@pytest.mark.parametrize("rubric", [EDIT, PLAIN], ids=["image_edit_evaluation", "plain"])
def test_a_rubric_without_corrected_labels_needs_no_taxonomy(rubric: RubricDefinition) -> None:
    assert settings_errors(project(taxonomy=None), rubric) == []


def test_every_settings_error_is_reported_at_once_in_order() -> None:
    overlap = unchecked_overlap(k=3, iaa_share=1.5, k_iaa=2, dynamic=None, k_max=1)
    adjudication = AdjudicationPolicy(escalate_flags=["nope", "unsafe", "never"])
    wrong = project(overlap=overlap, gold_rate=2.0, adjudication=adjudication, taxonomy=None)
    known = "ambiguous, edge_case, occlusion, rare_class, unsafe"
    assert settings_errors(wrong, QA) == [
        err("body.overlap.iaa_share", "must be a number from 0 to 1"),
        err("body.overlap.k_iaa", "must be at least k (3)"),
        err("body.overlap.k_max", "must be at least k (3)"),
        err("body.overlap.dynamic", "must be true or false"),
        err("body.gold_rate", "must be a number from 0 to 1"),
        err(
            "body.adjudication.escalate_flags.0",
            f"the rubric has no flag 'nope' (its flags: {known})",
        ),
        err(
            "body.adjudication.escalate_flags.2",
            f"the rubric has no flag 'never' (its flags: {known})",
        ),
        err("body.taxonomy", TAXONOMY_MESSAGE),
    ]


@pytest.mark.parametrize(
    ("rubric", "escalate_flags"),
    [(EDIT, ["unsafe"]), (QA, ["rare_class", "unsafe"]), (PLAIN, [])],
    ids=["image_edit_evaluation", "multimodal_label_qa", "plain"],
)
def test_a_consistent_project_has_no_settings_errors(
    rubric: RubricDefinition, escalate_flags: list[str]
) -> None:
    consistent = project(
        overlap=OverlapSpec(k=3, iaa_share=0.2, k_iaa=5, dynamic=True, k_max=7),
        gold_rate=0.05,
        adjudication=AdjudicationPolicy(escalate_flags=escalate_flags),
    )
    assert settings_errors(consistent, rubric) == []


# --- the project.changed event --------------------------------------------------------------

RUBRIC = RubricDefinition(
    name="scored",
    dimensions=[
        RatingDimension(name="sharpness", title="Sharpness", description="How crisp the edges are"),
        RatingDimension(name="fidelity", title="Fidelity to the brief", scale_min=0, scale_max=10),
    ],
)
ADJUDICATION = AdjudicationPolicy(
    min_agreement=0.8, adjudicator_skill="role.lead", escalate_flags=["unsafe"], audit_rate=0.1
)
OVERLAP = OverlapSpec(k=2, iaa_share=0.25, k_iaa=4, dynamic=True, k_max=6)
DUE = CREATED + timedelta(days=30)
CHANGED = CREATED + timedelta(hours=5)


def described() -> Project:
    """A project whose every field differs from the event's defaults."""
    return project(
        project_id="proj-77",
        tenant="globex",
        name="Edits, spring batch",
        modality=Modality.video,
        taxonomy=TAXONOMY,
        rubric=RubricRef(rubric_id="rub-9", version=4),
        required_skills={"video": 3, "color": 2, "motion": 5},
        overlap=OVERLAP,
        gold_rate=0.15,
        adjudication=ADJUDICATION,
        lease_ttl_s=900,
        lease_max_life_s=3_600,
        priority_weight=2.5,
        due_at=DUE,
        status=ACTIVE,
        revision=7,
        changed_at=CHANGED,
    )


def test_the_changed_event_describes_every_field_of_the_project() -> None:
    event = changed_event(described(), RUBRIC)
    expected = {
        "project_id": "proj-77",
        "tenant": "globex",
        "name": "Edits, spring batch",
        "modality": Modality.video,
        "taxonomy": TAXONOMY,
        "rubric": [
            RubricDimension(name="sharpness", description="Sharpness", scale_min=1, scale_max=5),
            RubricDimension(
                name="fidelity", description="Fidelity to the brief", scale_min=0, scale_max=10
            ),
        ],
        "overlap": 2,
        "gold_ratio": 0.15,
        "adjudication": ADJUDICATION,
        "required_skills": ["color", "motion", "video"],
        "status": ACTIVE,
        "revision": 7,
        "changed_at": CHANGED,
        "rubric_ref": RubricRef(rubric_id="rub-9", version=4),
        "skill_levels": {"video": 3, "color": 2, "motion": 5},
        "overlap_policy": OVERLAP,
        "lease_ttl_s": 900,
        "lease_max_life_s": 3_600,
        "priority_weight": 2.5,
        "due_at": DUE,
    }
    assert set(expected) == set(ProjectChangedV1.model_fields)
    assert {name: getattr(event, name) for name in ProjectChangedV1.model_fields} == expected


def test_the_changed_event_takes_a_dimensions_title_as_its_description() -> None:
    event = changed_event(described(), RUBRIC)
    assert [d.description for d in event.rubric] == ["Sharpness", "Fidelity to the brief"]


@pytest.mark.parametrize("rubric", [EDIT, QA], ids=["image_edit_evaluation", "multimodal_label_qa"])
def test_the_changed_event_lists_a_templates_dimensions_in_order(
    rubric: RubricDefinition,
) -> None:
    event = changed_event(described(), rubric)
    assert [(d.name, d.description, d.scale_min, d.scale_max) for d in event.rubric] == [
        (d.name, d.title, d.scale_min, d.scale_max) for d in rubric.dimensions
    ]


def test_the_changed_event_overlap_is_k_and_the_full_policy_rides_beside_it() -> None:
    event = changed_event(described(), RUBRIC)
    assert event.overlap == OVERLAP.k
    assert event.overlap_policy == OVERLAP


def test_the_changed_event_of_a_bare_project_carries_its_nones_and_empties() -> None:
    event = changed_event(project(taxonomy=None, due_at=None), PLAIN)
    assert event.taxonomy is None
    assert event.due_at is None
    assert event.rubric == []
    assert event.required_skills == []
    assert event.skill_levels == {}
    assert event.status is DRAFT
    assert event.revision == 1


skill_maps = st.dictionaries(st.text(min_size=1, max_size=12), st.integers(1, 5), max_size=30)


@given(skill_maps)
def test_the_changed_events_required_skills_are_always_the_sorted_keys_of_its_skill_levels(
    skills: dict[str, int],
) -> None:
    event = changed_event(project(required_skills=skills), PLAIN)
    assert event.skill_levels == skills
    assert event.required_skills == sorted(event.skill_levels)


def test_calibration_and_lease_life_refusals_are_reported_at_their_body_fields() -> None:
    # a stored policy the model would refuse today still gets each error at its own field
    policy = CalibrationPolicy.model_construct(floor=1.5, min_count=500)
    errors = settings_errors(
        project(calibration=policy, lease_ttl_s=900, lease_max_life_s=600), EDIT
    )
    assert errors == [
        err("body.calibration.floor", "the floor is from 0 to 1, not 1.5"),
        err(
            "body.calibration.min_count",
            "at most the 20 gold scores a calibration rests on (its window), not 500: more are "
            "never reached",
        ),
        err(
            "body.lease_max_life_s",
            "a lease's maximum life (600 s) is shorter than the lease TTL (900 s): set it to the "
            "TTL or more, or leave it unset (4 TTLs)",
        ),
    ]
