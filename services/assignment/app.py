"""Assignment: routes work to vetted experts by skill, with overlap, gold items, leases and
adjudication."""

from __future__ import annotations

from fastapi import FastAPI

from services.assignment import api, calibration
from services.assignment.handlers.alerts import Alerts
from services.assignment.handlers.calibrations import Calibrations
from services.assignment.handlers.experts import Experts
from services.assignment.handlers.feedback import Feedbacks
from services.assignment.handlers.forms import RubricForms
from services.assignment.handlers.gold import GoldItems
from services.assignment.handlers.gold_serving import GoldServing
from services.assignment.handlers.handout import Handout
from services.assignment.handlers.items import Items
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
)
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.metrics import METRICS_ALERT
from shared.contracts.taxonomy import VERSION_PUBLISHED
from shared.contracts.work import EXPERTS, GOLD_SCORED, JUDGMENT_SUBMITTED, PROJECTS, WORK
from shared.http.app import create_service_app
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
    gold_serving = GoldServing(gold_store, item_store)
    calibration_uses = Calibrations(calibration_store, project_store, expert_store)
    item_uses = Items(item_store, project_store)
    expert_uses = Experts(expert_store)
    qualification_store = qualifications.QualificationStore(runtime.db, runtime.outbox)
    qualifying = QualificationServing(qualification_store, item_store, expert_uses)
    resolutions = Resolutions(item_store, project_store, forms)
    alerts = Alerts(item_store, project_store, resolutions)
    lease_uses = Leases(
        lease_store, item_store, project_store, sweep_interval_s=settings.lease_sweep_interval_s
    )
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
                VERSION_PUBLISHED: taxonomy.apply,
                METRICS_ALERT: alerts.on_metrics_alert,
                # the step after a stored judgment, again: taken if a replica stopped first
                JUDGMENT_SUBMITTED: resolutions.on_judgment_submitted,
                GOLD_SCORED: calibration_uses.on_gold_scored,
            },
            consumed_without_inbox=[JUDGMENT_SUBMITTED, GOLD_SCORED],
            background=[lease_uses.run_expiry],
        ),
        use_cases=[
            item_uses,
            Outcomes(item_store, forms, taxonomy, resolutions),
            expert_uses,
            Rubrics(rubric_store),
            Projects(project_store, rubric_store, item_store),
            Rosters(roster_store, project_store, expert_store),
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
            ),
            lease_uses,
            Ledger(item_store),
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
            GoldItems(gold_store, project_store, forms, taxonomy),
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
    )
