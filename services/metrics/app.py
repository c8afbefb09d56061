"""Metrics: streams agreement, accuracy, pre-label error, drift and throughput updates.

Agreement: ``judgment.submitted`` is re-keyed by project onto ``quorum.metrics.projects``;
the replica that owns a project's partition keeps its tallies and stores snapshots; every
replica follows ``quorum.metrics`` to tell its live streams (``handlers.agreement``,
``handlers.live``, docs/metrics.md "State and scale").
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from services.metrics import api
from services.metrics.api.problems import PROBLEMS
from services.metrics.handlers.agreement import Agreement
from services.metrics.handlers.alerts import AlertLane
from services.metrics.handlers.expert_quality import ExpertQuality
from services.metrics.handlers.live import Changes, LiveAgreement, StreamTiming
from services.metrics.handlers.placement import Placement
from services.metrics.handlers.prelabels import Prelabels
from services.metrics.handlers.throughput import Throughput
from services.metrics.settings import MetricsSettings
from services.metrics.stores import (
    alerts,
    expert_quality,
    judged_items,
    prelabels,
    tallies,
    throughput,
)
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.metrics import METRICS, METRICS_UPDATED, PROJECT_JUDGMENT, PROJECTS
from shared.contracts.taxonomy import VERSION_PUBLISHED
from shared.contracts.work import (
    GOLD_SCORED,
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    PROJECT_CHANGED,
    WORK_CREATED,
    WORK_EXPIRED,
    WORK_LEASED,
    WORK_RELEASED,
)
from shared.events.envelope import Event
from shared.http.app import create_service_app
from shared.kafka.consumer import and_then, in_turn
from shared.kafka.tail import Tail
from shared.runtime import Runtime, RuntimeSpec
from shared.taxonomy.cache import TaxonomyCache

SOURCE = "/quorum/metrics"


def create_app(settings: MetricsSettings) -> FastAPI:
    runtime = Runtime(settings)
    changes = Changes()
    taxonomy = TaxonomyCache(runtime.db)
    judged = judged_items.JudgedItemStore(runtime.db)
    agreement = Agreement(
        judged,
        tallies.TallyStore(runtime.db),
        runtime.bus,
        taxonomy,
        source=SOURCE,
        snapshot_seconds=settings.snapshot_seconds,
    )

    async def heard(event: Event[Any]) -> None:
        if event.type == METRICS_UPDATED.type:
            changes.notify(event.data.tenant, event.data.project_id)
        else:
            await agreement.on_version_published(event)

    # every replica hears of every snapshot (its live streams) and every taxonomy version
    # (the projects it owns are rebuilt with labels in the new version)
    broadcast = Tail(
        runtime.kafka, runtime.bus, [METRICS_UPDATED, VERSION_PUBLISHED], heard, name="broadcast"
    )
    live = LiveAgreement(
        agreement,
        changes,
        StreamTiming(
            heartbeat_seconds=settings.stream_heartbeat_seconds,
            coalesce_seconds=settings.stream_coalesce_seconds,
            max_seconds=settings.stream_max_seconds,
        ),
    )
    prelabelled = Prelabels(prelabels.PrelabelStore(runtime.db))
    flow = Throughput(throughput.ThroughputStore(runtime.db))
    alert_store = alerts.AlertStore(runtime.db, runtime.outbox)
    quality = ExpertQuality(
        expert_quality.ExpertQualityStore(
            runtime.db, drift_min_count=settings.expert_drift_min_count
        ),
        judged,
        alert_store,
        source=SOURCE,
        dawid_skene_interval_seconds=settings.dawid_skene_interval_seconds,
    )
    lane = AlertLane(
        alert_store,
        judged,
        source=SOURCE,
        interval_seconds=settings.alert_interval_seconds,
        quiet_seconds=settings.alert_quiet_seconds,
        max_wait_seconds=settings.alert_max_wait_seconds,
        window_items=settings.drift_window_items,
    )
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=(
                *judged_items.INDEXES,
                *tallies.INDEXES,
                *prelabels.INDEXES,
                *throughput.INDEXES,
                *expert_quality.INDEXES,
                *alerts.INDEXES,
            ),
            # alerts (the lane's and expert accuracy's) with their own document, once per id
            outbox_collections=(*expert_quality.OUTBOX_COLLECTIONS, *alerts.OUTBOX_COLLECTIONS),
            published_topics=[METRICS, PROJECTS],
            consumed={
                # re-keyed by project (a redelivery publishes it again: harmless below)
                JUDGMENT_SUBMITTED: in_turn(
                    agreement.on_judgment_submitted,
                    flow.on_judgment_submitted,
                    quality.on_judgment_submitted,
                ),
                # the owner's store takes a judgment once, whatever its event id
                # ... then its project is marked changed for the alert lane
                PROJECT_JUDGMENT: in_turn(agreement.on_project_judgment, lane.on_project_judgment),
                # stored (idempotent); every replica hears it from the broadcast tail and rebuilds
                VERSION_PUBLISHED: taxonomy.apply,
                # pre-labels are written once; an outcome only over a lower revision
                MEDIA_REGISTERED: in_turn(
                    prelabelled.on_media_registered,
                    flow.on_media_registered,
                    lane.on_media_registered,
                ),
                ITEM_RESOLVED: in_turn(
                    prelabelled.on_item_resolved,
                    flow.on_item_resolved,
                    quality.on_item_resolved,
                    lane.on_item_resolved,
                ),
                # fed once per gold judgment (its own document), whatever its event id
                GOLD_SCORED: quality.on_gold_scored,
                # throughput: idempotent writes of each unit's lifecycle document
                WORK_CREATED: flow.on_work_created,
                # each project's required skills (queue depth by skill)
                PROJECT_CHANGED: flow.on_project_changed,
                WORK_LEASED: flow.on_work_leased,
                WORK_RELEASED: flow.on_work_released,
                WORK_EXPIRED: flow.on_work_expired,
            },
            consumed_in_batches={
                # the batch path records each judgment's throughput too
                # ... and each review judgment beside its item's outcome
                JUDGMENT_SUBMITTED: and_then(
                    agreement.on_judgments_submitted,
                    flow.on_judgments_submitted,
                    quality.on_judgments_submitted,
                ),
                # per project: one read of the items and one bulk write
                PROJECT_JUDGMENT: and_then(
                    agreement.on_project_judgments, lane.on_project_judgments
                ),
            },
            consumed_without_inbox=[PROJECT_JUDGMENT],
            background=[
                agreement.snapshots,
                broadcast.run,
                quality.dawid_skene_loop,
                lane.alert_loop,
            ],
            on_partitions_revoked=[agreement.forget],
        ),
        use_cases=[agreement, Placement(judged), live, prelabelled, flow, quality, lane],
        before_start=[taxonomy.load],
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput "
        "updates. Today: agreement per project and field, computed from the judgments "
        "submitted (`quorum.judgment.submitted.v1`); pre-label systematic errors and "
        "calibration per model version, from the pre-labels registered "
        "(`quorum.media.registered.v1`) and the outcomes (`quorum.item.resolved.v1`).",
        routers=api.ROUTERS,
        problems=PROBLEMS,
    )
