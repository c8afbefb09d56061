"""The experts' workbench in Debian's Chromium against the real services: a unit with the
next ones leased ahead, a box drawn, the form answered by keyboard alone, the next unit at
once; a lease that ends under an open draft loses nothing; the gated form; a video unit's
timeline; the keymap remapped without collisions; no axe-core violation."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Error, Page, Response, expect

from shared.annotation.rle import box_and_area
from shared.contracts.vocabulary import RleMask
from tests.web.conftest import Console, axe_violations, eventually, screenshot, signed_in

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


class Handouts:
    """The units ``work:next`` handed the page, in order, and the judgments it submitted."""

    def __init__(self, page: Page) -> None:
        self.units: list[str] = []
        self.judgments: list[tuple[int, dict[str, Any]]] = []
        page.on("response", self._seen)

    async def _seen(self, response: Response) -> None:
        if response.url.endswith("/work:next") and response.status == 200:
            try:
                self.units.append((await response.json())["unit_id"])
            except Error:  # the page closed first (the test ended)
                return
        elif response.url.endswith("/judgments") and response.request.method == "POST":
            self.judgments.append((response.status, json.loads(response.request.post_data or "{}")))


async def shown_unit(page: Page) -> str:
    unit = page.locator("[data-unit]")
    await expect(unit).to_be_visible(timeout=30_000)
    return str(await unit.get_attribute("data-unit"))


async def test_an_expert_gets_a_unit_draws_a_box_answers_by_keyboard_and_the_prefetched_next_shows_at_once(
    console: Console, context: BrowserContext
) -> None:
    page = await context.new_page()
    handouts = Handouts(page)
    await signed_in(context, console, console.world.image_expert, "expert", "/workbench", page)
    first = await shown_unit(page)
    # two more units are leased ahead, their media warm
    await expect(page.get_by_test_id("prefetched")).to_have_attribute(
        "data-count", "2", timeout=20_000
    )
    await eventually(lambda: len(handouts.units) == 3)
    assert handouts.units[0] == first
    ahead = handouts.units[1]

    # draw a box on the image: the draw-box key, then a drag
    await page.keyboard.press("b")
    canvas = page.locator(".image-regions canvas").first
    frame = await canvas.bounding_box()
    assert frame is not None
    scale = frame["width"] / 320  # the image is 320 pixels wide, drawn enlarged
    await page.mouse.move(frame["x"] + 30, frame["y"] + 40)
    await page.mouse.down()
    await page.mouse.move(frame["x"] + 130, frame["y"] + 120, steps=6)
    await page.mouse.up()
    regions = page.locator(".regions li")
    await expect(regions).to_have_count(1)
    # the region is in the keyboard-usable list with its class and numbers
    x = float(await page.get_by_label("region 1 x", exact=True).input_value())
    assert x == pytest.approx(30 / scale, abs=1.5)
    await expect(page.get_by_label("Class of region 1")).to_have_value("car")

    # the form by keyboard alone: verdict key, then Tab and arrows through the groups
    await page.keyboard.press("c")
    await page.keyboard.press("f")  # the form's first field: the first flag
    await page.keyboard.press("Tab")  # the second flag
    await page.keyboard.press("Tab")  # the verdict group (correct, chosen by its key)
    await expect(page.get_by_role("radio", name="Correct — fix the labels")).to_be_focused()
    await page.keyboard.press("Tab")  # the rated dimension: 1 … 5
    for _ in range(3):
        await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("radio", name="4", exact=True)).to_be_checked()
    await page.keyboard.press("Tab")  # severity: none, minor, …
    await page.keyboard.press("ArrowRight")
    await expect(page.get_by_role("radio", name="minor")).to_be_checked()
    await page.keyboard.press("j")  # the justification
    await page.keyboard.type("The pre-label box misses the car's rear.")
    await screenshot(page, "workbench")
    await page.keyboard.press("Control+Enter")

    # the next unit is the one leased ahead: it shows without another handout first
    await expect(page.locator("[data-unit]")).to_have_attribute("data-unit", ahead, timeout=10_000)
    assert handouts.units.index(ahead) == 1
    await eventually(lambda: len(handouts.judgments) == 1)
    status, body = handouts.judgments[0]
    assert status == 201
    answers = body["answers"]
    assert answers["verdict"] == "correct"
    assert answers["ratings"] == {"label_quality": 4}
    assert answers["severity"] == "minor"
    assert answers["justification"] == "The pre-label box misses the car's rear."
    [label] = answers["labels"]
    assert label["class_id"] == "car"
    assert label["geometry"]["kind"] == "box"
    assert label["geometry"]["x"] == pytest.approx(30 / scale, abs=1.5)
    assert label["geometry"]["width"] == pytest.approx(100 / scale, abs=2)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_a_lease_that_ends_under_an_open_draft_loses_nothing_and_the_draft_outlives_a_reload(
    console: Console, context: BrowserContext
) -> None:
    # the project's lease: 5 s, at most 20 s however often the tab heartbeats
    page = await signed_in(context, console, console.world.short_expert, "expert", "/workbench")
    unit = await shown_unit(page)
    await page.keyboard.press("r")  # reject
    await page.keyboard.press("j")
    written = "Draft written while the lease runs out under it."
    await page.keyboard.type(written)
    # heartbeats keep the lease to its maximum life; then it ends and the page says so
    await expect(page.get_by_text("Your lease on this unit has ended.")).to_be_visible(
        timeout=45_000
    )
    await expect(page.locator("[data-role=justification]")).to_have_value(written)
    await expect(page.locator("[data-role=justification]")).to_be_disabled()
    await screenshot(page, "workbench-lease-ended")
    # a reload (or a closed tab) keeps it: the browser holds the draft, and when the unit is
    # handed to this expert again (it went back to the pool), its draft opens with it
    await page.reload()
    assert await shown_unit(page) == unit
    await expect(page.get_by_text("Your draft of this unit is restored.")).to_be_visible()
    await expect(page.locator("[data-role=justification]")).to_have_value(written)
    await expect(page.get_by_role("radio", name="Reject")).to_be_checked()


async def test_a_gate_flag_ends_the_form_and_the_services_refusal_names_the_field(
    console: Console, context: BrowserContext
) -> None:
    page = await context.new_page()
    handouts = Handouts(page)
    await signed_in(context, console, console.world.second_expert, "expert", "/workbench", page)
    await shown_unit(page)
    form = page.locator("form")
    await expect(form.get_by_text("Quality of the pre-labels")).to_be_visible()
    await expect(form.get_by_role("radio", name=re.compile(r"^Accept"))).to_be_visible()
    # the gate: no ratings, no labels, and only the verdicts that do not vouch for them
    await form.get_by_label("Media unusable (ends the form)").check()
    await expect(form.get_by_text("Quality of the pre-labels")).to_have_count(0)
    await expect(form.get_by_text("Corrected labels")).to_have_count(0)
    await expect(form.get_by_role("radio", name=re.compile(r"^Accept"))).to_have_count(0)
    await expect(form.get_by_text("The gate ends the form here")).to_be_visible()
    # a reject needs a justification of 30 characters: the form says so, the service refuses
    await page.keyboard.press("r")
    await expect(form.get_by_text("required: at least 30 characters")).to_be_visible()
    await form.locator("[data-role=justification]").fill("Too short.")
    await page.keyboard.press("Control+Enter")
    await expect(form.get_by_role("alert")).to_contain_text("justification:", timeout=10_000)
    await expect(form.get_by_role("alert")).to_contain_text("30")
    assert handouts.judgments[-1][0] == 422
    await screenshot(page, "workbench-gated-form")
    # the unit is still held: a long enough justification goes through
    await form.locator("[data-role=justification]").fill(
        "The picture is black from edge to edge: nothing can be judged."
    )
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text("Judgment saved.")).to_be_visible(timeout=10_000)
    status, body = handouts.judgments[-1]
    assert status == 201
    assert body["answers"]["flags"] == ["unusable_media"]
    assert body["answers"]["ratings"] == {} and body["answers"]["labels"] == []


async def test_a_video_unit_has_a_waveform_timeline_whose_segments_the_keyboard_edits(
    console: Console, context: BrowserContext
) -> None:
    page = await context.new_page()
    handouts = Handouts(page)
    peaks: list[int] = []
    page.on("response", lambda r: peaks.append(r.status) if "view=peaks" in r.url else None)
    await signed_in(context, console, console.world.video_expert, "expert", "/workbench", page)
    await shown_unit(page)
    # the waveform is drawn from the peaks the media server computed, not from the file
    await expect(page.get_by_text("of 4.00 s")).to_be_visible(timeout=20_000)
    await eventually(lambda: 200 in peaks, timeout=20)
    await expect(page.get_by_text("Pre-labelled segments")).to_be_visible()
    # a segment at the playhead, then its end moved to the playhead two seconds on
    await page.keyboard.press("m")
    await expect(page.locator("[data-segment]")).to_have_count(1)
    await page.keyboard.press(".")
    await page.keyboard.press(".")
    await expect(page.get_by_text("2.00 s of 4.00 s")).to_be_visible()
    await page.keyboard.press("]")
    await expect(page.get_by_role("spinbutton", name="segment 1 end")).to_have_value("2")
    # and its start nudged in the list: the numbers are the keyboard's way to move edges
    start = page.get_by_role("spinbutton", name="segment 1 start")
    await start.fill("0.5")
    await expect(start).to_have_value("0.5")
    # faster playback, then the segment plays on its own and stops at its end
    await page.locator("body").click(position={"x": 5, "y": 300})
    await page.keyboard.press("=")
    await expect(page.get_by_text("speed 1.25\N{MULTIPLICATION SIGN}")).to_be_visible()
    await page.keyboard.press("l")
    video = page.locator("video")
    await page.wait_for_function(
        "() => { const v = document.querySelector('video'); return v.paused && v.currentTime >= 1.9 }",
        timeout=15_000,
    )
    assert await video.evaluate("v => v.currentTime") < 2.6
    await screenshot(page, "workbench-video")
    await page.keyboard.press("c")
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text("Judgment saved.")).to_be_visible(timeout=10_000)
    status, body = handouts.judgments[-1]
    assert status == 201
    [label] = body["answers"]["labels"]
    assert label["segment"] == {"start_s": 0.5, "end_s": 2.0}
    assert label["class_id"] == "car"


async def test_the_keymap_is_shown_remapped_without_collisions_and_kept(
    console: Console, context: BrowserContext
) -> None:
    page = await signed_in(context, console, console.world.image_expert, "expert", "/workbench")
    await shown_unit(page)
    await page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keys")
    await expect(dialog).to_be_visible()
    keys = await dialog.locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert len(keys) == len({k.lower() for k in keys})  # no key bound twice
    change = dialog.get_by_role("button", name="Change the key of: Draw a box (drag on the image)")
    await change.click()
    await change.press("a")  # the accept verdict's key: refused, naming it
    await expect(dialog.get_by_role("status")).to_have_text('a is already "Verdict: accept"')
    await change.press("x")
    await expect(dialog.locator("tr[data-action=drawBox] .kbd")).to_have_text("x")
    await screenshot(page, "workbench-keys")
    assert await axe_violations(page) == []
    await page.keyboard.press("Escape")
    await page.reload()
    await shown_unit(page)
    await page.keyboard.press("x")
    await expect(page.get_by_role("button", name="Box")).to_have_attribute("aria-pressed", "true")


async def test_the_sign_in_and_the_workbench_have_no_axe_violation(
    console: Console, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(f"{console.url}/signin")
    await expect(page.get_by_role("heading", name="Sign in to Quorum")).to_be_visible()
    await expect(page.get_by_label("Your id")).to_be_visible()
    assert await axe_violations(page) == []
    await screenshot(page, "signin")
    page = await signed_in(
        context, console, console.world.second_expert, "expert", "/workbench", page
    )
    await shown_unit(page)
    await expect(page.locator(".image-regions canvas").first).to_be_visible()
    assert await axe_violations(page) == []


async def test_an_edit_bundle_shows_its_parts_side_by_side_with_a_before_after_slider(
    console: Console, context: BrowserContext
) -> None:
    page = await signed_in(context, console, console.world.edit_expert, "expert", "/workbench")
    await shown_unit(page)
    slider = page.locator("img-comparison-slider")
    await expect(slider).to_be_visible(timeout=20_000)
    await expect(slider.locator("img[slot=first]")).to_have_attribute("alt", "source_image")
    await expect(slider.locator("img[slot=second]")).to_have_attribute("alt", "edited_image")
    # the slider moves by keyboard too
    await slider.focus()
    await page.keyboard.press("ArrowLeft")
    # the instruction, a text part, is fetched by its signed link and shown
    await expect(page.get_by_label("text of the unit")).to_have_text(
        "Make it night, keep the subject."
    )
    for part in ("source", "instruction", "edited"):
        await expect(page.get_by_role("region", name=f"part {part}", exact=False)).to_be_visible()
    await screenshot(page, "workbench-bundle")
    assert await axe_violations(page) == []


async def test_a_mask_painted_with_the_brush_is_sent_as_the_coco_run_lengths_of_what_was_painted(
    console: Console, context: BrowserContext
) -> None:
    page = await context.new_page()
    handouts = Handouts(page)
    await signed_in(context, console, console.world.mask_expert, "expert", "/workbench", page)
    await shown_unit(page)
    await page.keyboard.press("u")
    await expect(page.get_by_role("button", name="Mask brush")).to_have_attribute(
        "aria-pressed", "true"
    )
    await page.keyboard.press("}")  # a larger brush: 12 pixels
    canvas = page.locator(".image-regions canvas").first
    frame = await canvas.bounding_box()
    assert frame is not None
    scale = frame["width"] / 320
    await page.mouse.move(frame["x"] + 60 * scale, frame["y"] + 80 * scale)
    await page.mouse.down()
    await page.mouse.move(frame["x"] + 140 * scale, frame["y"] + 80 * scale, steps=12)
    await page.mouse.up()
    mask = page.locator("[data-region]").filter(has_text="Mask 1")
    await expect(mask).to_be_visible()
    await expect(mask.locator("[data-area]")).not_to_have_text("0 pixels")
    await screenshot(page, "workbench-mask")
    await page.keyboard.press("c")
    await page.get_by_role("radio", name="4", exact=True).check()
    await page.get_by_role("radio", name="minor").check()
    await page.keyboard.press("Control+Enter")
    await expect(page.get_by_text("Judgment saved.")).to_be_visible(timeout=10_000)
    status, body = handouts.judgments[-1]
    assert status == 201
    [label] = body["answers"]["labels"]
    geometry = label["geometry"]
    assert geometry["kind"] == "mask" and geometry["size"] == [240, 320]
    assert sum(geometry["counts"]) == 240 * 320
    (x, y, w, h), pixels = box_and_area(RleMask.model_validate(geometry))
    # a stroke from (60, 80) to (140, 80) with a 12-pixel brush
    assert x == pytest.approx(48, abs=3) and w == pytest.approx(104, abs=6)
    assert y == pytest.approx(68, abs=3) and h == pytest.approx(25, abs=4)
    assert 80 * 20 < pixels < 104 * 25
