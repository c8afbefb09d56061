"""Registration rules of services/ingest/validation.py, without servers: for each rule the
exact problems (field path and message, in order) of a bad item, none for the good item
next to it, and every problem of an item at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ingest.validation import (
    all_errors,
    prelabel_errors,
    project_errors,
    shape_errors,
)
from shared.contracts.media import MediaRegistration
from shared.contracts.taxonomy import AttributeSpec, ClassSnapshot, VersionPublishedV1
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import ProjectChangedV1, ProjectStatus
from shared.errors import FieldError
from shared.media.placement import EPSILON
from tests.ingest.bodies import (
    audio_file,
    image_file,
    prelabels,
    registration,
    text_file,
    video_file,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ONTOLOGY, VERSION = "street", 3
# the media of tests/ingest/bodies.py: image 640x480, video 1280x720 of 10 s, audio of 4 s
IMAGE_BOUNDS = "inside the 640x480 media"
VIDEO_BOUNDS = "inside the 1280x720 media"

TAXONOMY = VersionPublishedV1(
    ontology_id=ONTOLOGY,
    tenant="acme",
    name="Street",
    version=VERSION,
    content_hash="sha256:test",
    classes=[
        ClassSnapshot(
            id="car",
            name="Car",
            attributes=[
                AttributeSpec(name="occluded", type="bool"),
                AttributeSpec(name="truncation", type="enum", values=["none", "partial"]),
            ],
        ),
        ClassSnapshot(
            id="sign",
            name="Sign",
            attributes=[
                AttributeSpec(name="text", type="string"),
                AttributeSpec(name="kind", type="enum", values=["stop", "yield"], required=True),
                AttributeSpec(name="lanes", type="int", required=True),
            ],
        ),
        ClassSnapshot(id="person", name="Person"),
        ClassSnapshot(id="siren", name="Siren", modalities=["audio", "video"]),
        ClassSnapshot(id="speech", name="Speech", modalities=["audio"]),
        ClassSnapshot(id="edit_ok", name="Edit OK"),
        ClassSnapshot(id="seam", name="Seam", modalities=["image"]),
        ClassSnapshot(id="edit_region", name="Edit region", modalities=["multimodal"]),
    ],
    published_at=NOW,
)


def item(modality: str = "image", *labels: dict[str, Any], **over: Any) -> MediaRegistration:
    """A registration of tests/ingest/bodies.py, with these pre-labels if any."""
    body = registration(modality, **over)
    if labels:
        body["prelabels"] = prelabels(*labels)
    return MediaRegistration.model_validate(body)


def project(
    modality: str = "image",
    *,
    project_id: str | None = None,
    status: ProjectStatus = ProjectStatus.active,
    taxonomy: tuple[str, int] | None = (ONTOLOGY, VERSION),
) -> ProjectChangedV1:
    """The project an item of ``modality`` registers into (bodies.py's project ids)."""
    default_id = "p-edit" if modality == "multimodal" else f"p-{modality}"
    return ProjectChangedV1(
        project_id=project_id or default_id,
        tenant="acme",
        name="A project",
        modality=Modality(modality),
        taxonomy=TaxonomyRef(ontology_id=taxonomy[0], version=taxonomy[1]) if taxonomy else None,
        status=status,
        revision=1,
        changed_at=NOW,
    )


def pairs(errors: Any) -> list[tuple[str, str]]:
    assert all(type(e) is FieldError for e in errors)
    return [(e.field, e.message) for e in errors]


def labelled(modality: str, *labels: dict[str, Any], **over: Any) -> list[tuple[str, str]]:
    """The pre-label problems of an item of ``modality`` in its project, against TAXONOMY."""
    return pairs(prelabel_errors(item(modality, *labels, **over), project(modality), TAXONOMY))


def box(x: float, y: float, width: float, height: float) -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": y, "width": width, "height": height}


def polygon(*points: tuple[float, float]) -> dict[str, Any]:
    return {"kind": "polygon", "points": [list(p) for p in points]}


def mask(height: int, width: int) -> dict[str, Any]:
    return {"kind": "mask", "size": [height, width], "counts": [height * width]}


def segment(start_s: float, end_s: float) -> dict[str, Any]:
    return {"start_s": start_s, "end_s": end_s}


AT = "prelabels.labels.0"

# --- the item's shape ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "modality",
    ["image", "video", "audio", "text", "multimodal"],
    ids=["image", "video", "audio", "text", "multimodal"],
)
def test_a_well_formed_item_of_each_modality_has_no_shape_errors(modality: str) -> None:
    assert pairs(shape_errors(item(modality))) == []


