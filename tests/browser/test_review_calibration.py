"""In real Chromium: a coordinator sends rated clips for a blind second rating; the second coordinator rates
them without seeing the first rating; the agreement report and the disagreement list update."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import LiveServer, shot, sign_in


def test_blind_second_rating_and_agreement(browser: Any, page: Any, live_server: LiveServer) -> None:
    seed = live_server.seed
    sign_in(page, "coordinator", seed["password"])
    token = page.get_attribute('meta[name="csrf-token"]', "content")
    for fid, rag, guidance in ((seed["ontime"], "green", ""), (seed["late"], "amber", "Press record on the way.")):
        r = page.request.post(
            f"/api/v1/footage/{fid}/ratings",
            data={"rag": rag, "guidance": guidance},
            headers={"X-CSRF-Token": token or "", "Origin": live_server.url},
        )
        assert r.status == 201, r.text()
    page.goto("/calibration")
    page.select_option("#assigned_to", label="Dana Second")
    page.fill("#sample_size", "2")
    page.get_by_role("button", name="Send for second rating").click()
    page.wait_for_url("**/calibration?sent=2")
    shot(page, "review-07-calibration-sent", full_page=True)

    second = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    try:
        p2 = second.new_page()
        sign_in(p2, "coordinator2", seed["password"])
        p2.goto("/calibration")
        assert p2.get_by_text("Waiting for your second rating (2)").is_visible()
        assert p2.get_by_role("link", name="Rate blind").count() == 2
        # Opening the clip from the queue leads to the blind screen too.
        p2.goto(f"/review/{seed['late']}")
        p2.wait_for_url("**/calibration/*")
        assert p2.get_by_text("Blind second rating").first.is_visible()
        assert p2.locator("text=Rating history").count() == 0 and p2.locator("text=Currently rated").count() == 0
        shot(p2, "review-08-blind-rating")
        for _ in range(2):
            before = p2.url
            p2.keyboard.press("1")  # green for both: agrees on one, disagrees on the amber one
            p2.keyboard.press("Control+Enter")
            p2.wait_for_url(lambda url, before=before: url != before)  # type: ignore[misc]
            p2.wait_for_load_state()
        p2.wait_for_url("**/calibration?done=1")
        assert p2.get_by_text("Disagreements for the monthly meeting (1)").is_visible()
        row = p2.locator("table", has_text="Cohen's kappa").locator("tbody tr").first
        assert "Chris Coordinator and Dana Second" in row.inner_text() and "50%" in row.inner_text()
        disagreement = p2.locator("table", has_text="Second rating given")
        assert disagreement.locator(f'a[href="/review/{seed["late"]}"]').count() == 1
        assert "<span" not in disagreement.inner_text()
        shot(p2, "review-09-agreement", full_page=True)
    finally:
        second.close()
    assert live_server.messages == []
