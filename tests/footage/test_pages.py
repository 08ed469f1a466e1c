"""Footage pages in the browser: list, upload, one clip (player, hold, links, download), suggestions, missing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident, LinkDismissal
from tests.footage.conftest import mp4_bytes, post_footage
from tests.support import browser_sign_in

pytestmark = pytest.mark.usefixtures("storage_root")


def _incident(c, ref: str = "UOF-7", staff=("A001", "A002"), ago: timedelta = timedelta(0)) -> int:  # type: ignore[no-untyped-def]
    """An incident about two hours ago (and `ago` earlier still) with `staff` involved."""
    now = utcnow() - ago
    r = c.post(
        "/api/v1/incidents",
        json={
            "reference": ref,
            "location": "Healthcare",
            "incident_started_at": (now - timedelta(hours=2, minutes=10)).isoformat(),
            "force_started_at": (now - timedelta(hours=2, minutes=5)).isoformat(),
            "force_ended_at": (now - timedelta(hours=2)).isoformat(),
            "incident_ended_at": (now - timedelta(hours=1, minutes=50)).isoformat(),
            "staff": [{"staff_number": n} for n in staff],
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_pages_end_to_end(client, as_user, session, world) -> None:
    api = as_user("coordinator.a")
    inc = _incident(api)
    fid = post_footage(api, mp4_bytes(50_000, seed=1), filename="CAM <i>1.mp4").json()["id"]
    csrf = browser_sign_in(client, "coordinator.a")

    listing = client.get("/footage")
    assert listing.status_code == 200
    assert (
        f'<a class="govuk-link" href="/footage/{fid}">CAM &lt;i&gt;1.mp4</a>' in listing.text
        and "Upload footage" in listing.text
    )
    assert client.get("/footage", params={"wearer": "A002"}).text.count("/footage/" + str(fid)) == 0
    assert client.get("/footage", params={"status": "queued", "since": "2020-01-01"}).status_code == 200
    assert client.get("/footage", params={"since": "1/1/2020", "until": "31/12/2099"}).text.count(f"/footage/{fid}")
    assert client.get("/footage", params={"until": "31/12/2019"}).text.count(f"/footage/{fid}") == 0
    assert client.get("/footage", params={"until": "31/12/9999"}).status_code == 400  # not a crash
    bad = client.get("/footage", params={"since": "12/31/2020"})  # month and day the American way round
    assert bad.status_code == 400 and "govuk-error-summary" in bad.text
    assert '<a href="#since">Enter a real date for Recorded from, for example 3/11/2026</a>' in bad.text
    assert 'value="12/31/2020"' in bad.text  # what was typed is kept

    up = client.get("/footage/upload")
    assert up.status_code == 200 and "data-bwv-upload" in up.text and "/static/upload.js" in up.text
    assert "CAM-A1" in up.text and "A001" in up.text and "UOF-7" in up.text

    page = client.get(f"/footage/{fid}")
    assert page.status_code == 200
    m = re.search(r'src="/api/v1/footage/\d+/video\?view=([A-Za-z0-9._-]+)"', page.text)
    assert m, page.text
    assert (
        client.get(f"/api/v1/footage/{fid}/video?view={m.group(1)}", headers={"Range": "bytes=0-"}).status_code == 206
    )
    assert 'name="reason"' in page.text and "Place legal hold" in page.text

    # Suggested footage on the incident page (htmx fragment) and accepting it.
    inc_page = client.get(f"/incidents/{inc}")
    assert f'hx-get="/incidents/{inc}/footage-suggestions"' in inc_page.text
    frag = client.get(f"/incidents/{inc}/footage-suggestions", headers={"HX-Request": "true"})
    assert frag.status_code == 200 and "Suggested footage" in frag.text
    assert f'<a class="govuk-link" href="/footage/{fid}">' in frag.text
    assert "No footage found for Officer a2" in frag.text
    assert "<html" not in frag.text
    assert "<html" in client.get(f"/incidents/{inc}/footage-suggestions").text
    r = client.post(f"/incidents/{inc}/footage-suggestions/{fid}/accept", data={"csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/incidents/{inc}")
    assert session.get(FootageIncident, (fid, inc)) is not None

    # Legal hold: reason required, then set and released.
    r = client.post(f"/footage/{fid}/legal-hold", data={"csrf_token": csrf, "action": "hold", "reason": "x"})
    # The GOV.UK pattern: the summary links to the field, the message is beside it, what was typed is kept.
    assert r.status_code == 400 and "govuk-error-summary" in r.text
    assert '<a href="#hold-reason">Give the reason for the legal hold, at least 3 characters</a>' in r.text
    assert 'id="hold-reason-error"' in r.text and re.search(r'id="hold-reason"[^>]*value="x"', r.text)
    r = client.post(f"/footage/{fid}/legal-hold", data={"csrf_token": csrf, "action": "hold", "reason": "Claim CC-1"})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Footage, fid).legal_hold is True  # type: ignore[union-attr]
    assert "Legal hold" in client.get(f"/footage/{fid}").text
    r = client.post(f"/footage/{fid}/legal-hold", data={"csrf_token": csrf, "action": "release", "reason": "Settled"})
    assert r.status_code == 303

    # Unlink with a reason, link again by hand from the footage page.
    r = client.post(f"/footage/{fid}/links/{inc}/remove", data={"csrf_token": csrf, "reason": ""})
    assert r.status_code == 400 and f'<a href="#unlink-reason-{inc}">Give the reason for removing the link' in r.text
    assert re.search(r"<details class=\"govuk-details\" open>\s*<summary[^>]*><span[^>]*>Remove link", r.text)
    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": ""})
    assert r.status_code == 400 and '<a href="#incident_id">Choose the incident to link this footage to</a>' in r.text
    r = client.post(f"/footage/{fid}/links/{inc}/remove", data={"csrf_token": csrf, "reason": "wrong incident"})
    assert r.status_code == 303
    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": str(inc)})
    assert r.status_code == 303
    assert session.get(FootageIncident, (fid, inc)) is not None

    # Without the CSRF token nothing changes.
    assert client.post(f"/footage/{fid}/legal-hold", data={"action": "hold", "reason": "xxxx"}).status_code == 403

    missing = client.get("/footage/missing")
    assert missing.status_code == 200 and "UOF-7" in missing.text and "Officer a2" in missing.text
    assert "/footage/upload?incident=UOF-7&amp;staff_number=A002" in missing.text
    pre = client.get("/footage/upload", params={"incident": "UOF-7", "staff_number": "A002"}).text
    assert '<option value="UOF-7" selected' in pre and '<option value="A002" selected' in pre
    actions = {e.action for e in session.exec(select(AuditEvent)).all()}
    assert {"footage_view", "footage_play", "footage_suggestion_accept", "footage_unlink", "footage_link"} <= actions


def test_dismiss_from_incident_page(client, as_user, session, world) -> None:
    api = as_user("coordinator.a")
    inc = _incident(api, staff=("A001",))
    fid = post_footage(api, mp4_bytes(20_000, seed=2)).json()["id"]
    csrf = browser_sign_in(client, "coordinator.a")
    r = client.post(f"/incidents/{inc}/footage-suggestions/{fid}/dismiss", data={"csrf_token": csrf})
    assert r.status_code == 303
    assert session.get(LinkDismissal, (fid, inc)) is not None
    frag = client.get(f"/incidents/{inc}/footage-suggestions", headers={"HX-Request": "true"})
    assert "No other footage overlaps" in frag.text


def test_retention_warning_and_integrity_banner(client, as_user, session, world) -> None:
    api = as_user("coordinator.a")
    fid = post_footage(api, mp4_bytes(20_000, seed=3)).json()["id"]
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        assert f is not None
        f.uploaded_at = utcnow() - timedelta(days=27)
        f.purge_due_at = utcnow() + timedelta(days=4)
        f.integrity_status = "mismatch"  # type: ignore[assignment]
        f.integrity_checked_at = utcnow()
        s.add(f)
    browser_sign_in(client, "coordinator.a")
    assert "Due for deletion on" in client.get("/footage").text
    page = client.get(f"/footage/{fid}").text
    assert "Due for deletion on" in page and "Integrity alert" in page


def test_governor_sees_pages_but_cannot_change(client, as_user, world) -> None:
    api = as_user("coordinator.a")
    fid = post_footage(api, mp4_bytes(20_000, seed=4)).json()["id"]
    browser_sign_in(client, "governor.a")
    assert client.get("/footage").status_code == 200
    page = client.get(f"/footage/{fid}")
    assert page.status_code == 200 and "Place legal hold" not in page.text and "Download original file" in page.text
    assert client.get("/footage/upload").status_code == 403


def test_staff_cannot_see_footage_pages(client, as_user, world) -> None:
    browser_sign_in(client, "officer.a1")
    assert client.get("/footage").status_code == 403


def test_linking_a_clip_far_from_the_incident_asks_first(client, as_user, session, world) -> None:  # type: ignore[no-untyped-def]
    """A walk-through linked a September clip to a November incident its wearer was not in, with no word; its
    red rating then counted for that incident. The page now says why it may be wrong and links only when the
    coordinator confirms that same incident; the audit entry keeps what they confirmed despite."""
    api = as_user("coordinator.a")
    far = _incident(api, "UOF-FAR", staff=("A002",), ago=timedelta(days=30))
    near = _incident(api, "UOF-NEAR", staff=("A001",))
    fid = post_footage(api, mp4_bytes(20_000, seed=9)).json()["id"]  # worn by A001, two hours ago
    csrf = browser_sign_in(client, "coordinator.a")

    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": str(far)})
    assert r.status_code == 200 and "Check this is the right incident" in r.text and "Link anyway" in r.text
    assert "not near the incident&#39;s times" in r.text and "is not recorded as involved in UOF-FAR" in r.text
    assert f'<option value="{far}" selected' in r.text and session.get(FootageIncident, (fid, far)) is None
    # A confirmation of another choice confirms nothing.
    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": str(far), "confirm": str(near)})
    assert r.status_code == 200 and session.get(FootageIncident, (fid, far)) is None
    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": str(far), "confirm": str(far)})
    assert r.status_code == 303 and session.get(FootageIncident, (fid, far)) is not None
    entry = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_link")).one()
    assert len(entry.detail["despite"]) == 2
    # Its own officer's incident, at its time: linked at once.
    r = client.post(f"/footage/{fid}/links", data={"csrf_token": csrf, "incident_id": str(near)})
    assert r.status_code == 303 and session.get(FootageIncident, (fid, near)) is not None
    # A program links at once; the entry keeps what the link was made despite.
    other = post_footage(api, mp4_bytes(20_000, seed=10)).json()["id"]
    assert api.put(f"/api/v1/incidents/{far}/footage/{other}").status_code == 200
    q = select(AuditEvent).where(AuditEvent.action == "footage_link", AuditEvent.object_id == str(other))
    assert len(session.exec(q).one().detail["despite"]) == 2
