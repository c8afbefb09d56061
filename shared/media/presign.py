"""Short-lived signed media URLs, as object stores presign them: a handout carries, for each
media file, a URL the browser may fetch without a bearer token (docs/console.md "Media").

- ``file://`` media under the configured root: ``{base_url}/{path}?expires=…&signature=…``,
  the signature an HMAC-SHA256 of the path and the expiry under a secret the media server
  shares (the demo's media server in development; any server that checks the same two
  query parameters in production);
- ``https://`` media: passed through unchanged when the deployment allows it;
- ``s3://`` and ``gs://`` media: the URL the deployment's presigner for that scheme gives
  (assignment's ``object_links``: boto3), when it configures one; otherwise, like files
  outside the root, no URL (the console says the media cannot be shown).

Pure: the clock and the secret come in as arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath

#: the development secret the media server and assignment share when none is configured
DEV_MEDIA_SECRET = "quorum-development-media-secret-change-me"  # noqa: S105  (dev only)


@dataclass(frozen=True)
class MediaSigning:
    """Where ``file://`` media are served from and how long a link lives."""

    secret: bytes
    ttl_s: int
    file_root: str | None = None
    file_base_url: str | None = None
    pass_https: bool = True
    #: scheme -> the URL an object store's presigner gives a URI for a TTL (None: no link)
    presigners: Mapping[str, Callable[[str, int], str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class SignedLink:
    url: str
    expires: int
    #: served by the media server, which also answers the file's waveform (``&view=peaks``);
    #: what the link serves, not part of the link itself
    peaks: bool = field(default=False, compare=False)


def signature(path: str, expires: int, secret: bytes) -> str:
    """The hex HMAC-SHA256 of a served path (relative, ``/``-separated) and its expiry."""
    return hmac.new(secret, f"{path}\n{expires}".encode(), hashlib.sha256).hexdigest()


def _relative(uri: str, root: str) -> str | None:
    parsed = urllib.parse.urlsplit(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = PurePosixPath(urllib.parse.unquote(parsed.path))
    base = PurePosixPath(root)
    if ".." in path.parts or not path.is_absolute():
        return None
    try:
        relative = path.relative_to(base)
    except ValueError:
        return None
    return None if relative == PurePosixPath() else relative.as_posix()


def signed_link(uri: str, *, signing: MediaSigning, now: float) -> SignedLink | None:
    """The link the browser fetches ``uri`` by, valid ``ttl_s`` from ``now``; None when this
    deployment cannot give one."""
    expires = int(now) + signing.ttl_s
    scheme = urllib.parse.urlsplit(uri).scheme
    if scheme == "https":
        return SignedLink(uri, expires) if signing.pass_https else None
    presigner = signing.presigners.get(scheme)
    if presigner is not None:
        url = presigner(uri, signing.ttl_s)
        return SignedLink(url, expires) if url else None
    if scheme != "file" or signing.file_root is None or signing.file_base_url is None:
        return None
    relative = _relative(uri, signing.file_root)
    if relative is None:
        return None
    query = urllib.parse.urlencode(
        {"expires": expires, "signature": signature(relative, expires, signing.secret)}
    )
    base = signing.file_base_url.rstrip("/")
    return SignedLink(f"{base}/{urllib.parse.quote(relative)}?{query}", expires, peaks=True)


def refusal(
    path: str, expires: str | None, sig: str | None, *, secret: bytes, now: float
) -> str | None:
    """Why a request for ``path`` with these query values is refused, or None when its
    signature holds and it has not expired."""
    if not expires or not sig:
        return "a signed link is needed: expires and signature"
    # as signed_link writes it: ASCII digits without leading zeros (str.isdigit() also
    # accepts "²", which int() refuses, and other scripts' digits, which would be other
    # spellings of the same expiry, as would leading zeros)
    if (
        not (expires.isascii() and expires.isdigit())
        or len(expires) > 12
        or (expires[0] == "0" and expires != "0")
    ):
        return "expires is not a time"
    if int(expires) < now:
        return "the link has expired: take the unit again for a fresh one"
    # compare bytes: compare_digest refuses str with non-ASCII characters (a TypeError)
    if not hmac.compare_digest(
        signature(path, int(expires), secret).encode(), sig.encode(errors="replace")
    ):
        return "the signature does not match"
    return None


__all__ = ["DEV_MEDIA_SECRET", "MediaSigning", "SignedLink", "refusal", "signature", "signed_link"]
