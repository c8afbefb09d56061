"""Registration bodies for the ingest tests, one valid body per modality."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any


def sha(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()


def image_file(seed: str | None = None, **over: Any) -> dict[str, Any]:
    return {
        "modality": "image",
        "uri": "s3://acme/frames/1.jpg",
        "sha256": sha(seed or uuid.uuid4().hex),
        "size_bytes": 1000,
        "width": 640,
        "height": 480,
        "format": "jpeg",
        **over,
    }


def video_file(**over: Any) -> dict[str, Any]:
    return {
        "modality": "video",
        "uri": "gs://acme/clips/1.mp4",
        "sha256": sha(uuid.uuid4().hex),
        "size_bytes": 10_000,
        "duration_s": 10.0,
        "fps": 25,
        "frame_count": 250,
        "width": 1280,
        "height": 720,
        "has_audio": True,
        **over,
    }


def audio_file(**over: Any) -> dict[str, Any]:
    return {
        "modality": "audio",
        "uri": "https://cdn.acme.example/a.wav",
        "sha256": sha(uuid.uuid4().hex),
        "size_bytes": 5000,
        "duration_s": 4.0,
        "sample_rate_hz": 16000,
        "channels": 1,
        **over,
    }


def text_file(**over: Any) -> dict[str, Any]:
    return {
        "modality": "text",
        "uri": "file:///data/t.txt",
        "sha256": sha(uuid.uuid4().hex),
        "size_bytes": 120,
        "language": "en",
        "length_chars": 120,
        **over,
    }


def registration(modality: str = "image", **over: Any) -> dict[str, Any]:
    external_id = f"ext-{uuid.uuid4().hex[:12]}"
    if modality == "multimodal":
        body: dict[str, Any] = {
            "external_id": external_id,
            "project_id": "p-edit",
            "modality": "multimodal",
            "parts": [
                {"name": "source", "role": "source_image", "media": image_file()},
                {"name": "instruction", "role": "instruction", "media": text_file()},
                {"name": "edited", "role": "edited_image", "media": image_file()},
            ],
        }
    else:
        media = {
            "image": image_file,
            "video": video_file,
            "audio": audio_file,
            "text": text_file,
        }[modality]()
        body = {
            "external_id": external_id,
            "project_id": f"p-{modality}",
            "modality": modality,
            "media": media,
        }
    body.update(over)
    return body


def prelabels(*labels: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": "detector", "model_version": "7", "labels": list(labels)}
