"""Run service apps in-process (their real lifespan: Mongo, Kafka, relay, consumers)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI

from shared.auth.tokens import mint_token
from shared.contracts.vocabulary import Modality, TaxonomyRef
from shared.contracts.work import PROJECT_CHANGED, ProjectChangedV1, ProjectStatus
from shared.events.envelope import Event, make_event
from shared.http.app import create_service_app
from shared.kafka.producer import KafkaBus
from shared.runtime import Runtime, RuntimeSpec, kafka_settings
from shared.settings import ServiceSettings


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan and give an HTTP client bound to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
            yield client


def app_of(
    settings: ServiceSettings, *routers: APIRouter, runtime: Runtime | None = None
) -> FastAPI:
    """A service app serving ``routers`` with the shared wiring (auth, problems, limits), for
    tests that do not run its lifespan: nothing connects."""
    return create_service_app(
        settings,
        runtime=runtime or Runtime(settings),
        spec=RuntimeSpec(),
        title="t",
        description="t",
        routers=list(routers),
    )


def auth(role: str, tenant: str = "acme", subject: str = "user-1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(subject=subject, tenant=tenant, role=role)}"}


async def publish(settings: ServiceSettings, *events: Event[Any]) -> None:
    """Publish events to the test's topics exactly as their producing service would."""
    bus = KafkaBus(kafka_settings(settings))
    await bus.start()
    try:
        await bus.ensure_topics(
            {event.topic for event in events}, tenants={e.tenant for e in events if e.tenant}
        )
        for event in events:
            await bus.publish(event)
    finally:
        await bus.stop()


def project_changed(
    project_id: str,
    *,
    tenant: str = "acme",
    modality: str = "image",
    taxonomy: tuple[str, int] | None = None,
    status: str = "active",
    revision: int = 1,
) -> Event[ProjectChangedV1]:
    """A ``project.changed`` event as assignment publishes it."""
    payload = ProjectChangedV1(
        project_id=project_id,
        tenant=tenant,
        name=project_id,
        modality=Modality(modality),
        taxonomy=TaxonomyRef(ontology_id=taxonomy[0], version=taxonomy[1]) if taxonomy else None,
        status=ProjectStatus(status),
        revision=revision,
        changed_at=datetime.now(UTC),
    )
    return make_event(PROJECT_CHANGED, payload, source="/quorum/assignment", tenant=tenant)
