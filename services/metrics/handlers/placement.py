"""Spatial and temporal agreement of a project (docs/metrics.md "Spatial and temporal
agreement"): regions (box, polygon, mask IoU after optimal matching), time segments (IoU and
event-based F1 with sed_eval's collars, symmetric) and audio-visual sync offsets, from each
expert's latest judgment of each item, computed on read from the stored items (O(items of
the project or window)) with the states of ``agreement.spatial_temporal``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.metrics.agreement.spatial_temporal import (
    SYNC_OFFSET_DIMENSION,
    RegionAgreementState,
    SegmentAgreementState,
    SyncOffsetState,
    is_region,
    is_segment,
)
from services.metrics.errors import NotFound
from services.metrics.project_agreement import ALL, chosen
from services.metrics.stores.judged_items import JudgedItemStore

SYNC_FIELD = f"rating.{SYNC_OFFSET_DIMENSION}"


@dataclass(frozen=True)
class Placement:
    items: JudgedItemStore

    async def project(
        self,
        tenant: str,
        project_id: str,
        *,
        rubric_version: int | None,
        window: timedelta | None,
    ) -> dict[str, Any]:
        since = None if window is None else datetime.now(UTC) - window
        view = ALL if rubric_version is None else rubric_version
        regions = RegionAgreementState()
        segments = SegmentAgreementState()
        sync = SyncOffsetState()
        found = False
        async for item, entries in self.items.items_of_project(tenant, project_id, since=since):
            found = True
            for expert, entry in chosen(entries, view, since).items():
                # an expert who placed none on an item counts so (another's regions there
                # are unmatched); an item where nobody placed one has no figure
                regions.record(item, expert, [x for x in entry.placed if is_region(x)])
                segments.record(item, expert, [x for x in entry.placed if is_segment(x)])
                offset = entry.fields.get(SYNC_FIELD)
                if isinstance(offset, float):
                    sync.record(item, expert, offset)
        if not found and not await self.items.has_project(tenant, project_id):
            raise NotFound(f"project {project_id}")
        return {
            "regions": regions.figures(),
            "segments": segments.figures(),
            "sync_offsets": sync.figures(),
        }
