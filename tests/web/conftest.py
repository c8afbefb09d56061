"""The console in a real browser: the four services and the console as their own processes
(``python -m services.<name>``) on the real Kafka and MongoDB-compatible servers, the media
served by signed links, and Debian's Chromium driven by Playwright (never a browser of
Playwright's own)."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from deploy.demo import media_server
from deploy.demo.api import Endpoints, Quorum
from deploy.demo.media import MediaLibrary
from services.console.settings import ConsoleSettings
from shared.contracts.media import MEDIA_REQUESTS
from shared.contracts.outcomes import OUTCOMES
from shared.kafka.topics import ensure_tenant_topics
from shared.runtime import kafka_settings
from tests.conftest import Endpoints as TestEndpoints
from tests.conftest import new_run_id, settings_factory
from tests.processes import REPO, ServiceProcess, quorum_services
from tests.web.world import World, build

TENANT = "webshop"
MEDIA_SECRET = "browser-tests-media-secret"
#: where the tests save a screenshot of each page (README links the copies in docs/)
SCREENSHOTS = Path(os.environ.get("QUORUM_SCREENSHOT_DIR", REPO / ".local" / "screenshots"))
AXE = REPO / "web" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium() -> str:
    for candidate in (
        os.environ.get("QUORUM_CHROMIUM"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    found = shutil.which("chromium")
    if found is None:
        raise RuntimeError("no Chromium: `make browser` installs Debian's (or set QUORUM_CHROMIUM)")
    return found


@dataclass
class Console:
    url: str
    api: Quorum
    world: World
    services: dict[str, ServiceProcess]


@pytest_asyncio.fixture(scope="package")
async def console(
    endpoints: TestEndpoints, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    """One stack and one world for the package's tests (each test takes its own experts)."""
    run_id = new_run_id()
    make_settings = settings_factory(endpoints, run_id)
    if not (REPO / "web" / "dist" / "index.html").is_file():
        raise RuntimeError("the console is not built: `make web` (make test builds it)")
    logs = tmp_path_factory.mktemp("console-services")
    media_root = tmp_path_factory.mktemp("console-media").resolve()
    media = media_server.serve(media_root, port=0, secret=MEDIA_SECRET.encode())
    media_url = media_server.base_url(media)
    signing = {
        "media_file_root": str(media_root),
        "media_file_base_url": media_url,
        "media_signing_secret": MEDIA_SECRET,
    }
    services = quorum_services(make_settings, logs, assignment=signing)
    ingest = services["ingest"].settings
    await ensure_tenant_topics(kafka_settings(ingest), [MEDIA_REQUESTS, OUTCOMES], [TENANT])
    try:
        await asyncio.gather(*(s.start() for s in services.values()))
        services["console"] = ServiceProcess(
            "services.console",
            make_settings(
                ConsoleSettings,
                **{f"{name}_url": s.base_url for name, s in services.items()},
                media_origins=[media_url],
            ),
            logs / "console.log",
        )
        await services["console"].start()
        points = Endpoints(
            **{name: s.base_url for name, s in services.items() if name != "console"},
            kafka=ingest.kafka_bootstrap_servers,
            topic_prefix=ingest.topic_prefix,
            jwt_secret=ingest.jwt_secret.get_secret_value(),
        )
        api = Quorum(points, TENANT)
        world = await build(api, MediaLibrary(media_root), run_id)
        yield Console(services["console"].base_url, api, world, services)
        await api.close()
    finally:
        for service in services.values():
            service.terminate()
        media.shutdown()
        media.server_close()


@pytest_asyncio.fixture(scope="package")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(), args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (cookies, IndexedDB) per test."""
    ctx = await browser.new_context(viewport={"width": 1400, "height": 1000})
    yield ctx
    await ctx.close()


async def signed_in(
    context: BrowserContext,
    console: Console,
    subject: str,
    role: str,
    page: str,
    tab: Page | None = None,
) -> Page:
    """A page of ``context`` (``tab``, or a new one) signed in as ``subject`` through the
    sign-in form, on ``page``; the page's script errors collect in its ``errors``."""
    tab = tab or await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.errors = errors  # type: ignore[attr-defined]
    await tab.goto(f"{console.url}/signin")
    await tab.get_by_label("Tenant").fill(console.world.tenant)
    await tab.get_by_label("Your id").fill(subject)
    await tab.get_by_label("Role").select_option(role)
    await tab.get_by_role("button", name="Sign in").click()
    await tab.wait_for_url(f"**{page}")
    return tab


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is (WCAG 2.1 A and AA rules)."""
    # evaluated by the browser's debugger protocol: the page's CSP (no inline script) holds
    await page.evaluate(AXE.read_text())
    result = await page.evaluate(
        "async () => (await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, "
        "nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return list(result)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds (a page's responses are handled as they come)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("not reached in time")
        await asyncio.sleep(0.05)


async def screenshot(page: Page, name: str) -> None:
    """A full-page screenshot (Playwright makes the folder)."""
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
