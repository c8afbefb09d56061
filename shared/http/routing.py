"""Routes of the services' APIs: every status an operation can answer is in the OpenAPI
document, as ``application/problem+json`` with the problem schema, and a body of a media type
the operation does not document (a JSON body sent as anything else) is refused with 415 before
it is read.

Each operation's OpenAPI also lists the roles it admits (``x-roles``, from its role check):
the role-by-endpoint matrix of the tests is generated from it.

What an operation can answer follows from what it is, so it is declared here once, not on
each route: 401 and 403 when it checks a role, 422 when it takes parameters, 400 when it
takes a cursor, 404 when its path names a resource, 413 and 415 when it takes a body, 503
when it reaches a store. A route declares only what its own logic adds (409, 412, 428, ...).
"""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine, Iterator, Sequence
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel

from shared.auth.dependencies import RoleCheck, authenticate
from shared.errors import FieldError
from shared.http.problems import PROBLEM_JSON, Problem, ProblemDetail

PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetail"}

DESCRIPTIONS = {
    400: "Bad request: a parameter this API did not make (e.g. a cursor)",
    401: "Missing or invalid bearer token",
    403: "The token's role may not do this",
    404: "No such resource in your tenant",
    409: "Conflicts with the current state",
    412: "The resource changed since your ETag",
    413: "The request body is larger than this service accepts",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "Invalid request; `errors` names each field",
    428: "A precondition header (If-Match) is missing",
    503: "A database or the event broker cannot be reached; retry shortly",
}


def documented_problem(status: int, description: str | None = None) -> dict[str, Any]:
    """An OpenAPI response of ``status`` with the problem schema."""
    return {
        "description": description or DESCRIPTIONS.get(status, "Problem"),
        "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}},
    }


def _tree(dependant: Dependant) -> Iterator[Dependant]:
    """The route's dependant and all its sub-dependencies, however deep."""
    yield dependant
    for dependency in dependant.dependencies:
        yield from _tree(dependency)


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def media_type_of(content_type: str | None) -> str:
    """The ``type/subtype`` of a Content-Type, lower case, without its parameters."""
    message = email.message.Message()
    message["content-type"] = content_type or ""
    return message.get_content_type() if content_type else ""


def accepted_type(content_type: str | None, media_types: Sequence[str]) -> str | None:
    """Which of ``media_types`` a body of ``content_type`` is, if any (``application/json``
    takes the JSON types: ``application/problem+json``, ...)."""
    if "application/json" in media_types and is_json(content_type):
        return "application/json"
    media_type = media_type_of(content_type)
    return media_type if media_type in media_types else None


def unsupported_media_type(media_types: Sequence[str] = ("application/json",)) -> Problem:
    """The 415 for a body that is none of ``media_types``."""
    if list(media_types) == ["application/json"]:
        return Problem(
            415,
            "Unsupported Media Type",
            "this route takes a JSON body: send it with Content-Type: application/json",
            errors=[FieldError(field="header.content-type", message="must be application/json")],
        )
    *others, last = media_types
    named = f"{', '.join(others)} or {last}" if others else last
    return Problem(
        415,
        "Unsupported Media Type",
        f"this route takes a body of {named}: send it with that Content-Type",
        errors=[FieldError(field="header.content-type", message=f"must be {named}")],
    )


#: ``openapi_extra`` key of a route that reads its JSON body itself: the pydantic model it
#: reads it as, documented as the operation's request body (``#/components/schemas/<name>``)
BODY_MODEL = "x-body-model"


#: The models of the bodies routes read themselves, by name: an app's OpenAPI document holds
#: the schema of each its operations refer to (``shared.http.app``).
BODY_MODELS: dict[str, type[BaseModel]] = {}


def body_reference(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a JSON body of ``model``, by reference."""
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"required": True, "content": {"application/json": {"schema": schema}}}


class QuorumRoute(APIRoute):
    """An API route whose problem answers are documented and whose JSON body is checked."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        extra = dict(kwargs.get("openapi_extra") or {})
        body_model: type[BaseModel] | None = extra.pop(BODY_MODEL, None)
        if body_model is not None:
            BODY_MODELS[body_model.__name__] = body_model
            extra["requestBody"] = body_reference(body_model)
        kwargs["openapi_extra"] = extra or None
        super().__init__(path, endpoint, **kwargs)
        declared = {
            code: documented_problem(int(code), answer.get("description"))
            if answer.get("model") is ProblemDetail
            else answer
            for code, answer in self.responses.items()
        }
        for code in self._derived_statuses():
            declared.setdefault(code, documented_problem(code))
        self.responses = declared
        roles = self.roles
        if roles is not None:
            self.openapi_extra = {**(self.openapi_extra or {}), "x-roles": sorted(roles)}

    @property
    def roles(self) -> frozenset[str] | None:
        """The roles the route admits (all of its role checks'), ``None`` if it checks none."""
        checks = [d.call.roles for d in _tree(self.dependant) if isinstance(d.call, RoleCheck)]
        if not checks:
            return None
        return frozenset(r.value for r in frozenset.intersection(*checks))

    @property
    def body_media_types(self) -> tuple[str, ...]:
        """The media types of the body: FastAPI's, or those the route documents as it reads
        the body itself."""
        if self.body_field is not None:
            return (getattr(self.body_field.field_info, "media_type", ""),)
        body = (self.openapi_extra or {}).get("requestBody", {})
        return tuple(body.get("content", {}))

    @property
    def takes_json_body(self) -> bool:
        """A body FastAPI reads as JSON, or one the route reads itself and documents as JSON
        (perhaps among other media types): a body of another type is a 415."""
        return "application/json" in self.body_media_types

    def _derived_statuses(self) -> list[int]:
        tree = list(_tree(self.dependant))  # parameters of sub-dependencies count too
        path = [param for d in tree for param in d.path_params]
        query = [param for d in tree for param in d.query_params]
        headers = [param for d in tree for param in d.header_params]
        statuses = []
        authorised = any(d.call is authenticate for d in tree)
        if authorised:
            statuses += [401, 403, 503]
        if path:
            statuses.append(404)
        if any(param.name == "cursor" for param in query):
            statuses.append(400)
        has_body = self.body_field is not None or "requestBody" in (self.openapi_extra or {})
        if has_body:
            statuses.append(413)
        if self.takes_json_body:
            statuses.append(415)
        if has_body or path or query or headers:
            statuses.append(422)
        return statuses

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if not self.takes_json_body:
            return handler

        media_types = self.body_media_types

        async def json_only(request: Request) -> Response:
            sends_body = request.headers.get("content-length", "0") != "0" or (
                "chunked" in request.headers.get("transfer-encoding", "")
            )
            content_type = request.headers.get("content-type")
            if sends_body:
                if accepted_type(content_type, media_types) is None:
                    raise unsupported_media_type(media_types)
                if not is_json(content_type):  # another type the route takes: it reads it
                    return await handler(request)
                try:  # JSON is UTF-8: other bytes are invalid JSON (422), as FastAPI says of bad JSON
                    (await request.body()).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise RequestValidationError(
                        [
                            {
                                "type": "json_invalid",
                                "loc": ("body", exc.start),
                                "msg": "JSON decode error: the body is not UTF-8",
                                "input": {},
                            }
                        ]
                    ) from exc
            return await handler(request)

        return json_only


def api_router(prefix: str, tags: list[str]) -> APIRouter:
    """The router of a service's API (its routes are :class:`QuorumRoute`)."""
    return APIRouter(prefix=prefix, tags=list(tags), route_class=QuorumRoute)
