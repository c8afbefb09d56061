"""Project rules, free of I/O: the status moves, whether a project's settings hold together
with its rubric version, and the ``project.changed`` event that describes a project."""

from __future__ import annotations

from collections.abc import Mapping

from services.assignment import calibration, leasing
from services.assignment.eligibility import skill_id_errors
from services.assignment.models.projects import Project
from services.assignment.sampling import OverlapPolicy, policy_errors
from shared.contracts.rubric import RubricDefinition
from shared.contracts.work import ProjectChangedV1, ProjectStatus, RubricDimension
from shared.errors import FieldError

#: draft -> active -> paused <-> active; any but closed -> closed; closed is final.
STATUS_MOVES: Mapping[ProjectStatus, frozenset[ProjectStatus]] = {
    ProjectStatus.draft: frozenset({ProjectStatus.active, ProjectStatus.closed}),
    ProjectStatus.active: frozenset({ProjectStatus.paused, ProjectStatus.closed}),
    ProjectStatus.paused: frozenset({ProjectStatus.active, ProjectStatus.closed}),
    ProjectStatus.closed: frozenset(),
}


def status_errors(current: ProjectStatus, target: ProjectStatus) -> list[str]:
    """Why a project in ``current`` may not move to ``target`` (empty: it may)."""
    if current == target:
        return [f"the project is already {current}"]
    allowed = STATUS_MOVES[current]
    if target in allowed:
        return []
    if not allowed:
        return [f"{current} is final: a closed project does not reopen"]
    return [
        f"a {current} project cannot become {target}; from {current}: {', '.join(sorted(allowed))}"
    ]


def overlap_policy(project: Project) -> OverlapPolicy:
    """The project's overlap and gold settings as the sampling rules take them."""
    overlap = project.overlap
    return OverlapPolicy(
        k=overlap.k,
        iaa_share=overlap.iaa_share,
        k_iaa=overlap.k_iaa,
        dynamic=overlap.dynamic,
        k_max=overlap.k_max,
        gold_rate=project.gold_rate,
    )


def settings_errors(project: Project, rubric: RubricDefinition) -> list[FieldError]:
    """Every way the project's settings contradict each other or its rubric version."""
    errors = policy_errors(overlap_policy(project), where="body.overlap")
    # gold_rate sits beside overlap in the body, not in it
    errors = [
        FieldError(field="body.gold_rate", message=e.message)
        if e.field == "body.overlap.gold_rate"
        else e
        for e in errors
    ]
    skill = project.adjudication.adjudicator_skill
    if skill is not None:
        errors.extend(
            FieldError(
                field="body.adjudication.adjudicator_skill",
                message=f"{message} (a skill id as experts' skills have, e.g. role.adjudicator)",
            )
            for message in skill_id_errors(skill)
        )
    flags = {f.name for f in rubric.flags}
    for index, flag in enumerate(project.adjudication.escalate_flags):
        if flag not in flags:
            known = ", ".join(sorted(flags)) or "none"
            errors.append(
                FieldError(
                    field=f"body.adjudication.escalate_flags.{index}",
                    message=f"the rubric has no flag {flag!r} (its flags: {known})",
                )
            )
    errors.extend(
        FieldError(field=f"body.calibration.{e.field}", message=e.message)
        for e in calibration.policy_errors(project.calibration.floor, project.calibration.min_count)
    )
    errors.extend(leasing.life_errors(project.lease_ttl_s, project.lease_max_life_s))
    if rubric.labels.asked and project.taxonomy is None:
        errors.append(
            FieldError(
                field="body.taxonomy",
                message="the rubric asks for corrected labels: name the taxonomy version "
                "their classes come from",
            )
        )
    return errors


def changed_event(project: Project, rubric: RubricDefinition) -> ProjectChangedV1:
    """The full description of the project that ``project.changed`` carries."""
    return ProjectChangedV1(
        project_id=project.project_id,
        tenant=project.tenant,
        name=project.name,
        modality=project.modality,
        taxonomy=project.taxonomy,
        rubric=[
            RubricDimension(
                name=d.name, description=d.title, scale_min=d.scale_min, scale_max=d.scale_max
            )
            for d in rubric.dimensions
        ],
        overlap=project.overlap.k,
        gold_ratio=project.gold_rate,
        adjudication=project.adjudication,
        required_skills=sorted(project.required_skills),
        status=project.status,
        revision=project.revision,
        changed_at=project.changed_at,
        rubric_ref=project.rubric,
        skill_levels=dict(project.required_skills),
        overlap_policy=project.overlap,
        lease_ttl_s=project.lease_ttl_s,
        lease_max_life_s=project.lease_max_life_s,
        priority_weight=project.priority_weight,
        due_at=project.due_at,
    )
