"""The demo's generated media files and the static server that serves them."""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.parse
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
from deploy.demo.media_server import base_url, serve
from deploy.demo.peaks import waveform
from shared.contracts.media import AudioFile, ImageFile, MediaRegistration, TextFile, VideoFile
from shared.contracts.media import MediaFile as MediaDescriptor
from shared.media.presign import MediaSigning, signature, signed_link


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


SECRET = b"the media server's test secret"


@pytest.fixture
def server(library: MediaLibrary) -> Iterator[ThreadingHTTPServer]:
    running = serve(library.root, port=0, secret=SECRET)
    yield running
    running.shutdown()
    running.server_close()


def _link(
    server: ThreadingHTTPServer,
    library: MediaLibrary,
    uri: str,
    *,
    now: float | None = None,
    ttl_s: int = 600,
    secret: bytes = SECRET,
) -> str:
    signing = MediaSigning(
        secret=secret, ttl_s=ttl_s, file_root=str(library.root), file_base_url=base_url(server)
    )
    link = signed_link(uri, signing=signing, now=time.time() if now is None else now)
    assert link is not None
    return link.url


def _with_query(url: str, **changes: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query)) | changes
    return parts._replace(query=urllib.parse.urlencode(query)).geturl()


def test_the_server_serves_a_file_whole_and_by_byte_range_to_a_signed_link(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.video("clips/0001")
    url = _link(server, library, media.uri)
    content = media.path.read_bytes()

    with httpx.Client() as client:
        whole = client.get(url)
        head = client.head(url)
        part = client.get(url, headers={"Range": "bytes=100-1099"})
        tail = client.get(url, headers={"Range": "bytes=-10"})
        beyond = client.get(url, headers={"Range": f"bytes={len(content)}-"})

    assert whole.status_code == 200
    assert whole.content == content
    assert whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["access-control-allow-origin"] == "*"
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(content))
    assert head.content == b""
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(content)}"
    assert part.content == content[100:1100]
    assert tail.status_code == 206
    assert tail.content == content[-10:]
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(content)}"


