"""Forged, altered and misdirected tokens: each answered 401 by a production service, with
its public key given as PEM or as a JWKS, and none reaching the route."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated, Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import APIRouter, Depends

from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.auth.tokens import TokenVerifier, mint_token
from shared.settings import ServiceSettings
from tests.service_helpers import app_of

ISSUER, AUDIENCE, KID = "https://id.example.com/", "quorum", "k1"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
PRIVATE_PEM = KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
)
PUBLIC_PEM = KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)

reached: list[Principal] = []
router = APIRouter()


@router.get("/whoami")
async def whoami(who: Annotated[Principal, Depends(require_roles(*Role))]) -> dict[str, str]:
    reached.append(who)
    return {"tenant": who.tenant}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "sub": "u1",
        "tenant": "acme",
        "role": "ops",
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def signed(payload: dict[str, Any], key: Any = PRIVATE_PEM, kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid else None
    return jwt.encode(payload, key, algorithm="RS256", headers=headers)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def with_payload(token: str, payload: dict[str, Any]) -> str:
    """The token's header and signature around another payload."""
    header, _, signature = token.split(".")
    return f"{header}.{_b64(payload)}.{signature}"


def unsigned(payload: dict[str, Any]) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{_b64(payload)}."


def hs256_with_the_public_key(payload: dict[str, Any]) -> str:
    """The classic key confusion: the public key, which anyone has, used as an HMAC secret."""
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": KID})
    body = _b64(payload)
    mac = hmac.new(PUBLIC_PEM, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"


ATTACKS: dict[str, Callable[[], str]] = {
    "payload changed under the original signature": lambda: with_payload(
        signed(claims()), claims(tenant="globex", role="admin")
    ),
    "alg none": lambda: unsigned(claims()),
    "the RS256 public key used as an HS256 secret": lambda: hs256_with_the_public_key(claims()),
    "signed by another key": lambda: signed(claims(), key=OTHER_KEY),
    "no sub": lambda: signed(claims(sub=None)),
    "no tenant": lambda: signed(claims(tenant=None)),
    "no role": lambda: signed(claims(role=None)),
    "no exp": lambda: signed(claims(exp=None)),
    "another issuer": lambda: signed(claims(iss="https://other.example.com/")),
    "no issuer": lambda: signed(claims(iss=None)),
    "another audience": lambda: signed(claims(aud="another-app")),
    "no audience": lambda: signed(claims(aud=None)),
    "expired beyond the leeway": lambda: signed(claims(exp=int(time.time()) - 120)),
    "not valid yet beyond the leeway": lambda: signed(claims(nbf=int(time.time()) + 120)),
    "a tenant that is not a tenant id": lambda: signed(claims(tenant="acme/../globex")),
    "an unknown role": lambda: signed(claims(role="root")),
    "a subject that is not an id": lambda: signed(claims(sub="two words")),
    "a subject that is not a string": lambda: signed(claims(sub=7)),
    "a tenant that is not a string": lambda: signed(claims(tenant=7)),
}

#: what the 401 says, where it says what to fix
MESSAGES = {
    "no tenant": "token has no tenant claim",
    "a tenant that is not a string": "token has no tenant claim",
    "expired beyond the leeway": "token expired; request a new one",
    "a tenant that is not a tenant id": "token tenant is not a tenant id (letters, digits "
    "and hyphens; up to 64)",
    "an unknown role": "token role 'root' is not one of client, expert, ops, admin",
    "a subject that is not an id": "token subject must be an id: up to 256 characters, no spaces",
    "another audience": "invalid token: Audience doesn't match",
}


def settings_with(tmp_path: Path, key_as: str) -> ServiceSettings:
    values: dict[str, Any] = {
        "environment": "production",
        "jwt_algorithm": "RS256",
        "jwt_issuer": ISSUER,
        "jwt_audience": AUDIENCE,
    }
    if key_as == "pem":
        values["jwt_public_key"] = PUBLIC_PEM.decode()
    else:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
        jwk.update(kid=KID, use="sig", alg="RS256")
        path = tmp_path / "jwks.json"
        path.write_text(json.dumps({"keys": [jwk]}))
        values["jwt_jwks_path"] = str(path)
    return ServiceSettings(**values)


@pytest.fixture(params=["pem", "jwks"])
async def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_with(tmp_path, request.param)
    app = app_of(settings, router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def _whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/whoami", headers={"Authorization": f"Bearer {token}"})


async def test_a_token_of_the_identity_provider_is_accepted(client: httpx.AsyncClient) -> None:
    within_leeway = signed(claims(exp=int(time.time()) - 10, nbf=int(time.time()) + 10))
    for token in (signed(claims()), within_leeway):
        reached.clear()
        response = await _whoami(client, token)
        assert response.status_code == 200 and response.json() == {"tenant": "acme"}
        assert reached == [Principal(subject="u1", tenant="acme", role=Role.ops)]


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_a_forged_or_misdirected_token_is_a_401_that_reaches_nothing(
    client: httpx.AsyncClient, attack: str
) -> None:
    reached.clear()
    response = await _whoami(client, ATTACKS[attack]())
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert reached == []
    if attack in MESSAGES:
        assert response.json()["detail"] == MESSAGES[attack]


async def test_a_key_id_the_jwks_does_not_have_is_a_401(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, "jwks")
    app = app_of(settings, router)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        for token in (signed(claims(), kid="k2"), signed(claims(), kid=None)):
            response = await _whoami(c, token)
            assert response.status_code == 401
            assert response.json()["detail"] == "token signed with an unknown key id"


def test_without_a_configured_audience_a_token_naming_one_is_accepted() -> None:
    """Development verifies no audience: a token that names one is not refused for it."""
    verifier = TokenVerifier(ServiceSettings(environment="development"))
    token = mint_token(subject="u1", tenant="acme", role="ops", extra={"aud": "some-app"})
    assert verifier.verify(token) == Principal(subject="u1", tenant="acme", role=Role.ops)


def test_a_minted_token_carries_its_issue_time_and_lives_an_hour() -> None:
    token = mint_token(subject="u1", tenant="acme", role="expert")
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    minted = jwt.decode(token, options={"verify_signature": False})
    assert minted["exp"] - minted["iat"] == 3600
    assert abs(minted["iat"] - time.time()) < 60
    assert (minted["sub"], minted["tenant"], minted["role"]) == ("u1", "acme", "expert")
