"""Taxonomy's HTTP routes (thin: parse, authorise, call a use case).

ops and admin edit drafts, publish and curate examples; every role of the
tenant reads published versions, examples and translations. Another tenant's
ontology is a 404, never a 403, so its existence does not leak.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any

import yaml
from fastapi import Depends, Header, Path, Query, Request, Response, status
from fastapi.types import DecoratedCallable

from services.taxonomy import formats, models, ontology
from services.taxonomy.handlers.candidates import Candidates
from services.taxonomy.handlers.drafts import DraftChanged, DraftRef, Drafts
from services.taxonomy.handlers.examples import Examples
from services.taxonomy.handlers.impact import Impacts
from services.taxonomy.handlers.ontologies import Ontologies
from services.taxonomy.handlers.versions import Versions
from services.taxonomy.store import DraftTooLarge
from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.contracts.vocabulary import MAX_VERSION
from shared.errors import FieldError
from shared.http.pagination import Page, decode_cursor, encode_cursor, page_of
from shared.http.problems import Problem, ProblemDetail, Translation
from shared.http.routing import accepted_type, api_router
from shared.http.service import use_case
from shared.outbox.entries import EventTooLarge

router = api_router("/v1/ontologies", ["taxonomy"])

Editor = Annotated[Principal, Depends(require_roles(Role.ops, Role.admin))]
Reader = Annotated[
    Principal, Depends(require_roles(Role.client, Role.expert, Role.ops, Role.admin))
]
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=256,
        description="the draft's ETag; required for every draft edit",
    ),
]
OntologyId = Annotated[str, Path(min_length=1, max_length=256)]
ClassId = Annotated[str, Path(min_length=1, max_length=128)]
ResourceId = Annotated[str, Path(min_length=1, max_length=256)]
VersionPath = Annotated[int, Path(ge=1, le=MAX_VERSION)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=512)]

OntologiesDep = Annotated[Ontologies, Depends(use_case(Ontologies))]
DraftsDep = Annotated[Drafts, Depends(use_case(Drafts))]
ImpactsDep = Annotated[Impacts, Depends(use_case(Impacts))]
VersionsDep = Annotated[Versions, Depends(use_case(Versions))]
ExamplesDep = Annotated[Examples, Depends(use_case(Examples))]
CandidatesDep = Annotated[Candidates, Depends(use_case(Candidates))]


def etag(revision: int) -> str:
    return f'"r{revision}"'


def revision_from(if_match: str | None) -> int:
    """The draft revision an ``If-Match`` header names; 428 without one, 412 for another."""
    if not if_match:
        raise Problem(
            428,
            "Precondition Required",
            "draft edits need If-Match with the draft's ETag (GET the draft first)",
            errors=[FieldError(field="header.if-match", message="missing")],
        )
    value = if_match.strip().removeprefix("W/")
    if value.startswith('"r') and value.endswith('"') and value[2:-1].isdigit():
        return int(value[2:-1])
    raise Problem(
        412,
        "Precondition Failed",
        "If-Match does not name a revision of this draft; GET the draft and retry with its ETag",
        errors=[FieldError(field="header.if-match", message="not an ETag of this draft")],
    )


async def draft_at_revision(
    ontology_id: OntologyId, principal: Editor, if_match: IfMatch = None
) -> DraftRef:
    """The draft an edit names: the caller (authorised first), the ontology, the revision."""
    return DraftRef(principal, ontology_id, revision_from(if_match))


DraftEdit = Annotated[DraftRef, Depends(draft_at_revision)]


def _draft_changed(exc: DraftChanged) -> Problem:
    return Problem(
        412,
        "Precondition Failed",
        f"the draft changed (now revision {exc.current}); GET it, reapply your "
        "change and retry with the new ETag",
        headers={"ETag": etag(exc.current)},
    )


def _invalid(exc: ontology.Invalid | formats.ImportErrors) -> Problem:
    status_code = exc.status if isinstance(exc, ontology.Invalid) else 422
    title = {404: "Not Found", 409: "Conflict"}.get(status_code, "Unprocessable Content")
    return Problem(status_code, title, str(exc)[:2000], errors=exc.errors)


def _wrong_media_type(exc: formats.WrongMediaType) -> Problem:
    return Problem(415, "Unsupported Media Type", str(exc), errors=exc.errors)


def _too_large(exc: EventTooLarge) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        f"this version is too large to publish: its snapshot is {exc.size:,} bytes and events "
        f"take {exc.limit:,}; shorten guidelines and descriptions, or split the ontology",
        errors=[FieldError(field="draft.classes", message="too large to publish")],
    )


def _draft_too_large(_: DraftTooLarge) -> Problem:
    return Problem(
        422,
        "Unprocessable Content",
        "the draft would be larger than a stored document can be (16 MB); shorten guidelines, "
        "descriptions or extra fields, or split the ontology",
        errors=[FieldError(field="body", message="the draft would be too large")],
    )


#: How taxonomy's domain exceptions are answered.
PROBLEMS: dict[type[Exception], Translation] = {
    DraftChanged: _draft_changed,
    EventTooLarge: _too_large,
    DraftTooLarge: _draft_too_large,
    ontology.Invalid: _invalid,
    formats.ImportErrors: _invalid,
    formats.WrongMediaType: _wrong_media_type,
}

DRAFT_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ProblemDetail, "description": "No such ontology, draft or class"},
    409: {"model": ProblemDetail, "description": "Conflicts with the draft (taken id, children)"},
    412: {"model": ProblemDetail, "description": "The draft changed since your ETag"},
    428: {"model": ProblemDetail, "description": "If-Match is missing"},
}


def draft_edit(
    method: str, path: str, summary: str, **options: Any
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """A route that edits the draft at the caller's If-Match revision (errors documented)."""
    return router.api_route(
        f"/{{ontology_id}}/draft{path}",
        methods=[method],
        summary=summary,
        responses={**DRAFT_ERRORS, **options.pop("responses", {})},
        **options,
    )


