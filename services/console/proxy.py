"""The services' APIs under ``/api/<service>/…`` on the console's origin: each call forwarded
with the session's bearer token, the answer streamed back as it comes (Server-Sent Events
included). The services decide everything else: tenant, role, validation."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.background import BackgroundTask

from services.console.session import CONSOLE_HEADER, session_token
from shared.http.problems import Problem
from shared.logging import get_logger

log = get_logger(__name__)

#: request headers a browser's call passes on (the token comes from the session)
FORWARDED = (
    "accept",
    "content-type",
    "idempotency-key",
    "if-none-match",
    "last-event-id",
    "range",
    "traceparent",
    "x-request-id",
)
#: response headers that describe one hop, not the answer
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-authenticate", "te"}
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def router(upstreams: Mapping[str, str], client: httpx.AsyncClient) -> APIRouter:
    routes = APIRouter(prefix="/api", include_in_schema=False)

    @routes.api_route(
        "/{service}/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
    )
    async def forward(service: str, path: str, request: Request) -> StreamingResponse:
        base = upstreams.get(service)
        if base is None:
            raise Problem(
                404, "Not Found", f"no service {service!r}: one of {', '.join(upstreams)}"
            )
        if request.method not in SAFE_METHODS and request.headers.get(CONSOLE_HEADER) != "1":
            raise Problem(
                403,
                "Forbidden",
                f"a console call that changes something carries the `{CONSOLE_HEADER}: 1` header",
            )
        headers = {k: v for k in FORWARDED if (v := request.headers.get(k)) is not None}
        token = session_token(request)
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        upstream = client.build_request(
            request.method,
            f"{base.rstrip('/')}/{path}" + (f"?{request.url.query}" if request.url.query else ""),
            headers=headers,
            content=await request.body(),
        )
        try:
            answer = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            log.warning("upstream unreachable", upstream=service, error=type(exc).__name__)
            raise Problem(
                503,
                "Service Unavailable",
                f"the {service} service does not answer: is it running (`make run`)?",
                headers={"Retry-After": "2"},
            ) from None
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.aiter_raw():
                    yield chunk
            except httpx.HTTPError:
                return  # the service went away mid-answer: the browser sees the stream end

        return StreamingResponse(
            body(),
            status_code=answer.status_code,
            headers=kept,
            background=BackgroundTask(answer.aclose),
        )

    return routes
