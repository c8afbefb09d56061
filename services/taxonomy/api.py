"""Taxonomy's HTTP routes (thin: parse, authorise, call a handler).

ops and admin edit drafts, publish and curate examples; every role of the
tenant reads published versions, examples and translations. Another tenant's
ontology is a 404, never a 403, so its existence does not leak.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Response, status

from services.taxonomy import models
from services.taxonomy.handlers import Taxonomy, etag
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.http.pagination import Page, decode_cursor, encode_cursor
from shared.http.problems import ProblemDetail
from shared.http.service import use_case

router = APIRouter(prefix="/v1/ontologies", tags=["taxonomy"])

Editor = Annotated[Principal, Depends(require_roles(Role.ops, Role.admin))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.client, Role.expert, Role.ops, Role.admin))
]
IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="the draft's ETag; required for every draft edit"),
]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]
Version = Annotated[int, Query(ge=1)]


TaxonomyDep = Annotated[Taxonomy, Depends(use_case(Taxonomy))]

DRAFT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such ontology, draft or class"},
    409: {"model": ProblemDetail, "description": "Conflicts with the draft (taken id, children)"},
    412: {"model": ProblemDetail, "description": "The draft changed since your ETag"},
    428: {"model": ProblemDetail, "description": "If-Match is missing"},
}


def _with_etag(response: Response, draft: models.Draft) -> models.Draft:
    response.headers["ETag"] = etag(draft.revision)
    return draft


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an ontology (with a draft)")
async def create_ontology(
    body: models.OntologyIn, principal: Editor, taxonomy: TaxonomyDep, response: Response
) -> models.Ontology:
    created = await taxonomy.create_ontology(principal, body)
    response.headers["Location"] = f"/v1/ontologies/{created.ontology_id}"
    return created


@router.get("", summary="List your tenant's ontologies")
async def list_ontologies(
    principal: Reader, taxonomy: TaxonomyDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[models.Ontology]:
    after = decode_cursor(cursor, arity=1)[0] if cursor else None
    items, last = await taxonomy.list_ontologies(principal, after=after, limit=limit)
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.get("/{ontology_id}", responses={404: {"model": ProblemDetail}})
async def get_ontology(
    ontology_id: str, principal: Reader, taxonomy: TaxonomyDep
) -> models.Ontology:
    return await taxonomy.get_ontology(principal, ontology_id)


# drafts ------------------------------------------------------------------------


@router.get("/{ontology_id}/draft", summary="The open draft (ETag for edits)")
async def get_draft(
    ontology_id: str, principal: Editor, taxonomy: TaxonomyDep, response: Response
) -> models.Draft:
    return _with_etag(response, await taxonomy.get_draft(principal, ontology_id))


@router.post(
    "/{ontology_id}/draft",
    status_code=status.HTTP_201_CREATED,
    summary="Start a draft from the latest published version",
    responses=DRAFT_ERRORS,
)
async def start_draft(
    ontology_id: str, principal: Editor, taxonomy: TaxonomyDep, response: Response
) -> models.Draft:
    return _with_etag(response, await taxonomy.start_draft(principal, ontology_id))


@router.delete(
    "/{ontology_id}/draft",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Discard the draft",
    responses=DRAFT_ERRORS,
)
async def discard_draft(
    ontology_id: str, principal: Editor, taxonomy: TaxonomyDep, if_match: IfMatch = None
) -> None:
    await taxonomy.discard_draft(principal, ontology_id, if_match)


@router.post(
    "/{ontology_id}/draft/classes",
    status_code=status.HTTP_201_CREATED,
    summary="Add a class to the draft",
    responses=DRAFT_ERRORS,
)
async def add_draft_class(
    ontology_id: str,
    body: models.ClassIn,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Draft:
    return _with_etag(response, await taxonomy.add_class(principal, ontology_id, if_match, body))


@router.patch(
    "/{ontology_id}/draft/classes/{class_id}",
    summary="Change a class of the draft (rename, move, guideline, status, ...)",
    responses=DRAFT_ERRORS,
)
async def update_draft_class(
    ontology_id: str,
    class_id: str,
    body: models.ClassPatch,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Draft:
    draft = await taxonomy.update_class(principal, ontology_id, if_match, class_id, body)
    return _with_etag(response, draft)


@router.delete(
    "/{ontology_id}/draft/classes/{class_id}",
    summary="Remove a class from the draft",
    responses=DRAFT_ERRORS,
)
async def remove_draft_class(
    ontology_id: str,
    class_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Draft:
    draft = await taxonomy.remove_class(principal, ontology_id, if_match, class_id)
    return _with_etag(response, draft)


@router.post(
    "/{ontology_id}/draft/merges",
    summary="Merge classes into an existing or a new class (n -> 1)",
    responses=DRAFT_ERRORS,
)
async def merge_draft_classes(
    ontology_id: str,
    body: models.MergeIn,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Draft:
    draft = await taxonomy.merge_classes(principal, ontology_id, if_match, body)
    return _with_etag(response, draft)


@router.post(
    "/{ontology_id}/draft/splits",
    summary="Split a class into existing and/or new classes (1 -> n)",
    responses=DRAFT_ERRORS,
)
async def split_draft_class(
    ontology_id: str,
    body: models.SplitIn,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Draft:
    draft = await taxonomy.split_class(principal, ontology_id, if_match, body)
    return _with_etag(response, draft)


@router.post(
    "/{ontology_id}/draft/import",
    summary="Replace the draft's classes with an imported document",
    description="`format=coco`: a COCO document (its `categories`); `json` / `yaml`: "
    '`{"classes": [...]}` rows with class fields, `parent` (a name) or `parent_id`. '
    "Every bad row is reported; nothing is imported then.",
    responses=DRAFT_ERRORS,
)
async def import_draft(
    ontology_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    document: Annotated[bytes, Body(media_type="application/octet-stream")],
    format: Annotated[models.ImportFormat, Query()] = models.ImportFormat.json,
    if_match: IfMatch = None,
) -> models.ImportResult:
    result = await taxonomy.import_into_draft(principal, ontology_id, if_match, document, format)
    response.headers["ETag"] = etag(result.draft_revision)
    return result


@router.get("/{ontology_id}/draft/diff", summary="Changes the draft makes to its base version")
async def draft_diff(ontology_id: str, principal: Editor, taxonomy: TaxonomyDep) -> models.Diff:
    return await taxonomy.draft_diff(principal, ontology_id)


@router.get(
    "/{ontology_id}/draft/impact",
    summary="Before publishing: example links, open work items and pre-labels per changed class",
)
async def draft_impact(ontology_id: str, principal: Editor, taxonomy: TaxonomyDep) -> models.Impact:
    return await taxonomy.impact(principal, ontology_id)


@router.post(
    "/{ontology_id}/draft/publish",
    status_code=status.HTTP_201_CREATED,
    summary="Publish the draft as the next version (immutable)",
    responses=DRAFT_ERRORS,
)
async def publish(
    ontology_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    response: Response,
    if_match: IfMatch = None,
) -> models.Version:
    version = await taxonomy.publish(principal, ontology_id, if_match)
    response.headers["Location"] = f"/v1/ontologies/{ontology_id}/versions/{version.version}"
    return version


# versions -----------------------------------------------------------------------


@router.get("/{ontology_id}/versions", summary="Published versions")
async def list_versions(
    ontology_id: str, principal: Reader, taxonomy: TaxonomyDep
) -> list[models.VersionSummary]:
    return await taxonomy.versions(principal, ontology_id)


@router.get("/{ontology_id}/versions/{version}", responses={404: {"model": ProblemDetail}})
async def get_version(
    ontology_id: str, version: int, principal: Reader, taxonomy: TaxonomyDep, response: Response
) -> models.Version:
    found = await taxonomy.version(principal, ontology_id, version)
    response.headers["ETag"] = f'"{found.content_hash}"'
    return found


@router.post("/{ontology_id}/versions/{version}/deprecate", summary="Deprecate a version")
async def deprecate_version(
    ontology_id: str,
    version: int,
    principal: Editor,
    taxonomy: TaxonomyDep,
    body: models.DeprecateIn | None = None,
) -> models.Version:
    return await taxonomy.deprecate(principal, ontology_id, version, body.note if body else "")


@router.get(
    "/{ontology_id}/versions/{version}/export",
    summary="Export a version as COCO categories or Quorum JSON",
)
async def export_version(
    ontology_id: str,
    version: int,
    principal: Reader,
    taxonomy: TaxonomyDep,
    format: Annotated[models.ImportFormat, Query()] = models.ImportFormat.json,
) -> Response:
    document = await taxonomy.export(principal, ontology_id, version, format)
    if format is models.ImportFormat.yaml:
        import yaml

        return Response(yaml.safe_dump(document, sort_keys=False), media_type="application/yaml")
    import json

    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")


@router.get("/{ontology_id}/diff", summary="Changes between any two published versions")
async def diff_versions(
    ontology_id: str,
    principal: Reader,
    taxonomy: TaxonomyDep,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> models.Diff:
    return await taxonomy.diff_versions(principal, ontology_id, from_version, to_version)


@router.post(
    "/{ontology_id}/translate",
    summary="Translate labels from one version to another (through the versions between)",
)
async def translate(
    ontology_id: str, body: models.TranslateIn, principal: Reader, taxonomy: TaxonomyDep
) -> models.TranslateOut:
    return await taxonomy.translate(principal, ontology_id, body)


# examples --------------------------------------------------------------------------


@router.post(
    "/{ontology_id}/versions/{version}/classes/{class_id}/examples",
    status_code=status.HTTP_201_CREATED,
    summary="Link a media item as an example of a class",
)
async def link_example(
    ontology_id: str,
    version: int,
    class_id: str,
    body: models.ExampleIn,
    principal: Editor,
    taxonomy: TaxonomyDep,
) -> models.Example:
    example, _ = await taxonomy.link_example(principal, ontology_id, version, class_id, body)
    return example


@router.get(
    "/{ontology_id}/versions/{version}/examples",
    summary="Example links as seen from a version (older links carried through the mappings)",
)
async def list_examples(
    ontology_id: str,
    version: int,
    principal: Reader,
    taxonomy: TaxonomyDep,
    class_id: Annotated[str | None, Query(max_length=128)] = None,
) -> list[models.Example]:
    return await taxonomy.examples(principal, ontology_id, version, class_id)


@router.delete(
    "/{ontology_id}/examples/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an example link",
)
async def unlink_example(
    ontology_id: str, link_id: str, principal: Editor, taxonomy: TaxonomyDep
) -> None:
    await taxonomy.unlink_example(principal, ontology_id, link_id)


@router.get(
    "/{ontology_id}/candidates",
    summary="Candidate examples from flagged judgments (edge case, rare class, ambiguous)",
)
async def list_candidates(
    ontology_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    status_: Annotated[models.CandidateStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[models.Candidate]:
    after = decode_cursor(cursor, arity=1)[0] if cursor else None
    items = await taxonomy.candidates(principal, ontology_id, status_, after=after, limit=limit)
    last = items[-1].candidate_id if len(items) == limit else None
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.post(
    "/{ontology_id}/candidates/{candidate_id}/accept",
    summary="Accept a candidate: it becomes an example link with the judgment as provenance",
)
async def accept_candidate(
    ontology_id: str,
    candidate_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    body: models.AcceptIn | None = None,
) -> models.Candidate:
    return await taxonomy.accept_candidate(
        principal, ontology_id, candidate_id, body or models.AcceptIn()
    )


@router.post("/{ontology_id}/candidates/{candidate_id}/reject", summary="Reject a candidate")
async def reject_candidate(
    ontology_id: str,
    candidate_id: str,
    principal: Editor,
    taxonomy: TaxonomyDep,
    body: models.RejectIn | None = None,
) -> models.Candidate:
    return await taxonomy.reject_candidate(
        principal, ontology_id, candidate_id, body.note if body else ""
    )