def test_a_file_with_spaces_and_accents_in_its_name_is_served_by_its_signed_link(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.text("a dir/café notes", "inside")
    url = _link(server, library, media.uri)

    assert "/a%20dir/caf%C3%A9%20notes." in url
    assert httpx.get(url).text == "inside"


def test_a_request_without_a_signed_link_is_refused_with_403_and_its_reason(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.text("notes/0001", "inside")
    bare = _link(server, library, media.uri).split("?")[0]
    no_signature = _with_query(_link(server, library, media.uri), signature="")

    with httpx.Client() as client:
        unsigned, head = client.get(bare), client.head(bare)
        half = client.get(no_signature)
        peaks = client.get(bare + "?view=peaks")

    for response in (unsigned, half, peaks):
        assert response.status_code == 403
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.text == "a signed link is needed: expires and signature\n"
    assert head.status_code == 403


def test_an_expired_link_is_refused_with_403_saying_it_expired(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.text("notes/0001", "inside")
    expired = _link(server, library, media.uri, now=time.time() - 3600, ttl_s=60)

    response = httpx.get(expired)

    assert response.status_code == 403
    assert response.text == "the link has expired: take the unit again for a fresh one\n"


def test_a_tampered_link_is_refused_with_403(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    mine = library.text("notes/mine", "mine")
    theirs = library.text("notes/theirs", "theirs")
    url = _link(server, library, mine.uri)
    query = urllib.parse.urlsplit(url).query
    signature = dict(urllib.parse.parse_qsl(query))["signature"]
    expires = int(dict(urllib.parse.parse_qsl(query))["expires"])
    other_path = _link(server, library, theirs.uri).split("?")[0] + "?" + query
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    tampered = {
        "another path": other_path,
        "another signature": _with_query(url, signature=flipped),
        "a later expiry": _with_query(url, expires=str(expires + 3600)),
        "an expiry spelled otherwise": _with_query(url, expires=f"0{expires}"),
        "another secret": _link(server, library, mine.uri, secret=b"not the server's"),
        "a non-ASCII signature": _with_query(url, signature="é" * 64),
        "a superscript expiry": _with_query(url, expires="²"),
    }

    with httpx.Client() as client:
        assert client.get(url).text == "mine"
        refused = {name: client.get(link) for name, link in tampered.items()}

    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(tampered, 403)
    assert refused["another path"].text == "the signature does not match\n"
    assert refused["a superscript expiry"].text == "expires is not a time\n"


def test_the_server_lists_no_directory_and_serves_nothing_outside_its_root_even_signed(
    library: MediaLibrary, server: ThreadingHTTPServer, tmp_path: Path
) -> None:
    library.text("notes/0001", "inside")
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    (library.root / "link.txt").symlink_to(secret)
    host, port = server.server_address[:2]
    expires = int(time.time()) + 600

    def status(raw: str, *, signed: bool = True) -> int:
        """The status of GET /raw, with a valid signature of its unquoted path."""
        query = urllib.parse.urlencode(
            {"expires": expires, "signature": signature(urllib.parse.unquote(raw), expires, SECRET)}
        )
        connection = http.client.HTTPConnection(str(host), port, timeout=5)
        try:
            connection.request("GET", f"/{raw}?{query}" if signed else f"/{raw}")
            return connection.getresponse().status
        finally:
            connection.close()

    assert status("") == 404
    assert status("notes/") == 404
    assert status("notes") == 404
    assert status("../secret.txt") == 404
    assert status("notes/../../secret.txt") == 404
    assert status("%2e%2e/secret.txt") == 404
    assert status("link.txt") == 404
    assert status("missing.txt") == 404
    assert status("notes//0001") == 404
    assert status("missing.txt", signed=False) == 403  # no signature, nothing learnt


def test_the_server_is_read_only(library: MediaLibrary, server: ThreadingHTTPServer) -> None:
    media = library.text("notes/0001", "inside")
    url = _link(server, library, media.uri)

    with httpx.Client() as client:
        assert client.put(url, content=b"changed").status_code == 501
        assert client.delete(url).status_code == 501
    assert media.path.read_text() == "inside"


def _write_wav(path: Path, channels: np.ndarray, rate: int) -> None:
    """int16 PCM of ``channels`` (channels by samples, floats in [-1, 1])."""
    pcm = np.round(channels.T * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def _peaks(url: str, **query: str) -> httpx.Response:
    return httpx.get(_with_query(url, view="peaks", **query), timeout=30)


def test_the_peaks_of_a_wav_are_the_largest_mixed_down_sample_of_each_bin(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    rate, bins = 8_000, 100
    t = np.arange(2 * rate) / rate
    loud = np.where(t < 1.0, np.sin(2 * np.pi * 440 * t), 0.0)
    stereo = np.stack([0.8 * loud, 0.4 * loud])  # mixed down: 0.6 in the first second
    path = library.root / "tone.wav"
    _write_wav(path, stereo, rate)
    with wave.open(str(path), "rb") as w:
        written = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2) / 32768
    reference = np.abs(written.mean(axis=1)).reshape(bins, -1).max(axis=1)

    response = _peaks(_link(server, library, path.as_uri()), bins=str(bins))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"
    body = response.json()
    assert (body["duration"], body["channels"], len(body["peaks"])) == (2.0, 1, 1)
    peaks = np.array(body["peaks"][0])
    assert peaks.shape == (bins,)
    assert np.allclose(peaks, reference, atol=1e-4)
    assert np.allclose(peaks[: bins // 2], 0.6, atol=0.01)
    assert np.all(peaks[bins // 2 :] == 0.0)


def test_the_peaks_of_a_video_show_its_beep(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.video("clips/beep", duration_s=3.0, segments=[("jump", 1.0, 2.0)])

    response = _peaks(_link(server, library, media.uri), bins="30")

    assert response.status_code == 200
    body = response.json()
    assert body["duration"] == pytest.approx(3.0, abs=0.05)
    assert body["channels"] == 1
    peaks = body["peaks"][0]
    assert len(peaks) == 30
    assert all(0.0 <= p <= 1.0 for p in peaks)
    beep = 10  # the 80 ms beep at 1.0 s, in bins of 0.1 s
    assert peaks[beep] > 0.3
    assert max(peaks[:beep] + peaks[beep + 2 :]) < 0.1
    assert min(peaks) > 0  # the noise under the beep


def _video_without_audio(path: Path) -> None:
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


def test_a_file_without_audio_has_no_peaks(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    silent = library.root / "silent.mp4"
    _video_without_audio(silent)
    image = library.image("street/0001", width=64, height=48)
    text = library.text("notes/0001", "no sound here")

    for uri in (silent.as_uri(), image.uri, text.uri):
        response = _peaks(_link(server, library, uri))
        assert response.status_code == 404, uri
        assert response.text == "no audio\n"


def test_bins_default_to_1000_and_are_clamped_to_16_to_8000(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.audio("sounds/0001", duration_s=1.0)
    url = _link(server, library, media.uri)

    assert len(_peaks(url).json()["peaks"][0]) == 1000
    assert len(_peaks(url, bins="3").json()["peaks"][0]) == 16
    assert len(_peaks(url, bins="100000").json()["peaks"][0]) == 8000
    assert len(_peaks(url, bins="16").json()["peaks"][0]) == 16


@pytest.mark.parametrize("bins", ["0", "-5", "1.5", "many", "", "1" * 40, "²"])
def test_bins_that_are_not_a_positive_whole_number_are_refused_with_400(
    library: MediaLibrary, server: ThreadingHTTPServer, bins: str
) -> None:
    media = library.audio("sounds/0001", duration_s=1.0)

    response = _peaks(_link(server, library, media.uri), bins=bins)

    assert response.status_code == 400
    assert response.text.startswith("bins must be a positive whole number")


def test_an_unknown_view_is_refused_with_400(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    media = library.audio("sounds/0001", duration_s=1.0)
    url = _with_query(_link(server, library, media.uri), view="spectrogram")

    assert httpx.get(url).status_code == 400


def test_the_peaks_follow_a_rewritten_file(
    library: MediaLibrary, server: ThreadingHTTPServer
) -> None:
    rate = 8_000
    path = library.root / "changing.wav"
    _write_wav(path, np.full((1, rate), 0.25), rate)
    url = _link(server, library, path.as_uri())
    before = _peaks(url, bins="16").json()["peaks"][0]
    _write_wav(path, np.full((1, rate), 0.5), rate)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))

    after = _peaks(url, bins="16").json()["peaks"][0]

    assert before == pytest.approx([0.25] * 16, abs=1e-4)
    assert after == pytest.approx([0.5] * 16, abs=1e-4)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_the_peaks_of_8_to_32_bit_wavs_are_the_same_signal(tmp_path: Path, width: int) -> None:
    rate, bins = 8_000, 16
    t = np.arange(rate) / rate
    signal = np.sin(2 * np.pi * 50 * t) * np.linspace(0.0, 0.9, rate)  # a growing tone
    scale = 1 << (8 * width - 1)
    ints = np.clip(np.round(signal * scale), -scale, scale - 1).astype(np.int64)
    if width == 1:
        data = (ints + 128).astype(np.uint8).tobytes()
    else:
        data = b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints)
    path = tmp_path / f"{width}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(data)
    reference = np.abs(ints / scale).reshape(bins, -1).max(axis=1)

    result = waveform(path, bins)

    assert result.duration == 1.0
    assert np.allclose(result.peaks, reference, atol=1e-4)
    assert result.peaks[-1] == pytest.approx(0.9, abs=0.01)


def test_the_peaks_of_a_wav_wave_cannot_read_come_from_ffmpeg(tmp_path: Path) -> None:
    rate = 8_000
    path = tmp_path / "float.wav"
    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_f32le", rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.full((1, rate), 0.75, np.float32), format="flt", layout="mono"
        )
        frame.sample_rate, frame.pts = rate, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(wave.Error), wave.open(str(path), "rb"):
        pass  # float PCM: not for the wave module

    result = waveform(path, 16)

    assert result.duration == pytest.approx(1.0, abs=0.01)
    assert result.peaks == pytest.approx([0.75] * 16, abs=1e-4)
