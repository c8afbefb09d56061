"""Bearer JWT authentication, roles and tenant scoping.

Tokens carry ``sub`` (who), ``tenant`` (whose data) and ``role`` (one of
:class:`Role`), plus ``exp`` (required). Development uses an HS256 secret;
production uses RS256 with a PEM public key or a JWKS file.

Routes declare what they need with the dependencies built by
:func:`require_roles`; the returned :class:`Principal` scopes every query to
its tenant. A missing or bad token is a 401, a wrong role a 403. Another
tenant's resources are answered with 404 by the services so their existence
does not leak.

``python -m shared.auth --tenant acme --role client --sub svc-1`` mints a
development token (also installed as ``quorum-token``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import jwt
import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from shared.settings import DEV_JWT_SECRET, Environment, ServiceSettings


class Role(StrEnum):
    client = "client"
    expert = "expert"
    ops = "ops"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    subject: str
    tenant: str
    role: Role

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.ops, Role.admin)


class AuthError(Exception):
    """A token that cannot be accepted; ``status`` is 401 (who?) or 403 (not allowed)."""

    def __init__(self, detail: str, status: int = 401) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class TokenVerifier:
    """Verifies bearer tokens with the keys from settings."""

    def __init__(self, settings: ServiceSettings) -> None:
        self.algorithm = settings.jwt_algorithm
        self.issuer = settings.jwt_issuer
        self.audience = settings.jwt_audience
        self._jwks: jwt.PyJWKSet | None = None
        self._key: Any
        if self.algorithm == "HS256":
            self._key = settings.jwt_secret.get_secret_value()
        elif settings.jwt_jwks_path:
            self._jwks = jwt.PyJWKSet.from_json(Path(settings.jwt_jwks_path).read_text())
            self._key = None
        else:
            self._key = settings.jwt_public_key

    def _key_for(self, token: str) -> Any:
        if self._jwks is None:
            return self._key
        kid = jwt.get_unverified_header(token).get("kid")
        for key in self._jwks.keys:
            if key.key_id == kid:
                return key.key
        raise AuthError("token signed with an unknown key id")

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=[self.algorithm],
                issuer=self.issuer,
                audience=self.audience,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired; request a new one") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        tenant, role = claims.get("tenant"), claims.get("role")
        if not isinstance(tenant, str) or not tenant:
            raise AuthError("token has no tenant claim")
        try:
            parsed_role = Role(str(role))
        except ValueError as exc:
            allowed = ", ".join(r.value for r in Role)
            raise AuthError(f"token role {role!r} is not one of {allowed}") from exc
        return Principal(subject=str(claims["sub"]), tenant=tenant, role=parsed_role)


_bearer = HTTPBearer(auto_error=False)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token: send 'Authorization: Bearer <jwt>'")
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = verifier.verify(credentials.credentials)
    request.state.principal = principal
    # async dependency: runs in the request's context, so the binding reaches the logs
    structlog.contextvars.bind_contextvars(tenant=principal.tenant, subject=principal.subject)
    return principal


def require_roles(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that authenticates and admits only the given roles."""
    allowed = frozenset(roles)

    async def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise AuthError(f"role {principal.role.value} may not do this (needs: {names})", 403)
        return principal

    return dependency


def mint_token(
    *,
    subject: str,
    tenant: str,
    role: Role | str,
    secret: str = DEV_JWT_SECRET,
    ttl_seconds: int = 3600,
    algorithm: str = "HS256",
    extra: dict[str, Any] | None = None,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "tenant": tenant,
        "role": Role(role).value,
        "iat": now,
        "exp": now + ttl_seconds,
        **(extra or {}),
    }
    return jwt.encode(claims, secret, algorithm=algorithm)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="quorum-token", description="Mint a development bearer token (HS256)."
    )
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--role", required=True, choices=[r.value for r in Role])
    parser.add_argument("--sub", default="dev-user", help="subject (user or system id)")
    parser.add_argument("--ttl", type=int, default=3600, help="lifetime in seconds")
    parser.add_argument("--json", action="store_true", help="print the claims too")
    args = parser.parse_args(argv)
    try:
        settings = ServiceSettings()
    except ValidationError as exc:
        print(f"quorum-token: the QUORUM_* settings are invalid: {exc}", file=sys.stderr)
        return 2
    if settings.environment is Environment.production:
        print("refusing to mint tokens in production; use your identity provider", file=sys.stderr)
        return 2
    token = mint_token(
        subject=args.sub,
        tenant=args.tenant,
        role=args.role,
        secret=settings.jwt_secret.get_secret_value(),
        ttl_seconds=args.ttl,
    )
    if args.json:
        print(json.dumps({"token": token, "tenant": args.tenant, "role": args.role}))
    else:
        print(token)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
