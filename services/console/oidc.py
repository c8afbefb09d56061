"""Sign-in with the organisation's OpenID Connect provider: the authorization code flow with
PKCE (S256), run by the console itself (a confidential client when ``oidc_client_secret`` is
set, a public one otherwise; PKCE either way).

1. ``GET /session/login`` sends the browser to the provider's authorization endpoint with a
   random state, a nonce and the S256 challenge of a random verifier. The three wait in a
   short-lived cookie (``quorum_login``: HttpOnly, SameSite=Lax because the provider's redirect
   back is a top-level navigation from another site, Path=/session) signed with an HMAC whose
   key is derived from ``session_secret``, so that any replica can check it.
2. The provider sends the browser back to ``GET /session/callback?code=…&state=…``. The console
   checks the cookie's signature, age and state, exchanges the code and the verifier at the
   token endpoint, verifies the access token as every service does, and sets the session cookie
   exactly as the development sign-in does (HttpOnly, SameSite=Strict, for as long as the
   token is valid). The page at ``/`` then asks ``/session`` who is signed in: a same-origin
   call, which carries the Strict cookie.

What the provider must issue: the **access token** is the session, and the services verify it.
It must be a JWT signed RS256 with the key the deployment configures
(``QUORUM_JWT_PUBLIC_KEY`` or ``QUORUM_JWT_JWKS_PATH``), issued by ``QUORUM_JWT_ISSUER`` for
the audience ``QUORUM_JWT_AUDIENCE``, with the claims ``sub`` (the person's id), ``tenant``,
``role`` (client, expert, ops or admin) and ``exp``. The ID token is not kept: the nonce is
sent for providers that require one, and PKCE binds the code to the browser that started the
sign-in.

Codes, verifiers and tokens are never logged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from services.console.session import set_session_cookie
from services.console.settings import ConsoleSettings
from shared.auth.tokens import AuthError, TokenVerifier
from shared.http.problems import Problem
from shared.http.routing import documented_problem
from shared.logging import get_logger
from shared.settings import Environment

log = get_logger(__name__)

LOGIN_COOKIE = "quorum_login"
LOGIN_PATH = "/session"
#: how long a sign-in may take at the provider
LOGIN_TTL_S = 600
#: a provider that does not answer within this is unavailable (the shared client reads forever)
PROVIDER_TIMEOUT = httpx.Timeout(10.0)
STARTED_ELSEWHERE = "the sign-in expired or was started elsewhere: sign in again"
NO_STORE = {"Cache-Control": "no-store"}


def _problems(answers: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of these statuses: problem+json with the problem schema."""
    return {status: documented_problem(status, text) for status, text in answers.items()}


NOT_CONFIGURED = {404: "No identity provider is configured here"}
UNAVAILABLE = {503: "The identity provider does not answer; try again shortly"}


class SignInConfig(BaseModel):
    """What the sign-in page offers."""

    development: bool
    oidc: bool


@dataclass(frozen=True)
class ProviderEndpoints:
    authorization: str
    token: str


class ProviderUnavailable(Exception):
    """The provider does not answer, or not as an OpenID provider."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier`` (RFC 7636)."""
    return _b64(hashlib.sha256(verifier.encode()).digest())


class Discovery:
    """The provider's endpoints from ``{issuer}/.well-known/openid-configuration``, fetched on
    first use and kept (a failed fetch is tried again on the next sign-in)."""

    def __init__(self, issuer: str, client: httpx.AsyncClient, allow_http: bool) -> None:
        self.issuer = issuer.rstrip("/")
        self._client = client
        self._allow_http = allow_http
        self._endpoints: ProviderEndpoints | None = None
        self._lock = asyncio.Lock()

    async def endpoints(self) -> ProviderEndpoints:
        if self._endpoints is None:
            async with self._lock:
                if self._endpoints is None:
                    self._endpoints = await self._fetch()
        return self._endpoints

    async def _fetch(self) -> ProviderEndpoints:
        url = f"{self.issuer}/.well-known/openid-configuration"
        try:
            answer = await self._client.get(
                url, headers={"accept": "application/json"}, timeout=PROVIDER_TIMEOUT
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(f"{url} does not answer ({type(exc).__name__})") from None
        if answer.status_code != 200:
            raise ProviderUnavailable(f"{url} answered {answer.status_code}")
        try:
            document = answer.json()
        except ValueError:
            raise ProviderUnavailable(f"{url} is not JSON") from None
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url} is not an OpenID provider's configuration")
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable(
                f"{url} names another issuer ({str(document.get('issuer'))[:200]!r}): "
                "QUORUM_CONSOLE_OIDC_ISSUER must be the provider's issuer exactly"
            )
        found = {}
        for name in ("authorization_endpoint", "token_endpoint"):
            value = document.get(name)
            schemes = ("https", "http") if self._allow_http else ("https",)
            if not isinstance(value, str) or urlsplit(value).scheme not in schemes:
                raise ProviderUnavailable(f"{url} has no {' or '.join(schemes)} {name}")
            found[name] = value
        return ProviderEndpoints(found["authorization_endpoint"], found["token_endpoint"])


