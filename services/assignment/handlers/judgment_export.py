"""The per-judgment export: every judgment of a project's client items, each judge under a
stable pseudonym of the project (``pseudonyms.py``), for ML teams that train on the individual
answers (soft labels, noise-aware learning). Gold and qualification copies never appear: they
are not the client's items."""

from __future__ import annotations

from collections.abc import AsyncIterator

from services.assignment.handlers.projects import project_of
from services.assignment.models.work import ExportedJudgment, WorkItem
from services.assignment.pseudonyms import pseudonym
from services.assignment.stores.items import ItemStore
from services.assignment.stores.projects import ProjectStore
from services.assignment.stores.secrets import ProjectSecrets
from shared.auth.principal import Principal
from shared.contracts.work import WorkKind


def exported(item: WorkItem, key: bytes) -> list[ExportedJudgment]:
    """The item's judgments as export lines, in unit order."""
    lines = []
    for unit in item.units:
        judgment = unit.judgment
        if judgment is None or unit.kind not in (WorkKind.review, WorkKind.adjudication):
            continue
        judged = judgment.judged
        lines.append(
            ExportedJudgment(
                item_id=item.item_id,
                kind=unit.kind,
                judge=pseudonym(key, judgment.expert_id),
                verdict=judged.verdict,
                labels=list(judged.labels),
                ratings=dict(judged.ratings),
                severity=judged.severity,
                flags=list(judged.flags),
                justification=judged.justification,
                time_spent_s=judgment.time_spent_s,
                submitted_at=judgment.submitted_at,
                rubric=judgment.rubric,
                taxonomy=unit.taxonomy,
            )
        )
    return lines


class JudgmentExport:
    def __init__(self, items: ItemStore, projects: ProjectStore, secrets: ProjectSecrets) -> None:
        self.items = items
        self.projects = projects
        self.secrets = secrets

    async def lines(self, principal: Principal, project_id: str) -> AsyncIterator[bytes]:
        """The export as JSON lines; the project is checked before the first line (404)."""
        await project_of(self.projects, principal.tenant, project_id)
        key = await self.secrets.key(principal.tenant, project_id)
        return self._lines(principal.tenant, project_id, key)

    async def _lines(self, tenant: str, project_id: str, key: bytes) -> AsyncIterator[bytes]:
        async for item in self.items.with_judgments(tenant, project_id):
            for line in exported(item, key):
                yield line.model_dump_json(exclude_none=True).encode() + b"\n"
