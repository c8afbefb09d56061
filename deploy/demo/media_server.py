"""A tiny read-only HTTP server for the demo's media files (stdlib, numpy and PyAV).

It serves the files under one root to signed links only (``?expires=…&signature=…`` as
:func:`shared.media.presign.signed_link` makes them for the file's path under the root; a
missing, expired or wrong one is refused with 403 and a plain-text reason), with
single-range ``Range`` requests (browsers seek video with them),
``Access-Control-Allow-Origin: *`` for the web console, no directory listings, nothing
outside the root (not even through symlinks), and no per-request logging.

The same link with ``&view=peaks`` (and optionally ``&bins=N``, default 1000, clamped to
16..8000) answers the waveform of the file's audio as JSON, in the shape wavesurfer.js v7
takes (``{"duration": s, "channels": 1, "peaks": [[…]]}``, :mod:`deploy.demo.peaks`); 404
"no audio" for a file without an audio stream.

    server = serve(Path(".local/demo-media"), port=8005, secret=b"…")
    link = signed_link(media.uri, signing=MediaSigning(secret=b"…", ttl_s=3600,
        file_root=str(root), file_base_url=base_url(server)), now=time.time())
    ...
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import threading
import time
import urllib.parse
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

import av

from deploy.demo import peaks
from shared.media import presign

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
#: waveforms kept, by (path, mtime, size, bins): a few tens of kB each
_PEAKS_CACHED = 128


class MediaRequestHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of the regular files under ``directory`` by signed links; byte ranges; the
    waveform of their audio (``view=peaks``); CORS for any origin."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wav": "audio/wav"}

    def __init__(self, *args: Any, secret: bytes, **kwargs: Any) -> None:
        self.secret = secret  # set first: the base class handles the request in __init__
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_OPTIONS(self) -> None:
        self.send_response(HTTPStatus.NO_CONTENT)
        self.send_header("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Range")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header(
            "Access-Control-Expose-Headers", "Accept-Ranges, Content-Length, Content-Range"
        )
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the demo's console output is for the demo."""

    def _respond(self, *, body: bool) -> None:
        target = urllib.parse.urlsplit(self.path)
        relative = urllib.parse.unquote(target.path).removeprefix("/")
        query = urllib.parse.parse_qs(target.query, keep_blank_values=True)

        def value(name: str) -> str | None:
            return query[name][-1] if name in query else None

        refused = presign.refusal(
            relative, value("expires"), value("signature"), secret=self.secret, now=time.time()
        )
        if refused is not None:
            self._plain(HTTPStatus.FORBIDDEN, refused, body=body)
            return
        view = value("view")
        if view is not None and view != "peaks":
            self._plain(HTTPStatus.BAD_REQUEST, "view can only be peaks", body=body)
            return
        bins = _bins(value("bins")) if view == "peaks" else None
        if isinstance(bins, str):
            self._plain(HTTPStatus.BAD_REQUEST, bins, body=body)
            return
        path = self._file(relative)
        if path is None:
            self._plain(HTTPStatus.NOT_FOUND, "not found", body=body)
            return
        if bins is not None:
            self._peaks(path, bins, body=body)
            return
        try:
            f: BinaryIO = path.open("rb")
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "not found", body=body)
            return
        with f:
            stat = os.fstat(f.fileno())
            size = stat.st_size
            last_modified = self.date_time_string(int(stat.st_mtime))
            wanted = self._range(size, last_modified)
            if isinstance(wanted, str):
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if wanted is None:
                first, length = 0, size
                self.send_response(HTTPStatus.OK)
            else:
                first, last = wanted
                length = last - first + 1
                self.send_response(HTTPStatus.PARTIAL_CONTENT)
                self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Length", str(length))
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Last-Modified", last_modified)
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            if body:
                f.seek(first)
                shutil.copyfileobj(_Limited(f, length), self.wfile)

    def _peaks(self, path: Path, bins: int, *, body: bool) -> None:
        try:
            stat = path.stat()
            content = _waveform_json(str(path), stat.st_mtime_ns, stat.st_size, bins)
        except OSError:
            self._plain(HTTPStatus.NOT_FOUND, "not found", body=body)
            return
        except av.error.FFmpegError:
            self._plain(HTTPStatus.NOT_FOUND, "no audio: it cannot be decoded", body=body)
            return
        if content is None:
            self._plain(HTTPStatus.NOT_FOUND, "no audio", body=body)
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(content)

    def _plain(self, status: HTTPStatus, reason: str, *, body: bool) -> None:
        """A refusal, its reason as plain text."""
        content = f"{reason}\n".encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(content)

    def _file(self, relative: str) -> Path | None:
        """The regular file at ``relative`` (``/``-separated) under the root, or None
        (missing, a directory, outside the root, through ``..`` or a symlink out)."""
        parts = relative.split("/")
        if "\x00" in relative or any(part in ("", ".", "..") for part in parts):
            return None
        root = Path(self.directory)
        try:
            path = root.joinpath(*parts).resolve(strict=True)
        except (OSError, RuntimeError, ValueError):
            return None
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path

    def _range(self, size: int, last_modified: str) -> tuple[int, int] | str | None:
        """The single byte range asked for (inclusive), ``"unsatisfiable"``, or None for the
        whole file (no Range, a stale If-Range, several ranges or an unreadable header)."""
        header = self.headers.get("Range")
        if header is None:
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range != last_modified:
            return None
        match = _RANGE.match(header.strip())
        if match is None:
            return None
        start, end = match.groups()
        if not start and not end:
            return None
        if not start:
            suffix = int(end)
            if suffix == 0 or size == 0:
                return "unsatisfiable"
            return max(0, size - suffix), size - 1
        first = int(start)
        last = min(int(end), size - 1) if end else size - 1
        if end and int(end) < first:
            return None
        if first >= size:
            return "unsatisfiable"
        return first, last


