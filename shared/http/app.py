"""The FastAPI app every service starts from: its runtime started and stopped by the lifespan,
health, readiness, metrics, problem+json errors, request context and the token verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from shared.auth.tokens import TokenVerifier
from shared.http.context import RequestContextMiddleware
from shared.http.problems import ProblemDetail, Translation, install_problem_handlers
from shared.http.service import Service
from shared.runtime import Runtime, RuntimeSpec
from shared.settings import ServiceSettings

#: Work to do before the runtime starts (e.g. loading a cache from the database).
StartStep = Callable[[], Awaitable[None]]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def create_service_app(
    settings: ServiceSettings,
    *,
    runtime: Runtime,
    spec: RuntimeSpec,
    use_cases: Iterable[object] = (),
    before_start: Sequence[StartStep] = (),
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    problems: Mapping[type[Exception], Translation] | None = None,
    version: str = "1.0.0",
) -> FastAPI:
    """The FastAPI app of a service.

    Its lifespan runs ``before_start``, starts ``runtime`` with ``spec`` and stops it at
    shutdown. Routes reach ``use_cases`` with :func:`shared.http.service.use_case`; ``problems``
    says how to answer the service's own domain exceptions. Adds
    ``/healthz`` (liveness), ``/readyz`` (MongoDB and Kafka answer), ``/metrics``
    (Prometheus), request ids, problem+json for every error, and the token verifier of
    :mod:`shared.auth`.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for step in before_start:
            await step()
        await runtime.start(spec)
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        responses={
            401: {"model": ProblemDetail, "description": "Missing or invalid bearer token"},
            403: {"model": ProblemDetail, "description": "Role not allowed"},
            422: {
                "model": ProblemDetail,
                "description": "Invalid request; `errors` names each field",
            },
        },
    )
    app.state.service = Service(runtime, use_cases)
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app, problems)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: MongoDB and Kafka answer",
        responses={503: {"model": Health, "description": "A dependency is not ready"}},
    )
    async def readyz() -> Response:
        results: dict[str, str] = {}
        ok = True
        for name, check in runtime.readiness().items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:  # any failure makes the service unready
                ok = False
                results[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        body = Health(status="ready" if ok else "unready", checks=results)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=True)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    for router in routers:
        app.include_router(router)
    return app
