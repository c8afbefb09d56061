"""Spatial and temporal agreement through the service: boxes, time segments and sync offsets
of judgments published on ``quorum.judgment.submitted.v1`` give the figures of the pure
states on the same labels (tested against mir_eval and by hand in
test_spatial_temporal.py), with hand-checked values; the route's denials."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from services.metrics.agreement.spatial_temporal import (
    RegionAgreementState,
    SegmentAgreementState,
    SyncOffsetState,
)
from shared.contracts.vocabulary import Box, Label, TimeSegment
from tests.kafka_helpers import eventually
from tests.metrics.conftest import MetricsUnderTest
from tests.metrics.judgments import judgment, submitted
from tests.service_helpers import auth, publish

pytestmark = pytest.mark.integration

PROJECT = "p-spatial"
URL = f"/v1/projects/{PROJECT}/agreement/spatial"


def box(x: float, y: float, w: float, h: float, class_id: str = "car") -> Label:
    return Label(class_id=class_id, geometry=Box(x=x, y=y, width=w, height=h))


def segment(start: float, end: float, class_id: str = "speech") -> Label:
    return Label(class_id=class_id, segment=TimeSegment(start_s=start, end_s=end))


# item 0: the same box twice (IoU 1); item 1: boxes overlapping by a third (IoU 1/2 of... see
# below); item 2: segments, one with its onset 0.1 s late; items 0-2 carry sync offsets
LABELS = {
    (0, 0): [box(0, 0, 10, 10)],
    (0, 1): [box(0, 0, 10, 10)],
    (1, 0): [box(0, 0, 10, 10)],
    (1, 1): [box(5, 0, 10, 10)],  # intersection 50, union 150: IoU 1/3
    (2, 0): [segment(1.0, 3.0), segment(5.0, 6.0)],
    (2, 1): [segment(1.1, 3.0)],  # one event matched of three: F1 2/3 each way
}
OFFSETS = {(0, 0): 40.0, (0, 1): 60.0, (1, 0): -20.0, (1, 1): 20.0, (2, 0): 0.0, (2, 1): 10.0}
JUDGMENTS = [
    judgment(
        PROJECT,
        n,
        item,
        expert,
        labels=LABELS[(item, expert)],
        ratings={"av_sync_offset_ms": OFFSETS[(item, expert)]},
    )
    for n, (item, expert) in enumerate(sorted(LABELS), start=1)
]


def expected() -> dict[str, Any]:
    item = [(j.item_id, j.expert_id, j.labels) for j in JUDGMENTS]
    offsets = [(j.item_id, j.expert_id, j.ratings["av_sync_offset_ms"]) for j in JUDGMENTS]
    return {
        "regions": RegionAgreementState.from_labels(item).figures(),
        "segments": SegmentAgreementState.from_labels(item).figures(),
        "sync_offsets": SyncOffsetState.from_offsets(offsets).figures(),
    }


async def placement(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    return await client.get(URL, params=params, headers=auth("client"))


async def test_region_segment_and_sync_figures_equal_the_pure_states(
    metrics: MetricsUnderTest,
) -> None:
    await publish(metrics.settings, *(submitted(j) for j in JUDGMENTS))
    want = expected()

    async def settled() -> dict[str, Any] | None:
        response = await placement(metrics.client)
        if response.status_code != 200:
            return None
        body: dict[str, Any] = response.json()
        found = {k: body[k] for k in ("regions", "segments", "sync_offsets")}
        return body if found == want else None

    body = await eventually(settled, timeout=60)
    # by hand: two items of boxes (the third has none: no figure), mean of 1 and 1/3
    assert body["regions"]["mean_iou"]["n"] == 2
    assert body["regions"]["mean_iou"]["value"] == pytest.approx((1 + 1 / 3) / 2)
    # one item of segments: onset 0.1 s late is inside the 0.2 s collar, the second event of
    # expert 0 is unmatched: F1 = 2 * 1 / (2 + 1) both ways
    assert body["segments"]["event_f1"]["n"] == 1
    assert body["segments"]["event_f1"]["value"] == pytest.approx(2 / 3)
    # sync offsets: pairs differ by 20, 40 and 10 ms; each item's variance is d^2 / 2
    assert body["sync_offsets"]["items"] == 3
    pooled = ((20**2 + 40**2 + 10**2) / 2 / 3) ** 0.5
    assert body["sync_offsets"]["pooled_sd"]["value"] == pytest.approx(pooled)
    assert body["sync_offsets"]["pooled_sd"]["df"] == 3
    assert body["sync_offsets"]["median_abs_difference"]["value"] == pytest.approx(20.0)
    # the window holds none of these (submitted in January 2026)
    windowed = (await placement(metrics.client, window="1h")).json()
    assert windowed["regions"]["items"] == 0 and windowed["regions"]["mean_iou"]["value"] is None


async def test_the_spatial_route_denials(metrics: MetricsUnderTest) -> None:
    client = metrics.client
    assert (await client.get(URL, headers=auth("expert"))).status_code == 403
    assert (await client.get(URL)).status_code == 401
    for headers in (auth("ops", tenant="globex"), auth("client", tenant="globex")):
        response = await client.get(URL, headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
