"""The operations dashboard in Debian's Chromium against the real services: live over
Server-Sent Events (a judgment's effect shows without a reload or a poll), every panel
answering, and no axe-core violation."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.web.conftest import Console, axe_violations, screenshot, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

ACCEPT = {"verdict": "accept", "ratings": {"label_quality": 4}, "severity": "none"}


async def judge(console: Console, expert_id: str) -> None:
    """The expert takes a unit and accepts it, through the API (another expert's browser)."""
    api = console.api
    unit = await api.json("assignment", "POST", "/v1/work:next", role="expert", subject=expert_id)
    body = {"submission_id": uuid.uuid4().hex, "lease_id": unit["lease_id"], "answers": ACCEPT}
    await api.call(
        "assignment",
        "POST",
        f"/v1/units/{unit['unit_id']}/judgments",
        json=body,
        role="expert",
        subject=expert_id,
        expect=(201,),
    )


def submitted(page: Page) -> Locator:
    return page.locator("tr:has(th:text-is('Judgments submitted')) td")


async def test_the_dashboard_shows_each_judgments_effect_live_through_server_sent_events(
    console: Console, context: BrowserContext
) -> None:
    world = console.world
    page = await signed_in(context, console, "ops-olga", "ops", "/dashboard")
    await page.get_by_label("Project").select_option(world.dash_project)
    live = page.get_by_role("status").filter(has_text="Waiting for the first judgment")
    await expect(live).to_be_visible(timeout=20_000)

    for expert in world.dash_experts:
        await judge(console, expert)
    indicator = page.locator("[data-events]")
    # the stream opens once the project has a judgment, and its events refresh the panels
    await expect(indicator).to_have_attribute("data-state", "live", timeout=30_000)
    await expect(submitted(page)).to_have_text("2", timeout=20_000)
    seen = int(await indicator.get_attribute("data-events") or "0")
    assert seen >= 1

    await judge(console, world.dash_experts[0])
    await expect(submitted(page)).to_have_text("3", timeout=20_000)
    assert int(await indicator.get_attribute("data-events") or "0") > seen
    await expect(page.get_by_role("table", name="Agreement by field")).to_be_visible()
    await screenshot(page, "dashboard")
    assert await axe_violations(page) == []
    assert page.errors == []  # type: ignore[attr-defined]


async def test_an_expert_is_kept_off_the_dashboard_and_ops_off_the_workbench(
    console: Console, context: BrowserContext
) -> None:
    page = await signed_in(context, console, console.world.video_expert, "expert", "/workbench")
    await page.goto(f"{console.url}/dashboard")
    await expect(page.get_by_role("alert")).to_have_text("This page is not for your role (expert).")
    # and the API behind it refuses the expert whatever the page does
    answer = await page.request.get(f"{console.url}/api/metrics/v1/queue")
    assert answer.status == 403