def _with_etag(response: Response, draft: models.Draft) -> models.Draft:
    response.headers["ETag"] = etag(draft.revision)
    return draft


# ontologies ---------------------------------------------------------------------


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an ontology (with a draft)")
async def create_ontology(
    body: models.OntologyIn, principal: Editor, ontologies: OntologiesDep, response: Response
) -> models.Ontology:
    created = await ontologies.create(principal, body)
    response.headers["Location"] = f"/v1/ontologies/{created.ontology_id}"
    return created


@router.get("", summary="List your tenant's ontologies")
async def list_ontologies(
    principal: Reader, ontologies: OntologiesDep, limit: Limit = 50, cursor: Cursor = None
) -> Page[models.Ontology]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    items, last = await ontologies.list(principal, after=after, limit=limit)
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


@router.get("/{ontology_id}", responses={404: {"model": ProblemDetail}})
async def get_ontology(
    ontology_id: OntologyId, principal: Reader, ontologies: OntologiesDep
) -> models.Ontology:
    return await ontologies.get(principal, ontology_id)


# drafts ------------------------------------------------------------------------


@router.get("/{ontology_id}/draft", summary="The open draft (ETag for edits)")
async def get_draft(
    ontology_id: OntologyId, principal: Editor, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.get(principal, ontology_id))


@router.post(
    "/{ontology_id}/draft",
    status_code=status.HTTP_201_CREATED,
    summary="Start a draft from the latest published version",
    responses=DRAFT_ERRORS,
)
async def start_draft(
    ontology_id: OntologyId, principal: Editor, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.start(principal, ontology_id))


@draft_edit("DELETE", "", "Discard the draft", status_code=status.HTTP_204_NO_CONTENT)
async def discard_draft(draft: DraftEdit, drafts: DraftsDep) -> None:
    await drafts.discard(draft)


@draft_edit("POST", "/classes", "Add a class to the draft", status_code=status.HTTP_201_CREATED)
async def add_draft_class(
    body: models.ClassIn, draft: DraftEdit, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.add_class(draft, body))


@draft_edit(
    "PATCH", "/classes/{class_id}", "Change a class of the draft (rename, move, guideline, ...)"
)
async def update_draft_class(
    class_id: ClassId,
    body: models.ClassPatch,
    draft: DraftEdit,
    drafts: DraftsDep,
    response: Response,
) -> models.Draft:
    return _with_etag(response, await drafts.update_class(draft, class_id, body))


@draft_edit("DELETE", "/classes/{class_id}", "Remove a class from the draft")
async def remove_draft_class(
    class_id: ClassId, draft: DraftEdit, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.remove_class(draft, class_id))


@draft_edit("POST", "/merges", "Merge classes into an existing or a new class (n -> 1)")
async def merge_draft_classes(
    body: models.MergeIn, draft: DraftEdit, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.merge(draft, body))


