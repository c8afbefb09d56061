"""Bearer tokens (JWT): verified with the keys from settings, and minted for development."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import jwt

from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import ID_PATTERN, TENANT_PATTERN
from shared.settings import DEV_JWT_SECRET, ServiceSettings

_ID = re.compile(ID_PATTERN)
_TENANT = re.compile(TENANT_PATTERN)


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
        self.leeway = settings.jwt_leeway_s
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
                leeway=self.leeway,
                options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise AuthError("token expired; request a new one") from exc
        except jwt.InvalidTokenError as exc:
            raise AuthError(f"invalid token: {exc}") from exc
        subject, tenant, role = claims["sub"], claims.get("tenant"), claims.get("role")
        if not isinstance(subject, str) or not _ID.fullmatch(subject):
            raise AuthError("token subject must be an id: up to 256 characters, no spaces")
        if not isinstance(tenant, str) or not tenant:
            raise AuthError("token has no tenant claim")
        if not _TENANT.fullmatch(tenant):
            raise AuthError(
                "token tenant is not a tenant id (letters, digits and hyphens; up to 64)"
            )
        try:
            parsed_role = Role(str(role))
        except ValueError as exc:
            allowed = ", ".join(r.value for r in Role)
            raise AuthError(f"token role {role!r} is not one of {allowed}") from exc
        return Principal(subject=subject, tenant=tenant, role=parsed_role)


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
