"""The Officers and cameras page: a coordinator adds their establishment's officers and cameras, and an
administrator any establishment's, so a new establishment is set up from the pages alone (the walk-through
of 27 Nov 2026 found only the API could). Problems are shown against their fields; everything is audited."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.audit.models import AuditEvent
from app.establishment.models import Camera
from app.staff.models import StaffMember
from tests.support import browser_sign_in, form_on_page, make_client


def _add(client: Any, what: str, query: str = "", **fields: str) -> Any:
    page = client.get(f"/staff-and-cameras{query}").text
    action = f"/staff-and-cameras/{what}{query}"
    return client.post(action, data={**form_on_page(page, action), **fields})


def test_coordinator_adds_an_officer_and_a_camera(client: Any, session: Any, world: Any) -> None:
    browser_sign_in(client, "coordinator.a")
    page = client.get("/staff-and-cameras")
    assert page.status_code == 200 and "HMP Alpha" in page.text and "A001" in page.text and "CAM-A1" in page.text
    assert "B001" not in page.text and "officer.a1" in page.text  # their sign-in is shown
    r = _add(client, "officers", staff_number="A010", name="Jo Bloggs")
    assert r.status_code == 303
    after = client.get(r.headers["location"]).text
    assert "Officer Jo Bloggs (A010) added." in after and "No sign-in" in after
    r = _add(client, "cameras", serial="BWV-0099", label="Rack 3")
    assert "Camera BWV-0099 added." in client.get(r.headers["location"]).text
    officer = session.exec(select(StaffMember).where(StaffMember.staff_number == "A010")).one()
    camera = session.exec(select(Camera).where(Camera.serial == "BWV-0099")).one()
    assert officer.establishment_id == camera.establishment_id == world.est_a and camera.label == "Rack 3"
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert {"staff_list_view", "staff_create", "camera_create"} <= set(actions)


def test_problems_are_shown_against_their_fields_and_nothing_is_added(client: Any, session: Any, world: Any) -> None:
    browser_sign_in(client, "coordinator.a")
    before = len(session.exec(select(StaffMember)).all())
    r = _add(client, "officers", staff_number="A001", name="")
    assert r.status_code == 400
    assert '<a href="#staff_number">Staff number A001 is already used here</a>' in r.text
    assert '<a href="#name">Enter the officer&#39;s name</a>' in r.text
    r = _add(client, "officers", staff_number="A 1!", name="x" * 121)
    assert "up to 32 letters, digits and dashes" in r.text and "120 characters or fewer (it has 121)" in r.text
    assert 'value="A 1!"' in r.text  # what was typed is kept
    r = _add(client, "cameras", serial="CAM-A1", label="")
    assert r.status_code == 400 and "Camera CAM-A1 is already registered here" in r.text
    assert len(session.exec(select(StaffMember)).all()) == before


def test_an_administrator_chooses_the_establishment(client: Any, session: Any, world: Any) -> None:
    browser_sign_in(client, "admin")
    choose = client.get("/staff-and-cameras").text
    assert "/staff-and-cameras?establishment=BBB" in choose and "HMP Bravo" in choose
    r = _add(client, "officers", "?establishment=BBB", staff_number="B010", name="New At Bravo")
    assert r.status_code == 303 and "establishment=BBB" in r.headers["location"]
    officer = session.exec(select(StaffMember).where(StaffMember.staff_number == "B010")).one()
    assert officer.establishment_id == world.est_b
    assert client.get("/staff-and-cameras?establishment=NOPE").status_code == 404


def test_other_roles_cannot_open_it(app: Any, world: Any) -> None:
    for username in ("governor.a", "officer.a1"):
        client = make_client(app)
        browser_sign_in(client, username)
        assert client.get("/staff-and-cameras").status_code == 403
