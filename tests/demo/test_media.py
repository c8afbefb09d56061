"""The demo's generated media files and the static server that serves them."""

from __future__ import annotations

import hashlib
import http.client
import time
import wave
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from PIL import Image
from pydantic import TypeAdapter

from deploy.demo.media import MediaFile, MediaLibrary, tone_hz
from deploy.demo.media_server import base_url, serve, url_of
from shared.contracts.media import AudioFile, ImageFile, MediaRegistration, TextFile, VideoFile
from shared.contracts.media import MediaFile as MediaDescriptor


@pytest.fixture
def library(tmp_path: Path) -> MediaLibrary:
    return MediaLibrary(tmp_path / "media")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wav_samples(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    return data, rate


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _peak_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / rate)[int(np.argmax(spectrum))])


def test_an_image_is_a_real_jpeg_of_the_asked_size_with_its_checksum(
    library: MediaLibrary,
) -> None:
    media = library.image("street/0001", width=320, height=200, shapes=[("car", (10, 80, 90, 60))])

    assert media.path.is_relative_to(library.root / "street")
    assert media.path.suffix == ".jpg"
    assert media.uri == media.path.as_uri()
    assert media.sha256 == _sha256(media.path)
    assert media.size_bytes == media.path.stat().st_size
    with Image.open(media.path) as im:
        assert (im.format, im.size) == ("JPEG", (320, 200))
    assert media.descriptor() == {
        "modality": "image",
        "uri": media.uri,
        "sha256": media.sha256,
        "size_bytes": media.size_bytes,
        "width": 320,
        "height": 200,
        "format": "jpeg",
    }


def test_an_image_can_be_a_png(library: MediaLibrary) -> None:
    media = library.image("icon", width=64, height=48, fmt="png")

    with Image.open(media.path) as im:
        assert (im.format, im.size) == ("PNG", (64, 48))
    assert media.descriptor()["format"] == "png"


def test_shapes_are_drawn_in_their_boxes_and_night_is_darker_than_day(
    library: MediaLibrary,
) -> None:
    box = (100.0, 250.0, 200.0, 120.0)
    plain = library.image("plain", fmt="png")
    with_car = library.image("car", shapes=[("car", box)], fmt="png")
    night = library.image("night", scene="night", fmt="png")

    def pixels(media: MediaFile) -> np.ndarray:
        with Image.open(media.path) as im:
            return np.asarray(im.convert("RGB")).astype(np.int32)

    difference = np.abs(pixels(with_car) - pixels(plain)).sum(axis=2) > 30
    inside = difference[260:360, 110:290]
    outside = np.concatenate([difference[:200].ravel(), difference[400:].ravel()])
    assert inside.mean() > 0.9
    assert outside.mean() < 0.01
    assert pixels(night).mean() < pixels(plain).mean() / 2


def test_the_same_arguments_give_the_same_bytes(tmp_path: Path) -> None:
    def make(library: MediaLibrary) -> list[MediaFile]:
        return [
            library.image("i", shapes=[("person", (5, 5, 40, 80))], seed=7),
            library.image("p", width=64, height=64, fmt="png", seed=7),
            library.audio("a", events=[("siren", 0.5, 1.5)], seed=7),
            library.video("v", duration_s=1.0, segments=[("jump", 0.25, 0.75)], seed=7),
            library.text("t", "the same text"),
        ]

    first, second = make(MediaLibrary(tmp_path / "one")), make(MediaLibrary(tmp_path / "two"))

    assert [m.sha256 for m in first] == [m.sha256 for m in second]
    assert [m.path.name for m in first] == [m.path.name for m in second]


def test_other_arguments_give_another_file_and_the_same_arguments_reuse_it(
    library: MediaLibrary,
) -> None:
    first = library.image("street/0001", seed=1)
    mtime = first.path.stat().st_mtime_ns
    other_seed = library.image("street/0001", seed=2)
    again = library.image("street/0001", seed=1)

    assert other_seed.path != first.path
    assert other_seed.sha256 != first.sha256
    assert again == first
    assert first.path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in first.path.parent.iterdir()) == sorted(
        [first.path.name, other_seed.path.name]
    )


