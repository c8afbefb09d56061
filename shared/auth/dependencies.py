"""FastAPI dependencies: authenticate the bearer token and admit only the roles a route allows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from shared.auth.principal import Principal, Role
from shared.auth.tokens import AuthError, TokenVerifier

_bearer = HTTPBearer(auto_error=False)


async def authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthError("missing bearer token: send 'Authorization: Bearer <jwt>'")
    verifier = getattr(request.app.state, "token_verifier", None)
    if not isinstance(verifier, TokenVerifier):
        raise RuntimeError("the app has no token verifier: build it with create_service_app")
    principal = verifier.verify(credentials.credentials)
    request.state.principal = principal
    # async dependency: runs in the request's context, so the binding reaches the logs
    structlog.contextvars.bind_contextvars(tenant=principal.tenant, subject=principal.subject)
    return principal


class RoleCheck:
    """The dependency :func:`require_roles` makes: it authenticates and admits only ``roles``.
    Its roles are the route's access rule; the OpenAPI document lists them (``x-roles``)."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in self.roles:
            names = ", ".join(sorted(r.value for r in self.roles))
            raise AuthError(f"role {principal.role.value} may not do this (needs: {names})", 403)
        return principal


def require_roles(*roles: Role) -> RoleCheck:
    """A dependency that authenticates and admits only the given roles."""
    return RoleCheck(roles)
