"""In real Chromium: a coordinator opens the queue, plays a clip, seeks with a keyframe, rates with the keyboard
only and sees the queue move on. Screenshots of each screen are saved to tests/artifacts/."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import LiveServer, shot, sign_in

PLAYING = "() => { const v = document.querySelector('[data-bwv-video]'); return v.currentTime > 0.5 }"


# Whole element inside the window and inside the rating panel's scrolled view (the panel scrolls on its own).
IN_VIEW = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect()
  const p = document.querySelector('.bwv-review__side').getBoundingClientRect()
  return r.top >= 0 && r.bottom <= innerHeight && r.top >= p.top - 1 && r.bottom <= p.bottom + 1
}"""


# Whole element above the rating panel's sticky Save bar.
CLEAR_OF_BAR = """(sel) => {
  const r = document.querySelector(sel).getBoundingClientRect()
  return r.bottom <= document.querySelector('.bwv-review__save').getBoundingClientRect().top + 1
}"""


def now(page: Any) -> float:
    return float(page.evaluate("() => document.querySelector('[data-bwv-video]').currentTime"))


def test_coordinator_reviews_with_the_keyboard(page: Any, live_server: LiveServer) -> None:
    seed = live_server.seed
    sign_in(page, "coordinator", seed["password"])

    # The queue: oldest incident first, the incident with no footage listed too.
    page.goto("/review")
    rows = page.locator("[data-bwv-queue-row]")
    assert rows.count() == 3
    assert page.get_by_text("UOF-2026-0103").is_visible()  # no footage at all
    assert page.get_by_text("Involved, but no clip of theirs is linked").is_visible()
    shot(page, "review-01-queue", full_page=True)

    # Start with the oldest: the on-time clip; green with the keyboard only, then save and next.
    page.click("[data-bwv-start-review]")
    page.wait_for_url(f"**/review/{seed['ontime']}*")
    page.keyboard.press("1")
    assert page.is_checked("#rag-green")
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"**/review/{seed['late']}?*saved=*")
    saved = page.locator(".bwv-saved")
    assert saved.inner_text().startswith("✓ Saved: Green for ") and saved.is_visible()
    # It has focus (a screen reader says what was saved; focus was left on the page itself), and the
    # shortcuts still work from there.
    assert page.evaluate("() => document.activeElement.classList.contains('bwv-saved')")
    # It names the clip saved and links back to it, where a slip is put right.
    assert (saved.locator("a").get_attribute("href") or "").startswith(f"/review/{seed['ontime']}")

    # The late clip: the checks' findings in plain words, the suggested rating, the timeline and filmstrip.
    assert page.get_by_text(
        "Camera switched on 2 s after force began; the pre-record buffer caught the start"
    ).is_visible()
    page.wait_for_function("() => document.querySelector('[data-bwv-video]').readyState >= 1")
    # The suggestion (amber) is shown, never applied: no rating is chosen until the coordinator chooses.
    assert "suggested" in page.inner_text("label[for=rag-amber]")
    assert not any(page.is_checked(f"#rag-{rag}") for rag in ("green", "amber", "red"))
    shot(page, "review-02-screen")

    # Play and pause (k).
    page.keyboard.press("k")
    page.wait_for_function(PLAYING, timeout=10_000)
    page.keyboard.press("k")
    assert page.evaluate("() => document.querySelector('[data-bwv-video]').paused")
    # Space plays and pauses too, except on what Space works itself: a checkbox of the form is ticked.
    box = "#criteria-sound_clear"
    was = page.is_checked(box)
    page.focus(box)
    page.keyboard.press("Space")
    assert page.is_checked(box) is not was
    assert page.evaluate("() => document.querySelector('[data-bwv-video]').paused")
    page.keyboard.press("Space")  # back as it was
    assert page.is_checked(box) is was

    # Seek via a keyframe (the scene change at 7.6 s), then jump to force start (f) and step a frame (.).
    frame = page.locator("[data-bwv-keyframe]", has_text="Scene change")
    target = float(frame.get_attribute("data-seek") or 0)
    frame.click()
    page.wait_for_timeout(200)
    assert abs(now(page) - target) < 0.15, (now(page), target)
    assert "bwv-filmstrip__frame--current" in (frame.get_attribute("class") or "")
    # A timeline marker seeks too: record was pressed 2 s after force began, 5 s into this clip.
    page.click(".bwv-timeline__marker--camera-on")
    page.wait_for_timeout(200)
    assert abs(now(page) - 5.0) < 0.15, now(page)
    page.keyboard.press("f")
    page.wait_for_timeout(200)
    assert abs(now(page) - 3.0) < 0.15  # force began 3 s after this clip's first frame
    page.keyboard.press(".")
    page.wait_for_timeout(200)
    assert abs(now(page) - 3.04) < 0.03
    playhead = page.evaluate(
        "() => getComputedStyle(document.querySelector('[data-bwv-playhead]')).getPropertyValue('--bwv-at')"
    )
    assert abs(float(playhead) - 3.04 / 12 * 100) < 1
    # The clock beside the player is the recording's wall time at the playhead, in the server's zone
    # (BWV_TIMEZONE, given by the page); a page in another zone shows that zone's wall time.
    clock = page.locator("[data-bwv-clock]")
    assert clock.get_attribute("data-timezone") == "Europe/London"
    started = datetime.fromisoformat(clock.get_attribute("data-start") or "")

    def wall(zone: str) -> str:
        return (started + timedelta(seconds=now(page))).astimezone(ZoneInfo(zone)).strftime("%H:%M:%S")

    assert clock.inner_text() == wall("Europe/London")
    page.evaluate("() => { document.querySelector('[data-bwv-clock]').dataset.timezone = 'Asia/Tokyo' }")
    page.keyboard.press(",")  # a frame back: the clock is drawn again
    page.wait_for_timeout(200)
    assert clock.inner_text() == wall("Asia/Tokyo") != wall("Europe/London")

    # The timeline from the keyboard: its slider (a Tab stop, shown by the track's focus ring) takes Home and
    # End, the arrows a second each way and Page Up and Down ten (the browser's own were +2 s and -1 s); a
    # screen reader hears the position as a time.
    slider = page.locator("[data-bwv-seek]")
    slider.focus()
    outline = "() => getComputedStyle(document.querySelector('[data-bwv-track]')).outlineStyle"
    assert page.evaluate(outline) == "solid", "the focus is not shown"
    page.keyboard.press("End")
    page.wait_for_timeout(200)
    assert now(page) > 11.5, now(page)
    page.keyboard.press("Home")
    page.wait_for_timeout(200)
    assert now(page) < 0.05, now(page)
    assert slider.get_attribute("aria-valuetext") == "0:00.0 of 0:12.0"
    for key, at in (("ArrowRight", 1.0), ("ArrowUp", 2.0), ("PageUp", 12.0), ("PageDown", 2.0), ("ArrowDown", 1.0)):
        page.keyboard.press(key)
        page.wait_for_timeout(200)
        assert abs(now(page) - at) < 0.15, (key, now(page))
    assert slider.get_attribute("aria-valuetext") == "0:01.0 of 0:12.0"
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("ArrowRight")  # off the slider, the arrows are 5 s
    page.wait_for_timeout(200)
    assert abs(now(page) - 6.0) < 0.15, now(page)

    # A stray "s" typed outside a text box saves nothing (it used to save and move on). Single-key shortcuts
    # can be turned off (WCAG 2.1.4), remembered in the browser; Ctrl+Enter keeps working.
    here = page.url
    page.keyboard.type("sound was clear")
    page.wait_for_timeout(300)
    assert page.url == here
    assert page.request.get(f"/api/v1/footage/{seed['late']}/ratings").json()["current"] is None
    page.keyboard.press("?")
    page.uncheck("#single-keys")
    page.evaluate("() => document.activeElement.blur()")
    page.keyboard.press("2")
    assert not page.is_checked("#rag-amber")
    page.reload()
    assert not page.is_checked("#single-keys")
    page.keyboard.press("?")  # off: the list opens from its summary instead
    assert not page.evaluate("() => document.querySelector('[data-bwv-keys]').open")
    page.click("[data-bwv-keys] summary")
    page.check("#single-keys")
    page.keyboard.press("?")  # on again: closes the list
    assert not page.evaluate("() => document.querySelector('[data-bwv-keys]').open")
    page.evaluate("() => document.activeElement.blur()")

    # Amber with guidance, keyboard only: 2 selects amber and goes to the guidance box; Ctrl+Enter saves.
    page.keyboard.press("2")
    assert page.is_checked("#rag-amber")
    assert page.evaluate("() => document.activeElement.id") == "guidance"
    guidance = "You pressed record 2 s after force began. Press record as you approach, before going hands-on."
    page.keyboard.type(guidance)
    shot(page, "review-03-rated-amber")
    page.keyboard.press("Control+Enter")

    # The queue moves on to the next clip (the lens-covered one), and the rating is stored.
    page.wait_for_url(f"**/review/{seed['covered']}?*saved=*")
    assert page.locator(".bwv-saved").inner_text().startswith("✓ Saved: Amber for ")
    assert page.get_by_text("Lens covered or picture dark for").first.is_visible()
    shot(page, "review-04-next-clip")
    # Rating against the suggestion: the reason asked for comes into view, and nothing is hidden under the
    # sticky Save bar (on a laptop screen the guidance box was half under it and the reason out of sight).
    page.keyboard.press("3" if "suggested" not in page.inner_text("label[for=rag-red]") else "2")
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.activeElement.id") == "guidance"
    for sel in ("#guidance", "#override_reason"):
        assert page.evaluate(IN_VIEW, sel), f"{sel} is out of sight"
        assert page.evaluate(CLEAR_OF_BAR, sel), f"{sel} is under the Save bar"
    bar = """() => {
      const r = document.querySelector('.bwv-review__save').getBoundingClientRect()
      return r.top >= 0 && r.bottom <= innerHeight
    }"""
    assert page.evaluate(bar), "the Save bar is out of sight"
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_timeout(100)
    assert page.evaluate(bar), "the Save bar is below the fold with the page at its top"
    shot(page, "review-04b-differs")
    # With the mouse on a laptop screen: choosing amber or red brings the guidance box into view, clear of the
    # Save bar (it stayed below, out of sight, and the Save that followed asked for guidance).
    page.set_viewport_size({"width": 1366, "height": 768})
    page.click("label[for=rag-green]")
    page.evaluate("() => { window.scrollTo(0, 0); document.querySelector('.bwv-review__side').scrollTop = 0 }")
    page.wait_for_timeout(200)
    assert not page.evaluate(IN_VIEW, "#guidance"), "the box starts out of sight on this screen"
    page.click("label[for=rag-red]")
    page.wait_for_timeout(300)
    assert page.evaluate(IN_VIEW, "#guidance"), "#guidance is out of sight after choosing red"
    assert page.evaluate(CLEAR_OF_BAR, "#guidance"), "#guidance is under the Save bar"
    assert page.evaluate("() => document.activeElement.id") == "rag-red"
    history = page.request.get(f"/api/v1/footage/{seed['late']}/ratings").json()
    assert history["current"]["rag"] == "amber" and history["current"]["guidance"] == guidance
    assert history["current"]["suggested_rag"] == "amber" and history["current"]["version"] == 1

    page.goto("/review")
    assert page.locator("[data-bwv-queue-row]").count() == 1
    shot(page, "review-05-queue-after", full_page=True)
    assert live_server.messages == []


