"""The simulator's way into Quorum: the public HTTP APIs of the four services and the
tenant's Kafka request topic, as a client system, operations staff and experts reach them,
each with a token minted for its role."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypedDict, TypeVar

import httpx
from aiokafka import AIOKafkaProducer
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from shared.auth.tokens import mint_token
from shared.contracts.media import MEDIA_REQUESTS
from shared.settings import DEV_JWT_SECRET

T = TypeVar("T")


class Caller(TypedDict):
    """Who makes a call: a role and the token's subject (``**caller`` into :meth:`Quorum.call`)."""

    role: str
    subject: str


class DemoError(RuntimeError):
    """A step of the demo failed; the message says what failed and what to do."""


@dataclass(frozen=True)
class Endpoints:
    """Where the four services and Kafka answer."""

    ingest: str = "http://127.0.0.1:8001"
    assignment: str = "http://127.0.0.1:8002"
    metrics: str = "http://127.0.0.1:8003"
    taxonomy: str = "http://127.0.0.1:8004"
    kafka: str = "127.0.0.1:19092"
    topic_prefix: str = ""
    jwt_secret: str = DEV_JWT_SECRET

    def services(self) -> dict[str, str]:
        return {
            "ingest": self.ingest,
            "assignment": self.assignment,
            "metrics": self.metrics,
            "taxonomy": self.taxonomy,
        }


class Quorum:
    """HTTP clients of the four services for one tenant, and its request topic."""

    def __init__(self, endpoints: Endpoints, tenant: str) -> None:
        self.endpoints = endpoints
        self.tenant = tenant
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
        self.http = {
            name: httpx.AsyncClient(base_url=url, timeout=60, limits=limits)
            for name, url in endpoints.services().items()
        }
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._producer: AIOKafkaProducer | None = None
        #: per "METHOD service": calls and seconds spent waiting for the answers
        self.timings: dict[str, list[float]] = {}

    async def close(self) -> None:
        for client in self.http.values():
            await client.aclose()
        if self._producer is not None:
            await self._producer.stop()

    def auth(self, role: str, subject: str) -> dict[str, str]:
        """A bearer header for ``subject`` in ``role`` (renewed before it expires)."""
        held = self._tokens.get((role, subject))
        if held is None or held[1] < time.monotonic():
            token = mint_token(
                subject=subject,
                tenant=self.tenant,
                role=role,
                secret=self.endpoints.jwt_secret,
                ttl_seconds=3600,
            )
            held = (token, time.monotonic() + 3000)
            self._tokens[(role, subject)] = held
        return {"Authorization": f"Bearer {held[0]}"}

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        role: str,
        subject: str,
        expect: tuple[int, ...] = (200, 201),
        retry_on: tuple[int, ...] = (),
        timeout: float = 60.0,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; again while it answers ``retry_on`` (a fact another service
        publishes is not consumed yet) or 503, at most ``timeout`` seconds; a
        :class:`DemoError` naming the call unless it answers ``expect``."""
        client = self.http[service]
        deadline = time.monotonic() + timeout
        broken = 0
        while True:
            began = time.perf_counter()
            try:
                response = await client.request(
                    method,
                    path,
                    headers={**self.auth(role, subject), **(headers or {})},
                    **kwargs,
                )
            except httpx.TransportError as exc:
                # a kept-alive connection the server closed as it was reused: again, on a
                # fresh one (every call the demo makes is safe to repeat)
                broken += 1
                if broken < 4:
                    await asyncio.sleep(0.2 * broken)
                    continue
                raise DemoError(
                    f"{service} at {client.base_url} does not answer ({exc!r}): "
                    "is the stack running? `make run` starts it"
                ) from exc
            spent = self.timings.setdefault(f"{method} {service}", [0, 0.0])
            spent[0] += 1
            spent[1] += time.perf_counter() - began
            if response.status_code in expect:
                return response
            # 503: a database or the broker is briefly unreachable; the answer says to retry
            retry = response.status_code in retry_on or response.status_code == 503
            if retry and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
                continue
            raise DemoError(
                f"{method} {service}{path} as {role} {subject}: {response.status_code} "
                f"{response.text[:800]}"
            )

    async def json(self, service: str, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.call(service, method, path, **kwargs)
        return response.json() if response.content else None

    async def publish_requests(self, bodies: list[dict[str, Any]]) -> dict[str, str]:
        """Registration requests as CloudEvents on the tenant's request topic, written by
        the cloudevents SDK's Kafka binding (what a client's uploader does); the request id
        of each external id."""
        if self._producer is None:
            self._producer = AIOKafkaProducer(
                bootstrap_servers=self.endpoints.kafka, acks="all", enable_idempotence=True
            )
            try:
                await self._producer.start()
            except Exception as exc:
                self._producer = None
                raise DemoError(
                    f"Kafka at {self.endpoints.kafka} does not answer ({exc!r}): "
                    "is the stack running? `make run` starts it"
                ) from exc
        topic = self.endpoints.topic_prefix + MEDIA_REQUESTS.of_tenant(self.tenant)
        ids: dict[str, str] = {}
        for body in bodies:
            request_id = str(uuid.uuid4())
            event = CloudEvent(
                {
                    "id": request_id,
                    "source": "https://capture.example/uploader",
                    "type": "quorum.media.registration_requested.v1",
                    "datacontenttype": "application/json",
                    "partitionkey": body["external_id"],
                    "tenant": self.tenant,
                },
                body,
            )
            message = ce_kafka.to_structured(event, JSONFormat())
            key = message.key if isinstance(message.key, bytes) else str(message.key).encode()
            await self._producer.send(
                topic, value=message.value, key=key, headers=list(message.headers.items())
            )
            ids[body["external_id"]] = request_id
        await self._producer.flush()
        return ids


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float, what: str, every: float = 0.5
) -> T:
    """``check()`` until it gives something other than None, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(every)
