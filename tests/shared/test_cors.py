"""CORS: closed by default (Quorum's console is on the services' origin), opened by a setting
to the origins of third-party frontends only (docs/console.md "Other frontends")."""

from __future__ import annotations

import httpx

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings

PREFLIGHT = {
    "Origin": "https://labeler.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


async def preflight(settings: TaxonomySettings, origin: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://taxonomy") as client:
        return await client.options("/v1/ontologies", headers={**PREFLIGHT, "Origin": origin})


async def test_cors_is_closed_by_default() -> None:
    answer = await preflight(TaxonomySettings(environment="test"), "https://labeler.example")
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_opens_to_the_configured_origins_only() -> None:
    settings = TaxonomySettings(environment="test", cors_origins=["https://labeler.example"])
    allowed = await preflight(settings, "https://labeler.example")
    assert allowed.headers["access-control-allow-origin"] == "https://labeler.example"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    other = await preflight(settings, "https://evil.example")
    assert "access-control-allow-origin" not in other.headers
