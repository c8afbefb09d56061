"""Who may call assignment's routes: the role aliases its routers declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role

#: ops and admin of the tenant: manage experts, rosters, rubrics and projects
Staff = Annotated[Principal, Depends(require_roles(Role.ops, Role.admin))]
#: the calling expert, on their own work and figures only
ExpertCaller = Annotated[Principal, Depends(require_roles(Role.expert))]
#: the tenant's client systems and staff: progress counts, never experts' identities
Watcher = Annotated[Principal, Depends(require_roles(Role.client, Role.ops, Role.admin))]
