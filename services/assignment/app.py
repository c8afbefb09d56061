"""Assignment: routes work to vetted experts by skill, with overlap, gold items, leases and
adjudication."""

from __future__ import annotations

from fastapi import FastAPI

from services.assignment import api, calibration
from services.assignment.api.problems import PROBLEMS
from services.assignment.handlers.alerts import Alerts
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.experts import Experts
from services.assignment.handlers.feedback import Feedbacks
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.gold import GoldItems
from services.assignment.handlers.gold_serving import GoldServing
from services.assignment.handlers.handout import Handout
from services.assignment.handlers.items import Items
from services.assignment.handlers.judgment_export import JudgmentExport
from services.assignment.handlers.judgments import Judgments
from services.assignment.handlers.leases import Leases
from services.assignment.handlers.ledger import Ledger
from services.assignment.handlers.outcomes import Outcomes
from services.assignment.handlers.profiles import Profiles
from services.assignment.handlers.projects import Projects
from services.assignment.handlers.qualification_serving import QualificationServing
from services.assignment.handlers.qualifications import Qualifications
from services.assignment.handlers.resolutions import Resolutions
from services.assignment.handlers.rosters import Rosters
from services.assignment.handlers.rubrics import Rubrics
from services.assignment.handlers.staffing import Staffing
from services.assignment.handlers.withdrawals import WITHDRAWAL_GRACE_S, Withdrawals
from services.assignment.settings import AssignmentSettings
from services.assignment.stores import (
    calibrations,
    experts,
    feedback,
    gold,
    items,
    leases,
    projects,
    qualifications,
    rosters,
    rubrics,
    secrets,
)
from services.assignment.stores import withdrawals as withdrawal_store
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.metrics import METRICS_ALERT
from shared.contracts.taxonomy import VERSION_PUBLISHED
from shared.contracts.work import (
    EXPERTS,
    GOLD_SCORED,
    JUDGMENT_SUBMITTED,
    PROJECT_CHANGED,
    PROJECTS,
    WORK,
)
from shared.http.app import create_service_app
from shared.kafka.consumer import in_turn
from shared.runtime import Runtime, RuntimeSpec
from shared.taxonomy.cache import TaxonomyCache


def create_app(settings: AssignmentSettings) -> FastAPI:
    runtime = Runtime(settings)
    expert_store = experts.ExpertStore(runtime.db)
    rubric_store = rubrics.RubricStore(runtime.db)
    project_store = projects.ProjectStore(runtime.db, runtime.outbox)
    roster_store = rosters.RosterStore(runtime.db)
    item_store = items.ItemStore(runtime.db, runtime.outbox)
    lease_store = leases.LeaseStore(runtime.db)
    forms = RubricForms(rubric_store)
    taxonomy = TaxonomyCache(runtime.db)
    gold_store = gold.GoldStore(runtime.db)
    calibration_store = calibrations.CalibrationStore(
        runtime.db, runtime.outbox, keep=calibration.kept()
    )
    project_secrets = secrets.ProjectSecrets(runtime.db)
    gold_serving = GoldServing(gold_store, item_store, project_secrets)
    lease_uses = Leases(
        lease_store,
        item_store,
        project_store,
        gold=gold_store,
        sweep_interval_s=settings.lease_sweep_interval_s,
    )
    withdrawals = Withdrawals(
        withdrawal_store.WithdrawalStore(runtime.db),
        lease_uses,
        lease_store,
        expert_store,
        roster_store,
        calibration_store,
        project_store,
        # settled again once no replica can hand out from a profile read before the change
        grace_s=settings.handout_profile_ttl_s + WITHDRAWAL_GRACE_S,
        sweep_interval_s=settings.lease_sweep_interval_s,
    )
    calibration_uses = Calibrations(calibration_store, project_store, expert_store, withdrawals)
    item_uses = Items(item_store, project_store, project_secrets)
    expert_uses = Experts(expert_store, withdrawals)
    qualification_store = qualifications.QualificationStore(runtime.db, runtime.outbox)
    qualifying = QualificationServing(qualification_store, item_store, expert_uses)
    resolutions = Resolutions(item_store, project_store, forms, project_secrets)
    alerts = Alerts(item_store, project_store, resolutions)
    gold_items = GoldItems(gold_store, project_store, forms, taxonomy)
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=(
                *items.INDEXES,
                *experts.INDEXES,
                *rubrics.INDEXES,
                *projects.INDEXES,
                *rosters.INDEXES,
                *leases.INDEXES,
                *gold.INDEXES,
                *calibrations.INDEXES,
                *qualifications.INDEXES,
                *feedback.INDEXES,
                *withdrawal_store.INDEXES,
            ),
            outbox_collections=(
                *items.OUTBOX_COLLECTIONS,
                *projects.OUTBOX_COLLECTIONS,
                *calibrations.OUTBOX_COLLECTIONS,
                *qualifications.OUTBOX_COLLECTIONS,
                *feedback.OUTBOX_COLLECTIONS,
            ),
            published_topics=[PROJECTS, WORK, EXPERTS],
            consumed={
                MEDIA_REGISTERED: item_uses.on_media_registered,
                # a version gold was stale under for want of it: checked again
                VERSION_PUBLISHED: in_turn(taxonomy.apply, gold_items.on_version_published),
                METRICS_ALERT: alerts.on_metrics_alert,
                # the step after a stored judgment, again: taken if a replica stopped first
                JUDGMENT_SUBMITTED: resolutions.on_judgment_submitted,
                GOLD_SCORED: calibration_uses.on_gold_scored,
                # the project's gold checked against the versions it uses now
                PROJECT_CHANGED: gold_items.on_project_changed,
            },
            consumed_without_inbox=[JUDGMENT_SUBMITTED, GOLD_SCORED, PROJECT_CHANGED],
            background=[lease_uses.run_expiry, withdrawals.run],
        ),
        use_cases=[
            item_uses,
            Outcomes(item_store, forms, taxonomy, resolutions),
            expert_uses,
            Rubrics(rubric_store),
            Projects(project_store, rubric_store, item_store, withdrawals),
            Rosters(roster_store, project_store, expert_store, withdrawals),
            Handout(
                item_store,
                lease_store,
                Profiles(
                    expert_store,
                    roster_store,
                    project_store,
                    calibration_store,
                    qualifying,
                    ttl_s=settings.handout_profile_ttl_s,
                ),
                forms,
                gold_serving,
                qualifying,
                page=settings.handout_candidates,
                signing=settings.media_signing(),
            ),
            lease_uses,
            withdrawals,
            Ledger(item_store),
            JudgmentExport(item_store, project_store, project_secrets),
            Judgments(
                item_store,
                lease_store,
                forms,
                taxonomy,
                resolutions,
                gold_serving,
                calibration_uses,
                qualifying,
            ),
            gold_items,
            calibration_uses,
            Feedbacks(feedback.FeedbackStore(runtime.db, runtime.outbox), item_store, taxonomy),
            Staffing(
                project_store,
                expert_store,
                roster_store,
                lease_store,
                item_store,
                calibration_uses,
            ),
            Qualifications(
                qualification_store,
                qualifying,
                item_store,
                expert_store,
                rubric_store,
                forms,
                taxonomy,
            ),
        ],
        before_start=[taxonomy.load],
        title="Quorum assignment",
        description="Routes review work to vetted experts by skill, with overlap, gold items, "
        "leases and adjudication.",
        routers=api.ROUTERS,
        problems=PROBLEMS,
    )