@draft_edit("POST", "/splits", "Split a class into existing and/or new classes (1 -> n)")
async def split_draft_class(
    body: models.SplitIn, draft: DraftEdit, drafts: DraftsDep, response: Response
) -> models.Draft:
    return _with_etag(response, await drafts.split(draft, body))


#: The body of an import, by media type (formats.MEDIA_TYPES), as the route reads it itself.
IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "description": '`{"classes": [...]}` (or a bare list of rows), or a COCO '
                "document with `format=coco`",
                "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
            }
        },
        "application/yaml": {
            "schema": {"type": "string", "description": 'YAML of `{"classes": [...]}`'}
        },
        "application/octet-stream": {
            "schema": {
                "type": "string",
                "format": "binary",
                "description": "JSON, COCO or YAML as `format` says (JSON by default)",
            }
        },
    },
}


@draft_edit(
    "POST",
    "/import",
    "Replace the draft's classes with an imported document",
    description="Send the document as `application/json` (Quorum JSON, or COCO with "
    "`format=coco`) or `application/yaml` (Quorum YAML); `application/octet-stream` is read as "
    "`format` says. `format=coco`: a COCO document (its `categories`); `json` / `yaml`: "
    '`{"classes": [...]}` rows with class fields, `parent` (a name) or `parent_id`. '
    "Every bad row is reported; nothing is imported then. Another media type, or one that "
    "cannot carry the `format` asked for (YAML sent as JSON), is a 415.",
    openapi_extra={"requestBody": IMPORT_BODY},
    responses={
        415: {
            "model": ProblemDetail,
            "description": "Not application/json, application/yaml or application/octet-stream, "
            "or a media type that cannot carry the format asked for",
        }
    },
)
async def import_draft(
    draft: DraftEdit,
    drafts: DraftsDep,
    request: Request,
    response: Response,
    format: Annotated[
        models.ImportFormat | None,
        Query(description="coco, json or yaml; by default the body's media type says"),
    ] = None,
) -> models.ImportResult:
    media_type = accepted_type(request.headers.get("content-type"), list(formats.MEDIA_TYPES))
    read_as = formats.format_of(media_type or "application/octet-stream", format)
    result = await drafts.import_classes(draft, await request.body(), read_as)
    response.headers["ETag"] = etag(result.draft_revision)
    return result


@router.get("/{ontology_id}/draft/diff", summary="Changes the draft makes to its base version")
async def draft_diff(ontology_id: OntologyId, principal: Editor, drafts: DraftsDep) -> models.Diff:
    return await drafts.diff(principal, ontology_id)


@router.get(
    "/{ontology_id}/draft/impact",
    summary="Before publishing: example links, open work items and pre-labels per changed class",
)
async def draft_impact(
    ontology_id: OntologyId, principal: Editor, impacts: ImpactsDep
) -> models.Impact:
    return await impacts.of_draft(principal, ontology_id)


@draft_edit(
    "POST",
    "/publish",
    "Publish the draft as the next version (immutable)",
    status_code=status.HTTP_201_CREATED,
)
async def publish(draft: DraftEdit, versions: VersionsDep, response: Response) -> models.Version:
    version = await versions.publish(draft)
    response.headers["Location"] = f"/v1/ontologies/{draft.ontology_id}/versions/{version.version}"
    return version


# versions -----------------------------------------------------------------------