@pytest.mark.parametrize("parts", [None, []], ids=["absent", "empty"])
def test_a_multimodal_item_without_parts_needs_parts(parts: list[Any] | None) -> None:
    assert pairs(shape_errors(item("multimodal", parts=parts))) == [
        ("parts", "a multimodal item needs parts")
    ]


def test_a_multimodal_item_with_parts_and_media_is_told_it_has_parts_not_media() -> None:
    assert pairs(shape_errors(item("multimodal", media=image_file()))) == [
        ("media", "a multimodal item has parts, not media")
    ]


def test_a_multimodal_item_of_media_and_no_parts_gets_both_errors_in_order() -> None:
    assert pairs(shape_errors(item("multimodal", parts=None, media=image_file()))) == [
        ("parts", "a multimodal item needs parts"),
        ("media", "a multimodal item has parts, not media"),
    ]


def test_a_part_name_used_again_is_named_at_each_reuse() -> None:
    names = ["a", "b", "a", "c", "a", "b"]
    parts = [{"name": n, "role": "r", "media": image_file()} for n in names]
    assert pairs(shape_errors(item("multimodal", parts=parts))) == [
        ("parts.2.name", "part name 'a' is used twice"),
        ("parts.4.name", "part name 'a' is used twice"),
        ("parts.5.name", "part name 'b' is used twice"),
    ]


def test_a_reused_part_name_and_media_on_a_bundle_give_both_errors() -> None:
    parts = [{"name": "a", "role": "r", "media": image_file()} for _ in range(2)]
    assert pairs(shape_errors(item("multimodal", parts=parts, media=image_file()))) == [
        ("media", "a multimodal item has parts, not media"),
        ("parts.1.name", "part name 'a' is used twice"),
    ]


@pytest.mark.parametrize(
    "modality", ["image", "video", "audio", "text"], ids=["image", "video", "audio", "text"]
)
def test_a_single_modality_item_without_media_needs_media(modality: str) -> None:
    assert pairs(shape_errors(item(modality, media=None))) == [
        ("media", f"a {modality} item needs media")
    ]


@pytest.mark.parametrize(
    ("modality", "media", "other"),
    [
        ("image", audio_file(), "audio"),
        ("video", image_file(), "image"),
        ("audio", text_file(), "text"),
        ("text", video_file(), "video"),
    ],
    ids=["image-with-audio", "video-with-image", "audio-with-text", "text-with-video"],
)
def test_media_of_another_modality_is_named_at_media_modality(
    modality: str, media: dict[str, Any], other: str
) -> None:
    assert pairs(shape_errors(item(modality, media=media))) == [
        ("media.modality", f"media is {other}, item is {modality}")
    ]


def test_parts_on_a_single_modality_item_are_refused_and_an_empty_list_is_not_parts() -> None:
    parts = [{"name": "a", "role": "r", "media": image_file()}]
    assert pairs(shape_errors(item("image", parts=parts))) == [
        ("parts", "only multimodal items have parts")
    ]
    assert pairs(shape_errors(item("image", parts=[]))) == []


def test_an_image_item_without_media_but_with_parts_gets_both_errors() -> None:
    parts = [{"name": "a", "role": "r", "media": image_file()}]
    assert pairs(shape_errors(item("image", media=None, parts=parts))) == [
        ("media", "a image item needs media"),
        ("parts", "only multimodal items have parts"),
    ]


