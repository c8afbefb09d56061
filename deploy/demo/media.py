"""Real, small media files for the demo: images, audio, video and text that ``make demo``
registers with Quorum, so that a web console has something to show.

Every file is a pure function of its arguments: the same arguments give the same bytes. A
file is named by its arguments (``<root>/<name>.<key>.<ext>``, the key a digest of the kind,
the arguments and :data:`GENERATOR_VERSION`), so a file already present is reused as is, and
different arguments never overwrite one another. Files are written atomically.

    library = MediaLibrary(Path(".local/demo-media"))
    photo = library.image("street/0001", shapes=[("car", (40, 260, 180, 110))])
    registration = {"media": photo.descriptor(), ...}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw

#: Part of every file's key: bump it when a generator's output changes for the same arguments.
GENERATOR_VERSION = 1

Modality = Literal["image", "audio", "video", "text"]
Box = tuple[float, float, float, float]
Span = tuple[str, float, float]
RGB = tuple[int, int, int]

_SCENES: dict[str, tuple[RGB, RGB, RGB, RGB]] = {
    # sky top, sky horizon, ground near horizon, ground bottom
    "day": ((120, 170, 235), (205, 225, 245), (150, 160, 140), (95, 100, 90)),
    "night": ((5, 10, 35), (30, 45, 90), (35, 38, 48), (15, 16, 22)),
}
_IMAGE_FORMATS = {"jpeg": "jpg", "png": "png"}
_VIDEO_AUDIO_RATE_HZ = 48_000
_AAC_FRAME = 1024


@dataclass(frozen=True)
class MediaFile:
    """One generated file: where it is, its checksum and size, and its media kind."""

    path: Path
    uri: str
    sha256: str
    size_bytes: int
    modality: Modality

    @classmethod
    def of(cls, path: Path, modality: Modality) -> MediaFile:
        """The file at ``path``, with its checksum and size read from disk."""
        path = path.resolve()
        with path.open("rb") as f:
            digest = hashlib.file_digest(f, "sha256").hexdigest()
        return cls(
            path=path,
            uri=path.as_uri(),
            sha256=digest,
            size_bytes=path.stat().st_size,
            modality=modality,
        )

    def descriptor(self) -> dict[str, Any]:
        """The media descriptor ingest accepts (``shared.contracts.media.MediaFile``), with
        the properties read from the file itself."""
        base: dict[str, Any] = {
            "modality": self.modality,
            "uri": self.uri,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
        }
        return base | _PROBES[self.modality](self.path)


def _probe_image(path: Path) -> dict[str, Any]:
    with Image.open(path) as im:
        return {"width": im.width, "height": im.height, "format": (im.format or "").lower()}


def _probe_audio(path: Path) -> dict[str, Any]:
    with wave.open(str(path), "rb") as w:
        return {
            "duration_s": w.getnframes() / w.getframerate(),
            "sample_rate_hz": w.getframerate(),
            "channels": w.getnchannels(),
        }


def _probe_video(path: Path) -> dict[str, Any]:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        fps = video.average_rate or video.guessed_rate
        if fps is None or not video.frames:
            raise ValueError(f"{path}: no frame count or frame rate")
        return {
            "duration_s": float(video.frames / fps),
            "fps": float(fps),
            "frame_count": video.frames,
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "has_audio": bool(container.streams.audio),
        }


def _probe_text(path: Path) -> dict[str, Any]:
    return {"language": "en", "length_chars": len(path.read_text(encoding="utf-8"))}


_PROBES: dict[Modality, Callable[[Path], dict[str, Any]]] = {
    "image": _probe_image,
    "audio": _probe_audio,
    "video": _probe_video,
    "text": _probe_text,
}


def tone_hz(class_name: str, sample_rate_hz: int = 16_000) -> float:
    """The tone that marks ``class_name`` in audio: a semitone between 300 Hz and 2.4 kHz
    (below 40 % of the sample rate), chosen by a stable hash of the name."""
    top = min(2_400.0, 0.4 * sample_rate_hz)
    semitones = max(1, int(12 * math.log2(top / 300.0)))
    step = _stable_int(class_name) % (semitones + 1)
    return 300.0 * 2 ** (step / 12)


def class_colour(class_name: str) -> RGB:
    """A saturated colour for ``class_name``, stable across runs."""
    h = _stable_int(class_name)
    hue = (h % 360) / 60.0
    x = int(255 * (1 - abs(hue % 2 - 1)))
    sextant = int(hue)
    return [(255, x, 40), (x, 255, 40), (40, 255, x), (40, x, 255), (x, 40, 255), (255, 40, x)][
        sextant
    ]


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


class MediaLibrary:
    """Generates media files under ``root`` (created if missing)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def image(
        self,
        name: str,
        *,
        width: int = 640,
        height: int = 480,
        scene: str = "day",
        seed: int = 0,
        shapes: list[tuple[str, Box]] | None = None,
        fmt: str = "jpeg",
    ) -> MediaFile:
        """A street-like picture: a sky/ground gradient for ``scene`` (``day`` or
        ``night``), seeded noise, and per ``(class, (x, y, w, h))`` a coloured rectangle or
        ellipse labelled with its class."""
        _check_size(width, height)
        colours = _scene(scene)
        if fmt not in _IMAGE_FORMATS:
            raise ValueError(f"fmt must be one of {sorted(_IMAGE_FORMATS)}, not {fmt!r}")
        boxes = [(label, tuple(float(v) for v in box)) for label, box in shapes or []]
        params = {"w": width, "h": height, "scene": scene, "seed": seed, "shapes": boxes}
        path = self._path(name, "image", params, _IMAGE_FORMATS[fmt])

        def write(tmp: Path) -> None:
            pixels = _background(width, height, colours, seed)
            im = Image.fromarray(pixels, "RGB")
            draw = ImageDraw.Draw(im)
            for label, (x, y, w, h) in boxes:
                _draw_object(draw, label, (x, y, w, h))
            if fmt == "jpeg":
                im.save(tmp, "JPEG", quality=88)
            else:
                im.save(tmp, "PNG")

        return self._make(path, "image", write)

    def audio(
        self,
        name: str,
        *,
        duration_s: float = 4.0,
        sample_rate_hz: int = 16_000,
        events: list[Span] | None = None,
        seed: int = 0,
    ) -> MediaFile:
        """A mono 16-bit WAV: quiet seeded noise, and per ``(class, start_s, end_s)`` the
        class's tone (:func:`tone_hz`) during that span."""
        if not 0 < duration_s <= 3_600:
            raise ValueError("duration_s must be in (0, 3600]")
        if not 8_000 <= sample_rate_hz <= 192_000:
            raise ValueError("sample_rate_hz must be in [8000, 192000]")
        spans = _spans(events, duration_s)
        params = {"d": duration_s, "sr": sample_rate_hz, "events": spans, "seed": seed}
        path = self._path(name, "audio", params, "wav")

        def write(tmp: Path) -> None:
            n = round(duration_s * sample_rate_hz)
            rng = np.random.default_rng(seed)
            signal = rng.normal(0.0, 0.02, n)
            for label, start, end in spans:
                signal += _tone(n, sample_rate_hz, tone_hz(label, sample_rate_hz), start, end)
            pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
            with wave.open(str(tmp), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(sample_rate_hz)
                w.writeframes(pcm.tobytes())

        return self._make(path, "audio", write)

    def video(
        self,
        name: str,
        *,
        duration_s: float = 3.0,
        fps: int = 12,
        width: int = 320,
        height: int = 240,
        scene: str = "day",
        segments: list[Span] | None = None,
        audio_offset_ms: float = 0.0,
        seed: int = 0,
    ) -> MediaFile:
        """An H.264/AAC MP4: a shape moving over the ``scene``, each segment's class written
        on the frames of ``(class, start_s, end_s)``, and a beep of the class's tone at each
        segment start, ``audio_offset_ms`` late (early if negative) against the picture."""
        _check_size(width, height)
        if width % 2 or height % 2:
            raise ValueError("width and height must be even (yuv420p)")
        if not 1 <= fps <= 120:
            raise ValueError("fps must be in [1, 120]")
        if not 0 < duration_s <= 600:
            raise ValueError("duration_s must be in (0, 600]")
        frame_count = round(duration_s * fps)
        if frame_count < 1:
            raise ValueError("duration_s is shorter than one frame")
        colours = _scene(scene)
        spans = _spans(segments, duration_s)
        params = {
            "d": duration_s,
            "fps": fps,
            "w": width,
            "h": height,
            "scene": scene,
            "segments": spans,
            "offset_ms": float(audio_offset_ms),
            "seed": seed,
        }
        path = self._path(name, "video", params, "mp4")

        def write(tmp: Path) -> None:
            backdrop = _background(width, height, colours, seed)
            beeps = [(label, start + audio_offset_ms / 1000) for label, start, _ in spans]
            with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as out:
                video = out.add_stream(
                    "libx264", rate=fps, options={"preset": "veryfast", "crf": "26"}
                )
                video.width, video.height, video.pix_fmt = width, height, "yuv420p"
                audio = out.add_stream("aac", rate=_VIDEO_AUDIO_RATE_HZ, layout="mono")
                for i in range(frame_count):
                    picture = _video_frame(backdrop, i, frame_count, i / fps, spans, fps)
                    frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
                    frame.pts = i
                    out.mux(video.encode(frame))
                out.mux(video.encode(None))
                track = _beep_track(frame_count / fps, beeps, seed)
                for start in range(0, len(track), _AAC_FRAME):
                    chunk = track[start : start + _AAC_FRAME].reshape(1, -1)
                    samples = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                    samples.sample_rate = _VIDEO_AUDIO_RATE_HZ
                    samples.pts = start
                    out.mux(audio.encode(samples))
                out.mux(audio.encode(None))

        return self._make(path, "video", write)

    def text(self, name: str, content: str) -> MediaFile:
        """A UTF-8 text file holding ``content``."""
        path = self._path(name, "text", {"content": content}, "txt")
        return self._make(path, "text", lambda tmp: tmp.write_bytes(content.encode("utf-8")))

    def _path(self, name: str, kind: str, params: dict[str, Any], ext: str) -> Path:
        parts = name.split("/")
        if (
            not name
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or any(part in ("", ".", "..") for part in parts)
            or Path(name).is_absolute()
        ):
            raise ValueError(f"invalid media name {name!r}: use relative '/'-separated parts")
        spec = json.dumps([GENERATOR_VERSION, kind, params], sort_keys=True)
        key = hashlib.sha256(spec.encode()).hexdigest()[:10]
        path = (self.root / f"{name}.{key}.{ext}").resolve()
        if not path.is_relative_to(self.root):
            raise ValueError(f"invalid media name {name!r}: outside the library")
        return path

    @staticmethod
    def _make(path: Path, modality: Modality, write: Callable[[Path], object]) -> MediaFile:
        if not path.is_file():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(
                dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix
            )
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                write(tmp)
                os.replace(tmp, path)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        return MediaFile.of(path, modality)


def _check_size(width: int, height: int) -> None:
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise ValueError("width and height must be in [16, 4096]")


def _scene(scene: str) -> tuple[RGB, RGB, RGB, RGB]:
    if scene not in _SCENES:
        raise ValueError(f"scene must be one of {sorted(_SCENES)}, not {scene!r}")
    return _SCENES[scene]


def _spans(spans: Sequence[Span] | None, duration_s: float) -> list[Span]:
    checked = []
    for label, start, end in spans or []:
        if not label or not 0 <= start < end <= duration_s:
            raise ValueError(f"span {(label, start, end)!r}: need 0 <= start < end <= duration")
        checked.append((label, float(start), float(end)))
    return checked


def _background(
    width: int, height: int, colours: tuple[RGB, RGB, RGB, RGB], seed: int
) -> NDArray[np.uint8]:
    sky_top, horizon_sky, horizon_ground, ground = (np.array(c, np.float64) for c in colours)
    horizon = int(height * 0.55)
    rows = np.empty((height, 3))
    t = np.linspace(0.0, 1.0, horizon)[:, None]
    rows[:horizon] = sky_top * (1 - t) + horizon_sky * t
    t = np.linspace(0.0, 1.0, height - horizon)[:, None]
    rows[horizon:] = horizon_ground * (1 - t) + ground * t
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 6.0, (height, width, 1))
    pixels = rows[:, None, :] + noise
    return np.clip(pixels, 0, 255).astype(np.uint8)