def test_side_by_side_and_history(page: Any, live_server: LiveServer) -> None:
    seed = live_server.seed
    sign_in(page, "coordinator", seed["password"])
    page.goto(f"/review/{seed['late']}")
    if page.locator("#rerating_reason").count():  # rated by the test before: a re-rating asks why, in sight
        assert page.evaluate(IN_VIEW, "#rerating_reason"), "the re-rating reason is out of sight"
    page.get_by_role("button", name="Play side by side").click()
    page.wait_for_function("() => document.querySelector('[data-bwv-side-video]').readyState >= 1")
    page.evaluate("() => { const v = document.querySelector('[data-bwv-video]'); v.currentTime = 5 }")
    page.wait_for_timeout(400)
    side = page.evaluate("() => document.querySelector('[data-bwv-side-video]').currentTime")
    # The other camera's first frame is 1 s earlier, so the same clock time is 1 s further into its clip.
    assert abs(side - 6.0) < 0.3, side
    # Side by side on a laptop screen: both pictures whole in the window at once, next to each other.
    main_box = page.locator("[data-bwv-video]").bounding_box()
    side_box = page.locator("[data-bwv-side-video]").bounding_box()
    height = page.viewport_size["height"]
    for box in (main_box, side_box):
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, (box, height)
    assert side_box["x"] >= main_box["x"] + main_box["width"] and abs(side_box["y"] - main_box["y"]) < 2
    shot(page, "review-06-side-by-side", full_page=True)
    # Closed from the keyboard, the focus goes back to the button that opened it (it was lost to the page).
    page.locator("[data-bwv-side-close]").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.matches('[data-bwv-side]')")
    # ? shows the shortcuts where they can be read, though they sit at the foot of the scrolling rating panel.
    page.keyboard.press("?")
    assert page.evaluate("() => document.querySelector('[data-bwv-keys]').open")
    page.wait_for_timeout(200)
    assert page.evaluate(IN_VIEW, "[data-bwv-keys] .bwv-keys__list"), "the shortcuts opened out of sight"
    shot(page, "review-11-shortcuts")
    page.keyboard.press("?")
    assert not page.evaluate("() => document.querySelector('[data-bwv-keys]').open")

    # A guidance template is inserted into the guidance box, where it can be edited. (Once the test before
    # has rated this clip, a re-rating starts from that guidance, and the template is added after it.)
    before = page.input_value("#guidance")
    chosen = "() => (document.querySelector('input[name=rag]:checked') || {}).value || ''"
    was = page.evaluate(chosen)
    page.select_option("[data-bwv-template]", label="Lens covered (amber)")
    page.click("[data-bwv-insert]")
    # An amber template chooses amber when nothing is chosen yet, and never changes a choice made.
    assert page.evaluate(chosen) == (was or "amber")
    lead = before + "\n\n" if before else ""
    assert page.input_value("#guidance").startswith(lead + "The lens was covered for part of the restraint.")
    assert page.evaluate("() => document.activeElement.id") == "guidance"
    page.keyboard.type(" Thank you.")
    assert page.input_value("#guidance").endswith("Thank you.")
    page.goto("/review/templates")
    shot(page, "review-10-templates", full_page=True)
    assert live_server.messages == []