def test_an_item_of_other_media_and_with_parts_gets_both_errors() -> None:
    parts = [{"name": "a", "role": "r", "media": image_file()}]
    assert pairs(shape_errors(item("audio", media=image_file(), parts=parts))) == [
        ("media.modality", "media is image, item is audio"),
        ("parts", "only multimodal items have parts"),
    ]


# --- the item's project -------------------------------------------------------------------


def test_an_unknown_project_is_named_with_where_to_create_it() -> None:
    assert pairs(project_errors(item("image", project_id="p-nope"), None)) == [
        ("project_id", "unknown project 'p-nope': create it in assignment first")
    ]


def test_a_closed_project_is_refused() -> None:
    closed = project("image", status=ProjectStatus.closed)
    assert pairs(project_errors(item("image"), closed)) == [
        ("project_id", "project 'p-image' is closed")
    ]


@pytest.mark.parametrize(
    "status",
    [ProjectStatus.draft, ProjectStatus.active, ProjectStatus.paused],
    ids=["draft", "active", "paused"],
)
def test_a_project_that_is_not_closed_takes_items(status: ProjectStatus) -> None:
    assert pairs(project_errors(item("image"), project("image", status=status))) == []


@pytest.mark.parametrize(
    ("modality", "other"),
    [("image", "audio"), ("audio", "video"), ("multimodal", "image"), ("text", "multimodal")],
    ids=["image-into-audio", "audio-into-video", "bundle-into-image", "text-into-bundle"],
)
def test_a_project_of_another_modality_says_which_it_takes(modality: str, other: str) -> None:
    pid = "p-edit" if modality == "multimodal" else f"p-{modality}"
    assert pairs(project_errors(item(modality), project(other, project_id=pid))) == [
        ("modality", f"project {pid!r} takes {other} items, not {modality}")
    ]


def test_a_closed_project_of_another_modality_is_refused_as_closed_only() -> None:
    closed = project("audio", project_id="p-image", status=ProjectStatus.closed)
    assert pairs(project_errors(item("image"), closed)) == [
        ("project_id", "project 'p-image' is closed")
    ]


# --- pre-labels: the project's taxonomy version -------------------------------------------


def test_an_item_without_prelabels_or_with_none_in_them_needs_no_taxonomy() -> None:
    untaxed = project("image", taxonomy=None)
    assert pairs(prelabel_errors(item("image"), untaxed, None)) == []
    empty = item("image", prelabels=prelabels())
    assert pairs(prelabel_errors(empty, untaxed, None)) == []


def test_prelabels_in_a_project_without_taxonomy_cannot_be_checked() -> None:
    untaxed = project("image", taxonomy=None)
    assert pairs(prelabel_errors(item("image", {"class_id": "car"}), untaxed, TAXONOMY)) == [
        (
            "prelabels",
            "project 'p-image' has no taxonomy version, so pre-label classes cannot be checked",
        )
    ]


def test_prelabels_against_a_version_ingest_has_not_seen_say_publish_it() -> None:
    later = project("image", taxonomy=(ONTOLOGY, 7))
    assert pairs(prelabel_errors(item("image", {"class_id": "car"}), later, None)) == [
        (
            "prelabels",
            "taxonomy street version 7 of the project is not published (or not yet known to "
            "ingest); publish it, then register again",
        )
    ]


def test_a_class_the_version_does_not_have_is_named_with_the_version() -> None:
    assert labelled("image", {"class_id": "person"}, {"class_id": "boat"}) == [
        ("prelabels.labels.1.class_id", "no class 'boat' in taxonomy street version 3")
    ]