def test_audio_events_are_audible_where_placed(library: MediaLibrary) -> None:
    media = library.audio("sounds/0001", duration_s=4.0, events=[("dog_bark", 1.0, 2.0)])

    samples, rate = _wav_samples(media.path)
    assert rate == 16_000
    assert len(samples) == 4 * rate
    during = samples[int(1.1 * rate) : int(1.9 * rate)]
    before, after = samples[: int(0.9 * rate)], samples[int(2.1 * rate) :]
    assert _rms(during) > 5 * max(_rms(before), _rms(after))
    assert _peak_hz(during, rate) == pytest.approx(tone_hz("dog_bark", rate), abs=3)
    assert media.descriptor() | {"uri": "", "sha256": "", "size_bytes": 0} == {
        "modality": "audio",
        "uri": "",
        "sha256": "",
        "size_bytes": 0,
        "duration_s": 4.0,
        "sample_rate_hz": 16_000,
        "channels": 1,
    }


def test_different_classes_sound_different(library: MediaLibrary) -> None:
    media = library.audio("two", events=[("siren", 0.0, 1.0), ("speech", 2.0, 3.0)])

    samples, rate = _wav_samples(media.path)
    siren, speech = _peak_hz(samples[:rate], rate), _peak_hz(samples[2 * rate : 3 * rate], rate)
    assert siren == pytest.approx(tone_hz("siren", rate), abs=3)
    assert speech == pytest.approx(tone_hz("speech", rate), abs=3)


def test_a_video_is_an_h264_mp4_with_an_audio_track_of_the_asked_duration(
    library: MediaLibrary,
) -> None:
    media = library.video(
        "clips/0001", duration_s=2.5, fps=10, width=160, height=120, segments=[("run", 0.5, 1.5)]
    )

    assert media.path.suffix == ".mp4"
    with av.open(str(media.path)) as container:
        assert "mp4" in container.format.name
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == (160, 120)
        assert video.average_rate == 10
        assert audio.codec_context.name == "aac"
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(2.5, abs=0.1)
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == 25
    assert media.descriptor() | {"uri": "", "sha256": "", "size_bytes": 0} == {
        "modality": "video",
        "uri": "",
        "sha256": "",
        "size_bytes": 0,
        "duration_s": 2.5,
        "fps": 10.0,
        "frame_count": 25,
        "width": 160,
        "height": 120,
        "has_audio": True,
    }


def test_a_video_beeps_at_each_segment_start_shifted_by_the_audio_offset(
    library: MediaLibrary,
) -> None:
    def first_beep_s(offset_ms: float) -> float:
        media = library.video(
            f"sync/{offset_ms:+.0f}", segments=[("jump", 1.0, 2.0)], audio_offset_ms=offset_ms
        )
        with av.open(str(media.path)) as container:
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate
            chunks = [f.to_ndarray()[0] for f in container.decode(audio=0)]
        samples = np.concatenate(chunks)
        window = rate // 100
        energy = np.convolve(samples**2, np.ones(window) / window, mode="same")
        return float(np.argmax(energy > 0.05) / rate)

    on_time, late = first_beep_s(0.0), first_beep_s(200.0)

    assert on_time == pytest.approx(1.0, abs=0.06)
    assert late - on_time == pytest.approx(0.2, abs=0.02)


def test_a_video_clip_generates_in_well_under_a_second(library: MediaLibrary) -> None:
    started = time.perf_counter()
    library.video("fast", segments=[("jump", 0.5, 2.0)])

    assert time.perf_counter() - started < 0.8


def test_a_text_file_is_utf8_with_its_length_in_characters(library: MediaLibrary) -> None:
    media = library.text("notes/0001", "Café au lait — 3 €")

    assert media.path.read_bytes() == "Café au lait — 3 €".encode()
    descriptor = media.descriptor()
    assert (descriptor["modality"], descriptor["language"], descriptor["length_chars"]) == (
        "text",
        "en",
        18,
    )


