"""The services' routes: every status they can answer is in the OpenAPI document as a problem,
a JSON body sent as anything else is a 415, and a body over the service's limit is a 413
before it is read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, Request
from pydantic import BaseModel

from shared.auth.dependencies import require_roles
from shared.auth.principal import Principal, Role
from shared.auth.tokens import mint_token
from shared.http.routing import BODY_MODEL, api_router
from shared.settings import ServiceSettings
from tests.service_helpers import app_of

router = api_router("/v1", ["things"])
Caller = Annotated[Principal, Depends(require_roles(Role.client))]


class Thing(BaseModel):
    name: str


@router.post("/things")
async def create_thing(body: Thing, caller: Caller) -> Thing:
    return body


class Gadget(BaseModel):
    """Only the route that reads its own body names it: the document holds it all the same."""

    size: int


@router.post("/gadgets", openapi_extra={BODY_MODEL: Gadget})
async def create_gadget(request: Request, caller: Caller) -> Gadget:
    return Gadget.model_validate_json(await request.body())


@router.post(
    "/documents",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
async def post_document(request: Request, caller: Caller) -> Thing:
    return Thing(name=request.headers["content-type"])


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str, caller: Caller, cursor: str | None = None) -> Thing:
    return Thing(name=thing_id)


def app(max_body: int = 4096):  # type: ignore[no-untyped-def]
    settings = ServiceSettings(environment="test", http_max_body_bytes=max_body)
    return app_of(settings, router)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


CLIENT = {"Authorization": f"Bearer {mint_token(subject='u', tenant='acme', role='client')}"}


def test_each_operation_documents_the_problems_it_can_answer() -> None:
    spec = app().openapi()
    post = spec["paths"]["/v1/things"]["post"]["responses"]
    get = spec["paths"]["/v1/things/{thing_id}"]["get"]["responses"]
    assert {"401", "403", "413", "415", "422", "503"} <= set(post)
    assert {"400", "401", "403", "404", "422", "503"} <= set(get)
    assert "413" not in get and "415" not in get  # no body
    for answer in [
        *(post[c] for c in post if c[0] in "45"),
        *(get[c] for c in get if c[0] in "45"),
    ]:
        assert answer["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}
        }
    assert {"ProblemDetail", "FieldError"} <= set(spec["components"]["schemas"])


async def test_a_json_body_sent_as_another_type_is_a_415_problem(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/v1/things", content=b'{"name": "x"}', headers={**CLIENT, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"] == "header.content-type"
    ok = await client.post("/v1/things", json={"name": "x"}, headers=CLIENT)
    assert ok.status_code == 200


def test_a_body_a_route_reads_itself_is_documented_by_its_model() -> None:
    spec = app().openapi()
    post = spec["paths"]["/v1/gadgets"]["post"]
    assert post["requestBody"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Gadget"}}
    }
    assert spec["components"]["schemas"]["Gadget"]["required"] == ["size"]
    assert {"413", "415", "422"} <= set(post["responses"])


async def test_a_route_taking_several_media_types_takes_each_and_refuses_others_with_415(
    client: httpx.AsyncClient,
) -> None:
    for content_type in ("application/json", "application/yaml; charset=utf-8"):
        taken = await client.post(
            "/v1/documents", content=b"{}", headers={**CLIENT, "Content-Type": content_type}
        )
        assert taken.status_code == 200, taken.text
    refused = await client.post(
        "/v1/documents", content=b"{}", headers={**CLIENT, "Content-Type": "text/plain"}
    )
    assert refused.status_code == 415
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["errors"] == [
        {"field": "header.content-type", "message": "must be application/json or application/yaml"}
    ]


async def test_a_body_over_the_limit_is_a_413_problem_before_it_is_read(
    client: httpx.AsyncClient,
) -> None:
    big = b'{"name": "' + b"x" * 5000 + b'"}'
    response = await client.post(
        "/v1/things", content=big, headers={**CLIENT, "Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Content Too Large"


async def test_a_body_over_the_limit_without_a_length_is_refused_as_it_streams() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}'

    transport = httpx.ASGITransport(app=app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        response = await c.post(
            "/v1/things", content=chunks(), headers={**CLIENT, "Content-Type": "application/json"}
        )
    assert response.status_code == 413
