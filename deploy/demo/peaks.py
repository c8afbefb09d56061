"""Waveform peaks of a media file's audio, in the shape wavesurfer.js v7 takes as ``peaks``
with ``duration``: ``{"duration": s, "channels": 1, "peaks": [[…]]}``, each peak the largest
absolute sample of its bin (channels mixed down), in 0..1.

WAV files are read with the stdlib ``wave`` module; anything else (and WAVs it cannot read,
such as float PCM) through PyAV, the first audio stream resampled to mono float. Samples are
streamed: the header's frame count or the container's duration gives the total, so each
chunk's samples go straight to their bins.

    body = waveform(Path("clip.mp4"), bins=1000).json()
"""

from __future__ import annotations

import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np
from numpy.typing import NDArray

DEFAULT_BINS = 1000
MIN_BINS, MAX_BINS = 16, 8000
#: frames read from a WAV at a time
_CHUNK_FRAMES = 1 << 16


class NoAudio(Exception):
    """The file has no audio stream (or is no media file at all)."""


@dataclass(frozen=True)
class Peaks:
    duration: float
    peaks: list[float]

    def json(self) -> dict[str, Any]:
        return {"duration": self.duration, "channels": 1, "peaks": [self.peaks]}


def clamp_bins(bins: int) -> int:
    return max(MIN_BINS, min(MAX_BINS, bins))


def waveform(path: Path, bins: int = DEFAULT_BINS) -> Peaks:
    """The peaks of ``path``'s audio in ``bins`` bins over its duration; :class:`NoAudio`
    when it has none, an ``av.error.FFmpegError`` when its audio cannot be decoded."""
    if not MIN_BINS <= bins <= MAX_BINS:
        raise ValueError(f"bins must be in [{MIN_BINS}, {MAX_BINS}]")
    if path.suffix.lower() in (".wav", ".wave"):
        try:
            return _wav(path, bins)
        except (wave.Error, EOFError):
            pass  # not integer PCM that ``wave`` reads: FFmpeg may
    return _decoded(path, bins)


class _Bins:
    """The running maximum of |sample| per bin, for ``total`` samples in all."""

    def __init__(self, bins: int, total: int) -> None:
        self._bins = bins
        self._total = max(total, 1)
        self._seen = 0
        self._peaks = np.zeros(bins)

    def add(self, samples: NDArray[np.floating[Any]]) -> None:
        n = len(samples)
        if n == 0:
            return
        index = (np.arange(self._seen, self._seen + n, dtype=np.int64) * self._bins) // self._total
        np.minimum(index, self._bins - 1, out=index)  # samples past the announced total
        starts = np.concatenate(([0], np.flatnonzero(np.diff(index)) + 1))
        maxima = np.maximum.reduceat(np.abs(samples), starts)
        which = index[starts]
        self._peaks[which] = np.maximum(self._peaks[which], maxima)
        self._seen += n

    def result(self) -> list[float]:
        return [round(float(v), 4) for v in np.clip(self._peaks, 0.0, 1.0)]


def _wav(path: Path, bins: int) -> Peaks:
    with wave.open(str(path), "rb") as w:
        channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
        if rate <= 0 or channels <= 0 or width not in (1, 2, 3, 4):
            raise wave.Error("unsupported WAV")
        # a header may announce more frames than the file holds (a truncated recording)
        frames = min(w.getnframes(), path.stat().st_size // (channels * width))
        accumulated = _Bins(bins, frames)
        read = 0
        while read < frames:
            chunk = w.readframes(min(_CHUNK_FRAMES, frames - read))
            if not chunk:
                break
            samples = _pcm(chunk, width)
            usable = len(samples) // channels * channels
            accumulated.add(samples[:usable].reshape(-1, channels).mean(axis=1))
            read += usable // channels
    return Peaks(round(frames / rate, 6), accumulated.result())


def _pcm(data: bytes, width: int) -> NDArray[np.float64]:
    """Little-endian integer PCM as floats in [-1, 1)."""
    if width == 1:  # unsigned
        return (np.frombuffer(data, np.uint8).astype(np.float64) - 128) / 128
    if width == 3:
        raw = np.frombuffer(data[: len(data) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float64) / (1 << 23)
    dtype = "<i2" if width == 2 else "<i4"
    return np.frombuffer(data[: len(data) // width * width], dtype).astype(np.float64) / (
        1 << (8 * width - 1)
    )


def _decoded(path: Path, bins: int) -> Peaks:
    with _open(path) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        duration = _duration(container, stream)
        if duration is not None:
            peaks = _binned(_mono(container, stream), bins, round(duration * rate))
            return Peaks(round(duration, 6), peaks)
        # the container does not say how long it is: count the samples first
        total = sum(len(samples) for samples in _mono(container, stream))
    with _open(path) as container:
        peaks = _binned(_mono(container, container.streams.audio[0]), bins, total)
        return Peaks(round(total / rate, 6), peaks)


def _binned(chunks: Iterator[NDArray[np.float32]], bins: int, total: int) -> list[float]:
    accumulated = _Bins(bins, total)
    for samples in chunks:
        accumulated.add(samples)
    return accumulated.result()


def _open(path: Path) -> Any:
    """``path`` opened by FFmpeg, with a first audio stream of a known sample rate."""
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise NoAudio(str(path)) from exc
    if not container.streams.audio or not container.streams.audio[0].codec_context.sample_rate:
        container.close()
        raise NoAudio(str(path))
    return container


def _duration(container: Any, stream: Any) -> float | None:
    """The duration the player shows: the container's, else the audio stream's."""
    if container.duration is not None and container.duration > 0:
        return float(container.duration / av.time_base)
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    return None


def _mono(container: Any, stream: Any) -> Iterator[NDArray[np.float32]]:
    """The stream's samples, decoded and resampled to mono float (at the stream's rate),
    chunk by chunk."""
    resampler = av.AudioResampler(
        format="flt", layout="mono", rate=stream.codec_context.sample_rate
    )
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            yield np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)
    for out in resampler.resample(None):
        yield np.asarray(out.to_ndarray(), dtype=np.float32).reshape(-1)


__all__ = ["DEFAULT_BINS", "MAX_BINS", "MIN_BINS", "NoAudio", "Peaks", "clamp_bins", "waveform"]