def test_descriptors_validate_against_the_registration_contract(library: MediaLibrary) -> None:
    files = {
        ImageFile: library.image("i", shapes=[("car", (1, 2, 30, 40))]),
        AudioFile: library.audio("a", events=[("bark", 1, 2)]),
        VideoFile: library.video("v", segments=[("run", 0.5, 1.5)]),
        TextFile: library.text("t", "hello"),
    }

    adapter: TypeAdapter[ImageFile | VideoFile | AudioFile | TextFile] = TypeAdapter(
        MediaDescriptor
    )
    for model, media in files.items():
        descriptor = media.descriptor()
        parsed = adapter.validate_python(descriptor)
        assert isinstance(parsed, model)
        assert parsed.model_dump(mode="json") == descriptor
        registration = MediaRegistration.model_validate(
            {
                "external_id": f"demo-{media.modality}",
                "project_id": "street-scenes",
                "modality": media.modality,
                "media": descriptor,
            }
        )
        assert registration.media == parsed


@pytest.mark.parametrize(
    "name", ["../escape", "a/../../b", "/etc/passwd", "", "a//b", "./a", "a/", "a\\b"]
)
def test_a_name_outside_the_root_is_refused(library: MediaLibrary, name: str) -> None:
    with pytest.raises(ValueError, match="invalid media name"):
        library.text(name, "x")


def test_unknown_scenes_formats_and_spans_past_the_end_are_refused(library: MediaLibrary) -> None:
    with pytest.raises(ValueError, match="scene"):
        library.image("x", scene="dusk")
    with pytest.raises(ValueError, match="fmt"):
        library.image("x", fmt="gif")
    with pytest.raises(ValueError, match="span"):
        library.audio("x", duration_s=2.0, events=[("bark", 1.5, 2.5)])


@pytest.fixture
def server(library: MediaLibrary) -> Iterator[ThreadingHTTPServer]:
    running = serve(library.root, port=0)
    yield running
    running.shutdown()
    running.server_close()


def test_the_server_serves_a_file_whole_and_by_byte_range(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.video("clips/0001")
    url = url_of(media.uri, library.root, base_url(server))
    assert url is not None
    content = media.path.read_bytes()

    with httpx.Client() as client:
        whole = client.get(url)
        part = client.get(url, headers={"Range": "bytes=100-1099"})
        tail = client.get(url, headers={"Range": "bytes=-10"})
        beyond = client.get(url, headers={"Range": f"bytes={len(content)}-"})

    assert whole.status_code == 200
    assert whole.content == content
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["access-control-allow-origin"] == "*"
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(content)}"
    assert part.content == content[100:1100]
    assert tail.status_code == 206
    assert tail.content == content[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(content)}"


def test_the_server_lists_no_directory_and_serves_nothing_outside_its_root(
    library: MediaLibrary, server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    library.text("notes/0001", "inside")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (library.root / "link.txt").symlink_to(secret)
    host, port = server.server_address[:2]

    def status(path: str) -> int:
        connection = http.client.HTTPConnection(str(host), port, timeout=5)
        try:
            connection.request("GET", path)
            return connection.getresponse().status
        finally:
            connection.close()

    assert status("/") == 404
    assert status("/notes/") == 404
    assert status("/notes") == 404
    assert status("/../secret.txt") == 404
    assert status("/notes/../../secret.txt") == 404
    assert status("/%2e%2e/secret.txt") == 404
    assert status("/link.txt") == 404
    assert status("/missing.txt") == 404


def test_the_server_is_read_only(library: MediaLibrary, server: ThreadingHTTPServer) -> None:
    media = library.text("notes/0001", "inside")
    url = url_of(media.uri, library.root, base_url(server))
    assert url is not None

    with httpx.Client() as client:
        assert client.put(url, content=b"changed").status_code == 501
        assert client.delete(url).status_code == 501
    assert media.path.read_text() == "inside"


def test_a_file_uri_maps_to_its_url_only_under_the_root(tmp_path: Path) -> None:
    root = tmp_path / "media"
    inside = (root / "a dir" / "ü.jpg").as_uri()

    assert url_of(inside, root, "http://127.0.0.1:8005/") == (
        "http://127.0.0.1:8005/a%20dir/%C3%BC.jpg"
    )
    assert url_of((tmp_path / "other.jpg").as_uri(), root, "http://h") is None
    assert url_of(root.as_uri(), root, "http://h") is None
    assert url_of("https://example.com/a.jpg", root, "http://h") is None