def test_an_unknown_class_and_its_geometry_past_the_edge_are_both_named() -> None:
    assert labelled("image", {"class_id": "boat", "geometry": box(600, 0, 100, 10)}) == [
        (f"{AT}.class_id", "no class 'boat' in taxonomy street version 3"),
        (f"{AT}.geometry.width", f"x + width = 700.0: not {IMAGE_BOUNDS}"),
    ]


# --- pre-labels: classes and attributes ---------------------------------------------------


@pytest.mark.parametrize(
    ("modality", "class_id", "expected"),
    [
        ("image", "siren", [(f"{AT}.class_id", "class 'siren' applies to audio, video only")]),
        ("text", "speech", [(f"{AT}.class_id", "class 'speech' applies to audio only")]),
        ("audio", "siren", []),
        ("video", "siren", []),
        ("audio", "speech", []),
        ("image", "person", []),
    ],
    ids=[
        "image-siren",
        "text-speech",
        "audio-siren",
        "video-siren",
        "audio-speech",
        "any-person",
    ],
)
def test_a_class_of_some_modalities_only_applies_to_those(
    modality: str, class_id: str, expected: list[tuple[str, str]]
) -> None:
    assert labelled(modality, {"class_id": class_id}) == expected


def test_a_class_of_some_modalities_on_a_bundle_is_held_to_the_modality_of_its_part() -> None:
    # the bundle of bodies.py: source (image), instruction (text), edited (image)
    labels = [
        {"class_id": "seam", "part": "edited", "geometry": box(0, 0, 1, 1)},
        {"class_id": "seam", "part": "instruction", "text": "make the sky orange"},
        {"class_id": "speech", "part": "instruction", "text": "make the sky orange"},
        {"class_id": "edit_region", "part": "edited", "geometry": box(0, 0, 1, 1)},
        {"class_id": "seam"},
        {"class_id": "speech"},
    ]
    assert labelled("multimodal", *labels) == [
        (
            "prelabels.labels.1.class_id",
            "class 'seam' applies to image only; part 'instruction' is text",
        ),
        (
            "prelabels.labels.2.class_id",
            "class 'speech' applies to audio only; part 'instruction' is text",
        ),
        (
            "prelabels.labels.5.class_id",
            "class 'speech' applies to audio only; no part of the bundle is",
        ),
    ]


def test_every_attribute_problem_of_a_label_is_named_in_order_then_the_missing_ones() -> None:
    label = {
        "class_id": "sign",
        "attributes": {"colour": "red", "lanes": "two", "shape": "round", "text": 5},
    }
    assert labelled("image", label) == [
        (f"{AT}.attributes.colour", "class 'sign' has no such attribute"),
        (f"{AT}.attributes.lanes", "must be int"),
        (f"{AT}.attributes.shape", "class 'sign' has no such attribute"),
        (f"{AT}.attributes.text", "must be string"),
        (f"{AT}.attributes.kind", "required by the class"),
    ]


def test_every_required_attribute_missing_is_named_in_the_class_order() -> None:
    assert labelled("image", {"class_id": "sign"}) == [
        (f"{AT}.attributes.kind", "required by the class"),
        (f"{AT}.attributes.lanes", "required by the class"),
    ]


def test_a_label_with_its_required_attributes_and_none_of_its_optional_ones_is_fine() -> None:
    assert labelled("image", {"class_id": "sign", "attributes": {"kind": "stop", "lanes": 2}}) == []
    assert labelled("image", {"class_id": "car"}) == []


def test_a_bad_enum_value_lists_the_allowed_ones() -> None:
    label = {"class_id": "car", "attributes": {"truncation": "heavy", "occluded": True}}
    assert labelled("image", label) == [
        (f"{AT}.attributes.truncation", "must be one of none, partial")
    ]


def test_attributes_of_every_label_are_checked() -> None:
    labels = [{"class_id": "car", "attributes": {"occluded": n}} for n in (1, True, 0)]
    assert labelled("image", *labels) == [
        ("prelabels.labels.0.attributes.occluded", "must be bool"),
        ("prelabels.labels.2.attributes.occluded", "must be bool"),
    ]


