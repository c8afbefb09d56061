"""Run service apps in-process (their real lifespan: Mongo, Kafka, relay, consumers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from shared.auth import mint_token


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


def auth(role: str, tenant: str = "acme", subject: str = "user-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, tenant=tenant, role=role)}"}
