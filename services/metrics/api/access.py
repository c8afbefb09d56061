"""Who may call metrics' routes: the role aliases its routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role

#: ops and admin of the tenant: every figure, experts' identities included
Staff = Annotated[Principal, Depends(require_roles(Role.ops, Role.admin))]
#: the tenant's client systems and staff: project aggregates, never experts' identities
Watcher = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]
