"""Refusals decided past the role dependency are audited too: the governor adding staff or cameras, anyone but
an officer asking for their own feedback, and cookie writes refused for CSRF (wrong or missing token, another
site's Origin). Each leaves one entry naming who, what and where; nothing is changed.

Seen failing before the fix: the governor's and the coordinator's 403s came from inside the handlers
(`raise Forbidden`, `HTTPException(403)` in `staff_member_id`) and CSRF refusals were only logged, so each of
these tests found 0 entries where it expects 1.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import browser_sign_in


def _entries(session: Any, action: str) -> list[Any]:
    return list(
        session.execute(
            sa.text("SELECT actor_username, outcome, detail FROM audit_event WHERE action = :a ORDER BY id"),
            {"a": action},
        ).all()
    )


def _detail(raw: Any) -> dict[str, Any]:
    import json

    return raw if isinstance(raw, dict) else json.loads(raw)


def _count(session: Any, table: str) -> int:
    return int(session.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar())  # noqa: S608


@pytest.mark.parametrize(
    ("path", "body", "table"),
    [
        ("/api/v1/staff", {"staff_number": "A999", "name": "New Officer"}, "staff_member"),
        ("/api/v1/cameras", {"serial": "CAM-NEW"}, "camera"),
    ],
)
def test_a_governor_adding_staff_or_cameras_is_refused_and_audited(
    as_user: Any, session: Any, world: Any, path: str, body: dict[str, Any], table: str
) -> None:
    before = _count(session, table)
    r = as_user("governor.a").post(path, json=body)
    assert r.status_code == 403
    [(who, outcome, detail)] = _entries(session, "access_denied")
    assert (who, outcome) == ("governor.a", "denied")
    assert _detail(detail) == {"method": "POST", "path": path, "needs": ["coordinator", "admin"]}
    assert _count(session, table) == before
    assert as_user("coordinator.a").post(path, json=body).status_code == 201  # still open to coordinators


def test_an_admin_only_refusal_says_who_may(as_user: Any, session: Any, world: Any) -> None:
    """The entry names the roles that may (an admin-only page's named nobody: "needs:" and nothing after)."""
    assert as_user("governor.a").get("/api/v1/reports/compliance/compare").status_code == 403
    [(_who, _outcome, detail)] = _entries(session, "access_denied")
    assert _detail(detail)["needs"] == ["admin"]


@pytest.mark.parametrize("username", ["coordinator.a", "governor.a", "admin"])
def test_only_officers_have_feedback_and_other_users_are_refused_and_audited(
    as_user: Any, session: Any, world: Any, username: str
) -> None:
    c = as_user(username)
    assert c.get("/api/v1/my/feedback").status_code == 403
    r = c.post("/api/v1/ratings/1/acknowledgement", json={"reply": "not mine"})
    assert r.status_code == 403 and r.json()["detail"] == "Only officers have feedback of their own."
    paths = [(_detail(d)["method"], _detail(d)["path"], who) for who, _o, d in _entries(session, "access_denied")]
    assert paths == [
        ("GET", "/api/v1/my/feedback", username),
        ("POST", "/api/v1/ratings/1/acknowledgement", username),
    ]
    assert _count(session, "acknowledgement") == 0
    assert as_user("officer.a1").get("/api/v1/my/feedback").status_code == 200


def test_csrf_refusals_are_audited(client: Any, session: Any, world: Any) -> None:
    csrf = browser_sign_in(client, "coordinator.a")
    form = {"reference": "UOF-CSRF", "location": "A wing"}
    assert client.post("/incidents/new", data=form).status_code == 403  # no token
    assert client.post("/incidents/new", data={**form, "csrf_token": "forged"}).status_code == 403
    r = client.post("/api/v1/incidents", json={}, headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert r.status_code == 403
    refused = _entries(session, "csrf_refused")
    assert [(who, outcome) for who, outcome, _d in refused] == [("coordinator.a", "denied")] * 3
    details = [_detail(d) for _w, _o, d in refused]
    assert [(d["method"], d["path"]) for d in details] == [
        ("POST", "/incidents/new"),
        ("POST", "/incidents/new"),
        ("POST", "/api/v1/incidents"),
    ]
    assert details[2]["origin"] == "https://evil.example"
    assert _count(session, "incident") == 0


@pytest.mark.parametrize("kind", ["role", "csrf"])
def test_a_refusal_stands_when_its_audit_entry_cannot_be_written(
    client: Any, as_user: Any, world: Any, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """The database goes away between the sign-in check and the audit write: still a plain 403 (not a 500 or
    a 503 that hides the refusal), with a warning in the log. Seen failing (503) with the `except` in
    `app.core.deps.record_refusal` taken out."""
    import app.core.deps as deps

    def down(*_a: Any, **_k: Any) -> None:
        raise sa.exc.OperationalError("INSERT INTO audit_event", {}, Exception("server closed the connection"))

    if kind == "role":
        c = as_user("governor.a")
        monkeypatch.setattr(deps, "record_now", down)
        assert c.post("/api/v1/cameras", json={"serial": "CAM-X"}).status_code == 403
    else:
        browser_sign_in(client, "coordinator.a")
        monkeypatch.setattr(deps, "record_now", down)
        assert client.post("/incidents/new", data={"reference": "X"}).status_code == 403