class LoginCookie:
    """The sign-in in progress (state, nonce, PKCE verifier), signed with an HMAC."""

    def __init__(self, session_key: bytes) -> None:
        # a key of its own, derived from the session secret (not the secret itself)
        self._key = hmac.new(session_key, b"quorum-console/login-cookie/v1", "sha256").digest()

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), "sha256").digest())

    def seal(self, state: str, nonce: str, verifier: str, now: float) -> str:
        body = {"s": state, "n": nonce, "v": verifier, "e": int(now) + LOGIN_TTL_S}
        payload = _b64(json.dumps(body, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def open(self, value: str | None, now: float) -> dict[str, Any]:
        """The sign-in's fields; a 400 problem naming what is wrong otherwise."""
        if not value:
            raise _started_elsewhere("no sign-in was started in this browser")
        payload, _, mac = value.partition(".")
        if not hmac.compare_digest(self._mac(payload), mac):
            raise _started_elsewhere("the sign-in cookie's signature does not match")
        try:
            body = json.loads(_unb64(payload))
        except ValueError:
            raise _started_elsewhere("the sign-in cookie is unreadable") from None
        if not isinstance(body, dict) or not all(
            isinstance(body.get(k), str) for k in ("s", "n", "v")
        ):
            raise _started_elsewhere("the sign-in cookie is unreadable")
        if not isinstance(body.get("e"), int) or body["e"] < now:
            raise _started_elsewhere("the sign-in took longer than 10 minutes")
        return body


def _started_elsewhere(what: str) -> Problem:
    log.warning("sign-in refused", reason=what)
    return Problem(400, "Bad Request", f"{what}: {STARTED_ELSEWHERE}", headers=NO_STORE)


def _unavailable(exc: ProviderUnavailable) -> Problem:
    log.warning("identity provider unavailable", error=str(exc))
    return Problem(
        503,
        "Service Unavailable",
        f"the identity provider does not answer: {exc}; try signing in again shortly",
        headers={"Retry-After": "5", **NO_STORE},
    )


def router(
    settings: ConsoleSettings, verifier: TokenVerifier, client: httpx.AsyncClient
) -> APIRouter:
    routes = APIRouter(prefix="/session", tags=["session"])
    secure = settings.secure_cookies
    login_cookie = LoginCookie(settings.session_key)
    discovery = (
        Discovery(
            settings.oidc_issuer,
            client,
            allow_http=settings.environment is not Environment.production,
        )
        if settings.oidc_issuer
        else None
    )

    def configured() -> Discovery:
        if discovery is None:
            raise Problem(
                404,
                "Not Found",
                "sign-in with an identity provider is not configured here: set "
                "QUORUM_CONSOLE_OIDC_ISSUER, QUORUM_CONSOLE_OIDC_CLIENT_ID and "
                "QUORUM_CONSOLE_OIDC_REDIRECT_URL",
            )
        return discovery

    @routes.get("/config", summary="What the sign-in page offers: development, OIDC or both")
    async def config() -> SignInConfig:
        return SignInConfig(development=settings.development_sign_in, oidc=settings.oidc_configured)

    @routes.get(
        "/login",
        summary="Sign in with the organisation's identity provider: a redirect to it "
        "(404 when none is configured)",
        status_code=302,
        response_class=RedirectResponse,
        responses=_problems({**NOT_CONFIGURED, **UNAVAILABLE}),
    )
    async def login() -> RedirectResponse:
        provider = configured()
        try:
            endpoints = await provider.endpoints()
        except ProviderUnavailable as exc:
            raise _unavailable(exc) from None
        state, nonce, code_verifier = (
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(32),
            secrets.token_urlsafe(64),
        )
        query = urlencode(
            {
                "response_type": "code",
                "client_id": settings.oidc_client_id,
                "redirect_uri": settings.oidc_redirect_url,
                "scope": settings.oidc_scopes,
                "state": state,
                "nonce": nonce,
                "code_challenge": s256(code_verifier),
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if urlsplit(endpoints.authorization).query else "?"
        response = RedirectResponse(
            f"{endpoints.authorization}{separator}{query}", status_code=302, headers=NO_STORE
        )
        response.set_cookie(
            LOGIN_COOKIE,
            login_cookie.seal(state, nonce, code_verifier, time.time()),
            max_age=LOGIN_TTL_S,
            httponly=True,
            samesite="lax",
            secure=secure,
            path=LOGIN_PATH,
        )
        return response

    @routes.get(
        "/callback",
        summary="Where the identity provider sends the browser back: the code exchanged, the "
        "session cookie set, a redirect to the console",
        status_code=302,
        response_class=RedirectResponse,
        responses=_problems(
            {
                400: "The sign-in expired or was started elsewhere, or the provider refused it",
                401: "The provider's access token is not one the services accept",
                **NOT_CONFIGURED,
                422: "Invalid query parameters",
                502: "The provider's answer has no access token",
                **UNAVAILABLE,
            }
        ),
    )
    async def callback(
        request: Request,
        code: Annotated[str | None, Query(max_length=4096)] = None,
        state: Annotated[str | None, Query(max_length=1024)] = None,
        error: Annotated[str | None, Query(max_length=256)] = None,
        error_description: Annotated[str | None, Query(max_length=1024)] = None,
    ) -> RedirectResponse:
        provider = configured()
        if error is not None:
            log.warning("sign-in refused by the identity provider", error=error)
            detail = f"the identity provider did not sign you in: {error}"
            if error_description:
                detail += f" ({error_description})"
            raise Problem(400, "Bad Request", detail, headers=NO_STORE)
        started = login_cookie.open(request.cookies.get(LOGIN_COOKIE), time.time())
        if not state or not hmac.compare_digest(state.encode(), started["s"].encode()):
            raise _started_elsewhere("the state does not match the sign-in of this browser")
        if not code:
            raise Problem(400, "Bad Request", "the identity provider sent no code: sign in again")
        try:
            endpoints = await provider.endpoints()
        except ProviderUnavailable as exc:
            raise _unavailable(exc) from None
        token = await _exchange(settings, client, endpoints.token, code, started["v"])
        try:
            principal = verifier.verify(token)
        except AuthError as exc:
            log.warning("sign-in refused: the provider's token is not accepted", error=exc.detail)
            raise Problem(
                401,
                "Unauthorized",
                f"the identity provider's access token is not accepted: {exc.detail} (the "
                "console needs an RS256 JWT for this deployment's audience with the claims "
                "sub, tenant and role)",
                headers=NO_STORE,
            ) from None
        expires = jwt.decode(token, options={"verify_signature": False}).get("exp")
        max_age = int(expires) - int(time.time()) if isinstance(expires, int | float) else 0
        if max_age <= 0:
            raise Problem(
                401,
                "Unauthorized",
                "the identity provider's access token has already expired: sign in again",
            )
        response = RedirectResponse("/", status_code=302, headers=NO_STORE)
        set_session_cookie(response, token, max_age, secure)
        response.delete_cookie(
            LOGIN_COOKIE, path=LOGIN_PATH, httponly=True, samesite="lax", secure=secure
        )
        log.info(
            "signed in",
            method="oidc",
            tenant=principal.tenant,
            subject=principal.subject,
            role=principal.role.value,
        )
        return response

    return routes


async def _exchange(
    settings: ConsoleSettings,
    client: httpx.AsyncClient,
    token_endpoint: str,
    code: str,
    code_verifier: str,
) -> str:
    """The access token the provider gives for ``code`` (RFC 6749 4.1.3, RFC 7636 4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": str(settings.oidc_redirect_url),
        "client_id": str(settings.oidc_client_id),
        "code_verifier": code_verifier,
    }
    if settings.oidc_client_secret is not None:
        form["client_secret"] = settings.oidc_client_secret.get_secret_value()
    try:
        answer = await client.post(
            token_endpoint,
            data=form,
            headers={"accept": "application/json"},
            timeout=PROVIDER_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise _unavailable(
            ProviderUnavailable(f"its token endpoint does not answer ({type(exc).__name__})")
        ) from None
    if answer.status_code >= 500:
        raise _unavailable(ProviderUnavailable(f"its token endpoint answered {answer.status_code}"))
    try:
        body = answer.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if answer.status_code != 200:
        error = str(body.get("error") or f"HTTP {answer.status_code}")[:256]
        description = str(body.get("error_description") or "")[:1024]
        log.warning("sign-in refused: the code was not exchanged", error=error)
        raise Problem(
            400,
            "Bad Request",
            f"the identity provider refused the sign-in's code: {error}"
            + (f" ({description})" if description else "")
            + ": sign in again",
            headers=NO_STORE,
        )
    token = body.get("access_token")
    if not isinstance(token, str) or not token or len(token) > 8192:
        log.warning("sign-in refused: the provider's answer has no access token")
        raise Problem(
            502,
            "Bad Gateway",
            "the identity provider's answer has no access token (of at most 8192 characters)",
            headers=NO_STORE,
        )
    return token
