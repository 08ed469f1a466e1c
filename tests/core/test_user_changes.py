"""Administrators turn a user's sign-in off (a leaver) and on again, and give a user a new password, over the
API and on the user's page. Turning off and a new password end the user's sessions and tokens at once; the
change is audited without the password; an administrator cannot turn off their own sign-in; other roles are
refused; bad input changes nothing."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User
from tests.support import PASSWORD, api_token, browser_sign_in, form_on_page, make_client

NEW_PASSWORD = "a-new-long-password-2026"  # noqa: S105


def _changes(session, user_id: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    session.expire_all()
    q = select(AuditEvent).where(AuditEvent.action == "user_update", AuditEvent.object_id == user_id)
    return [e.detail for e in session.exec(q.order_by(AuditEvent.id))]


def _user(session, user_id: int) -> User:  # type: ignore[no-untyped-def]
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


def test_turning_off_a_sign_in_ends_its_tokens_and_turning_on_lets_them_back(world, as_user, client, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    uid = world.users["coordinator_a"]
    officer_client = make_client(client.app)
    officer_client.headers.update(api_token(officer_client, "coordinator.a"))
    assert officer_client.get("/api/v1/me").status_code == 200

    r = admin.patch(f"/api/v1/users/{uid}", json={"active": False})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False
    assert officer_client.get("/api/v1/me").status_code == 401, "the token outlived the sign-in"
    sign_in = {"username": "coordinator.a", "password": PASSWORD}
    assert officer_client.post("/api/v1/auth/token", data=sign_in).status_code == 401
    assert _changes(session, uid) == [{"username": "coordinator.a", "active": False, "sessions_ended": 1}]

    assert admin.patch(f"/api/v1/users/{uid}", json={"active": True}).status_code == 200
    assert _user(session, uid).active is True
    assert make_client(client.app).post("/api/v1/auth/token", data=sign_in).status_code == 200
    assert officer_client.get("/api/v1/me").status_code == 401, "an ended token came back to life"


def test_a_new_password_ends_the_old_sessions_and_is_not_audited(world, as_user, client, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    uid = world.users["governor_b"]
    old = make_client(client.app)
    old.headers.update(api_token(old, "governor.b"))
    r = admin.patch(f"/api/v1/users/{uid}", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert old.get("/api/v1/me").status_code == 401
    fresh = make_client(client.app)
    token = "/api/v1/auth/token"
    assert fresh.post(token, data={"username": "governor.b", "password": PASSWORD}).status_code == 401
    assert fresh.post(token, data={"username": "governor.b", "password": NEW_PASSWORD}).status_code == 200
    (detail,) = _changes(session, uid)
    assert detail == {"username": "governor.b", "password": "changed", "sessions_ended": 1}
    assert NEW_PASSWORD not in str(detail)


def test_refusals_change_nothing(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    me, other = world.users["admin"], world.users["coordinator_b"]
    r = admin.patch(f"/api/v1/users/{me}", json={"active": False})
    assert r.status_code == 409 and "your own sign-in" in r.json()["detail"], r.text
    assert _user(session, me).active is True
    before = _user(session, other).password_hash
    for body, code in (
        ({"password": "short"}, 422),
        ({}, 422),
        ({"active": "perhaps"}, 422),
        ({"active": False, "role": "admin"}, 422),  # only the two changes; the role is not one of them
    ):
        r = admin.patch(f"/api/v1/users/{other}", json=body)
        assert r.status_code == code, (body, r.text)
    assert admin.patch("/api/v1/users/999999", json={"active": False}).status_code == 404
    assert admin.patch("/api/v1/users/99999999999", json={"active": False}).status_code == 404
    user = _user(session, other)
    assert (user.active, user.password_hash, user.role) == (True, before, "coordinator")
    assert _changes(session, other) == []
    for role in ("coordinator.a", "governor.a", "officer.a1"):
        r = as_user(role).patch(f"/api/v1/users/{other}", json={"active": False})
        assert r.status_code == 403, (role, r.text)
    assert _user(session, other).active is True


def test_admin_pages_turn_a_sign_in_off_and_set_a_password(world, app, session) -> None:  # type: ignore[no-untyped-def]
    uid = world.users["staff_a1"]
    browser = make_client(app)
    browser_sign_in(browser, "officer.a1")
    admin = make_client(app)
    browser_sign_in(admin, "admin")
    assert f'href="/admin/users/{uid}"' in admin.get("/admin/users").text
    page = admin.get(f"/admin/users/{uid}")
    assert page.status_code == 200 and "User officer.a1" in page.text
    form = form_on_page(page.text, f"/admin/users/{uid}/active")
    assert form["active"] == "0"
    assert admin.post(f"/admin/users/{uid}/active", data={"active": "0"}).status_code == 403, "no CSRF token"
    r = admin.post(f"/admin/users/{uid}/active", data=form)
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{uid}?done=deactivated"
    assert "Sign-in turned off." in admin.get(r.headers["location"]).text
    assert _user(session, uid).active is False
    assert browser.get("/").status_code in (303, 401), "the officer's browser session outlived the change"

    page = admin.get(f"/admin/users/{uid}")
    form = form_on_page(page.text, f"/admin/users/{uid}/password")
    r = admin.post(f"/admin/users/{uid}/password", data={**form, "password": "too-short"})
    assert r.status_code == 422 and "at least 12 characters" in r.text and "There is a problem" in r.text
    r = admin.post(f"/admin/users/{uid}/password", data={**form, "password": NEW_PASSWORD})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/users/{uid}?done=password"
    form = form_on_page(admin.get(f"/admin/users/{uid}").text, f"/admin/users/{uid}/active")
    assert form["active"] == "1"
    assert admin.post(f"/admin/users/{uid}/active", data=form).status_code == 303
    browser_sign_in(make_client(app), "officer.a1", NEW_PASSWORD)
    assert [d.get("active", d.get("password")) for d in _changes(session, uid)] == [False, "changed", True]

    own = admin.get(f"/admin/users/{world.users['admin']}")
    assert "You cannot turn off your own sign-in" in own.text
    assert f'action="/admin/users/{world.users["admin"]}/active"' not in own.text
    assert admin.get("/admin/users/999999").status_code == 404
    coordinator = make_client(app)
    browser_sign_in(coordinator, "coordinator.a")
    assert coordinator.get(f"/admin/users/{uid}").status_code == 403


def _postgres_only(engine) -> None:  # type: ignore[no-untyped-def]
    import pytest

    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite takes the write lock for every transaction: no race to lose there")


def test_two_administrators_turning_each_other_off_leave_one(engine, world, as_user, session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Both requests pass their sign-in and role checks, then change at once: the second to get the rows'
    lock finds its own sign-in turned off and is refused. Before the lock, both were turned off (no one left)."""
    import threading

    import app.establishment.api as api

    _postgres_only(engine)
    admin = as_user("admin")
    r = admin.post("/api/v1/users", json={"username": "admin2", "display_name": "Admin Two", "role": "admin",
                                          "establishment_id": None, "password": PASSWORD})  # fmt: skip
    assert r.status_code == 201, r.text
    first, second = world.users["admin"], r.json()["id"]
    admin2 = as_user("admin2")
    real, together = api.set_user_active, threading.Barrier(2, timeout=10)

    def at_once(*args, **kwargs):  # type: ignore[no-untyped-def]
        together.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "set_user_active", at_once)
    out: dict[int, int] = {}

    def turn_off(n: int, client, uid: int) -> None:  # type: ignore[no-untyped-def]
        out[n] = client.patch(f"/api/v1/users/{uid}", json={"active": False}).status_code

    runs = [threading.Thread(target=turn_off, args=(1, admin, second)),
            threading.Thread(target=turn_off, args=(2, admin2, first))]  # fmt: skip
    for t in runs:
        t.start()
    for t in runs:
        t.join(20)
    assert sorted(out.values()) == [200, 409], out
    assert sum(_user(session, uid).active for uid in (first, second)) == 1
    denied = [d for d in _changes(session, first) + _changes(session, second) if "why" in d]
    assert len(denied) == 1 and "turned off" in denied[0]["why"], denied