# --- pre-labels: parts --------------------------------------------------------------------


def test_a_label_of_a_single_modality_item_naming_a_part_is_refused_and_still_placed() -> None:
    label = {"class_id": "car", "part": "source", "geometry": box(630, 0, 20, 10)}
    assert labelled("image", label) == [
        (f"{AT}.part", "only labels of multimodal items name a part"),
        (f"{AT}.geometry.width", f"x + width = 650.0: not {IMAGE_BOUNDS}"),
    ]


@pytest.mark.parametrize(
    "where",
    [{"geometry": box(0, 0, 1, 1)}, {"segment": segment(0, 1)}],
    ids=["geometry", "segment"],
)
def test_a_located_label_of_a_bundle_must_say_its_part(where: dict[str, Any]) -> None:
    assert labelled("multimodal", {"class_id": "edit_ok", **where}) == [
        (f"{AT}.part", "say which part a located label is on")
    ]


def test_an_unlocated_label_of_a_bundle_needs_no_part() -> None:
    assert labelled("multimodal", {"class_id": "edit_ok", "text": "the sky is orange"}) == []


def test_a_label_on_a_part_the_bundle_lacks_is_named_and_the_next_labels_are_checked() -> None:
    labels = [
        {"class_id": "edit_ok", "part": "nope", "geometry": box(0, 0, 1, 1)},
        {"class_id": "edit_ok", "geometry": box(0, 0, 1, 1)},
        {"class_id": "edit_ok", "part": "edited", "geometry": box(0, 470, 1, 20)},
    ]
    assert labelled("multimodal", *labels) == [
        ("prelabels.labels.0.part", "no part named 'nope'"),
        ("prelabels.labels.1.part", "say which part a located label is on"),
        ("prelabels.labels.2.geometry.height", f"y + height = 490.0: not {IMAGE_BOUNDS}"),
    ]


def test_a_label_of_an_unknown_class_on_an_unknown_part_gets_both_errors() -> None:
    assert labelled("multimodal", {"class_id": "boat", "part": "nope"}) == [
        (f"{AT}.class_id", "no class 'boat' in taxonomy street version 3"),
        (f"{AT}.part", "no part named 'nope'"),
    ]


def test_a_label_on_a_part_is_placed_on_that_parts_media() -> None:
    labels = [
        {"class_id": "edit_ok", "part": "edited", "geometry": box(10, 10, 630, 470)},
        {"class_id": "edit_ok", "part": "source", "geometry": box(10, 10, 631, 470)},
        {"class_id": "edit_ok", "part": "instruction", "geometry": box(0, 0, 1, 1)},
        {"class_id": "edit_ok", "part": "source", "segment": segment(0, 1)},
        {"class_id": "edit_ok", "part": "instruction", "text": "make the sky orange"},
    ]
    assert labelled("multimodal", *labels) == [
        ("prelabels.labels.1.geometry.width", f"x + width = 641.0: not {IMAGE_BOUNDS}"),
        ("prelabels.labels.2.geometry", "text media has no geometry"),
        ("prelabels.labels.3.segment", "image media has no time segments"),
    ]


def test_labels_of_an_item_without_media_are_not_placed() -> None:
    # all_errors stops at the missing media; the pre-label rule alone does not place labels
    label = {"class_id": "car", "geometry": box(600, 0, 100, 10)}
    assert pairs(prelabel_errors(item("image", label, media=None), project(), TAXONOMY)) == []


# --- pre-labels: placement on the media ---------------------------------------------------


@pytest.mark.parametrize("modality", ["audio", "text"], ids=["audio", "text"])
def test_geometry_on_media_without_pixels_is_refused(modality: str) -> None:
    assert labelled(modality, {"class_id": "person", "geometry": box(0, 0, 1, 1)}) == [
        (f"{AT}.geometry", f"{modality} media has no geometry")
    ]


