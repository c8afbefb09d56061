"""The browser's session: the bearer token lives in an HttpOnly cookie the page's scripts
cannot read, and the proxy puts it in the ``Authorization`` header of each API call. A
development sign-in mints the token (refused in production, where the tenant's identity
provider issues it: ``services/console/oidc.py``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from shared.auth.principal import Principal, Role
from shared.auth.tokens import AuthError, TokenVerifier, mint_token
from shared.contracts.vocabulary import ID_PATTERN, TENANT_PATTERN
from shared.http.problems import Problem
from shared.http.routing import api_router, documented_problem
from shared.logging import get_logger
from shared.settings import Environment, ServiceSettings

log = get_logger(__name__)

COOKIE = "quorum_session"
#: unsafe methods carry this header: a page of another origin cannot send it without a CORS
#: preflight the console never grants (with SameSite=Strict, the session's CSRF guard)
CONSOLE_HEADER = "x-quorum-console"


class DevSignIn(BaseModel):
    tenant: Annotated[str, Field(pattern=TENANT_PATTERN)]
    subject: Annotated[str, Field(pattern=ID_PATTERN, min_length=1, max_length=256)]
    role: Role


class SessionView(BaseModel):
    subject: str
    tenant: str
    role: Role


def session_token(request: Request) -> str | None:
    token = request.cookies.get(COOKIE)
    return token if token and len(token) <= 8192 else None


def set_session_cookie(response: Response, token: str, max_age: int, secure: bool) -> None:
    """The session: HttpOnly (no script reads the token), SameSite=Strict (no other site's
    page sends it), for the whole origin."""
    response.set_cookie(
        COOKIE, token, max_age=max_age, httponly=True, samesite="strict", secure=secure, path="/"
    )


def current(request: Request, verifier: TokenVerifier) -> Principal:
    token = session_token(request)
    if token is None:
        raise AuthError("not signed in: sign in at /signin")
    return verifier.verify(token)


def router(
    settings: ServiceSettings, verifier: TokenVerifier, ttl_s: int, secure: bool
) -> APIRouter:
    routes = api_router("/session", ["session"])

    @routes.get(
        "",
        summary="Who is signed in (401 when no one)",
        responses={401: documented_problem(401, "No one is signed in, or the session expired")},
    )
    async def who(request: Request) -> SessionView:
        principal = current(request, verifier)
        return SessionView(subject=principal.subject, tenant=principal.tenant, role=principal.role)

    @routes.post(
        "/dev",
        summary="Development sign-in: a token minted for the tenant, subject and role given "
        "(403 in production, and wherever tokens are not signed with the shared secret)",
        status_code=200,
        responses={403: documented_problem(403, "Development sign-in is off here")},
    )
    async def dev_sign_in(body: DevSignIn, response: Response) -> SessionView:
        if settings.environment is Environment.production or settings.jwt_algorithm != "HS256":
            raise Problem(
                403,
                "Forbidden",
                "development sign-in is off here: sign in with your organisation's identity "
                "provider",
            )
        token = mint_token(
            subject=body.subject,
            tenant=body.tenant,
            role=body.role,
            secret=settings.jwt_secret.get_secret_value(),
            ttl_seconds=ttl_s,
            extra={
                k: v for k, v in (("iss", settings.jwt_issuer), ("aud", settings.jwt_audience)) if v
            },
        )
        set_session_cookie(response, token, ttl_s, secure)
        log.info("signed in", tenant=body.tenant, subject=body.subject, role=body.role.value)
        return SessionView(subject=body.subject, tenant=body.tenant, role=body.role)

    @routes.delete("", status_code=204, summary="Sign out")
    async def sign_out(response: Response) -> Response:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=secure)
        response.status_code = 204
        return response

    return routes
