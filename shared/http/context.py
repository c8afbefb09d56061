"""Request context: a request id and trace id in the logs and response headers; HTTP metrics."""

from __future__ import annotations

import time
import uuid

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.trace import child_traceparent, new_traceparent, trace_id_of

REQUEST_ID_HEADER = "x-request-id"

HTTP_REQUESTS = Counter(
    "quorum_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_SECONDS = Histogram(
    "quorum_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)


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
            service=self.service,
            request_id=request_id,
            trace_id=trace_id,
            method=scope.get("method"),
            path=scope.get("path"),
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