@pytest.mark.parametrize("modality", ["image", "text"], ids=["image", "text"])
def test_a_time_segment_on_media_without_time_is_refused(modality: str) -> None:
    assert labelled(modality, {"class_id": "person", "segment": segment(0, 1)}) == [
        (f"{AT}.segment", f"{modality} media has no time segments")
    ]


@pytest.mark.parametrize(
    ("modality", "end_s", "message"),
    [
        ("video", 12, "ends at 12.0s, after the media's 10.0s"),
        ("audio", 4.00001, "ends at 4.00001s, after the media's 4.0s"),
    ],
    ids=["video", "audio-just-past"],
)
def test_a_segment_ending_after_the_media_names_its_end(
    modality: str, end_s: float, message: str
) -> None:
    assert labelled(modality, {"class_id": "siren", "segment": segment(1, end_s)}) == [
        (f"{AT}.segment.end_s", message)
    ]


@pytest.mark.parametrize(
    ("modality", "end_s"),
    [
        ("video", 10.0),
        ("video", 10.0 + EPSILON),
        ("audio", 4.0),
        ("audio", 4.0000005),
        ("audio", 0.0),
    ],
    ids=["video-at-end", "video-within-tolerance", "audio-at-end", "audio-within", "audio-start"],
)
def test_a_segment_ending_at_the_media_end_within_the_tolerance_is_fine(
    modality: str, end_s: float
) -> None:
    assert labelled(modality, {"class_id": "siren", "segment": segment(0, end_s)}) == []


def test_a_text_label_with_a_segment_on_text_media_gets_both_segment_errors() -> None:
    label = {"class_id": "person", "text": "hello", "segment": segment(0, 1)}
    assert labelled("text", label) == [
        (f"{AT}.segment", "text media has no time segments"),
        (f"{AT}.segment", "text labels carry no segment"),
    ]


def test_a_text_label_without_segment_or_on_timed_media_carries_no_text_error() -> None:
    assert labelled("text", {"class_id": "person", "text": "hello"}) == []
    audio_label = {"class_id": "siren", "text": "wee-woo", "segment": segment(0, 1)}
    assert labelled("audio", audio_label) == []


def test_a_label_past_the_edge_and_past_the_end_of_a_video_names_both_in_order() -> None:
    label = {"class_id": "siren", "geometry": box(1200, 700, 81, 21), "segment": segment(9, 11)}
    assert labelled("video", label) == [
        (f"{AT}.geometry.width", f"x + width = 1281.0: not {VIDEO_BOUNDS}"),
        (f"{AT}.geometry.height", f"y + height = 721.0: not {VIDEO_BOUNDS}"),
        (f"{AT}.segment.end_s", "ends at 11.0s, after the media's 10.0s"),
    ]


# --- pre-labels: geometry inside the media ------------------------------------------------


@pytest.mark.parametrize(
    "geometry",
    [
        box(0, 0, 640, 480),
        box(600, 400, 40, 80),
        box(0, 0, 640 + EPSILON, 480 + EPSILON),
        box(10, 20, 640.0000005 - 10, 480.0000005 - 20),
    ],
    ids=["whole-image", "to-the-corner", "at-the-tolerance", "within-the-tolerance"],
)
def test_a_box_inside_the_image_or_its_tolerance_is_fine(geometry: dict[str, Any]) -> None:
    assert labelled("image", {"class_id": "car", "geometry": geometry}) == []


def test_a_box_past_the_right_edge_names_its_width() -> None:
    assert labelled("image", {"class_id": "car", "geometry": box(600, 10, 100, 20)}) == [
        (f"{AT}.geometry.width", f"x + width = 700.0: not {IMAGE_BOUNDS}")
    ]


def test_a_box_just_past_the_right_edge_names_its_width() -> None:
    assert labelled("image", {"class_id": "car", "geometry": box(0, 0, 640.00001, 1)}) == [
        (f"{AT}.geometry.width", f"x + width = 640.00001: not {IMAGE_BOUNDS}")
    ]


