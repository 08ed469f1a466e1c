"""Creating users, staff members and cameras through the API and the admin form: the allowed role gets a record
that works (a new user signs in), other roles are refused, and a staff user's officer must belong to the user's
own establishment. Every refusal leaves no row behind."""

from __future__ import annotations

import re

from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.establishment.models import Camera
from app.staff.models import StaffMember
from tests.support import api_token, browser_sign_in, new_officer

NEW_PASSWORD = "another-long-password-2026"  # noqa: S105


def _user(session, username: str) -> User | None:  # type: ignore[no-untyped-def]
    return session.exec(select(User).where(User.username == username)).first()


def _audited(session, action: str, object_id: int) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action, AuditEvent.object_id == object_id)))


# ---------------------------------------------------------------- POST /api/v1/users
def test_admin_creates_users_over_the_api_and_they_sign_in(world, as_user, client, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    r = admin.post("/api/v1/users", json={"username": "coord.new", "display_name": "New Coordinator",
                                          "role": "coordinator", "establishment_id": world.est_b,
                                          "password": NEW_PASSWORD})  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["username"], body["role"], body["establishment_id"], body["active"]) == (
        "coord.new", "coordinator", world.est_b, True
    )  # fmt: skip
    assert "password" not in body and "password_hash" not in body
    assert [e.actor_username for e in _audited(session, "user_create", body["id"])] == ["admin"]

    me = client.get("/api/v1/me", headers=api_token(client, "coord.new", NEW_PASSWORD))
    assert me.status_code == 200 and me.json()["establishment_id"] == world.est_b

    body = {"username": "officer.new", "display_name": "Officer New", "role": "staff", "establishment_id": world.est_a,
            "staff_member_id": world.staff["a2"], "password": NEW_PASSWORD}  # fmt: skip
    # Officer a2 has a sign-in already (officer.a2): a second would be another way into their feedback.
    r = admin.post("/api/v1/users", json=body)
    assert r.status_code == 422 and "already has a sign-in (officer.a2)" in r.text, r.text
    assert _user(session, "officer.new") is None
    a3 = new_officer(world.est_a, "A003")
    r = admin.post("/api/v1/users", json={**body, "staff_member_id": a3})
    assert r.status_code == 201, r.text
    assert r.json()["staff_member_id"] == a3
    staff_client = client
    staff_client.headers.update(api_token(client, "officer.new", NEW_PASSWORD))
    assert staff_client.get("/api/v1/me").json()["role"] == "staff"


