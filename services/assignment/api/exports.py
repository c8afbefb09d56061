"""The per-judgment export (the client and ops): every judgment, each judge under a pseudonym."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import Depends
from fastapi.responses import StreamingResponse

from services.assignment.api.access import Watcher
from services.assignment.api.paths import ProjectPath
from services.assignment.handlers.judgment_export import JudgmentExport
from shared.http.problems import ProblemDetail
from shared.http.routing import api_router
from shared.http.service import use_case

router = api_router("/v1", ["exports"])

ExportDep = Annotated[JudgmentExport, Depends(use_case(JudgmentExport))]
JSONL_MEDIA_TYPE = "application/x-ndjson"


@router.get(
    "/projects/{project_id}/judgments/export",
    summary="Every judgment of the project's items, each judge under a pseudonym (JSON lines)",
    description="One judgment a line, by item id: `item_id`, `kind` (`review` or "
    "`adjudication`), `judge` (the judge's pseudonym in this project: the same for all their "
    "judgments here, unrelated to their pseudonyms in other projects, never their identity), "
    "`verdict`, `labels` (what the judgment stands for: the pre-labels when it accepts, the "
    "corrected labels when it corrects, none when it rejects or finds the item infeasible), "
    "`ratings`, `severity`, `flags`, `justification`, `time_spent_s`, `submitted_at`, "
    "`rubric` and `taxonomy` versions. Beside ingest's consolidated export (one outcome an "
    "item), it serves training on individual answers (soft labels, noise-aware learning). "
    "Only the client's items: no gold or qualification unit appears.",
    responses={
        200: {"content": {JSONL_MEDIA_TYPE: {}}},
        404: {"model": ProblemDetail, "description": "No such project of your tenant"},
    },
    response_class=StreamingResponse,
)
async def export_judgments(
    project_id: ProjectPath, principal: Watcher, export: ExportDep
) -> StreamingResponse:
    lines = await export.lines(principal, project_id)
    name = json.dumps(project_id)[1:-1].replace('"', "")
    return StreamingResponse(
        lines,
        media_type=JSONL_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.judgments.jsonl"'},
    )