def test_a_sign_in_under_way_loses_to_a_new_password(engine, world, app, as_user, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The sign-in checked the old password; the administrator's new password lands before its session is
    written: the sign-in is refused. Before, it got a token that outlived the new password."""
    import threading

    import app.auth.service as auth

    _postgres_only(engine)
    admin = as_user("admin")
    real, checked, go = auth.verify_password, threading.Event(), threading.Event()

    def slow(stored, given):  # type: ignore[no-untyped-def]
        ok = real(stored, given)
        checked.set()
        go.wait(10)
        return ok

    monkeypatch.setattr(auth, "verify_password", slow)
    out = {}
    sign_in = {"username": "governor.b", "password": PASSWORD}
    t = threading.Thread(target=lambda: out.__setitem__("r", make_client(app).post("/api/v1/auth/token", data=sign_in)))
    t.start()
    assert checked.wait(10)
    assert admin.patch(f"/api/v1/users/{world.users['governor_b']}", json={"password": NEW_PASSWORD}).status_code == 200
    go.set()
    t.join(20)
    assert out["r"].status_code == 401, out["r"].text


def test_own_password_keeps_the_session_making_the_change(world, app, as_user) -> None:  # type: ignore[no-untyped-def]
    me = world.users["admin"]
    other_token = make_client(app)
    other_token.headers.update(api_token(other_token, "admin"))
    browser = make_client(app)
    browser_sign_in(browser, "admin")
    form = form_on_page(browser.get(f"/admin/users/{me}").text, f"/admin/users/{me}/password")
    r = browser.post(f"/admin/users/{me}/password", data={**form, "password": NEW_PASSWORD})
    assert r.status_code == 303
    page = browser.get(r.headers["location"])
    assert page.status_code == 200 and "Password changed" in page.text, "signed out by their own change"
    assert other_token.get("/api/v1/me").status_code == 401, "their other sessions should end"
    api = make_client(app)
    api.headers.update(api_token(api, "admin", NEW_PASSWORD))
    assert api.patch(f"/api/v1/users/{me}", json={"password": PASSWORD}).status_code == 200
    assert api.get("/api/v1/me").status_code == 200
    assert browser.get("/").status_code in (303, 401)


def test_the_page_takes_only_0_or_1(world, app, session) -> None:  # type: ignore[no-untyped-def]
    uid = world.users["staff_a1"]
    admin = make_client(app)
    browser_sign_in(admin, "admin")
    form = form_on_page(admin.get(f"/admin/users/{uid}").text, f"/admin/users/{uid}/active")
    for value in ("yes", "", "2"):
        assert admin.post(f"/admin/users/{uid}/active", data={**form, "active": value}).status_code == 422
    assert _user(session, uid).active is True


WEAK = {
    " " * 12: "cannot be only spaces",
    "aaaaaaaaaaaa": "repeats a few characters",
    "abababababab": "repeats a few characters",
    "Password1234": "most common passwords",
    "qwerty 123456": "most common passwords",
}


def test_weak_passwords_are_refused_everywhere_a_password_is_set(world, app, as_user, session) -> None:  # type: ignore[no-untyped-def]
    from app.auth.models import password_problem

    assert password_problem("three random words") is None
    assert password_problem("my-officer.a1-password", "officer.a1") == "must not contain the username"
    uid = world.users["staff_a1"]
    before = _user(session, uid).password_hash
    admin_api = as_user("admin")
    admin = make_client(app)
    browser_sign_in(admin, "admin")
    for weak, why in WEAK.items():
        r = admin_api.patch(f"/api/v1/users/{uid}", json={"password": weak})
        assert r.status_code == 422 and why in r.text, (weak, r.text)
        form = form_on_page(admin.get(f"/admin/users/{uid}").text, f"/admin/users/{uid}/password")
        r = admin.post(f"/admin/users/{uid}/password", data={**form, "password": weak})
        assert r.status_code == 422 and why in r.text and "There is a problem" in r.text, weak
        new_user = {"username": "new.person", "display_name": "New Person", "role": "governor",
                    "establishment_id": world.est_a, "password": weak}  # fmt: skip
        r = admin_api.post("/api/v1/users", json=new_user)
        assert r.status_code == 422 and why in r.text, (weak, r.text)
    r = admin_api.patch(f"/api/v1/users/{uid}", json={"password": "officer.a1-is-my-password"})
    assert r.status_code == 422 and "must not contain the username" in r.text, "bad input, as the others"
    assert _user(session, uid).password_hash == before
    assert session.exec(select(User).where(User.username == "new.person")).first() is None
    r = admin_api.post("/api/v1/users", json={**new_user, "password": "new.person-2026-pass"})
    assert r.status_code == 422 and "must not contain the username" in r.text