def test_staff_user_must_be_an_officer_of_their_own_establishment(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    body = {"username": "officer.wrong", "display_name": "Wrong Place", "role": "staff", "password": NEW_PASSWORD,
            "establishment_id": world.est_a, "staff_member_id": world.staff["b1"]}  # fmt: skip
    r = admin.post("/api/v1/users", json=body)
    assert r.status_code == 422, r.text
    assert "establishment" in r.json()["detail"]
    assert _user(session, "officer.wrong") is None, "the refused user was kept"
    # No staff member at all is refused; so is an unknown one: bad input (422), checked by `create_user` before
    # the database's foreign key would answer a 409 "conflict" (as it did before).
    r = admin.post("/api/v1/users", json={**body, "staff_member_id": None})
    assert r.status_code == 422, r.text
    r = admin.post("/api/v1/users", json={**body, "staff_member_id": 999_999})
    assert r.status_code == 422, r.text
    assert "establishment" in r.json()["detail"]
    assert _user(session, "officer.wrong") is None


def test_user_api_refusals(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    body = {"username": "someone.new", "display_name": "Someone", "role": "coordinator",
            "establishment_id": world.est_a, "password": NEW_PASSWORD}  # fmt: skip
    for who in ("coordinator.a", "governor.a", "officer.a1"):
        assert as_user(who).post("/api/v1/users", json=body).status_code == 403, who
    admin = as_user("admin")
    assert admin.post("/api/v1/users", json={**body, "username": "coordinator.a"}).status_code == 409
    assert admin.post("/api/v1/users", json={**body, "username": "Not A Name!"}).status_code == 422
    assert admin.post("/api/v1/users", json={**body, "password": "short"}).status_code == 422
    assert admin.post("/api/v1/users", json={**body, "establishment_id": None}).status_code == 422
    assert admin.post("/api/v1/users", json={**body, "establishment_id": 999_999}).status_code == 422
    assert _user(session, "someone.new") is None
    assert _user(session, "not a name!") is None


# ---------------------------------------------------------------- POST /admin/users (the browser form)
def _admin_form(client) -> str:  # type: ignore[no-untyped-def]
    csrf = browser_sign_in(client, "admin")
    page = client.get("/admin/users")
    assert page.status_code == 200
    assert re.search(r'name="csrf_token" value="' + re.escape(csrf), page.text), "the form carries the CSRF token"
    return csrf


def test_admin_form_creates_a_user_who_can_sign_in(world, app, client, session) -> None:  # type: ignore[no-untyped-def]
    csrf = _admin_form(client)
    form = {"username": "Gov.New", "display_name": "New Governor", "role": "governor",
            "establishment_id": str(world.est_a), "staff_number": "", "password": NEW_PASSWORD}  # fmt: skip
    assert client.post("/admin/users", data=form).status_code == 403, "a form post without the CSRF token"
    assert client.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    assert _user(session, "gov.new") is None
    r = client.post("/admin/users", data={**form, "csrf_token": csrf})
    assert r.status_code == 303 and r.headers["location"] == "/admin/users?added=gov.new"
    user = _user(session, "gov.new")
    assert user is not None and (user.role, user.establishment_id) == ("governor", world.est_a)
    assert "User gov.new added." in client.get(r.headers["location"]).text  # a success banner
    assert "gov.new" in client.get("/admin/users").text and "User gov.new added." not in client.get("/admin/users").text
    assert [e.actor_username for e in _audited(session, "user_create", user.id)] == ["admin"]

    from tests.support import make_client

    other = make_client(app)
    browser_sign_in(other, "gov.new", NEW_PASSWORD)
    assert other.get("/").status_code == 200


def test_admin_form_staff_user_needs_an_officer_of_that_establishment(world, client, session) -> None:  # type: ignore[no-untyped-def]
    csrf = _admin_form(client)
    form = {"username": "officer.form", "display_name": "Officer Form", "role": "staff",
            "establishment_id": str(world.est_a), "staff_number": "B001", "password": NEW_PASSWORD,
            "csrf_token": csrf}  # fmt: skip
    r = client.post("/admin/users", data=form)
    assert r.status_code == 400
    assert "Enter the staff number of an officer at that establishment" in r.text
    assert _user(session, "officer.form") is None
    r = client.post("/admin/users", data={**form, "staff_number": "A001"})
    assert r.status_code == 400 and "That officer already has a sign-in: officer.a1" in r.text
    assert _user(session, "officer.form") is None
    a3 = new_officer(world.est_a, "A003")
    r = client.post("/admin/users", data={**form, "staff_number": "A003"})
    assert r.status_code == 303
    user = _user(session, "officer.form")
    assert user is not None and user.staff_member_id == a3


def test_admin_form_refusals_are_shown_and_change_nothing(world, client, session) -> None:  # type: ignore[no-untyped-def]
    csrf = _admin_form(client)
    base = {"username": "x.form", "display_name": "X", "role": "coordinator", "establishment_id": str(world.est_a),
            "staff_number": "", "password": NEW_PASSWORD, "csrf_token": csrf}  # fmt: skip
    cases = [
        ({"username": "bad name!"}, "letters, digits, dots, dashes or underscores"),
        ({"username": "coordinator.a"}, "That username is taken"),
        ({"password": "short"}, "at least 12 characters"),
        ({"role": "owner"}, "Choose a role"),
        ({"establishment_id": ""}, "Choose the establishment: every role except administrator belongs to one"),
    ]
    for change, message in cases:
        r = client.post("/admin/users", data={**base, **change})
        assert r.status_code == 400, change
        assert message in r.text, (change, r.text[:300])
    assert _user(session, "x.form") is None
    assert _user(session, "bad name!") is None
    # Every problem at once, in the order of the form's fields; text too long is explained, the form kept.
    r = client.post(
        "/admin/users",
        data={**base, "username": "", "display_name": "N" * 300, "role": "", "password": "short"},
    )
    assert r.status_code == 400
    summary = r.text.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    assert re.findall(r'<a href="#([^"]+)">', summary) == ["username", "display_name", "role", "password"]
    assert "The name must be 120 characters or fewer (it has 300)" in r.text and "N" * 300 in r.text
    page = client.get("/admin/users").text
    assert '<option value="coordinator">Use of force coordinator</option>' in page  # roles as people say them
    assert f'<option value="{world.est_a}">HMP Alpha' in page  # establishments by name


def test_admin_form_is_for_admins_only(world, client, session) -> None:  # type: ignore[no-untyped-def]
    csrf = browser_sign_in(client, "coordinator.a")
    form = {"username": "sneaky", "display_name": "S", "role": "admin", "establishment_id": "",
            "staff_number": "", "password": NEW_PASSWORD, "csrf_token": csrf}  # fmt: skip
    assert client.post("/admin/users", data=form).status_code == 403
    assert _user(session, "sneaky") is None


# ---------------------------------------------------------------- POST /api/v1/staff and /api/v1/cameras
def test_coordinator_adds_staff_and_cameras_to_their_own_establishment(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    coord = as_user("coordinator.a")
    r = coord.post("/api/v1/staff", json={"staff_number": "A900", "name": "Officer Nine"})
    assert r.status_code == 201, r.text
    assert (r.json()["establishment_id"], r.json()["active"]) == (world.est_a, True)
    sm = session.get(StaffMember, r.json()["id"])
    assert sm is not None and (sm.staff_number, sm.establishment_id) == ("A900", world.est_a)
    assert [e.actor_username for e in _audited(session, "staff_create", sm.id)] == ["coordinator.a"]
    assert "A900" in [s["staff_number"] for s in coord.get("/api/v1/staff").json()]

    r = coord.post("/api/v1/cameras", json={"serial": "CAM-A900", "label": "Wing C"})
    assert r.status_code == 201, r.text
    cam = session.get(Camera, r.json()["id"])
    assert cam is not None and (cam.serial, cam.establishment_id, cam.label) == ("CAM-A900", world.est_a, "Wing C")
    assert [e.actor_username for e in _audited(session, "camera_create", cam.id)] == ["coordinator.a"]
    assert "CAM-A900" in [c["serial"] for c in coord.get("/api/v1/cameras").json()]

    # The same staff number and serial are fine at another establishment, but not twice at one.
    assert coord.post("/api/v1/staff", json={"staff_number": "A900", "name": "Again"}).status_code == 409
    assert coord.post("/api/v1/cameras", json={"serial": "CAM-A900"}).status_code == 409
    assert as_user("coordinator.b").post("/api/v1/staff", json={"staff_number": "A900", "name": "B"}).status_code == 201


def test_staff_and_cameras_refusals(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    coord = as_user("coordinator.a")
    # Another establishment's id answers 404, as for any record there.
    r = coord.post(f"/api/v1/staff?establishment_id={world.est_b}", json={"staff_number": "X1", "name": "X"})
    assert r.status_code == 404
    r = coord.post(f"/api/v1/cameras?establishment_id={world.est_b}", json={"serial": "CAM-X1"})
    assert r.status_code == 404
    for who in ("governor.a", "officer.a1"):
        assert as_user(who).post("/api/v1/staff", json={"staff_number": "X2", "name": "X"}).status_code == 403, who
        assert as_user(who).post("/api/v1/cameras", json={"serial": "CAM-X2"}).status_code == 403, who
    assert coord.post("/api/v1/staff", json={"staff_number": "A 1/../", "name": "X"}).status_code == 422
    assert coord.post("/api/v1/staff", json={"staff_number": "X3", "name": ""}).status_code == 422
    assert coord.post("/api/v1/cameras", json={"serial": ""}).status_code == 422
    assert session.exec(select(StaffMember).where(StaffMember.staff_number.startswith("X"))).all() == []  # type: ignore[attr-defined]
    assert session.exec(select(Camera).where(Camera.serial.startswith("CAM-X"))).all() == []  # type: ignore[attr-defined]


def test_admin_adds_staff_and_cameras_to_a_named_establishment(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    assert admin.post("/api/v1/staff", json={"staff_number": "B900", "name": "N"}).status_code == 422  # which one?
    r = admin.post(f"/api/v1/staff?establishment_id={world.est_b}", json={"staff_number": "B900", "name": "N"})
    assert r.status_code == 201 and r.json()["establishment_id"] == world.est_b
    r = admin.post(f"/api/v1/cameras?establishment_id={world.est_b}", json={"serial": "CAM-B900"})
    assert r.status_code == 201 and r.json()["establishment_id"] == world.est_b
    assert admin.post("/api/v1/cameras?establishment_id=999999", json={"serial": "CAM-Z"}).status_code == 404


def test_an_administrator_is_given_no_establishment(world, client, as_user, session) -> None:  # type: ignore[no-untyped-def]
    """The form offers "None (administrators only)"; an administrator with an establishment was accepted."""
    csrf = _admin_form(client)
    form = {"username": "admin.two", "display_name": "Second Admin", "role": "admin", "csrf_token": csrf,
            "establishment_id": str(world.est_a), "staff_number": "", "password": NEW_PASSWORD}  # fmt: skip
    r = client.post("/admin/users", data=form)
    assert r.status_code == 400 and "Choose None: administrators work across every establishment" in r.text
    body = {"username": "admin.two", "display_name": "Second Admin", "role": "admin",
            "establishment_id": world.est_a, "password": NEW_PASSWORD}  # fmt: skip
    r = as_user("admin").post("/api/v1/users", json=body)
    assert r.status_code == 422 and "give no establishment" in r.text
    assert _user(session, "admin.two") is None
    assert client.post("/admin/users", data={**form, "establishment_id": ""}).status_code == 303
