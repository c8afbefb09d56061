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


def problem_response(request: Request, problem: Problem) -> JSONResponse:
    """The problem+json answer to ``request``."""
    body = ProblemDetail(
        type=problem.type,
        title=problem.title,
        status=problem.status,
        detail=problem.detail,
        instance=request.url.path,
        request_id=getattr(request.state, "request_id", None),
        errors=problem.errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=PROBLEM_JSON,
        headers=problem.headers,
    )


#: How an exception is answered: the problem it stands for.
Translation = Callable[[Any], Problem]


def _auth_problem(exc: AuthError) -> Problem:
    if exc.status == 401:
        return Problem(
            401,
            "Unauthorized",
            exc.detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return Problem(exc.status, "Forbidden", exc.detail)


def _validation_problem(exc: RequestValidationError) -> Problem:
    errors = [
        FieldError(
            field=".".join(str(part) for part in err.get("loc", ())),
            message=err.get("msg", "invalid"),
        )
        for err in exc.errors()
    ]
    fields = ", ".join(e.field for e in errors[:10])
    return Problem(422, "Unprocessable Content", f"invalid request: {fields}", errors=errors)


def _http_problem(exc: StarletteHTTPException) -> Problem:
    """An HTTP error Starlette or a middleware raised (unknown route, wrong method, 413)."""
    title = {
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
        415: "Unsupported Media Type",
    }.get(exc.status_code, "HTTP error")
    detail = exc.detail if isinstance(exc.detail, str) else None
    return Problem(exc.status_code, title, detail, headers=getattr(exc, "headers", None))


def _outage_problem(exc: Exception) -> Problem:
    # MongoDB or Kafka cannot be reached: not the request's fault, and worth a retry
    log.warning("dependency unavailable", error=type(exc).__name__)
    return Problem(
        503,
        "Service Unavailable",
        "a database or the event broker cannot be reached right now; retry the same "
        "request shortly (with the same Idempotency-Key where the route takes one)",
        headers={"Retry-After": "5"},
    )


def _unhandled_problem(exc: Exception) -> Problem:
    if isinstance(exc, OUTAGES):  # raised where the typed handlers do not reach
        return _outage_problem(exc)
    log.exception("unhandled error")
    return Problem(
        500,
        "Internal Server Error",
        "the server failed to handle this request; retry, and report the request id if it persists",
    )


def install_problem_handlers(
    app: FastAPI, translations: Mapping[type[Exception], Translation] | None = None
) -> None:
    """Every error answered as a problem: :class:`Problem` raised anywhere, auth errors,
    request validation, unknown routes, outages (503), a service's own domain exceptions
    (``translations``), and anything else (a logged 500 without internals)."""

    def answer(translate: Translation) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handler(request: Request, exc: Exception) -> Response:
            return problem_response(request, translate(exc))

        return handler

    answers: dict[type[Exception], Translation] = {
        Problem: lambda problem: problem,
        AuthError: _auth_problem,
        RequestValidationError: _validation_problem,
        StarletteHTTPException: _http_problem,
        # answered, not re-raised to the server as a crash
        **dict.fromkeys(OUTAGES, _outage_problem),
        **(translations or {}),
        Exception: _unhandled_problem,
    }
    for kind, translate in answers.items():
        app.add_exception_handler(kind, answer(translate))
