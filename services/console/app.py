"""The console's composition root: session, API proxy and the built pages on one origin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from services.console import oidc, proxy, session, static
from services.console.settings import ConsoleSettings
from shared.auth.tokens import TokenVerifier
from shared.http.app import problem_openapi
from shared.http.body_limit import BodyLimitMiddleware
from shared.http.context import RequestContextMiddleware
from shared.http.problems import install_problem_handlers


def create_app(settings: ConsoleSettings) -> FastAPI:
    client = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.upstream_timeout_s, read=None),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()

    app = FastAPI(
        title="Quorum console",
        description="The workbench and the dashboard, the browser's session, and the "
        "services' APIs under /api/<service>/ (docs/console.md)",
        lifespan=lifespan,
    )
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Readiness: the console is built")
    async def readyz() -> JSONResponse:
        built = (settings.static_dir / "index.html").is_file()
        return JSONResponse(
            {"status": "ready" if built else "unready", "checks": {"built": str(built).lower()}},
            status_code=200 if built else 503,
        )

    verifier = TokenVerifier(settings)
    app.include_router(
        session.router(settings, verifier, settings.session_ttl_s, settings.secure_cookies)
    )
    app.include_router(oidc.router(settings, verifier, client))
    app.include_router(proxy.router(settings.upstreams, client))
    static.mount(app, settings.static_dir, settings.media_origins)
    return app
