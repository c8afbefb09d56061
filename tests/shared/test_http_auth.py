"""HTTP mechanisms and auth: problem+json for every error, roles, tenants, request ids."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from pymongo.errors import ServerSelectionTimeoutError

from shared.auth.cli import main as token_cli
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.auth.tokens import mint_token
from shared.http.pagination import decode_cursor, encode_cursor
from shared.http.problems import Problem
from shared.logging import STARTUP_S, TransientKafkaErrors, configure_logging, get_logger
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from tests.service_helpers import app_of

router = APIRouter()


class Body(BaseModel):
    name: str = Field(min_length=2)
    size: int = Field(ge=0)


@router.post("/things")
async def create_thing(
    body: Body, who: Annotated[Principal, Depends(require_roles(Role.client, Role.ops))]
) -> dict[str, str]:
    get_logger("test").info("thing created", authorization="Bearer secret-token")
    return {"tenant": who.tenant, "name": body.name}


@router.get("/boom")
async def boom(_: Annotated[Principal, Depends(require_roles(Role.ops))]) -> None:
    raise RuntimeError("database password is hunter2")


@router.get("/mongo-down")
async def mongo_down() -> None:
    raise ServerSelectionTimeoutError("127.0.0.1:27018: connection refused")


@router.get("/teapot")
async def teapot() -> None:
    raise Problem(418, "I'm a teapot", "short and stout")


class StubbedReadiness(Runtime):
    """A runtime whose one readiness check passes or fails as the test says (the app's
    lifespan is not run here: nothing connects)."""

    def __init__(self, settings: ServiceSettings, ready: bool) -> None:
        super().__init__(settings)
        self.ready = ready

    def readiness(self) -> dict[str, Callable[[], Awaitable[None]]]:
        async def check() -> None:
            if not self.ready:
                raise ConnectionError("mongodb unreachable")

        return {"mongodb": check}


def make_app(settings: ServiceSettings | None = None, ready: bool = True):  # type: ignore[no-untyped-def]
    settings = settings or ServiceSettings(environment="test")
    return app_of(settings, router, runtime=StubbedReadiness(settings, ready))


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def bearer(role: str = "client", tenant: str = "acme", **kw: object) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject='u1', tenant=tenant, role=role, **kw)}"}  # type: ignore[arg-type]


async def test_health_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok", "checks": {}}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {}}  # the details are for ops
    assert (await client.get("/readyz", headers=bearer("ops"))).json()["checks"] == {
        "mongodb": "ok"
    }
    await client.post("/things", json={"name": "ab", "size": 1}, headers=bearer())
    metrics = await client.get("/metrics", headers=bearer("ops"))
    assert (
        'quorum_http_requests_total{method="POST",route="/things",service="quorum",status="200"}'
        in metrics.text
    )


async def test_metrics_are_read_by_staff_only(client: httpx.AsyncClient) -> None:
    # counts move with what one expert does (a gold judgment is scored and fed): not for them
    assert (await client.get("/metrics")).status_code == 401
    for role in ("client", "expert"):
        assert (await client.get("/metrics", headers=bearer(role))).status_code == 403
    for role in ("ops", "admin"):
        staff = await client.get("/metrics", headers=bearer(role))
        assert staff.status_code == 200 and "quorum_http_requests_total" in staff.text


async def test_unready_dependency_is_a_503() -> None:
    transport = httpx.ASGITransport(app=make_app(ready=False))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        anonymous = await c.get("/readyz")
        client_role = await c.get("/readyz", headers=bearer("client"))
        staff = await c.get("/readyz", headers=bearer("admin"))
    assert anonymous.status_code == client_role.status_code == staff.status_code == 503
    assert anonymous.json() == client_role.json() == {"status": "unready", "checks": {}}
    assert "mongodb unreachable" in staff.json()["checks"]["mongodb"]


async def test_missing_token_is_401_problem(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "ab", "size": 1})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert body["status"] == 401 and "bearer token" in body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"Authorization": "Bearer not-a-jwt"}, "invalid token"),
        (bearer(ttl_seconds=-120), "expired"),  # beyond the 30 s clock leeway
        (bearer(secret="another-secret-that-is-long-enough-000000"), "invalid token"),
        (
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    {"sub": "u", "tenant": "a", "role": "root", "exp": 2**40},
                    "quorum-development-secret-change-me-0123456789",
                )
            },
            "role",
        ),
        (
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    {"sub": "u", "role": "ops", "exp": 2**40},
                    "quorum-development-secret-change-me-0123456789",
                )
            },
            "tenant",
        ),
        (
            {
                "Authorization": "Bearer "
                + jwt.encode(
                    {"sub": "u", "tenant": "a", "role": "ops"},
                    "quorum-development-secret-change-me-0123456789",
                )
            },
            "exp",
        ),
        (bearer(tenant="acme\x00" + "x" * 5000), "tenant id"),
        (bearer(tenant="a b"), "tenant id"),
    ],
)
async def test_bad_tokens_are_401(
    client: httpx.AsyncClient, headers: dict[str, str], detail: str
) -> None:
    response = await client.post("/things", json={"name": "ab", "size": 1}, headers=headers)
    assert response.status_code == 401
    assert detail in response.json()["detail"]


@pytest.mark.parametrize("role", ["expert", "admin"])
async def test_wrong_role_is_403(client: httpx.AsyncClient, role: str) -> None:
    response = await client.post("/things", json={"name": "ab", "size": 1}, headers=bearer(role))
    assert response.status_code == 403
    assert response.json()["title"] == "Forbidden"
    assert "client, ops" in response.json()["detail"]


async def test_allowed_role_sees_its_tenant(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/things", json={"name": "ab", "size": 1}, headers=bearer("ops", "globex")
    )
    assert response.status_code == 200
    assert response.json() == {"tenant": "globex", "name": "ab"}


async def test_validation_error_names_each_field(client: httpx.AsyncClient) -> None:
    response = await client.post("/things", json={"name": "a", "size": -1}, headers=bearer())
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.name", "body.size"}


async def test_unhandled_error_is_a_500_problem_without_internals(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/boom", headers=bearer("ops"))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text


async def test_an_unreachable_dependency_is_a_503_with_retry_after(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/mongo-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert "27018" not in response.text  # no internals


async def test_unknown_route_and_custom_problem(client: httpx.AsyncClient) -> None:
    missing = await client.get("/nope")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    teapot = await client.get("/teapot")
    assert teapot.status_code == 418 and teapot.json()["detail"] == "short and stout"


async def test_request_id_is_kept_or_made(client: httpx.AsyncClient) -> None:
    kept = await client.get("/healthz", headers={"X-Request-ID": "req-123"})
    assert kept.headers["x-request-id"] == "req-123"
    made = await client.get("/healthz")
    assert len(made.headers["x-request-id"]) == 32


async def test_rs256_with_jwks(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="k1", use="sig", alg="RS256")
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk]}))
    settings = ServiceSettings(
        environment="production",
        jwt_algorithm="RS256",
        jwt_jwks_path=str(jwks),
        jwt_issuer="https://id.example.com/",
        jwt_audience="quorum",
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    claims = {
        "sub": "u",
        "tenant": "acme",
        "role": "ops",
        "exp": 2**40,
        "iss": "https://id.example.com/",
        "aud": "quorum",
    }
    good = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "k1"})
    unknown = jwt.encode(claims, pem, algorithm="RS256", headers={"kid": "k2"})
    foreign = jwt.encode(
        {**claims, "iss": "https://other.example.com/"},
        pem,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    for_another_app = jwt.encode(
        {**claims, "aud": "another-app"}, pem, algorithm="RS256", headers={"kid": "k1"}
    )
    transport = httpx.ASGITransport(app=make_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        ok = await c.post(
            "/things", json={"name": "ab", "size": 1}, headers={"Authorization": f"Bearer {good}"}
        )
        bad = await c.post(
            "/things",
            json={"name": "ab", "size": 1},
            headers={"Authorization": f"Bearer {unknown}"},
        )
        refused = [
            await c.post(
                "/things",
                json={"name": "ab", "size": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
            for token in (foreign, for_another_app)
        ]
    assert ok.status_code == 200
    assert bad.status_code == 401 and "unknown key" in bad.json()["detail"]
    assert [r.status_code for r in refused] == [401, 401]
    assert "issuer" in refused[0].json()["detail"]
    assert "audience" in refused[1].json()["detail"].lower()


async def test_json_logs_carry_context_and_no_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("ingest", json=True)
    try:
        transport = httpx.ASGITransport(app=make_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            headers = {
                **bearer(tenant="acme"),
                "X-Request-ID": "r-42",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            }
            await c.post("/things", json={"name": "ab", "size": 1}, headers=headers)
        lines = [
            json.loads(line)
            for line in capsys.readouterr().err.splitlines()
            if line.startswith("{")
        ]
        entry = next(line for line in lines if line["event"] == "thing created")
        assert entry["service"] == "quorum"
        assert entry["tenant"] == "acme"
        assert entry["request_id"] == "r-42"
        assert entry["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
        assert entry["authorization"] == "***"
        assert "secret-token" not in json.dumps(lines)
    finally:
        logging.getLogger().handlers.clear()


def test_cursor_round_trip_and_bad_cursor() -> None:
    cursor = encode_cursor(["2026-01-01T00:00:00Z", "item-9"])
    assert decode_cursor(cursor, str, str) == ["2026-01-01T00:00:00Z", "item-9"]
    # not base64 JSON, another arity, not a list, a value of another type (a document that
    # would reach a query as a value)
    for bad in ("!!!", encode_cursor([1]), "e30", encode_cursor(["x", {"$gt": ""}])):
        with pytest.raises(Problem) as info:
            decode_cursor(bad, str, str)
        assert info.value.status == 400


def test_token_cli_refuses_production_and_defaults_to_development(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QUORUM_ENVIRONMENT", "production")
    assert token_cli(["--tenant", "acme", "--role", "ops"]) == 2
    assert "refusing to mint tokens in production" in capsys.readouterr().err
    monkeypatch.delenv("QUORUM_ENVIRONMENT")
    assert token_cli(["--tenant", "acme", "--role", "ops"]) == 0


def test_token_cli_mints_a_verifiable_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert token_cli(["--tenant", "acme", "--role", "expert", "--sub", "e-1"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(
        token, "quorum-development-secret-change-me-0123456789", algorithms=["HS256"]
    )
    assert claims["tenant"] == "acme" and claims["role"] == "expert" and claims["sub"] == "e-1"


def test_transient_kafka_conditions_are_quiet_at_start_then_warnings_and_others_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("ingest", json=True)
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    client = logging.getLogger("aiokafka.client")
    try:
        fetcher.error("Failed fetch offsets from 1: [Error 6] NotLeaderForPartitionError: tp")
        client.error('Unable connect to "kafka:9092": refused')
        at_start = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        (handler,) = logging.getLogger().handlers
        (transient,) = [f for f in handler.filters if isinstance(f, TransientKafkaErrors)]
        transient.started -= STARTUP_S  # the service has been up for a while
        fetcher.error("Failed fetch offsets from 1: [Error 6] NotLeaderForPartitionError: tp")
        later = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        logging.getLogger().handlers.clear()
    assert [(line["level"], line["event"][:12]) for line in at_start] == [("error", "Unable conne")]
    assert [(line["level"], line["event"][:12]) for line in later] == [("warning", "Failed fetch")]
