"""The upload page in real Chromium: drag-and-drop form, per-file progress, and a PATCH that fails mid-way
being resumed by upload.js (HEAD for the offset, then the rest)."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from tests.footage.conftest import mp4_bytes
from tests.footage.live import PASSWORD, start_server

CHROMIUM = os.environ.get("BWV_CHROMIUM", "/usr/bin/chromium")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def playwright_browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def _sign_in(page, base: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/sign-in")
    page.fill("#username", "coord")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.timeout(180)
def test_upload_page_uploads_and_resumes_after_a_failed_chunk(tmp_path: Path, playwright_browser) -> None:
    server = start_server(tmp_path / "live")
    data = mp4_bytes(20 * 1024 * 1024 + 99, seed=5)  # three 8 MB chunks
    clip = tmp_path / "CAM-1_0001.mp4"
    clip.write_bytes(data)
    try:
        page = playwright_browser.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _sign_in(page, server.base)
        page.goto(f"{server.base}/footage/upload")
        page.select_option("#shared-staff", "S001")
        page.select_option("#shared-camera", "CAM-1")
        page.set_input_files("#files", str(clip))
        assert page.inner_text(".bwv-upload__name") == "CAM-1_0001.mp4"

        # Without the time of the first frame, nothing is sent and the error summary says why.
        page.click("[data-bwv-start]")
        assert "Enter the time of the first frame" in page.inner_text("[data-bwv-upload-error-list]")

        # The second PATCH is cut off once: upload.js must ask where to resume and carry on.
        failed = {"n": 0}

        def flaky(route, request):  # type: ignore[no-untyped-def]
            later_chunk = request.headers.get("upload-offset") not in (None, "0")
            if request.method == "PATCH" and later_chunk and not failed["n"]:
                failed["n"] += 1
                route.abort("connectionreset")
                return
            route.continue_()

        page.route("**/api/v1/uploads/**", flaky)
        page.fill('[data-field="recording_started_at_date"]', "1/10/2026")  # the date picker's D/M/YYYY
        page.fill('[data-field="recording_started_at_time"]', "10:00:05")
        page.click("[data-bwv-start]")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not page.query_selector(".bwv-upload__file--done"):
            time.sleep(0.25)
        assert page.query_selector(".bwv-upload__file--done"), page.inner_text("[data-bwv-file-list]")
        assert failed["n"] == 1
        href = page.get_attribute(".bwv-upload__file--done a", "href")
        assert href and href.startswith("/footage/")
        assert errors == []
        token = httpx.post(f"{server.base}/api/v1/auth/token", data={"username": "coord", "password": PASSWORD})
        got = httpx.get(
            f"{server.base}/api/v1{href}", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        ).json()
        assert got["sha256"] == hashlib.sha256(data).hexdigest()
        assert got["recording_started_at"].startswith("2026-10-01T09:00:05")  # 10:00:05 BST is 09:00:05 UTC
    finally:
        server.stop()


@pytest.mark.timeout(180)
def test_upload_page_asks_which_time_the_night_the_clocks_go_back(tmp_path: Path, playwright_browser) -> None:
    """A first frame at 01:30 on 29 March 2026 never happened (clocks forward): refused. At 01:30:05 on 26
    October 2025 it happened twice: the page asks which, and sends the one chosen (the second: 01:30:05 GMT)."""
    server = start_server(tmp_path / "live")
    clip = tmp_path / "CAM-1_0002.mp4"
    clip.write_bytes(mp4_bytes(64 * 1024, seed=7))
    try:
        page = playwright_browser.new_page(timezone_id="America/New_York")  # the browser's own zone is not used
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _sign_in(page, server.base)
        page.goto(f"{server.base}/footage/upload")
        # Nothing chosen yet: the button is there to press, and says what is missing, by each field too.
        page.click("[data-bwv-start]")
        assert "Choose the video files to upload" in page.inner_text("[data-bwv-upload-error-list]")
        page.set_input_files("#files", str(clip))
        page.click("[data-bwv-start]")
        assert page.inner_text("#shared-staff-error") == "Error: Choose who wore the camera"
        assert page.inner_text("#shared-camera-error") == "Error: Choose the camera"
        page.select_option("#shared-staff", "S001")
        page.select_option("#shared-camera", "CAM-1")
        day, clock = '[data-field="recording_started_at_date"]', '[data-field="recording_started_at_time"]'
        fold = '[data-fold="recording_started_at"]'

        page.fill(day, "29/3/2026")
        page.fill(clock, "01:30")
        assert page.is_hidden(fold)
        page.click("[data-bwv-start]")
        summary = page.inner_text("[data-bwv-upload-error-list]")
        assert "There was no 01:30 on 29 March 2026 in UK time: the clocks went forward an hour that night" in summary

        page.fill(day, "26/10/2025")
        page.fill(clock, "01:30:05")
        assert page.is_visible(fold)
        assert page.inner_text(f"{fold} legend") == "Which 01:30?"
        assert page.inner_text(f"{fold} .govuk-radios").split("\n") == ["The first, BST", "The second, GMT"]
        page.click("[data-bwv-start]")
        summary = page.inner_text("[data-bwv-upload-error-list]")
        assert "01:30 on 26 October 2025 happened twice in UK time" in summary
        assert "Say which 01:30 it was: the first (BST) or the second (GMT)" in summary
        assert not page.query_selector(".bwv-upload__file--done")

        page.check(f"{fold} input[value='1']")
        page.click("[data-bwv-start]")
        page.wait_for_selector(".bwv-upload__file--done a", timeout=60_000)
        href = page.get_attribute(".bwv-upload__file--done a", "href")
        token = httpx.post(f"{server.base}/api/v1/auth/token", data={"username": "coord", "password": PASSWORD})
        got = httpx.get(
            f"{server.base}/api/v1{href}", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        ).json()
        assert got["recording_started_at"].startswith("2025-10-26T01:30:05")  # the second 01:30:05, GMT = UTC
        assert errors == []
    finally:
        server.stop()
