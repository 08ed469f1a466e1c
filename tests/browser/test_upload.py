"""In real Chromium: a coordinator drags two clips (and one file that is not a video) onto the upload page,
gives each its first-frame time, and watches a progress bar per file; the clips arrive through the resumable
(tus) upload and are listed, the renamed text file is refused with a clear reason and nothing is stored."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import LiveServer, shot, sign_in


def _clip(path: Path, seed: int) -> Path:
    from workers.video.synth import make_clip

    make_clip(path, seconds=2, fps=10, size=(160, 90), seed=seed)
    return path


def test_drag_and_drop_upload_with_progress(page: Any, live_server: LiveServer, tmp_path: Path) -> None:
    sign_in(page, "coordinator", live_server.seed["password"])
    page.goto("/footage/upload")
    page.select_option("#shared-staff", "LP102")
    page.select_option("#shared-camera", label="BWV-0042")

    one = _clip(tmp_path / "BWV-0042_upload_one.mp4", 11)
    two = _clip(tmp_path / "BWV-0042_upload_two.mp4", 12)
    fake = tmp_path / "statement.mp4"
    fake.write_text("Officer statement, not a video.\n" * 200)

    # Drop the files on the drop zone the way a browser does: a DataTransfer carrying File objects.
    files = [(p.name, p.read_bytes()) for p in (one, two, fake)]
    handle = page.evaluate_handle(
        """(files) => {
            const dt = new DataTransfer();
            for (const [name, bytes] of files) {
                dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'video/mp4' }));
            }
            return dt;
        }""",
        [(name, list(data)) for name, data in files],
    )
    page.dispatch_event("[data-bwv-dropzone]", "drop", {"dataTransfer": handle})
    items = page.locator("[data-bwv-file-list] > li")
    assert items.count() == 3

    first = datetime(2026, 7, 1, 10, 0, 5)  # a fixed past summer morning: never in a clock change's hour
    for i in range(3):
        when = first + timedelta(minutes=i)
        items.nth(i).locator('[data-field="recording_started_at_date"]').fill(f"{when.day}/{when.month}/{when.year}")
        items.nth(i).locator('[data-field="recording_started_at_time"]').fill(when.strftime("%H:%M:%S"))
    shot(page, "upload-01-chosen", full_page=True)

    page.click("[data-bwv-start]")
    done = page.locator("[data-bwv-file-list] [data-status] a")
    done.first.wait_for(timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('[data-bwv-file-list] [data-status] a').length === 2")
    page.locator("[data-bwv-file-list] [data-file-error]:not([hidden])").first.wait_for(timeout=30_000)
    shot(page, "upload-02-done", full_page=True)

    for i in (0, 1):
        assert items.nth(i).locator("[data-progress]").evaluate("p => p.value") == 100
        assert "Uploaded – view the footage" in items.nth(i).locator("[data-status]").inner_text()
    assert items.nth(2).locator("[data-progress]").evaluate("p => p.value") == 0  # nothing kept, no full bar
    refused = items.nth(2).locator("[data-file-error]").inner_text()
    assert "not a video" in refused.lower(), refused
    # The refusal is said again at the top, linked to the file's card, and the button says what is left.
    summary = page.locator("[data-bwv-upload-errors]")
    assert summary.is_visible()
    said = summary.locator("li").all_inner_texts()
    assert len(said) == 1 and said[0].startswith("statement.mp4: ") and "not a video" in said[0].lower(), said
    target = summary.locator("a").get_attribute("href")
    assert target == "#" + items.nth(2).locator("[data-file-error]").get_attribute("id"), target
    # Sent again, a file that is not a video would be refused again: the button does not offer it.
    assert page.locator("[data-bwv-start]").inner_text() == "Upload files"
    shot(page, "upload-03-refused-summary")
    items.nth(2).locator("[data-remove]").click()  # removing the refused file clears its summary line
    assert summary.is_hidden() and page.locator("[data-bwv-start]").inner_text() == "Upload files"

    page.goto("/footage")
    assert page.get_by_text("BWV-0042_upload_one.mp4").is_visible()
    assert page.get_by_text("BWV-0042_upload_two.mp4").is_visible()
    assert page.get_by_text("statement.mp4").count() == 0

    # The same file again, with another time: found to be there already, and said that what was entered now
    # was not used (the clip keeps its first details).
    page.goto("/footage/upload")
    page.select_option("#shared-staff", "LP102")
    page.select_option("#shared-camera", label="BWV-0042")
    page.set_input_files("[data-bwv-file-input]", str(one))
    again = page.locator("[data-bwv-file-list] > li").first
    again.locator('[data-field="recording_started_at_date"]').fill("1/7/2026")
    again.locator('[data-field="recording_started_at_time"]').fill("11:30:00")
    page.click("[data-bwv-start]")
    again.locator("[data-status] a").wait_for(timeout=30_000)
    said = again.locator("[data-status]").inner_text()
    assert "Already uploaded – view the footage" in said and "the details entered now were not used" in said, said
    # The refusal of the text file is the only error the browser saw (Chromium logs every 4xx it is answered).
    assert [m for m in live_server.messages if "415 (Unsupported Media Type)" not in m] == [], live_server.messages


def test_a_file_retention_deleted_is_stored_again_only_when_asked(
    page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    """A file whose clip retention deleted is refused on the upload page, saying so, with a link to what
    remains and "Store it again" after the message (where the error summary leads); pressing it with the
    keyboard stores the file as new footage and moves focus to the link that says so."""
    import subprocess
    import sys

    from tests.browser.conftest import ROOT, _env

    sign_in(page, "coordinator", live_server.seed["password"])
    clip = _clip(tmp_path / "BWV-0042_deleted.mp4", 21)

    def send() -> Any:
        page.goto("/footage/upload")
        page.select_option("#shared-staff", "LP102")
        page.select_option("#shared-camera", label="BWV-0042")
        page.set_input_files("[data-bwv-file-input]", str(clip))
        card = page.locator("[data-bwv-file-list] > li").first
        card.locator('[data-field="recording_started_at_date"]').fill("2/7/2026")
        card.locator('[data-field="recording_started_at_time"]').fill("10:00:00")
        page.click("[data-bwv-start]")
        return card

    card = send()
    card.locator("[data-status] a").wait_for(timeout=30_000)
    first = int(card.locator("[data-status] a").get_attribute("href").rsplit("/", 1)[1])
    purge = (
        "from datetime import timedelta\n"
        "import app.models\n"
        "from app.core.db import unit_of_work\n"
        "from app.core.types import utcnow\n"
        "from app.footage.models import Footage\n"
        "from app.footage.retention import purge_due\n"
        "with unit_of_work() as s:\n"
        f"    f = s.get(Footage, {first}); f.uploaded_at = utcnow() - timedelta(days=40); s.add(f)\n"
        "with unit_of_work() as s:\n"
        f"    assert {first} in purge_due(s).purged\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", purge], cwd=ROOT, env=_env(live_server.data_dir), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]

    card = send()
    offer = card.locator("[data-purged]")
    offer.wait_for(state="visible", timeout=30_000)
    said = card.locator("[data-file-error]").inner_text()
    assert f"This file was footage {first}, deleted on" in said and "nothing was stored" in said, said
    assert offer.locator("[data-purged-link]").get_attribute("href") == f"/footage/{first}"
    summary = page.locator("[data-bwv-upload-errors] li").all_inner_texts()
    assert len(summary) == 1 and "nothing was stored" in summary[0], summary
    shot(page, "upload-04-deleted-before", full_page=True)

    # The page's own button does not send it again (it would be refused again, after all its bytes).
    start = page.locator("[data-bwv-start]")
    assert start.inner_text() == "Upload files"
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.method) if "/api/v1/uploads" in r.url else None)
    start.click()
    page.wait_for_timeout(500)
    assert sent == [] and offer.is_visible(), sent
    assert page.locator("[data-bwv-upload-errors] li").all_inner_texts() == summary  # what stands, said again

    # From the error message (where the summary's link leads), the next stop is "Store it again".
    card.locator("[data-file-error]").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Store it again"
    page.keyboard.press("Enter")
    stored = card.locator("[data-status] a")
    stored.wait_for(timeout=30_000)
    assert stored.inner_text() == "Stored again as new footage – view it"
    second = int(stored.get_attribute("href").rsplit("/", 1)[1])
    assert second != first
    assert page.evaluate("document.activeElement.getAttribute('href')") == f"/footage/{second}"
    assert page.locator("[data-bwv-upload-errors]").is_hidden()
    shot(page, "upload-05-stored-again", full_page=True)

    page.goto(f"/footage/{second}")
    assert page.locator(f'.govuk-inset-text a[href="/footage/{first}"]').is_visible()
    # Only the refusal's 409 was an error to the browser.
    assert [m for m in live_server.messages if "409 (Conflict)" not in m] == [], live_server.messages
