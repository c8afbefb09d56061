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
from services.metrics.handlers.live import Changes, LiveAgreement, StreamTiming
from services.metrics.handlers.prelabels import Prelabels
from services.metrics.handlers.throughput import Throughput
from services.metrics.settings import MetricsSettings
from services.metrics.stores import judged_items, prelabels, tallies, throughput
from shared.contracts.media import MEDIA_REGISTERED
from shared.contracts.metrics import METRICS, METRICS_UPDATED, PROJECT_JUDGMENT, PROJECTS
from shared.contracts.work import (
    ITEM_RESOLVED,
    JUDGMENT_SUBMITTED,
    WORK_CREATED,
    WORK_EXPIRED,
    WORK_LEASED,
    WORK_RELEASED,
)
from shared.events.envelope import Event
from shared.http.app import create_service_app
from shared.kafka.consumer import in_turn
from shared.kafka.tail import Tail
from shared.runtime import Runtime, RuntimeSpec

SOURCE = "/quorum/metrics"


def create_app(settings: MetricsSettings) -> FastAPI:
    runtime = Runtime(settings)
    changes = Changes()
    agreement = Agreement(
        judged_items.JudgedItemStore(runtime.db),
        tallies.TallyStore(runtime.db),
        runtime.bus,
        source=SOURCE,
        snapshot_seconds=settings.snapshot_seconds,
    )

    def updated(event: Event[Any]) -> None:
        changes.notify(event.data.tenant, event.data.project_id)

    # every replica's live streams hear of every snapshot, whichever replica stored it
    snapshots = Tail(runtime.kafka, runtime.bus, [METRICS_UPDATED], updated, name="snapshots")
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
    return create_service_app(
        settings,
        runtime=runtime,
        spec=RuntimeSpec(
            indexes=(
                *judged_items.INDEXES,
                *tallies.INDEXES,
                *prelabels.INDEXES,
                *throughput.INDEXES,
            ),
            published_topics=[METRICS, PROJECTS],
            consumed={
                # re-keyed by project (a redelivery publishes it again: harmless below)
                JUDGMENT_SUBMITTED: in_turn(
                    agreement.on_judgment_submitted, flow.on_judgment_submitted
                ),
                # the owner's store takes a judgment once, whatever its event id
                PROJECT_JUDGMENT: agreement.on_project_judgment,
                # pre-labels are written once; an outcome only over a lower revision
                MEDIA_REGISTERED: in_turn(
                    prelabelled.on_media_registered, flow.on_media_registered
                ),
                ITEM_RESOLVED: in_turn(prelabelled.on_item_resolved, flow.on_item_resolved),
                # throughput: idempotent writes of each unit's lifecycle document
                WORK_CREATED: flow.on_work_created,
                WORK_LEASED: flow.on_work_leased,
                WORK_RELEASED: flow.on_work_released,
                WORK_EXPIRED: flow.on_work_expired,
            },
            consumed_in_batches={
                # the batch path records each judgment's throughput too
                JUDGMENT_SUBMITTED: flow.also_in_batches(agreement.on_judgments_submitted)
            },
            consumed_without_inbox=[PROJECT_JUDGMENT],
            background=[agreement.snapshots, snapshots.run],
            on_partitions_revoked=[agreement.forget],
        ),
        use_cases=[agreement, live, prelabelled, flow],
        title="Quorum metrics",
        description="Streams agreement, accuracy, pre-label error, drift and throughput "
        "updates. Today: agreement per project and field, computed from the judgments "
        "submitted (`quorum.judgment.submitted.v1`); pre-label systematic errors and "
        "calibration per model version, from the pre-labels registered "
        "(`quorum.media.registered.v1`) and the outcomes (`quorum.item.resolved.v1`).",
        routers=api.ROUTERS,
        problems=PROBLEMS,
    )
