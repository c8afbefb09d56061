"""Production sign-in through the organisation's OpenID provider: the console runs the
authorization code flow with PKCE (S256) and keeps the provider's access token as the session.

The provider is the test's own (discovery, /authorize, /token, RS256 tokens from a key pair
made here), served over TLS by uvicorn on 127.0.0.1; the console runs in-process in
production. No browser, Kafka or MongoDB."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from structlog.testing import capture_logs

from services.console.app import create_app
from services.console.settings import ConsoleSettings

CONSOLE = "https://console.test"
REDIRECT = f"{CONSOLE}/session/callback"
CLIENT_ID = "quorum-console"
CLIENT_SECRET = "console-client-secret"
AUDIENCE = "quorum-api"
SESSION_SECRET = "a-session-secret-shared-by-the-replicas-0123456789"
ALICE = {"sub": "alice", "tenant": "webshop", "role": "ops"}


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- the test's own OpenID provider ------------------------------------------------------


@dataclass
class Tls:
    ca_file: Path
    cert_file: Path
    key_file: Path


def make_tls(folder: Path) -> Tls:
    """A certificate authority of the test's own and a certificate for 127.0.0.1 it signs."""
    now = dt.datetime.now(dt.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "quorum test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    tls = Tls(folder / "ca.pem", folder / "provider.pem", folder / "provider-key.pem")
    tls.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    tls.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    tls.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return tls


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    challenge: str
    nonce: str
    person: dict[str, str]


@dataclass
class Provider:
    """An OpenID provider that signs in whoever ``person`` is, and remembers what it was sent."""

    url: str = ""
    tls: Tls | None = None
    signing_key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    person: dict[str, str] = field(default_factory=lambda: dict(ALICE))
    audience: str = AUDIENCE
    grants: dict[str, Grant] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)

    @property
    def public_key_pem(self) -> str:
        return (
            self.signing_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    def access_token(self, person: dict[str, str]) -> str:
        now = int(time.time())
        claims = {**person, "iss": self.url, "aud": self.audience, "iat": now, "exp": now + 3600}
        return jwt.encode(claims, self.signing_key, algorithm="RS256", headers={"kid": "test"})

    def app(self) -> FastAPI:
        app = FastAPI()

        def refused(error: str, description: str) -> JSONResponse:
            return JSONResponse({"error": error, "error_description": description}, 400)

        @app.get("/.well-known/openid-configuration")
        async def discovery() -> dict[str, Any]:
            return {
                "issuer": self.url,
                "authorization_endpoint": f"{self.url}/authorize",
                "token_endpoint": f"{self.url}/token",
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/authorize", response_model=None)
        async def authorize(
            response_type: str,
            client_id: str,
            redirect_uri: str,
            scope: str,
            state: str,
            nonce: str,
            code_challenge: str,
            code_challenge_method: Annotated[str, Query()] = "plain",
        ) -> JSONResponse | RedirectResponse:
            self.authorize_requests.append(
                {"client_id": client_id, "redirect_uri": redirect_uri, "scope": scope}
            )
            if client_id != CLIENT_ID:
                return refused("unauthorized_client", "unknown client")
            if redirect_uri != REDIRECT:
                return refused("invalid_request", "redirect_uri is not registered")
            if response_type != "code" or "openid" not in scope.split():
                return refused("invalid_request", "an OpenID code request only")
            if code_challenge_method != "S256":
                return refused("invalid_request", "PKCE with S256 is required")
            code = secrets.token_urlsafe(24)
            self.grants[code] = Grant(
                client_id, redirect_uri, code_challenge, nonce, dict(self.person)
            )
            return RedirectResponse(f"{redirect_uri}?code={code}&state={state}", 302)

        @app.post("/token", response_model=None)
        async def token(request: Request) -> JSONResponse:
            # the form by hand (the project does not install python-multipart)
            form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
            grant_type, code, redirect_uri, client_id, code_verifier = (
                form.get(name, "")
                for name in ("grant_type", "code", "redirect_uri", "client_id", "code_verifier")
            )
            client_secret = form.get("client_secret")
            self.token_requests.append(
                {"grant_type": grant_type, "client_id": client_id, "redirect_uri": redirect_uri}
            )
            if client_id != CLIENT_ID or client_secret != CLIENT_SECRET:
                return JSONResponse({"error": "invalid_client"}, 401)
            grant = self.grants.pop(code, None)  # a code is good once
            if grant_type != "authorization_code" or grant is None:
                return refused("invalid_grant", "the code is unknown or already used")
            if redirect_uri != grant.redirect_uri:
                return refused("invalid_grant", "redirect_uri differs from the authorization's")
            if s256(code_verifier) != grant.challenge:
                return refused("invalid_grant", "the PKCE verifier does not match the challenge")
            return JSONResponse(
                {
                    "access_token": self.access_token(grant.person),
                    "token_type": "Bearer",
                    "expires_in": 3600,
                },
                headers={"Cache-Control": "no-store"},
            )

        return app


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    tls = make_tls(tmp_path_factory.mktemp("provider-tls"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    found = Provider(url=f"https://127.0.0.1:{listener.getsockname()[1]}", tls=tls)
    server = uvicorn.Server(
        uvicorn.Config(
            found.app(),
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            log_level="warning",
            lifespan="off",
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test's OpenID provider did not start")
        time.sleep(0.02)
    try:
        yield found
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def trust_provider(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console's client trusts the test's certificate authority (as a deployment's would
    trust its provider's)."""
    assert provider.tls is not None
    monkeypatch.setenv("SSL_CERT_FILE", str(provider.tls.ca_file))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)


def production(provider: Provider, tmp_path: Path, **changes: Any) -> ConsoleSettings:
    values: dict[str, Any] = {
        "environment": "production",
        "jwt_algorithm": "RS256",
        "jwt_public_key": provider.public_key_pem,
        "jwt_issuer": provider.url,
        "jwt_audience": AUDIENCE,
        "oidc_issuer": provider.url,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_redirect_url": REDIRECT,
        "session_secret": SESSION_SECRET,
        "static_dir": tmp_path,
        **changes,
    }
    return ConsoleSettings(**values)


@asynccontextmanager
async def console(settings: ConsoleSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A browser's view of the console (its cookie jar), served in-process."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=CONSOLE) as client,
    ):
        yield client


def set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each cookie the response sets, by name: its whole Set-Cookie line, lower-cased."""
    lines = response.headers.get_list("set-cookie")
    return {line.split("=", 1)[0]: line.lower() for line in lines}


async def at_the_provider(provider: Provider, authorization_url: str) -> httpx.Response:
    """The browser at the provider's authorization endpoint (the person signs in there)."""
    assert provider.tls is not None
    trusted = ssl.create_default_context(cafile=str(provider.tls.ca_file))
    async with httpx.AsyncClient(verify=trusted, trust_env=False) as browser:
        return await browser.get(authorization_url)


async def back_at_the_console(client: httpx.AsyncClient, provider_answer: httpx.Response) -> Any:
    assert provider_answer.status_code == 302, provider_answer.text
    callback = urlsplit(provider_answer.headers["location"])
    assert f"{callback.scheme}://{callback.netloc}{callback.path}" == REDIRECT
    return await client.get(f"{callback.path}?{callback.query}")


async def started_sign_in(client: httpx.AsyncClient) -> dict[str, str]:
    login = await client.get("/session/login")
    assert login.status_code == 302, login.text
    return {k: v[0] for k, v in parse_qs(urlsplit(login.headers["location"]).query).items()}


# --- the sign-in ------------------------------------------------------------------------


async def test_login_redirects_to_the_provider_with_an_s256_challenge_and_a_signed_login_cookie(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        login = await client.get("/session/login")
    assert login.status_code == 302
    location = urlsplit(login.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{provider.url}/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT
    assert query["scope"] == "openid profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43  # base64url of a SHA-256 digest, unpadded
    assert len(query["state"]) >= 32 and len(query["nonce"]) >= 32
    cookie = set_cookies(login)["quorum_login"]
    for attribute in ("httponly", "samesite=lax", "path=/session", "max-age=600", "secure"):
        assert attribute in cookie
    # the verifier stays with the console: neither the redirect nor the page sees it in clear
    assert "code_verifier" not in login.headers["location"]


async def test_signing_in_at_the_provider_sets_the_session_and_lands_on_the_console(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        assert (await client.get("/session")).status_code == 401
        login = await client.get("/session/login")
        at_provider = await at_the_provider(provider, login.headers["location"])
        with capture_logs() as logs:
            callback = await back_at_the_console(client, at_provider)
        assert callback.status_code == 302
        assert callback.headers["location"] == "/"
        cookies = set_cookies(callback)
        session = cookies["quorum_session"]
        for attribute in ("httponly", "samesite=strict", "secure", "path=/"):
            assert attribute in session
        max_age = int(session.split("max-age=")[1].split(";")[0])
        assert 3500 < max_age <= 3600  # as long as the provider's token is valid
        assert "max-age=0" in cookies["quorum_login"]  # the sign-in is over
        assert (await client.get("/session")).json() == {
            "subject": "alice",
            "tenant": "webshop",
            "role": "ops",
        }
    # the provider got the code with the verifier and the confidential client's secret
    assert provider.token_requests[-1] == {
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
    }
    signed_in = [entry for entry in logs if entry["event"] == "signed in"]
    assert signed_in and signed_in[0]["tenant"] == "webshop"
    assert signed_in[0]["subject"] == "alice" and signed_in[0]["role"] == "ops"
    code = parse_qs(urlsplit(str(callback.request.url)).query)["code"][0]
    assert all(code not in json.dumps(entry, default=str) for entry in logs)
    assert all("eyJ" not in json.dumps(entry, default=str) for entry in logs)  # no JWT


async def test_a_sign_in_started_on_one_replica_finishes_on_another_with_the_same_secret(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with (
        console(production(provider, tmp_path)) as first,
        console(production(provider, tmp_path)) as second,
    ):
        login = await first.get("/session/login")
        second.cookies = first.cookies
        callback = await back_at_the_console(
            second, await at_the_provider(provider, login.headers["location"])
        )
        assert callback.status_code == 302
        assert (await second.get("/session")).json()["subject"] == "alice"


# --- refusals ---------------------------------------------------------------------------


async def assert_refused(
    client: httpx.AsyncClient, answer: httpx.Response, status: int, *words: str
) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    detail = answer.json()["detail"]
    for word in words:
        assert word in detail
    assert "quorum_session" not in set_cookies(answer)
    assert (await client.get("/session")).status_code == 401


async def test_a_callback_with_another_state_is_refused_as_started_elsewhere(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        login = await client.get("/session/login")
        at_provider = await at_the_provider(provider, login.headers["location"])
        code = parse_qs(urlsplit(at_provider.headers["location"]).query)["code"][0]
        answer = await client.get(
            "/session/callback", params={"code": code, "state": "a-state-of-someone-else"}
        )
        await assert_refused(
            client, answer, 400, "state does not match", "started elsewhere: sign in again"
        )
    assert code in provider.grants  # refused before the code was spent


async def test_a_callback_without_the_login_cookie_is_refused_as_started_elsewhere(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as started:
        login = await started.get("/session/login")
    async with console(production(provider, tmp_path)) as elsewhere:
        answer = await back_at_the_console(
            elsewhere, await at_the_provider(provider, login.headers["location"])
        )
        await assert_refused(
            elsewhere, answer, 400, "no sign-in was started", "started elsewhere: sign in again"
        )


async def test_a_tampered_login_cookie_is_refused(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        login = await client.get("/session/login")
        payload, mac = str(client.cookies["quorum_login"]).split(".")
        body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        body["v"] = "a-verifier-the-attacker-knows"
        forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        client.cookies.set(
            "quorum_login", f"{forged}.{mac}", domain="console.test", path="/session"
        )
        answer = await back_at_the_console(
            client, await at_the_provider(provider, login.headers["location"])
        )
        await assert_refused(client, answer, 400, "signature does not match")


async def test_a_login_cookie_signed_with_another_secret_is_refused(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    other = production(provider, tmp_path, session_secret="another-deployments-secret-0123456789")
    async with console(other) as elsewhere, console(production(provider, tmp_path)) as client:
        login = await elsewhere.get("/session/login")
        client.cookies = elsewhere.cookies
        answer = await back_at_the_console(
            client, await at_the_provider(provider, login.headers["location"])
        )
        await assert_refused(client, answer, 400, "signature does not match")


async def test_a_code_the_provider_refuses_is_refused_with_the_providers_reason(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        query = await started_sign_in(client)
        answer = await client.get(
            "/session/callback", params={"code": "a-code-never-issued", "state": query["state"]}
        )
        await assert_refused(client, answer, 400, "invalid_grant", "sign in again")


async def test_a_code_is_good_once(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        login = await client.get("/session/login")
        login_cookie = client.cookies["quorum_login"]
        at_provider = await at_the_provider(provider, login.headers["location"])
        assert (await back_at_the_console(client, at_provider)).status_code == 302
        await client.delete("/session")
        client.cookies.set("quorum_login", login_cookie, domain="console.test", path="/session")
        replayed = await back_at_the_console(client, at_provider)
        await assert_refused(client, replayed, 400, "invalid_grant")


async def test_the_providers_error_is_reported_with_its_description(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        query = await started_sign_in(client)
        answer = await client.get(
            "/session/callback",
            params={
                "error": "access_denied",
                "error_description": "the person declined",
                "state": query["state"],
            },
        )
        await assert_refused(client, answer, 400, "access_denied", "the person declined")


async def test_a_token_the_services_would_not_accept_signs_no_one_in(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    provider.person = {"sub": "mallory", "role": "admin"}  # no tenant claim
    try:
        async with console(production(provider, tmp_path)) as client:
            login = await client.get("/session/login")
            answer = await back_at_the_console(
                client, await at_the_provider(provider, login.headers["location"])
            )
            await assert_refused(client, answer, 401, "not accepted", "no tenant claim")
    finally:
        provider.person = dict(ALICE)


async def test_a_provider_that_does_not_answer_is_a_503(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    nowhere = f"https://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    async with console(production(provider, tmp_path, oidc_issuer=nowhere)) as client:
        answer = await client.get("/session/login")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "identity provider does not answer" in answer.json()["detail"]
    assert "quorum_login" not in set_cookies(answer)


# --- what the sign-in page offers -------------------------------------------------------


async def test_the_config_offers_the_provider_and_not_the_development_form_in_production(
    provider: Provider, trust_provider: None, tmp_path: Path
) -> None:
    async with console(production(provider, tmp_path)) as client:
        assert (await client.get("/session/config")).json() == {
            "development": False,
            "oidc": True,
        }
        refused = await client.post(
            "/session/dev", json={"tenant": "webshop", "subject": "x", "role": "ops"}
        )
        assert refused.status_code == 403


async def test_the_config_offers_only_the_development_form_on_a_developers_machine(
    tmp_path: Path,
) -> None:
    async with console(ConsoleSettings(environment="development", static_dir=tmp_path)) as client:
        assert (await client.get("/session/config")).json() == {
            "development": True,
            "oidc": False,
        }


async def test_login_is_not_found_when_no_provider_is_configured(tmp_path: Path) -> None:
    async with console(ConsoleSettings(environment="development", static_dir=tmp_path)) as client:
        login = await client.get("/session/login")
        callback = await client.get("/session/callback", params={"code": "c", "state": "s"})
    for answer in (login, callback):
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert "QUORUM_CONSOLE_OIDC_ISSUER" in answer.json()["detail"]


# --- settings ---------------------------------------------------------------------------


def test_production_refuses_a_plain_http_provider(provider: Provider, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="https only"):
        production(provider, tmp_path, oidc_issuer="http://idp.example")


def test_production_needs_a_session_secret_for_the_sign_in(
    provider: Provider, tmp_path: Path
) -> None:
    with pytest.raises(ValidationError, match="QUORUM_CONSOLE_SESSION_SECRET"):
        production(provider, tmp_path, session_secret=None)


def test_a_provider_needs_a_client_id_and_a_redirect_url(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="OIDC_CLIENT_ID"):
        ConsoleSettings(
            environment="development",
            oidc_issuer="http://127.0.0.1:9999",
            oidc_redirect_url="http://127.0.0.1:8000/session/callback",
        )


def test_a_developers_machine_may_use_a_plain_http_provider_and_the_default_secret() -> None:
    settings = ConsoleSettings(
        environment="development",
        oidc_issuer="http://127.0.0.1:9999",
        oidc_client_id=CLIENT_ID,
        oidc_redirect_url="http://127.0.0.1:8000/session/callback",
    )
    assert settings.oidc_configured and settings.development_sign_in