def _draw_object(draw: ImageDraw.ImageDraw, label: str, box: Box) -> None:
    x, y, w, h = box
    colour = class_colour(label)
    outline = tuple(c // 2 for c in colour)
    corners = (x, y, x + max(w, 1.0), y + max(h, 1.0))
    if _stable_int("shape:" + label) % 2:
        draw.ellipse(corners, fill=colour, outline=outline, width=2)
    else:
        draw.rectangle(corners, fill=colour, outline=outline, width=2)
    left, top, right, bottom = draw.textbbox((0, 0), label)
    tx, ty = x, max(0.0, y - (bottom - top) - 4)
    draw.rectangle((tx, ty, tx + right - left + 4, ty + bottom - top + 4), fill=(0, 0, 0))
    draw.text((tx + 2 - left, ty + 2 - top), label, fill=(255, 255, 255))


def _video_frame(
    backdrop: NDArray[np.uint8], index: int, count: int, t: float, spans: list[Span], fps: int
) -> NDArray[np.uint8]:
    height, width = backdrop.shape[:2]
    im = Image.fromarray(backdrop, "RGB")
    draw = ImageDraw.Draw(im)
    progress = index / max(count - 1, 1)
    size = min(width, height) // 5
    cx = size + progress * (width - 2 * size)
    cy = height * 0.7 + math.sin(progress * 2 * math.pi) * height * 0.08
    draw.ellipse((cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2), fill=(230, 60, 40))
    active = [label for label, start, end in spans if start <= t < end]
    for row, label in enumerate(active):
        top = 6 + row * 16
        box = draw.textbbox((8, top), label)
        draw.rectangle((box[0] - 3, box[1] - 3, box[2] + 3, box[3] + 3), fill=class_colour(label))
        draw.text((8, top), label, fill=(0, 0, 0))
    if any(abs(t - start) < 0.5 / fps for _, start, _ in spans):
        draw.rectangle((0, 0, width - 1, height - 1), outline=(255, 255, 255), width=6)
    return np.asarray(im)


def _tone(n: int, rate: int, hz: float, start_s: float, end_s: float) -> NDArray[np.float64]:
    out = np.zeros(n)
    first, last = max(0, round(start_s * rate)), min(n, round(end_s * rate))
    if last <= first:
        return out
    t = np.arange(last - first) / rate
    ramp = min(round(0.01 * rate), (last - first) // 2)
    envelope = np.ones(last - first)
    if ramp:
        envelope[:ramp] = np.linspace(0.0, 1.0, ramp)
        envelope[-ramp:] = np.linspace(1.0, 0.0, ramp)
    out[first:last] = 0.5 * np.sin(2 * np.pi * hz * t) * envelope
    return out


def _beep_track(
    duration_s: float, beeps: list[tuple[str, float]], seed: int
) -> NDArray[np.float32]:
    rate = _VIDEO_AUDIO_RATE_HZ
    n = round(duration_s * rate)
    rng = np.random.default_rng(seed)
    track = rng.normal(0.0, 0.01, n)
    for label, at in beeps:
        track += _tone(n, rate, tone_hz(label, rate), at, at + 0.08)
    return np.clip(track, -1.0, 1.0).astype(np.float32)


__all__ = ["GENERATOR_VERSION", "MediaFile", "MediaLibrary", "class_colour", "tone_hz"]
