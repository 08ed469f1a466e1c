"""In real Chromium: the review screen's player fetches its clip with Range requests (playing, seeking, reloading)
that all carry the page's viewing token, and the audit trail holds one `footage_play` entry for the viewing,
with "review" as its purpose. Opening the screen again is a new viewing."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.browser.conftest import LiveServer, shot, sign_in

VIDEO = "document.querySelector('[data-bwv-video]')"


def _plays(live_server: LiveServer, footage_id: int) -> list[dict[str, Any]]:
    db = sqlite3.connect(live_server.data_dir / "bwv.sqlite3")
    try:
        rows = db.execute(
            "SELECT detail FROM audit_event WHERE action = 'footage_play' AND object_id = ? ORDER BY id",
            (str(footage_id),),
        ).fetchall()
    finally:
        db.close()
    return [json.loads(r[0]) for r in rows]


def _seek(page: Any, t: float) -> None:
    page.evaluate(
        f"""() => new Promise(done => {{ const v = {VIDEO};
            v.addEventListener('seeked', () => done(), {{once: true}}); v.currentTime = {t}; }})"""
    )


def test_the_review_player_is_one_audited_viewing(page: Any, live_server: LiveServer) -> None:
    seed = live_server.seed
    fid = int(seed["late"])
    sign_in(page, "coordinator", seed["password"])
    fetched: list[tuple[str, int]] = []
    page.on(
        "response",
        lambda r: fetched.append((r.url, r.status)) if f"/api/v1/footage/{fid}/video" in r.url else None,
    )
    page.goto(f"/review/{fid}")
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1")
    page.evaluate(f"() => {{ const v = {VIDEO}; v.muted = true; return v.play() }}")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.3", timeout=10_000)
    page.evaluate(f"() => {VIDEO}.pause()")
    for t in (5.0, 1.0, 8.0):
        _seek(page, t)
    page.evaluate(f"() => {VIDEO}.load()")  # the player starts over: another request, same viewing
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1")
    assert len(fetched) >= 2, fetched
    assert all(status in (200, 206) for _url, status in fetched), fetched
    tokens = {parse_qs(urlsplit(url).query)["view"][0] for url, _status in fetched}
    assert len(tokens) == 1, tokens
    plays = _plays(live_server, fid)
    assert len(plays) == 1, plays
    assert plays[0]["purpose"] == "review" and plays[0]["token"] == "valid"
    assert not live_server.messages, live_server.messages

    page.goto(f"/review/{fid}")  # a new viewing
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1")
    assert len(_plays(live_server, fid)) == 2


def test_a_clip_the_browser_cannot_play_says_so(page: Any, live_server: LiveServer) -> None:
    """A clip whose bytes the browser cannot decode (here: the server's answer replaced with bytes that are no
    video, as a camera's MPEG-4 Part 2 file is to Chromium) gets a warning beside the player, with a link to
    where a coordinator can download it, instead of a black player that does nothing."""
    seed = live_server.seed
    fid = int(seed["late"])
    sign_in(page, "coordinator", seed["password"])
    page.route(
        f"**/api/v1/footage/{fid}/video*",
        lambda route: route.fulfill(status=200, body=b"\x00\x00\x00\x18ftypmp42 not a video", content_type="video/mp4"),
    )
    page.goto(f"/review/{fid}")
    warning = page.locator("[data-bwv-unplayable]")
    warning.wait_for(timeout=10_000)
    assert "can't be played in the browser" in warning.inner_text()
    assert warning.locator("a").get_attribute("href") == f"/footage/{fid}#download"
    assert page.locator("[data-bwv-unplayable]").count() == 1
    shot(page, "review-unplayable-clip")
    # A clip that plays gets no warning.
    page.unroute(f"**/api/v1/footage/{fid}/video*")
    page.goto(f"/review/{fid}")
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1")
    assert page.locator("[data-bwv-unplayable]").count() == 0
