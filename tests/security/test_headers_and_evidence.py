"""Security headers on every page and answer, and the record of who consulted or disclosed evidence, when and why
(DPA 2018 Part 3, s.62 logging).

The pages are every GET route of the app (from its routes, with real record ids), fetched signed in and
signed out.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.security.conftest import Estate, all_routes
from tests.security.test_object_access import _url

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)

SKIP = ("/api/docs", "/docs/oauth2-redirect")  # the API explorer (development only) runs its own inline script


@pytest.fixture(autouse=True)
def _break_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """BWV_TEST_NO_HEADERS=1 drops the security headers, to show that the test then fails."""
    import os

    if os.environ.get("BWV_TEST_NO_HEADERS") == "1":
        import app.core.http as http

        monkeypatch.setattr(http, "SECURITY_HEADERS", [])


def _get_routes(app: Any) -> list[str]:
    return [p for m, p, _ in all_routes(app) if m == "GET" and not p.startswith(SKIP)]


def _check_headers(r: Any) -> list[str]:
    h = r.headers
    problems = []
    csp = h.get("content-security-policy", "")
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src", directives.get("default-src", ""))
    if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        problems.append(f"script-src allows inline/eval: {script!r}")
    if "'unsafe-inline'" in directives.get("style-src", ""):
        problems.append("style-src allows inline")
    if directives.get("frame-ancestors") != "frame-ancestors 'none'":
        problems.append("frame-ancestors is not 'none'")
    if directives.get("object-src") != "object-src 'none'":
        problems.append("object-src is not 'none'")
    if h.get("x-content-type-options") != "nosniff":
        problems.append("no nosniff")
    if h.get("referrer-policy") not in ("same-origin", "no-referrer", "strict-origin-when-cross-origin"):
        problems.append(f"referrer-policy {h.get('referrer-policy')!r}")
    if "text/html" in h.get("content-type", ""):
        body = r.text
        inline = [s for s in re.findall(r"<script\b([^>]*)>(.*?)</script>", body, re.S | re.I) if "src=" not in s[0]]
        inline = [s for s in inline if "application/json" not in s[0] and s[1].strip()]
        if inline:
            problems.append(f"inline script: {inline[0][1][:80]!r}")
        if re.search(r"\son[a-z]+\s*=", body, re.I):
            problems.append("inline event handler attribute")
        if re.search(r"<[^>]+\sstyle\s*=", body, re.I):
            problems.append("inline style attribute")
    return problems


def test_every_page_and_answer_has_the_security_headers(app: Any, estate: Estate, as_user: Any, client: Any) -> None:
    """Seen failing with the headers off (BWV_TEST_NO_HEADERS=1): every route reported, from the first,
    "/api/openapi.json (coordinator, 200): script-src allows inline/eval: ''", frame-ancestors, nosniff, referrer."""
    problems = []
    for path in _get_routes(app):
        url = _url(path, estate.ids)
        for who, c in (("coordinator", as_user("coordinator.a")), ("signed out", client)):
            r = c.get(url, params={"reason": "Disclosure to the claims team"} if "download" in path else None)
            problems += [f"{path} ({who}, {r.status_code}): {p}" for p in _check_headers(r)]
    # Error pages too.
    r = as_user("coordinator.a").get("/no-such-page")
    problems += [f"404 page: {p}" for p in _check_headers(r)]
    assert not problems, problems


def _events(session: Any, action: str) -> list[Any]:
    return session.execute(
        sa.text("SELECT actor_username, at, reason, detail, object_id FROM audit_event WHERE action = :a"),
        {"a": action},
    ).all()


def test_viewing_from_the_review_screen_is_logged_with_review_as_its_purpose(
    estate: Estate, as_user: Any, session: Any
) -> None:
    fid = estate.ids["footage_id"]
    r = as_user("coordinator.a").get(f"/review/{fid}")
    assert r.status_code == 200
    (who, when, why, detail, obj) = _events(session, "footage_review_view")[-1]
    assert who == "coordinator.a" and when is not None and obj == str(fid)
    assert why == "review"


def test_playback_is_logged_once_per_viewing(estate: Estate, as_user: Any, session: Any) -> None:
    """The review screen's player (its viewing token) is logged once, with review as its purpose, however many
    range requests it makes; the same ranges without the token are logged one by one."""
    fid = estate.ids["footage_id"]
    c = as_user("coordinator.a")
    page = c.get(f"/review/{fid}").text
    src = re.search(r'data-bwv-video src="([^"]+)"', page)
    assert src, page
    before = len(_events(session, "footage_play"))
    for rng in ("bytes=0-99", "bytes=100-199", "bytes=200-299"):
        assert c.get(src.group(1).replace("&amp;", "&"), headers={"Range": rng}).status_code == 206
    plays = _events(session, "footage_play")
    assert len(plays) == before + 1
    detail = plays[-1][3] if isinstance(plays[-1][3], dict) else json.loads(plays[-1][3])
    assert detail["purpose"] == "review"
    for rng in ("bytes=0-99", "bytes=100-199", "bytes=200-299"):
        assert c.get(f"/api/v1/footage/{fid}/video", headers={"Range": rng}).status_code == 206
    assert len(_events(session, "footage_play")) == before + 4


def test_download_needs_a_reason_and_records_it(estate: Estate, as_user: Any, session: Any) -> None:
    fid = estate.ids["footage_id"]
    c = as_user("coordinator.a")
    for bad in ({}, {"reason": ""}, {"reason": "  "}):
        assert c.get(f"/api/v1/footage/{fid}/download", params=bad).status_code == 422
    assert _events(session, "footage_download") == []
    r = c.get(f"/api/v1/footage/{fid}/download", params={"reason": "Disclosure to the claims team, ref C-17"})
    assert r.status_code == 200 and r.headers["content-disposition"].startswith("attachment")
    (who, when, why, _detail, obj) = _events(session, "footage_download")[-1]
    assert (who, why, obj) == ("coordinator.a", "Disclosure to the claims team, ref C-17", str(fid))


def test_the_audit_trail_refuses_changes_and_the_chain_catches_them(engine: Any, estate: Estate, session: Any) -> None:
    """The database itself refuses UPDATE and DELETE on the audit table (trigger), so evidence of access cannot be
    tidied away through the application's own connection. (Edits made with the guard switched off are caught by
    the hash chain: tests/audit/test_audit_trail.py.)"""
    for stmt in ("UPDATE audit_event SET reason = 'nothing to see'", "DELETE FROM audit_event"):
        with pytest.raises(sa.exc.DatabaseError):
            with engine.begin() as conn:
                conn.execute(sa.text(stmt))
    from app.audit.service import verify_chain

    checked, problems = verify_chain(session)
    assert checked > 0 and problems == []
