"""The built single-page app: its files, ``index.html`` for each of its pages, and the
Content Security Policy that keeps a page to its own origin and the media origins."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from shared.http.problems import Problem

#: the app's pages (client-side routes), each answered with index.html
PAGES = ("/", "/signin", "/workbench", "/dashboard")


def policy(media_origins: Sequence[str]) -> str:
    media = " ".join(media_origins)
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src 'self' data: blob: {media}",
            f"media-src 'self' blob: {media}",
            f"connect-src 'self' {media}",
            # ECharts, Konva and the before/after slider set inline styles
            "style-src 'self' 'unsafe-inline'",
            "script-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )


def mount(app: FastAPI, static_dir: Path, media_origins: Sequence[str]) -> None:
    headers = {
        "Content-Security-Policy": policy(media_origins),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    pages = APIRouter(include_in_schema=False)

    async def page() -> FileResponse:
        index = static_dir / "index.html"
        if not index.is_file():
            raise Problem(
                503,
                "Service Unavailable",
                f"the console is not built ({index} is missing): run `make web`",
            )
        return FileResponse(index, headers=headers)

    for path in PAGES:
        pages.add_api_route(path, page, methods=["GET"])
    app.include_router(pages)
    assets = static_dir / "assets"
    app.mount("/assets", StaticFiles(directory=assets, check_dir=False), name="assets")
