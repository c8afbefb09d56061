"""A tiny read-only HTTP server for the demo's media files (stdlib only).

It serves the files under one root with single-range ``Range`` requests (browsers seek
video with them), ``Access-Control-Allow-Origin: *`` for the web console, no directory
listings, nothing outside the root (not even through symlinks), and no per-request logging.

    server = serve(Path(".local/demo-media"), port=8005)
    url = url_of(media.uri, root, base_url(server))
    ...
    server.shutdown(); server.server_close()
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import urllib.parse
import urllib.request
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class MediaRequestHandler(SimpleHTTPRequestHandler):
    """GET/HEAD of the regular files under ``directory``; byte ranges; CORS for any origin."""

    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".wav": "audio/wav"}

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
        path = self._file()
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
            return
        try:
            f: BinaryIO = path.open("rb")
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "File not found")
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

    def _file(self) -> Path | None:
        """The regular file the request names, or None (missing, a directory, outside)."""
        root = Path(self.directory).resolve()
        try:
            path = Path(self.translate_path(self.path)).resolve(strict=True)
        except (OSError, RuntimeError):
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


def serve(root: Path, host: str = "127.0.0.1", port: int = 8005) -> ThreadingHTTPServer:
    """Serve ``root`` on ``host:port`` (0: any free port) from a daemon thread, and return
    the running server; stop it with ``shutdown()`` then ``server_close()``."""
    handler = partial(MediaRequestHandler, directory=str(root.resolve()))
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name=f"media-server:{port}", daemon=True).start()
    return server


def base_url(server: ThreadingHTTPServer) -> str:
    """``http://host:port`` of a running server."""
    host, port = server.server_address[:2]
    host = host.decode() if isinstance(host, bytes) else host
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def url_of(file_uri: str, root: Path, base_url: str) -> str | None:
    """The http URL, under ``base_url``, of the ``file://`` URI of a file under ``root``;
    None for another scheme or a file outside ``root``."""
    parsed = urllib.parse.urlsplit(file_uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = Path(urllib.request.url2pathname(parsed.path)).resolve()
    try:
        relative = path.relative_to(root.resolve())
    except ValueError:
        return None
    if relative == Path():
        return None
    return f"{base_url.rstrip('/')}/{urllib.parse.quote(relative.as_posix())}"


__all__ = ["MediaRequestHandler", "base_url", "serve", "url_of"]