@router.get("/{ontology_id}/versions", summary="Published versions, oldest first")
async def list_versions(
    ontology_id: OntologyId,
    principal: Reader,
    versions: VersionsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[models.VersionSummary]:
    after = decode_cursor(cursor, int)[0] if cursor else None
    found = await versions.list(principal, ontology_id, after=after, limit=limit)
    return page_of(found, limit, lambda v: [v.version])


@router.get("/{ontology_id}/versions/{version}", responses={404: {"model": ProblemDetail}})
async def get_version(
    ontology_id: OntologyId,
    version: VersionPath,
    principal: Reader,
    versions: VersionsDep,
    response: Response,
) -> models.Version:
    found = await versions.get(principal, ontology_id, version)
    response.headers["ETag"] = f'"{found.content_hash}"'
    return found


@router.post("/{ontology_id}/versions/{version}/deprecate", summary="Deprecate a version")
async def deprecate_version(
    ontology_id: OntologyId,
    version: VersionPath,
    principal: Editor,
    versions: VersionsDep,
    body: models.DeprecateIn | None = None,
) -> models.Version:
    return await versions.deprecate(principal, ontology_id, version, body.note if body else "")


@router.get(
    "/{ontology_id}/versions/{version}/export",
    summary="Export a version as COCO categories or Quorum JSON or YAML",
    responses={200: {"content": {"application/json": {}, "application/yaml": {}}}},
)
async def export_version(
    ontology_id: OntologyId,
    version: VersionPath,
    principal: Reader,
    versions: VersionsDep,
    format: Annotated[models.ImportFormat, Query()] = models.ImportFormat.json,
) -> Response:
    document = await versions.export(principal, ontology_id, version, format)
    if format is models.ImportFormat.yaml:
        return Response(yaml.safe_dump(document, sort_keys=False), media_type="application/yaml")
    return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")


@router.get("/{ontology_id}/diff", summary="Changes between any two published versions")
async def diff_versions(
    ontology_id: OntologyId,
    principal: Reader,
    versions: VersionsDep,
    from_version: Annotated[int, Query(alias="from", ge=1, le=MAX_VERSION)],
    to_version: Annotated[int, Query(alias="to", ge=1, le=MAX_VERSION)],
) -> models.Diff:
    return await versions.diff(principal, ontology_id, from_version, to_version)


@router.post(
    "/{ontology_id}/translate",
    summary="Translate labels from one version to another (through the versions between)",
)
async def translate(
    ontology_id: OntologyId, body: models.TranslateIn, principal: Reader, versions: VersionsDep
) -> models.TranslateOut:
    return await versions.translate(principal, ontology_id, body)


# examples --------------------------------------------------------------------------


@router.post(
    "/{ontology_id}/versions/{version}/classes/{class_id}/examples",
    status_code=status.HTTP_201_CREATED,
    summary="Link a media item as an example of a class",
)
async def link_example(
    ontology_id: OntologyId,
    version: VersionPath,
    class_id: ClassId,
    body: models.ExampleIn,
    principal: Editor,
    examples: ExamplesDep,
) -> models.Example:
    return await examples.link(principal, ontology_id, version, class_id, body)


@router.get(
    "/{ontology_id}/versions/{version}/examples",
    summary="Example links as seen from a version (older links carried through the mappings)",
)
async def list_examples(
    ontology_id: OntologyId,
    version: VersionPath,
    principal: Reader,
    examples: ExamplesDep,
    class_id: Annotated[str | None, Query(max_length=128)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[models.Example]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    found = await examples.of_version(
        principal, ontology_id, version, class_id, after=after, limit=limit
    )
    return page_of(found, limit, lambda e: [e.link_id])


@router.delete(
    "/{ontology_id}/examples/{link_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an example link",
)
async def unlink_example(
    ontology_id: OntologyId, link_id: ResourceId, principal: Editor, examples: ExamplesDep
) -> None:
    await examples.unlink(principal, ontology_id, link_id)


# candidates -------------------------------------------------------------------------


@router.get(
    "/{ontology_id}/candidates",
    summary="Candidate examples from flagged judgments (edge case, rare class, ambiguous)",
)
async def list_candidates(
    ontology_id: OntologyId,
    principal: Editor,
    candidates: CandidatesDep,
    status_: Annotated[models.CandidateStatus | None, Query(alias="status")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[models.Candidate]:
    after = decode_cursor(cursor, str)[0] if cursor else None
    items = await candidates.list(principal, ontology_id, status_, after=after, limit=limit)
    last = items[-1].candidate_id if len(items) == limit else None
    return Page(items=items, next_cursor=encode_cursor([last]) if last else None)


DECIDED: dict[int | str, dict[str, Any]] = {
    409: {"model": ProblemDetail, "description": "The candidate was decided already"}
}


@router.post(
    "/{ontology_id}/candidates/{candidate_id}/accept",
    summary="Accept a candidate: it becomes an example link with the judgment as provenance",
    responses=DECIDED,
)
async def accept_candidate(
    ontology_id: OntologyId,
    candidate_id: ResourceId,
    principal: Editor,
    candidates: CandidatesDep,
    body: models.AcceptIn | None = None,
) -> models.Candidate:
    return await candidates.accept(principal, ontology_id, candidate_id, body or models.AcceptIn())


@router.post(
    "/{ontology_id}/candidates/{candidate_id}/reject",
    summary="Reject a candidate",
    responses=DECIDED,
)
async def reject_candidate(
    ontology_id: OntologyId,
    candidate_id: ResourceId,
    principal: Editor,
    candidates: CandidatesDep,
    body: models.RejectIn | None = None,
) -> models.Candidate:
    return await candidates.reject(principal, ontology_id, candidate_id, body.note if body else "")
