"""The request body limit of a service: 413 before a body over it is read.

Not Starlette's ``RequestBodyLimitMiddleware`` (FastAPI's ``max_body_size``): it answers a
declared ``Content-Length`` over the limit with plain text, whatever the app would answer,
and every Quorum error is a problem (``application/problem+json``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.problems import Problem, problem_response


class BodyTooLarge(HTTPException):
    """A streamed body passed the limit as it was read (answered by the problem handlers)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over this service's limit of {limit} bytes")


def too_large(limit: int) -> Problem:
    return Problem(
        413, "Content Too Large", f"the request body is over this service's limit of {limit} bytes"
    )


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(Request(scope), too_large(self.max_bytes))
            await response(scope, receive, send)
            return
        read = 0

        async def limited() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)
