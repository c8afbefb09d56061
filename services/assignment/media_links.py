"""The signed links a handout carries for its media files (shared.media.presign decides
each link; this module walks a unit's content). Pure."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.assignment.models.work import MediaLink
from shared.media.presign import MediaSigning, signed_link

#: media whose waveform the workbench draws from peaks the media server computes
_TIMED = ("audio", "video")


def _link(part: str | None, media: dict[str, Any], signing: MediaSigning, now: float) -> MediaLink:
    link = signed_link(str(media.get("uri", "")), signing=signing, now=now)
    if link is None:
        return MediaLink(part=part, url=None)
    timed = link.peaks and media.get("modality") in _TIMED
    return MediaLink(
        part=part,
        url=link.url,
        peaks_url=f"{link.url}&view=peaks" if timed else None,
        expires_at=datetime.fromtimestamp(link.expires, UTC),
    )


def media_links(content: dict[str, Any], signing: MediaSigning, now: float) -> list[MediaLink]:
    """A link per media file of ``content``: the single file's, or each bundle part's in
    order."""
    if content.get("media"):
        return [_link(None, content["media"], signing, now)]
    return [
        _link(str(part.get("name")), part.get("media") or {}, signing, now)
        for part in content.get("parts") or []
    ]
