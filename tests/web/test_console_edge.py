"""The console's edge, over HTTP against the real services: the session lives in an HttpOnly,
SameSite=Strict cookie; the API proxy adds its token and refuses a change without the
console's header; the pages carry a Content Security Policy; development sign-in is refused
in production."""

from __future__ import annotations

import httpx
import pytest

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from tests.web.conftest import Console

pytestmark = [pytest.mark.e2e]


async def test_a_development_sign_in_sets_an_httponly_strict_cookie_and_says_who(
    console: Console,
) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        assert (await client.get("/session")).status_code == 401
        body = {"tenant": console.world.tenant, "subject": "ops-pat", "role": "ops"}
        answer = await client.post("/session/dev", json=body)
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        assert (await client.get("/session")).json() == body
        # the token never reaches the page: no body or header of the console carries it
        assert "quorum_session" not in answer.text
        await client.delete("/session")
        assert (await client.get("/session")).status_code == 401


async def test_the_proxy_adds_the_sessions_token_and_the_service_decides(console: Console) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        anonymous = await client.get("/api/assignment/v1/projects")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        await client.post(
            "/session/dev",
            json={"tenant": console.world.tenant, "subject": "ops-pat", "role": "ops"},
        )
        listed = await client.get("/api/assignment/v1/projects")
        assert listed.status_code == 200
        assert console.world.image_project in {p["project_id"] for p in listed.json()["items"]}
        # another tenant's session sees none of it: the services keep tenants apart
        await client.post(
            "/session/dev", json={"tenant": "elsewhere", "subject": "ops-pat", "role": "ops"}
        )
        assert (await client.get("/api/assignment/v1/projects")).json()["items"] == []


async def test_a_change_without_the_consoles_header_is_refused_before_the_service(
    console: Console,
) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        await client.post(
            "/session/dev",
            json={
                "tenant": console.world.tenant,
                "subject": console.world.image_expert,
                "role": "expert",
            },
        )
        forged = await client.post("/api/assignment/v1/work:next")
        assert forged.status_code == 403
        assert "x-quorum-console" in forged.json()["detail"]
        unknown = await client.get("/api/billing/v1/anything")
        assert unknown.status_code == 404


async def test_the_pages_keep_to_their_origin_and_the_media_origins(console: Console) -> None:
    async with httpx.AsyncClient(base_url=console.url) as client:
        page = await client.get("/workbench")
        assert page.status_code == 200 and '<div id="root">' in page.text
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        media = console.services["assignment"].settings.media_file_base_url  # type: ignore[attr-defined]
        assert f"media-src 'self' blob: {media}" in policy
        assert (await client.get("/nowhere")).status_code == 404


async def test_production_refuses_a_development_sign_in() -> None:
    settings = ConsoleSettings(
        environment="production",
        jwt_algorithm="RS256",
        jwt_public_key="-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----",
        jwt_issuer="https://id.example",
        jwt_audience="quorum",
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        body = {"tenant": "acme", "subject": "mallory", "role": "admin"}
        answer = await client.post("/session/dev", json=body)
        assert answer.status_code == 403
        assert "identity provider" in answer.json()["detail"]
        assert "set-cookie" not in answer.headers
