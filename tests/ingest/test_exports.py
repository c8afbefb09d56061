"""Export formats of services/ingest/exports.py, without servers: JSON lines byte for byte,
and the COCO entries of resolved items (boxes, polygons by the shoelace formula, masks
boxed from their runs, and the labels COCO cannot hold, left out and counted)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest import exports
from services.ingest.exports import (
    JSONL_MEDIA_TYPE,
    coco_image,
    coco_info,
    coco_item_annotations,
    jsonl_line,
)
from services.ingest.models import MediaItem
from tests.ingest.bodies import registration
from tests.shared.annotation_cases import coco_compress

REGISTERED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SHA = "a" * 64
IMAGE = {
    "modality": "image",
    "uri": "s3://acme/frames/1.jpg",
    "sha256": SHA,
    "size_bytes": 1000,
    "width": 640,
    "height": 480,
    "format": "jpeg",
}
CATEGORY_OF = {"car": 3, "person": 1, "siren": 2, "caption": 9}


def media_item(*final_labels: dict[str, Any], **over: Any) -> MediaItem:
    """A resolved image item with these final labels (``final_labels=None``: unresolved)."""
    body: dict[str, Any] = {
        "item_id": "it-1",
        "tenant": "acme",
        "external_id": "ext-1",
        "project_id": "p-image",
        "modality": "image",
        "media": IMAGE,
        "registered_at": REGISTERED_AT,
        "status": "resolved",
        "final_labels": list(final_labels),
        **over,
    }
    return MediaItem.model_validate(body)


def annotations_of(
    *labels: dict[str, Any], image_id: int = 17, first_id: int = 100
) -> tuple[list[dict[str, Any]], int]:
    return coco_item_annotations(media_item(*labels), image_id, CATEGORY_OF, first_id)


def box(x: float, y: float, width: float, height: float) -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": y, "width": width, "height": height}


def polygon(*points: tuple[float, float]) -> dict[str, Any]:
    return {"kind": "polygon", "points": [list(p) for p in points]}


def rle(height: int, width: int, ones: set[tuple[int, int]]) -> list[int]:
    """Uncompressed COCO RLE of a mask whose ``ones`` are (column, row): column-major runs,
    zeros first."""
    counts: list[int] = []
    current, run = 0, 0
    for column in range(width):
        for row in range(height):
            value = 1 if (column, row) in ones else 0
            if value != current:
                counts.append(run)
                current, run = value, 0
            run += 1
    counts.append(run)
    return counts


def extent(ones: set[tuple[int, int]]) -> list[float]:
    """The COCO bbox [x, y, width, height] of the cells ``ones`` cover."""
    columns = [c for c, _ in ones]
    rows = [r for _, r in ones]
    return [
        float(min(columns)),
        float(min(rows)),
        float(max(columns) - min(columns) + 1),
        float(max(rows) - min(rows) + 1),
    ]


# --- JSON lines ---------------------------------------------------------------------------


def test_json_lines_are_served_as_ndjson() -> None:
    assert JSONL_MEDIA_TYPE == "application/x-ndjson"


def test_a_queued_item_is_one_line_of_json_without_its_empty_fields() -> None:
    queued = media_item(final_labels=None, status="queued")
    assert jsonl_line(queued) == (
        b'{"item_id":"it-1","tenant":"acme","external_id":"ext-1","project_id":"p-image",'
        b'"modality":"image","media":{"uri":"s3://acme/frames/1.jpg","sha256":"'
        + SHA.encode()
        + b'","size_bytes":1000,"modality":"image","width":640,"height":480,"format":"jpeg"},'
        b'"registered_at":"2026-01-02T03:04:05Z","status":"queued"}\n'
    )


def test_a_resolved_item_line_leaves_out_empty_fields_at_every_depth() -> None:
    resolved = media_item(
        {"class_id": "car", "geometry": box(1, 2, 3, 4)},
        capture={"device": "rig-2"},
        taxonomy={"ontology_id": "street", "version": 1},
        resolution={
            "method": "consensus",
            "judgment_ids": ["j1"],
            "resolved_at": datetime(2026, 1, 3, tzinfo=UTC),
        },
    )
    assert jsonl_line(resolved) == (
        b'{"item_id":"it-1","tenant":"acme","external_id":"ext-1","project_id":"p-image",'
        b'"modality":"image","media":{"uri":"s3://acme/frames/1.jpg","sha256":"'
        + SHA.encode()
        + b'","size_bytes":1000,"modality":"image","width":640,"height":480,"format":"jpeg"},'
        b'"capture":{"device":"rig-2","tags":[]},"taxonomy":{"ontology_id":"street","version":1},'
        b'"registered_at":"2026-01-02T03:04:05Z","status":"resolved","final_labels":[{"class_id":'
        b'"car","geometry":{"kind":"box","x":1.0,"y":2.0,"width":3.0,"height":4.0},'
        b'"attributes":{}}],"resolution":{"method":"consensus","flags":[],"flag_counts":{},'
        b'"severity":"none","ratings":{},"rating_spread":{},"figures":{},"escalation":[],'
        b'"judgment_ids":["j1"],"revision":1,"resolved_at":"2026-01-03T00:00:00Z"}}\n'
    )


def nulls(value: Any) -> int:
    if isinstance(value, dict):
        return sum(nulls(v) for v in value.values())
    if isinstance(value, list):
        return sum(nulls(v) for v in value)
    return int(value is None)


text = st.text(max_size=40)


@given(
    device=st.none() | text,
    tags=st.lists(text, max_size=3),
    caption=st.none() | text,
    modality=st.sampled_from(["image", "video", "audio", "text", "multimodal"]),
)
def test_any_item_is_one_line_that_reads_back_as_the_item(
    device: str | None, tags: list[str], caption: str | None, modality: str
) -> None:
    body = registration(modality, capture={"device": device, "tags": tags})
    item = MediaItem.model_validate(
        {
            **body,
            "item_id": "it-1",
            "tenant": "acme",
            "registered_at": REGISTERED_AT,
            "status": "resolved",
            "final_labels": [{"class_id": "caption", "text": caption}],
        }
    )
    line = jsonl_line(item)
    assert line.endswith(b"\n") and line.count(b"\n") == 1 and b"\r" not in line
    assert MediaItem.model_validate_json(line) == item
    assert nulls(json.loads(line)) == 0


# --- COCO images and info -----------------------------------------------------------------


def test_an_image_item_is_a_coco_image_that_names_the_quorum_item() -> None:
    assert coco_image(media_item(external_id="frame-9"), 17) == {
        "id": 17,
        "file_name": "s3://acme/frames/1.jpg",
        "width": 640,
        "height": 480,
        "quorum_item_id": "it-1",
        "external_id": "frame-9",
    }


@pytest.mark.parametrize(
    "modality",
    ["video", "audio", "text", "multimodal"],
    ids=["video", "audio", "text", "multimodal"],
)
def test_an_item_of_other_media_is_no_coco_image(modality: str) -> None:
    body = registration(modality)
    other = media_item(**{"media": None, **body})
    assert other.modality == modality
    assert coco_image(other, 17) is None


@pytest.mark.parametrize("skipped", [0, 5], ids=["none-skipped", "five-skipped"])
def test_coco_info_describes_the_export_and_counts_the_skipped_labels(skipped: int) -> None:
    assert coco_info(skipped) == {
        "description": "Quorum export of resolved items",
        "skipped_labels": skipped,
    }


# --- COCO annotations ---------------------------------------------------------------------


def test_a_box_label_is_a_coco_box_of_its_area() -> None:
    assert annotations_of({"class_id": "car", "geometry": box(10, 20, 30, 40)}) == (
        [
            {
                "id": 100,
                "image_id": 17,
                "category_id": 3,
                "iscrowd": 0,
                "bbox": [10, 20, 30, 40],
                "area": 30 * 40,
            }
        ],
        0,
    )


def test_a_polygon_label_is_its_flat_points_its_extent_and_its_shoelace_area() -> None:
    triangle = polygon((2, 7), (10, 1), (12, 9))
    # shoelace: (2*1 - 10*7) + (10*9 - 12*1) + (12*7 - 2*9) = -68 + 78 + 66 = 76, halved
    assert annotations_of({"class_id": "person", "geometry": triangle}) == (
        [
            {
                "id": 100,
                "image_id": 17,
                "category_id": 1,
                "iscrowd": 0,
                "segmentation": [[2, 7, 10, 1, 12, 9]],
                "bbox": [2, 1, 10, 8],
                "area": 38,
            }
        ],
        0,
    )


def test_an_uncompressed_mask_is_a_crowd_annotation_boxed_from_its_runs() -> None:
    # 4x4, column-major: rows 2-3 of column 0, then rows 0-1 of column 1
    mask = {"kind": "mask", "size": [4, 4], "counts": [2, 4, 10]}
    assert annotations_of({"class_id": "person", "geometry": mask}) == (
        [
            {
                "id": 100,
                "image_id": 17,
                "category_id": 1,
                "iscrowd": 1,
                "segmentation": {"size": [4, 4], "counts": [2, 4, 10]},
                "bbox": [0, 0, 2, 4],
                "area": 4,
            }
        ],
        0,
    )


def test_a_compressed_mask_is_a_crowd_annotation_boxed_and_measured_from_its_decoded_runs() -> None:
    # "342Md1" decodes to [3, 4, 2, 1, 54] on 8 x 8 (tests/shared/test_annotation_rle.py):
    # rows 3-6 of column 0 and row 1 of column 1, so x 0-1, y 1-6 and 5 pixels
    mask = {"kind": "mask", "size": [8, 8], "counts": "342Md1"}
    assert annotations_of({"class_id": "siren", "geometry": mask}) == (
        [
            {
                "id": 100,
                "image_id": 17,
                "category_id": 2,
                "iscrowd": 1,
                "segmentation": {"size": [8, 8], "counts": "342Md1"},
                "bbox": [0.0, 1.0, 2.0, 6.0],
                "area": 5,
            }
        ],
        0,
    )


def test_a_mask_whose_string_is_not_cocos_encoding_is_exported_without_box_or_area() -> None:
    mask = {"kind": "mask", "size": [2, 2], "counts": "P"}  # ends inside a number
    [annotation], skipped = annotations_of({"class_id": "siren", "geometry": mask})
    assert skipped == 0 and annotation["segmentation"] == {"size": [2, 2], "counts": "P"}
    assert "bbox" not in annotation and "area" not in annotation


@pytest.mark.parametrize(
    "label",
    [
        {"class_id": "person"},
        {"class_id": "siren", "segment": {"start_s": 1, "end_s": 2}},
        {"class_id": "caption", "text": "a red car"},
        {"class_id": "boat", "geometry": box(0, 0, 1, 1)},
    ],
    ids=["bare", "time-segment", "text", "no-category"],
)
def test_a_label_coco_cannot_hold_is_left_out_and_counted(label: dict[str, Any]) -> None:
    assert annotations_of(label) == ([], 1)


def test_labels_left_out_are_counted_and_the_others_numbered_on_without_gaps() -> None:
    labels = [
        {"class_id": "siren", "segment": {"start_s": 1, "end_s": 2}},
        {"class_id": "car", "geometry": box(1, 2, 3, 4)},
        {"class_id": "caption", "text": "a red car"},
        {"class_id": "boat", "geometry": box(0, 0, 1, 1)},
        {"class_id": "person", "geometry": box(5, 6, 7, 8)},
        {"class_id": "person"},
        {"class_id": "car", "geometry": box(9, 9, 1, 1)},
    ]
    annotations, skipped = annotations_of(*labels, image_id=4, first_id=7)
    assert skipped == 4
    assert [(a["id"], a["image_id"], a["category_id"], a["bbox"]) for a in annotations] == [
        (7, 4, 3, [1, 2, 3, 4]),
        (8, 4, 1, [5, 6, 7, 8]),
        (9, 4, 3, [9, 9, 1, 1]),
    ]


def test_a_located_label_with_a_time_segment_keeps_its_geometry_only() -> None:
    label = {"class_id": "car", "geometry": box(1, 2, 3, 4), "segment": {"start_s": 0, "end_s": 1}}
    assert annotations_of(label) == (
        [
            {
                "id": 100,
                "image_id": 17,
                "category_id": 3,
                "iscrowd": 0,
                "bbox": [1, 2, 3, 4],
                "area": 12,
            }
        ],
        0,
    )


def test_attributes_are_carried_when_the_label_has_some() -> None:
    label = {
        "class_id": "car",
        "geometry": box(1, 2, 3, 4),
        "attributes": {"occluded": True, "truncation": "partial"},
    }
    [annotation], _ = annotations_of(label)
    assert annotation["attributes"] == {"occluded": True, "truncation": "partial"}
    [plain], _ = annotations_of({"class_id": "car", "geometry": box(1, 2, 3, 4)})
    assert "attributes" not in plain


@pytest.mark.parametrize("final_labels", [None, []], ids=["unresolved", "no-labels"])
def test_an_item_without_final_labels_has_no_annotations(
    final_labels: list[Any] | None,
) -> None:
    item = media_item(final_labels=final_labels)
    assert coco_item_annotations(item, 17, CATEGORY_OF, 100) == ([], 0)


# --- polygon area -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "area"),
    [
        ([(2, 7), (10, 1), (12, 9)], 38),
        ([(12, 9), (10, 1), (2, 7)], 38),
        ([(0, 0), (4, 0), (4, 1), (1, 1), (1, 3), (0, 3)], 4 * 1 + 1 * 2),
        ([(3, 1), (9, 1), (9, 5), (3, 5)], 6 * 4),
        ([(0, 0), (5, 5), (10, 10)], 0),
    ],
    ids=["triangle", "triangle-clockwise", "concave", "rectangle", "collinear"],
)
def test_a_polygon_area_is_half_the_shoelace_sum_whatever_its_orientation(
    points: list[tuple[float, float]], area: float
) -> None:
    assert exports._polygon_area(points) == area


coordinate = st.integers(-1_000, 1_000)
side = st.integers(1, 1_000)


@given(
    x=coordinate,
    y=coordinate,
    width=side,
    height=side,
    start=st.integers(0, 3),
    clockwise=st.booleans(),
)
def test_the_area_of_a_rectangle_is_width_times_height(
    x: int, y: int, width: int, height: int, start: int, clockwise: bool
) -> None:
    corners = [(x, y), (x + width, y), (x + width, y + height), (x, y + height)]
    if clockwise:
        corners.reverse()
    points = corners[start:] + corners[:start]
    assert exports._polygon_area(points) == width * height


@given(
    a=st.tuples(coordinate, coordinate),
    b=st.tuples(coordinate, coordinate),
    c=st.tuples(coordinate, coordinate),
)
def test_the_area_of_a_triangle_is_half_its_cross_product(
    a: tuple[int, int], b: tuple[int, int], c: tuple[int, int]
) -> None:
    cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    assert exports._polygon_area([a, b, c]) == abs(cross) / 2


# --- the box of an RLE mask ---------------------------------------------------------------


@st.composite
def masks(draw: st.DrawFn) -> tuple[int, int, set[tuple[int, int]]]:
    height, width = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    cells = st.tuples(st.integers(0, width - 1), st.integers(0, height - 1))
    return height, width, draw(st.sets(cells, min_size=1, max_size=height * width))


@given(masks())
def test_the_box_of_any_mask_compressed_or_not_is_the_extent_of_its_pixels_and_its_area_their_count(
    mask: tuple[int, int, set[tuple[int, int]]],
) -> None:
    height, width, ones = mask
    counts = rle(height, width, ones)
    assert sum(counts) == height * width
    for given_counts in (counts, coco_compress(counts)):
        label = {
            "class_id": "person",
            "geometry": {"kind": "mask", "size": [height, width], "counts": given_counts},
        }
        [annotation], _ = annotations_of(label)
        assert (annotation["bbox"], annotation["area"]) == (extent(ones), len(ones))


RESOLUTION = {
    "method": "consensus",
    "verdict": "correct",
    "flags": ["occlusion", "unsafe"],
    "severity": "major",
    "judgment_ids": ["j1", "j2"],
    "resolved_at": datetime(2026, 1, 3, tzinfo=UTC),
}


def test_a_coco_image_carries_the_items_verdict_flags_and_severity() -> None:
    image = coco_image(media_item(resolution=RESOLUTION), 5)
    assert image is not None
    assert (image["quorum_verdict"], image["quorum_flags"], image["quorum_severity"]) == (
        "correct",
        ["occlusion", "unsafe"],
        "major",
    )


def test_every_coco_annotation_keeps_the_items_flags_and_its_labels_attributes() -> None:
    item = media_item(
        {"class_id": "car", "geometry": box(1, 2, 3, 4), "attributes": {"colour": "red"}},
        {"class_id": "person", "geometry": box(5, 6, 7, 8)},
        resolution=RESOLUTION,
    )
    found, _ = coco_item_annotations(item, 1, CATEGORY_OF, 1)
    assert [a.get("attributes") for a in found] == [{"colour": "red"}, None]
    assert [a["flags"] for a in found] == [["occlusion", "unsafe"]] * 2


def test_each_time_segment_is_one_json_line_with_its_part_media_and_seconds() -> None:
    audio = {
        "modality": "audio",
        "uri": "s3://acme/a.wav",
        "sha256": SHA,
        "size_bytes": 10,
        "duration_s": 10.0,
        "sample_rate_hz": 16000,
        "channels": 1,
    }
    item = media_item(
        {"class_id": "siren", "segment": {"start_s": 1.0, "end_s": 2.5}, "part": "track"},
        {"class_id": "car", "geometry": box(1, 2, 3, 4), "part": "frame"},
        modality="multimodal",
        media=None,
        parts=[
            {"name": "track", "role": "audio", "media": audio},
            {"name": "frame", "role": "image", "media": IMAGE},
        ],
        resolution=RESOLUTION,
    )
    [line] = exports.segment_lines(item)
    assert line.endswith(b"\n")
    assert json.loads(line) == {
        "item_id": "it-1",
        "external_id": "ext-1",
        "project_id": "p-image",
        "part": "track",
        "uri": "s3://acme/a.wav",
        "modality": "audio",
        "class_id": "siren",
        "start_s": 1.0,
        "end_s": 2.5,
        "text": None,
        "attributes": {},
        "verdict": "correct",
        "flags": ["occlusion", "unsafe"],
    }


def test_an_item_without_segments_has_no_segment_lines() -> None:
    assert exports.segment_lines(media_item({"class_id": "car", "geometry": box(1, 2, 3, 4)})) == []
