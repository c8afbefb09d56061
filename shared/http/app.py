"""The FastAPI app every service starts from: its runtime started and stopped by the lifespan,
health, readiness, metrics, problem+json errors, request context and the token verifier."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.auth.tokens import AuthError, TokenVerifier
from shared.http.body_limit import BodyLimitMiddleware
from shared.http.context import RequestContextMiddleware
from shared.http.problems import ProblemDetail, Translation, install_problem_handlers
from shared.http.routing import BODY_MODELS, api_router
from shared.http.service import Service
from shared.runtime import Runtime, RuntimeSpec
from shared.settings import ServiceSettings

#: Who may read ``/metrics``.
STAFF = (Role.ops, Role.admin)
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
    (Prometheus, for ops and admin tokens), request ids, problem+json for every error, and the token verifier of
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
    )
    app.openapi = lambda: problem_openapi(app)  # type: ignore[method-assign]
    app.state.service = Service(runtime, use_cases)
    #: what the service runs: its consumed events, topics and loops (read by the ACL tests)
    app.state.runtime_spec = spec
    install_problem_handlers(app, problems)
    # added first, so inside the request context: a 413 carries the request id
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.http_max_body_bytes)
    app.add_middleware(RequestContextMiddleware, service=settings.service_name)
    if settings.cors_origins:
        # a third-party frontend's origins, and only those (docs/console.md "Other frontends")
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "If-Match"],
            expose_headers=["ETag", "Location", "Retry-After", "Quorum-No-Work-Reason"],
            max_age=600,
        )

    @app.get("/healthz", tags=["operations"], summary="Liveness")
    async def healthz() -> Health:
        return Health(status="ok")

    verifier = TokenVerifier(settings)
    app.state.token_verifier = verifier

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: MongoDB and Kafka answer and no background loop is down (each "
        "check's outcome for ops and admin)",
        responses={
            503: {"model": Health, "description": "A dependency or a background loop is down"}
        },
    )
    async def readyz(request: Request) -> Response:
        results: dict[str, str] = {}
        ok = True
        for name, check in runtime.readiness().items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:  # any failure makes the service unready
                ok = False
                results[name] = f"failed: {type(exc).__name__}: {exc}"[:300]
        shown = results if _is_staff(request, verifier) else {}
        body = Health(status="ready" if ok else "unready", checks=shown)
        return JSONResponse(body.model_dump(), status_code=200 if ok else 503)

    # staff only: counts of events and requests move with what one expert does (a gold
    # judgment is scored and fed), so a reader could learn from them what no expert may
    operations = api_router("", ["operations"])

    @operations.get(
        "/metrics",
        summary="Prometheus metrics (ops and admin tokens: a scraper gets an ops token)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics(_: Annotated[Principal, Depends(require_roles(*STAFF))]) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.include_router(operations)
    for router in routers:
        app.include_router(router)
    return app


def _is_staff(request: Request, verifier: TokenVerifier) -> bool:
    """Whether the request carries a valid ops or admin token (the details of readiness are
    theirs: failures name hosts and errors)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    try:
        return verifier.verify(token).is_staff
    except AuthError:
        return False


def problem_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with the problem schema every problem answer refers to."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, definitions = models_json_schema(
            [(ProblemDetail, "serialization")], ref_template="#/components/schemas/{model}"
        )
        schemas = schema.setdefault("components", {}).setdefault("schemas", {})
        schemas.update(definitions["$defs"])
        # and the models of the bodies routes read themselves (routing.BODY_MODEL)
        bodies = [
            BODY_MODELS[name]
            for name in sorted(_body_references(schema))
            if name in BODY_MODELS and name not in schemas
        ]
        if bodies:
            _, definitions = models_json_schema(
                [(model, "validation") for model in bodies],
                ref_template="#/components/schemas/{model}",
            )
            for name, definition in definitions["$defs"].items():
                schemas.setdefault(name, definition)  # FastAPI's own, if it made one, stay
        app.openapi_schema = schema
    return app.openapi_schema


def _body_references(document: Mapping[str, Any]) -> set[str]:
    """The names of the component schemas the operations' request bodies refer to."""
    names = set()
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody", {}) if isinstance(operation, dict) else {}
            for media in body.get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    names.add(ref.rpartition("/")[2])
    return names
