"""HTTP mechanisms: app factory, problem+json errors, request ids, metrics, pagination."""

from __future__ import annotations

import base64
import binascii
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

import structlog
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import BaseModel, Field
from pymongo.errors import ConnectionFailure
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import AuthError, TokenVerifier
from shared.creations import OutboxUnavailable
from shared.events import child_traceparent, new_traceparent, trace_id_of
from shared.logging import get_logger
from shared.settings import ServiceSettings

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
#: Errors that mean a dependency is down, answered with 503 and Retry-After, not 500.
UNAVAILABLE: tuple[type[Exception], ...] = (
    ConnectionFailure,
    KafkaConnectionError,
    OutboxUnavailable,
)
REQUEST_ID_HEADER = "x-request-id"

HTTP_REQUESTS = Counter(
    "quorum_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "quorum_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)

T = TypeVar("T")


class FieldError(BaseModel):
    field: str = Field(description="Where the problem is, e.g. body.parts.0.width")
    message: str


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldError] | None = None


class Problem(Exception):
    """Raise from anywhere in a request to answer with problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = list(errors) if errors else None
        self.headers = dict(headers or {})


def not_found(what: str) -> Problem:
    return Problem(404, "Not Found", f"{what} does not exist")


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    errors: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ProblemDetail(
        type=type_,
        title=title,
        status=status,
        detail=detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=dict(headers or {}),
    )


def _field_path(loc: Sequence[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return problem_response(
            request,
            exc.status,
            exc.title,
            exc.detail,
            type_=exc.type,
            errors=exc.errors,
            headers=exc.headers,
        )

    async def on_auth(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AuthError)
        if exc.status == 401:
            return problem_response(
                request,
                401,
                "Unauthorized",
                exc.detail,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return problem_response(request, exc.status, "Forbidden", exc.detail)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldError(field=_field_path(err.get("loc", ())), message=err.get("msg", "invalid"))
            for err in exc.errors()
        ]
        fields = ", ".join(e.field for e in errors[:10])
        return problem_response(
            request, 422, "Unprocessable Content", f"invalid request: {fields}", errors=errors
        )

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        title = {404: "Not Found", 405: "Method Not Allowed"}.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else None
        return problem_response(
            request, exc.status_code, title, detail, headers=getattr(exc, "headers", None)
        )

    async def on_unavailable(request: Request, exc: Exception) -> Response:
        # MongoDB or Kafka cannot be reached: not the request's fault, and worth a retry
        log.warning("dependency unavailable", path=request.url.path, error=type(exc).__name__)
        return problem_response(
            request,
            503,
            "Service Unavailable",
            "a database or the event broker cannot be reached right now; retry the same "
            "request shortly (with the same Idempotency-Key where the route takes one)",
            headers={"Retry-After": "5"},
        )

    async def on_unhandled(request: Request, exc: Exception) -> Response:
        if isinstance(exc, UNAVAILABLE):  # raised where the typed handlers do not reach
            return await on_unavailable(request, exc)
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            request,
            500,
            "Internal Server Error",
            "the server failed to handle this request; retry, and report the request id if it persists",
        )

    app.add_exception_handler(Problem, on_problem)
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for unavailable in UNAVAILABLE:  # answered, not re-raised to the server as a crash
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(Exception, on_unhandled)


class RequestContextMiddleware:
    """Request id and trace id in the log context and response headers; HTTP metrics."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", ())}
        incoming = headers.get(REQUEST_ID_HEADER, "")
        request_id = (
            incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else uuid.uuid4().hex
        )
        incoming_trace = headers.get("traceparent")
        traceparent = (
            child_traceparent(incoming_trace) if trace_id_of(incoming_trace) else new_traceparent()
        )
        trace_id = trace_id_of(traceparent)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["traceparent"] = traceparent  # events caused by this request continue the trace
        status_holder = {"status": 500}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (REQUEST_ID_HEADER.encode(), request_id.encode()),
                ]
            await send(message)

        started = time.perf_counter()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            service=self.service, request_id=request_id, trace_id=trace_id
        )
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            route_path = getattr(route, "path", "unmatched")
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(self.service, method, route_path, status_holder["status"]).inc()
            HTTP_SECONDS.labels(self.service, method, route_path).observe(
                time.perf_counter() - started
            )


ReadinessCheck = Callable[[], Awaitable[None]]


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter],
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None,
    readiness: Callable[[FastAPI], Mapping[str, ReadinessCheck]] | None = None,
    version: str = "1.0.0",
) -> FastAPI:
    """The FastAPI app every service starts from.

    Adds ``/healthz`` (liveness), ``/readyz`` (each readiness check must pass),
    ``/metrics`` (Prometheus), request ids, problem+json for every error, and the
    token verifier used by :mod:`shared.auth`.
    """
    service = settings.service_name
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
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(settings)
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, service=service)

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
        checks = readiness(app) if readiness else {}
        results: dict[str, str] = {}
        ok = True
        for name, check in checks.items():
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


class Page(BaseModel, Generic[T]):
    """One page of a list; pass ``next_cursor`` back as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps(list(values), default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, *, arity: int) -> list[Any]:
    """Decode a cursor made by :func:`encode_cursor`; a bad one is a 400 naming the field."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise bad_cursor()
    return values


def bad_cursor() -> Problem:
    """The 400 for a cursor this API did not make (or whose values do not parse)."""
    return Problem(
        400,
        "Bad Request",
        "cursor is not one this API returned; start again without it",
        errors=[FieldError(field="query.cursor", message="invalid cursor")],
    )


async def _noop_lifespan(_: FastAPI) -> AsyncIterator[None]:  # pragma: no cover
    yield