class _Limited:
    """A reader that stops after ``remaining`` bytes of ``f``."""

    def __init__(self, f: BinaryIO, remaining: int) -> None:
        self._f = f
        self._remaining = remaining

    def read(self, n: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        n = self._remaining if n < 0 else min(n, self._remaining)
        data = self._f.read(n)
        self._remaining -= len(data)
        return data


def _bins(text: str | None) -> int | str:
    """The bin count a ``bins`` query asks for, clamped to what is served; or why it is
    refused (not a positive whole number)."""
    if text is None:
        return peaks.DEFAULT_BINS
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or int(text) == 0:
        return (
            f"bins must be a positive whole number (clamped to {peaks.MIN_BINS}..{peaks.MAX_BINS})"
        )
    return peaks.clamp_bins(int(text))


@functools.lru_cache(maxsize=_PEAKS_CACHED)
def _waveform_json(path: str, mtime_ns: int, size: int, bins: int) -> bytes | None:
    """The peaks body of the file at ``path`` as it is at ``mtime_ns`` and ``size``, or None
    when it has no audio; cached (a changed file has another key)."""
    try:
        waveform = peaks.waveform(Path(path), bins)
    except peaks.NoAudio:
        return None
    return json.dumps(waveform.json(), separators=(",", ":")).encode()


def serve(
    root: Path, host: str = "127.0.0.1", port: int = 8005, *, secret: bytes
) -> ThreadingHTTPServer:
    """Serve ``root`` on ``host:port`` (0: any free port) to links signed with ``secret``,
    from a daemon thread, and return the running server; stop it with ``shutdown()`` then
    ``server_close()``."""
    if not secret:
        raise ValueError("the media server needs a signing secret")
    handler = partial(MediaRequestHandler, directory=str(root.resolve()), secret=secret)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"media-server:{port}", daemon=True).start()
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    """``http://host:port`` of a running server."""
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


__all__ = ["MediaRequestHandler", "base_url", "serve"]