def test_a_box_past_the_bottom_edge_names_its_height() -> None:
    assert labelled("image", {"class_id": "car", "geometry": box(5, 400, 10, 80.00001)}) == [
        (f"{AT}.geometry.height", f"y + height = 480.00001: not {IMAGE_BOUNDS}")
    ]


def test_a_box_past_both_edges_names_width_then_height() -> None:
    assert labelled("image", {"class_id": "car", "geometry": box(630, 470, 20, 30)}) == [
        (f"{AT}.geometry.width", f"x + width = 650.0: not {IMAGE_BOUNDS}"),
        (f"{AT}.geometry.height", f"y + height = 500.0: not {IMAGE_BOUNDS}"),
    ]


def test_a_box_on_a_video_is_held_to_the_video_frame() -> None:
    assert labelled("video", {"class_id": "siren", "geometry": box(640, 480, 640, 240)}) == []
    assert labelled("video", {"class_id": "siren", "geometry": box(640, 0, 641, 1)}) == [
        (f"{AT}.geometry.width", f"x + width = 1281.0: not {VIDEO_BOUNDS}")
    ]


@given(
    width=st.integers(1, 2_000),
    height=st.integers(1, 2_000),
    x=st.integers(0, 2_000),
    y=st.integers(0, 2_000),
    w=st.integers(1, 2_000),
    h=st.integers(1, 2_000),
)
def test_a_box_is_named_exactly_at_the_edges_it_passes(
    width: int, height: int, x: int, y: int, w: int, h: int
) -> None:
    media = image_file(seed="box", width=width, height=height)
    found = labelled("image", {"class_id": "car", "geometry": box(x, y, w, h)}, media=media)
    bounds = f"inside the {width}x{height} media"
    expected = []
    if x + w > width:
        expected.append((f"{AT}.geometry.width", f"x + width = {float(x + w)}: not {bounds}"))
    if y + h > height:
        expected.append((f"{AT}.geometry.height", f"y + height = {float(y + h)}: not {bounds}"))
    assert found == expected


@pytest.mark.parametrize(
    "points",
    [
        [(0, 0), (640, 0), (640, 480), (0, 480)],
        [(-EPSILON, -EPSILON), (640 + EPSILON, 480 + EPSILON), (320, 240)],
        [(-EPSILON, 480 + EPSILON), (640 + EPSILON, -EPSILON), (1, 1)],
    ],
    ids=["corners", "tolerance-diagonal", "tolerance-antidiagonal"],
)
def test_a_polygon_inside_the_image_or_its_tolerance_is_fine(
    points: list[tuple[float, float]],
) -> None:
    assert labelled("image", {"class_id": "person", "geometry": polygon(*points)}) == []


@pytest.mark.parametrize(
    ("bad", "shown"),
    [
        ((-0.00001, 10), "(-1e-05, 10.0)"),
        ((640.00001, 10), "(640.00001, 10.0)"),
        ((10, -0.00001), "(10.0, -1e-05)"),
        ((10, 480.00001), "(10.0, 480.00001)"),
        ((700, 500), "(700.0, 500.0)"),
    ],
    ids=["left", "right", "top", "bottom", "both"],
)
def test_a_polygon_point_outside_the_image_is_named_by_its_index(
    bad: tuple[float, float], shown: str
) -> None:
    geometry = polygon((0, 0), (5, 5), bad, (0, 5))
    assert labelled("image", {"class_id": "person", "geometry": geometry}) == [
        (f"{AT}.geometry.points.2", f"point {shown} is not {IMAGE_BOUNDS}")
    ]


def test_only_the_first_polygon_point_outside_the_image_is_named() -> None:
    geometry = polygon((1, 1), (700, 0), (0, 500), (-1, -1))
    assert labelled("image", {"class_id": "person", "geometry": geometry}) == [
        (f"{AT}.geometry.points.1", f"point (700.0, 0.0) is not {IMAGE_BOUNDS}")
    ]


