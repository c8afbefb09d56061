"""Errors as RFC 9457 problems (``application/problem+json``): one path for every error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.auth.tokens import AuthError
from shared.errors import FieldError
from shared.logging import get_logger
from shared.outages import OUTAGES

log = get_logger(__name__)

PROBLEM_JSON = "application/problem+json"


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


#: How a service answers one of its domain exceptions: the problem it stands for.
Translation = Callable[[Any], "Problem"]


def _answer(request: Request, problem: Problem) -> Response:
    return problem_response(
        request,
        problem.status,
        problem.title,
        problem.detail,
        type_=problem.type,
        errors=problem.errors,
        headers=problem.headers,
    )


def install_problem_handlers(
    app: FastAPI, translations: Mapping[type[Exception], Translation] | None = None
) -> None:
    """Every error answered as a problem: :class:`Problem` raised anywhere, auth errors,
    request validation, unknown routes, outages (503), a service's own domain exceptions
    (``translations``), and anything else (a logged 500 without internals)."""

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Problem)
        return _answer(request, exc)

    def translated(translate: Translation) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def on_domain_error(request: Request, exc: Exception) -> Response:
            return _answer(request, translate(exc))

        return on_domain_error

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
        if isinstance(exc, OUTAGES):  # raised where the typed handlers do not reach
            return await on_unavailable(request, exc)
        log.exception("unhandled error", path=request.url.path)
        return problem_response(
            request,
            500,
            "Internal Server Error",
            "the server failed to handle this request; retry, and report the request id if it persists",
        )

    app.add_exception_handler(Problem, on_problem)
    for kind, translate in (translations or {}).items():
        app.add_exception_handler(kind, translated(translate))
    app.add_exception_handler(AuthError, on_auth)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    for unavailable in OUTAGES:  # answered, not re-raised to the server as a crash
        app.add_exception_handler(unavailable, on_unavailable)
    app.add_exception_handler(Exception, on_unhandled)
