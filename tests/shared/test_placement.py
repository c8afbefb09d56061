"""Labels against the media they mark (shared/media/placement.py), the one rule ingest applies
to pre-labels and assignment to corrected labels, gold keys and qualification keys: the exact
problems (field and message) of each case, then properties against a plain reference."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.contracts.media import AudioFile, BundlePart, ImageFile, TextFile, VideoFile
from shared.contracts.taxonomy import ClassSnapshot
from shared.contracts.vocabulary import Box, Label, Modality, Polygon, RleMask, TimeSegment
from shared.errors import FieldError
from shared.media.placement import EPSILON, label_errors

SHA = "0" * 64
AT = "labels"


def image(width: int = 4032, height: int = 3024) -> ImageFile:
    return ImageFile(
        uri="s3://b/i.jpg", sha256=SHA, size_bytes=1, width=width, height=height, format="jpeg"
    )


def video(width: int = 1920, height: int = 1080, duration_s: float = 10.0) -> VideoFile:
    return VideoFile(
        uri="s3://b/v.mp4",
        sha256=SHA,
        size_bytes=1,
        duration_s=duration_s,
        fps=25,
        frame_count=250,
        width=width,
        height=height,
    )


def audio(duration_s: float = 10.0) -> AudioFile:
    return AudioFile(
        uri="s3://b/a.wav",
        sha256=SHA,
        size_bytes=1,
        duration_s=duration_s,
        sample_rate_hz=16_000,
        channels=1,
    )


def text() -> TextFile:
    return TextFile(uri="s3://b/t.txt", sha256=SHA, size_bytes=1, language="en", length_chars=9)


#: a sync-review bundle: a photo, a clip, its audio track and the transcript
PARTS = [
    BundlePart(name="photo", role="still", media=image()),
    BundlePart(name="clip", role="video", media=video()),
    BundlePart(name="track", role="audio_track", media=audio()),
    BundlePart(name="transcript", role="transcript", media=text()),
]

CLASSES = {
    c.id: c
    for c in [
        ClassSnapshot(id="car", name="Car"),
        ClassSnapshot(id="explosion", name="Explosion", modalities=[Modality.video]),
        ClassSnapshot(id="speech", name="Speech", modalities=[Modality.audio]),
        ClassSnapshot(id="siren", name="Siren", modalities=[Modality.audio, Modality.video]),
        ClassSnapshot(id="out_of_sync", name="Out of sync", modalities=[Modality.multimodal]),
    ]
}


def label(class_id: str = "car", **fields: Any) -> Label:
    return Label.model_validate({"class_id": class_id, **fields})


def box(x: float, y: float, width: float, height: float) -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": y, "width": width, "height": height}


def segment(start_s: float, end_s: float) -> dict[str, Any]:
    return {"start_s": start_s, "end_s": end_s}


def pairs(errors: list[FieldError]) -> list[tuple[str, str]]:
    assert all(type(e) is FieldError for e in errors)
    return [(e.field, e.message) for e in errors]


def on_media(media: Any, *labels: Label, classes: Any = CLASSES) -> list[tuple[str, str]]:
    """The problems of ``labels`` on a single-modality item of ``media``."""
    return pairs(
        label_errors(
            labels, modality=media.modality, media=media, parts=None, classes=classes, at=AT
        )
    )


def on_bundle(*labels: Label, classes: Any = CLASSES) -> list[tuple[str, str]]:
    """The problems of ``labels`` on the bundle of :data:`PARTS`."""
    return pairs(
        label_errors(labels, modality="multimodal", media=None, parts=PARTS, classes=classes, at=AT)
    )


# --- what was seen and accepted before this rule --------------------------------------------


def test_a_box_at_x_5000_on_a_4032_by_3024_image_is_refused_at_its_width() -> None:
    assert on_media(image(), label(geometry=box(5000, 100, 200, 100))) == [
        (f"{AT}.0.geometry.width", "x + width = 5200.0: not inside the 4032x3024 media")
    ]


def test_a_1_to_25_s_segment_on_a_10_s_audio_track_is_refused_at_its_end() -> None:
    assert on_media(audio(), label("speech", segment=segment(1, 25))) == [
        (f"{AT}.0.segment.end_s", "ends at 25.0s, after the media's 10.0s")
    ]


def test_a_time_segment_on_a_still_image_is_refused() -> None:
    assert on_media(image(), label(segment=segment(0, 1))) == [
        (f"{AT}.0.segment", "image media has no time segments")
    ]


def test_a_label_on_a_part_the_bundle_does_not_have_is_refused() -> None:
    assert on_bundle(label(part="thumbnail", geometry=box(0, 0, 1, 1))) == [
        (f"{AT}.0.part", "no part named 'thumbnail'")
    ]


def test_a_box_on_the_text_transcript_part_is_refused() -> None:
    assert on_bundle(label(part="transcript", geometry=box(0, 0, 1, 1))) == [
        (f"{AT}.0.geometry", "text media has no geometry")
    ]


def test_a_video_only_class_on_the_audio_part_is_refused_and_on_the_video_part_is_fine() -> None:
    assert on_bundle(
        label("explosion", part="track", segment=segment(2, 3)),
        label("explosion", part="clip", segment=segment(2, 3)),
    ) == [(f"{AT}.0.class_id", "class 'explosion' applies to video only; part 'track' is audio")]


# --- classes and modalities -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "class_id", "expected"),
    [
        (image(), "explosion", "class 'explosion' applies to video only"),
        (audio(), "explosion", "class 'explosion' applies to video only"),
        (text(), "siren", "class 'siren' applies to audio, video only"),
        (video(), "out_of_sync", "class 'out_of_sync' applies to multimodal only"),
        (video(), "explosion", None),
        (audio(), "siren", None),
        (image(), "car", None),
    ],
    ids=[
        "video-class-on-image",
        "video-class-on-audio",
        "av-class-on-text",
        "bundle-class-on-video",
        "video-class-on-video",
        "av-class-on-audio",
        "any-class-on-image",
    ],
)
def test_a_class_of_some_modalities_applies_only_to_media_of_those(
    media: Any, class_id: str, expected: str | None
) -> None:
    found = on_media(media, label(class_id))
    assert found == ([(f"{AT}.0.class_id", expected)] if expected else [])


def test_on_a_bundle_a_class_of_bundles_applies_to_every_part() -> None:
    labels = [label("out_of_sync", part=p.name) for p in PARTS] + [label("out_of_sync")]
    assert on_bundle(*labels) == []


def test_a_label_on_no_part_of_a_bundle_takes_a_class_of_any_of_its_parts() -> None:
    assert on_bundle(label("speech"), label("explosion"), label("car")) == []
    stills = [BundlePart(name="before", role="source", media=image())]
    found = label_errors(
        [label("speech")], modality="multimodal", media=None, parts=stills, classes=CLASSES, at=AT
    )
    assert pairs(found) == [
        (f"{AT}.0.class_id", "class 'speech' applies to audio only; no part of the bundle is")
    ]


def test_a_class_the_version_lacks_is_named_with_the_version_given() -> None:
    assert on_media(image(), label("boat")) == [
        (f"{AT}.0.class_id", "no class 'boat' in the taxonomy version")
    ]
    found = label_errors(
        [label("boat")],
        modality="image",
        media=image(),
        parts=None,
        classes=CLASSES,
        taxonomy="taxonomy street version 3",
        at=AT,
    )
    assert pairs(found) == [(f"{AT}.0.class_id", "no class 'boat' in taxonomy street version 3")]


def test_without_the_classes_no_class_is_checked_but_labels_are_still_placed() -> None:
    labels = [label("boat"), label("explosion", geometry=box(4000, 0, 100, 1))]
    assert on_media(image(), *labels, classes=None) == [
        (f"{AT}.1.geometry.width", "x + width = 4100.0: not inside the 4032x3024 media")
    ]


def test_an_unknown_class_on_an_unknown_part_gets_both_errors_and_no_modality_check() -> None:
    assert on_bundle(label("boat", part="nope"), label("explosion", part="nope")) == [
        (f"{AT}.0.class_id", "no class 'boat' in the taxonomy version"),
        (f"{AT}.0.part", "no part named 'nope'"),
        (f"{AT}.1.part", "no part named 'nope'"),
    ]


# --- parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [{"geometry": box(0, 0, 1, 1)}, {"segment": segment(0, 1)}],
    ids=["geometry", "segment"],
)
def test_a_located_label_of_a_bundle_must_say_its_part(where: dict[str, Any]) -> None:
    assert on_bundle(label(**where)) == [(f"{AT}.0.part", "say which part a located label is on")]


def test_an_unlocated_label_of_a_bundle_needs_no_part() -> None:
    assert on_bundle(label(text="the voice lags the lips")) == []


def test_a_label_of_a_single_modality_item_naming_a_part_is_refused_and_still_placed() -> None:
    assert on_media(image(), label(part="photo", geometry=box(4000, 0, 100, 1))) == [
        (f"{AT}.0.part", "only labels of multimodal items name a part"),
        (f"{AT}.0.geometry.width", "x + width = 4100.0: not inside the 4032x3024 media"),
    ]


def test_a_label_is_placed_on_its_parts_media() -> None:
    assert on_bundle(
        label(part="photo", geometry=box(0, 0, 4032, 3024)),
        label(part="clip", geometry=box(0, 0, 1921, 1)),
        label(part="track", geometry=box(0, 0, 1, 1)),
        label(part="photo", segment=segment(0, 1)),
        label(part="clip", segment=segment(0, 10.5)),
    ) == [
        (f"{AT}.1.geometry.width", "x + width = 1921.0: not inside the 1920x1080 media"),
        (f"{AT}.2.geometry", "audio media has no geometry"),
        (f"{AT}.3.segment", "image media has no time segments"),
        (f"{AT}.4.segment.end_s", "ends at 10.5s, after the media's 10.0s"),
    ]


def test_nothing_is_placed_on_an_item_without_media() -> None:
    found = label_errors(
        [label("explosion", geometry=box(5000, 0, 1, 1))],
        modality="image",
        media=None,
        parts=None,
        classes=CLASSES,
        at=AT,
    )
    assert pairs(found) == [(f"{AT}.0.class_id", "class 'explosion' applies to video only")]


# --- geometry and segments ------------------------------------------------------------------


def test_a_box_past_both_edges_names_width_then_height() -> None:
    assert on_media(video(), label(geometry=box(1900, 1000, 21, 81))) == [
        (f"{AT}.0.geometry.width", "x + width = 1921.0: not inside the 1920x1080 media"),
        (f"{AT}.0.geometry.height", "y + height = 1081.0: not inside the 1920x1080 media"),
    ]


def test_only_the_first_polygon_point_outside_is_named() -> None:
    geometry = {"kind": "polygon", "points": [[0, 0], [5000, 0], [0, 4000]]}
    assert on_media(image(), label(geometry=geometry)) == [
        (f"{AT}.0.geometry.points.1", "point (5000.0, 0.0) is not inside the 4032x3024 media")
    ]


def test_a_mask_is_the_frame_size_height_first() -> None:
    good = {"kind": "mask", "size": [1080, 1920], "counts": "PPXo0"}
    bad = {"kind": "mask", "size": [1920, 1080], "counts": "PPXo0"}
    assert on_media(video(), label(geometry=good), label(geometry=bad)) == [
        (f"{AT}.1.geometry.size", "mask size [1920, 1080] is not [1080, 1920]")
    ]


def test_a_text_label_with_a_segment_on_text_media_gets_both_segment_errors() -> None:
    assert on_media(text(), label(text="hello", segment=segment(0, 1))) == [
        (f"{AT}.0.segment", "text media has no time segments"),
        (f"{AT}.0.segment", "text labels carry no segment"),
    ]


def test_every_problem_of_every_label_is_named_at_once_in_the_labels_order() -> None:
    assert on_media(
        video(),
        label("boat", geometry=box(1920, 0, 1, 1), segment=segment(0, 11)),
        label("car"),
        label("speech", part="x"),
    ) == [
        (f"{AT}.0.class_id", "no class 'boat' in the taxonomy version"),
        (f"{AT}.0.geometry.width", "x + width = 1921.0: not inside the 1920x1080 media"),
        (f"{AT}.0.segment.end_s", "ends at 11.0s, after the media's 10.0s"),
        (f"{AT}.2.class_id", "class 'speech' applies to audio only"),
        (f"{AT}.2.part", "only labels of multimodal items name a part"),
    ]


# --- properties against a plain reference ---------------------------------------------------

SIDE = st.integers(1, 5_000)
DURATION = st.floats(0.1, 1_000, allow_nan=False)
MEDIA = st.one_of(
    st.builds(image, SIDE, SIDE),
    st.builds(video, SIDE, SIDE, DURATION),
    st.builds(audio, DURATION),
    st.just(text()),
)
COORD = st.floats(0, 10_000, allow_nan=False, allow_subnormal=False)
SIZE = st.floats(0.01, 10_000, allow_nan=False, allow_subnormal=False)
BOX = st.builds(Box, x=COORD, y=COORD, width=SIZE, height=SIZE)
POLYGON = st.builds(Polygon, points=st.lists(st.tuples(COORD, COORD), min_size=3, max_size=6))
MASK = st.builds(RleMask, size=st.tuples(SIDE, SIDE), counts=st.just("PPXo0"))


@st.composite
def segments(draw: st.DrawFn) -> TimeSegment:
    start, end = sorted([draw(COORD), draw(COORD)])
    return TimeSegment(start_s=start / 10, end_s=end / 10)


LABELS = st.lists(
    st.builds(
        Label,
        class_id=st.sampled_from([*CLASSES, "boat"]),
        geometry=st.none() | BOX | POLYGON | MASK,
        segment=st.none() | segments(),
        text=st.none() | st.just("t"),
        part=st.none() | st.sampled_from([p.name for p in PARTS] + ["nope"]),
    ),
    max_size=5,
)


def inside(value: float, high: float) -> bool:
    return -EPSILON <= value <= high + EPSILON


def reference(
    labels: list[Label], modality: str, media: Any, parts: list[BundlePart] | None
) -> list[str]:
    """The fields the rule names, written plainly: where each label is, then what is wrong."""
    by_name = {p.name: p.media for p in parts or []}
    fields = []
    for i, lab in enumerate(labels):
        at = f"{AT}.{i}"
        located = lab.geometry is not None or lab.segment is not None
        if modality == "multimodal":
            on = by_name.get(lab.part) if lab.part is not None else None
            part_ok = (lab.part is None and not located) or on is not None
            where = (
                {on.modality} if on is not None else {p.media.modality for p in parts or []}
            ) | {"multimodal"}
        else:
            on, part_ok, where = media, True, {modality}
        cls = CLASSES.get(lab.class_id)
        elsewhere = cls is not None and bool(cls.modalities) and not where & set(cls.modalities)
        if cls is None or (part_ok and elsewhere):
            fields.append(f"{at}.class_id")
        named_wrongly = lab.part is not None and (modality != "multimodal" or on is None)
        unnamed = modality == "multimodal" and lab.part is None and located
        if named_wrongly or unnamed:
            fields.append(f"{at}.part")
        if on is None:
            continue
        width, height = getattr(on, "width", None), getattr(on, "height", None)
        geometry = lab.geometry
        if geometry is not None and width is None:
            fields.append(f"{at}.geometry")
        elif isinstance(geometry, Box):
            if not inside(geometry.x + geometry.width, width):
                fields.append(f"{at}.geometry.width")
            if not inside(geometry.y + geometry.height, height):
                fields.append(f"{at}.geometry.height")
        elif isinstance(geometry, Polygon):
            out = [
                n
                for n, (x, y) in enumerate(geometry.points)
                if not (inside(x, width) and inside(y, height))
            ]
            fields += [f"{at}.geometry.points.{n}" for n in out[:1]]
        elif isinstance(geometry, RleMask) and tuple(geometry.size) != (height, width):
            fields.append(f"{at}.geometry.size")
        duration = getattr(on, "duration_s", None)
        if lab.segment is not None:
            if duration is None:
                fields.append(f"{at}.segment")
            elif not inside(lab.segment.end_s, duration):
                fields.append(f"{at}.segment.end_s")
        if lab.segment is not None and lab.text is not None and on.modality == "text":
            fields.append(f"{at}.segment")
    return fields


@settings(max_examples=300)
@given(media=MEDIA, labels=LABELS)
def test_labels_on_a_single_modality_item_are_named_where_the_reference_names_them(
    media: Any, labels: list[Label]
) -> None:
    found = label_errors(
        labels, modality=media.modality, media=media, parts=None, classes=CLASSES, at=AT
    )
    assert [e.field for e in found] == reference(labels, media.modality, media, None)


@settings(max_examples=300)
@given(labels=LABELS, parts=st.lists(st.sampled_from(PARTS), min_size=1, unique_by=id))
def test_labels_on_a_bundle_are_named_where_the_reference_names_them(
    labels: list[Label], parts: list[BundlePart]
) -> None:
    found = label_errors(
        labels, modality="multimodal", media=None, parts=parts, classes=CLASSES, at=AT
    )
    assert [e.field for e in found] == reference(labels, "multimodal", None, parts)


@st.composite
def placed(draw: st.DrawFn) -> tuple[Any, Label, str]:
    """Media, a label drawn inside it (any class of its modality), and how to move it out:
    the field its move makes wrong."""
    kind = draw(st.sampled_from(["box", "polygon", "mask", "segment"]))
    if kind == "segment":
        timed = draw(st.one_of(st.builds(video, SIDE, SIDE, DURATION), st.builds(audio, DURATION)))
        start, end = sorted([draw(st.floats(0, timed.duration_s)) for _ in range(2)])
        return timed, Label(class_id="siren", segment=TimeSegment(start_s=start, end_s=end)), kind
    media = draw(st.one_of(st.builds(image, SIDE, SIDE), st.builds(video, SIDE, SIDE, DURATION)))
    w, h = media.width, media.height
    if kind == "box":
        x = draw(st.floats(0, w, exclude_max=True))
        y = draw(st.floats(0, h, exclude_max=True))
        geometry: Any = Box(
            x=x,
            y=y,
            width=draw(st.floats(0, w - x, exclude_min=True)),
            height=draw(st.floats(0, h - y, exclude_min=True)),
        )
        return media, Label(class_id="car", geometry=geometry), "box"
    if kind == "polygon":
        points = draw(st.lists(st.tuples(st.floats(0, w), st.floats(0, h)), min_size=3))
        return media, Label(class_id="car", geometry=Polygon(points=points)), "polygon"
    return media, Label(class_id="car", geometry=RleMask(size=(h, w), counts="x")), "mask"


def errors_of(media: Any, lab: Label) -> list[str]:
    found = label_errors(
        [lab], modality=media.modality, media=media, parts=None, classes=CLASSES, at=AT
    )
    return [e.field for e in found]


@settings(max_examples=300)
@given(case=placed())
def test_a_label_drawn_inside_its_media_is_never_refused(case: tuple[Any, Label, str]) -> None:
    media, lab, _ = case
    assert errors_of(media, lab) == []


@settings(max_examples=300)
@given(case=placed(), by=st.floats(1e-3, 10_000), point=st.integers(0, 2))
def test_the_same_label_moved_outside_its_media_is_always_refused_where_it_left(
    case: tuple[Any, Label, str], by: float, point: int
) -> None:
    media, lab, kind = case
    geometry = lab.geometry
    if kind == "box":
        assert isinstance(geometry, Box)
        moved = lab.model_copy(
            update={"geometry": geometry.model_copy(update={"x": media.width + by})}
        )
        assert errors_of(media, moved) == [f"{AT}.0.geometry.width"]
    elif kind == "polygon":
        assert isinstance(geometry, Polygon)
        points = list(geometry.points)
        points[point] = (points[point][0], media.height + by)
        moved = lab.model_copy(update={"geometry": Polygon(points=points)})
        assert errors_of(media, moved) == [f"{AT}.0.geometry.points.{point}"]
    elif kind == "mask":
        size = (media.height, media.width + max(1, int(by)))
        moved = lab.model_copy(update={"geometry": RleMask(size=size, counts="x")})
        assert errors_of(media, moved) == [f"{AT}.0.geometry.size"]
    else:
        assert lab.segment is not None
        end = media.duration_s + by
        moved = lab.model_copy(
            update={"segment": TimeSegment(start_s=lab.segment.start_s, end_s=end)}
        )
        assert errors_of(media, moved) == [f"{AT}.0.segment.end_s"]