def test_a_polygon_on_a_video_is_held_to_the_video_frame() -> None:
    inside = polygon((0, 0), (1280, 0), (1280, 720))
    assert labelled("video", {"class_id": "siren", "geometry": inside}) == []
    outside = polygon((0, 0), (1280, 721), (0, 720))
    assert labelled("video", {"class_id": "siren", "geometry": outside}) == [
        (f"{AT}.geometry.points.1", f"point (1280.0, 721.0) is not {VIDEO_BOUNDS}")
    ]


def test_a_mask_of_the_image_size_height_first_is_fine() -> None:
    assert labelled("image", {"class_id": "person", "geometry": mask(480, 640)}) == []
    compressed = {"kind": "mask", "size": [480, 640], "counts": "PPXo0"}
    assert labelled("image", {"class_id": "person", "geometry": compressed}) == []


@pytest.mark.parametrize(
    ("modality", "size", "expected"),
    [
        ("image", (640, 480), "mask size [640, 480] is not [480, 640]"),
        ("image", (480, 641), "mask size [480, 641] is not [480, 640]"),
        ("video", (480, 640), "mask size [480, 640] is not [720, 1280]"),
    ],
    ids=["width-first", "one-wider", "not-the-video-frame"],
)
def test_a_mask_of_another_size_names_its_size(
    modality: str, size: tuple[int, int], expected: str
) -> None:
    assert labelled(modality, {"class_id": "person", "geometry": mask(*size)}) == [
        (f"{AT}.geometry.size", expected)
    ]


def test_a_mask_on_a_video_of_its_frame_is_fine() -> None:
    assert labelled("video", {"class_id": "siren", "geometry": mask(720, 1280)}) == []


# --- every rule at once -------------------------------------------------------------------


def test_shape_and_project_errors_come_together_and_stop_the_prelabel_check() -> None:
    bad = item("image", {"class_id": "boat"}, media=None, project_id="p-nope")
    assert pairs(all_errors(bad, None, TAXONOMY)) == [
        ("media", "a image item needs media"),
        ("project_id", "unknown project 'p-nope': create it in assignment first"),
    ]


def test_a_shape_error_alone_stops_the_prelabel_check() -> None:
    bad = item("image", {"class_id": "boat"}, media=audio_file())
    assert pairs(all_errors(bad, project("image"), TAXONOMY)) == [
        ("media.modality", "media is audio, item is image")
    ]


def test_a_project_error_alone_stops_the_prelabel_check() -> None:
    closed = project("image", status=ProjectStatus.closed)
    assert pairs(all_errors(item("image", {"class_id": "boat"}), closed, TAXONOMY)) == [
        ("project_id", "project 'p-image' is closed")
    ]


def test_a_well_formed_item_of_an_open_project_gets_its_prelabel_errors() -> None:
    registered = item("image", {"class_id": "boat"}, {"class_id": "car"})
    assert pairs(all_errors(registered, project("image"), TAXONOMY)) == [
        ("prelabels.labels.0.class_id", "no class 'boat' in taxonomy street version 3")
    ]


@pytest.mark.parametrize(
    "modality",
    ["image", "video", "audio", "text", "multimodal"],
    ids=["image", "video", "audio", "text", "multimodal"],
)
def test_a_good_item_of_each_modality_has_no_errors_at_all(modality: str) -> None:
    located = {
        "image": {"geometry": box(10, 10, 630, 470)},
        "video": {"geometry": polygon((0, 0), (1280, 720), (0, 720)), "segment": segment(0, 10)},
        "audio": {"segment": segment(1, 4)},
        "text": {"text": "a transcript"},
        "multimodal": {"part": "edited", "geometry": mask(480, 640)},
    }[modality]
    registered = item(modality, {"class_id": "person", **located})
    assert pairs(all_errors(registered, project(modality), TAXONOMY)) == []
