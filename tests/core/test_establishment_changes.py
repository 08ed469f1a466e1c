"""Administrators correct an establishment's name or kind, over the API and on its page; the code never
changes; the change is audited with what it replaced; bad input and other roles change nothing."""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.establishment.models import Establishment
from tests.support import browser_sign_in, form_on_page, make_client


def _est(session, est_id: int) -> Establishment:  # type: ignore[no-untyped-def]
    session.expire_all()
    est = session.get(Establishment, est_id)
    assert est is not None
    return est


def _changes(session, est_id: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    q = select(AuditEvent).where(AuditEvent.action == "establishment_update", AuditEvent.object_id == str(est_id))
    return [e.detail for e in session.exec(q.order_by(AuditEvent.id))]


def test_api_renames_and_re_roles_an_establishment(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    admin = as_user("admin")
    before = _est(session, world.est_b)
    code, old_name = before.code, before.name
    r = admin.patch(f"/api/v1/establishments/{world.est_b}", json={"name": "HMP Renamed", "kind": "court_custody"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["kind"], r.json()["code"]) == ("HMP Renamed", "court_custody", code)
    assert _changes(session, world.est_b) == [
        {"code": code, "name": [old_name, "HMP Renamed"], "kind": ["prison", "court_custody"]}
    ]
    # The same values again change nothing and add no entry.
    assert admin.patch(f"/api/v1/establishments/{world.est_b}", json={"name": "HMP Renamed"}).status_code == 200
    assert len(_changes(session, world.est_b)) == 1

    for body in ({}, {"name": " x "}, {"kind": "castle"}, {"code": "NEW"}, {"name": "y" * 121}):
        assert admin.patch(f"/api/v1/establishments/{world.est_b}", json=body).status_code == 422, body
    assert admin.patch("/api/v1/establishments/999999", json={"name": "Nowhere"}).status_code == 404
    assert admin.patch("/api/v1/establishments/99999999999", json={"name": "Nowhere"}).status_code == 404
    for user in ("coordinator.b", "governor.b", "officer.b1"):
        assert as_user(user).patch(f"/api/v1/establishments/{world.est_b}", json={"name": "Mine"}).status_code == 403
    est = _est(session, world.est_b)
    assert (est.name, est.kind, est.code) == ("HMP Renamed", "court_custody", code)


def test_the_page_changes_the_name_and_shows_errors(world, app, session) -> None:  # type: ignore[no-untyped-def]
    admin = make_client(app)
    browser_sign_in(admin, "admin")
    assert f'href="/admin/establishments/{world.est_a}"' in admin.get("/admin/establishments").text
    page = admin.get(f"/admin/establishments/{world.est_a}")
    assert page.status_code == 200
    form = form_on_page(page.text, f"/admin/establishments/{world.est_a}")
    assert admin.post(f"/admin/establishments/{world.est_a}", data={**form, "csrf_token": "forged"}).status_code == 403
    r = admin.post(f"/admin/establishments/{world.est_a}", data={**form, "name": "", "kind": "castle"})
    assert r.status_code == 422 and "Enter the establishment" in r.text and "Choose the kind" in r.text
    assert 'value="prison" selected' in page.text, "the kind it has is chosen"
    r = admin.post(f"/admin/establishments/{world.est_a}", data={**form, "name": "HMP New Name", "kind": "prison"})
    assert r.status_code == 303 and r.headers["location"] == f"/admin/establishments/{world.est_a}?done=1"
    assert "Saved." in admin.get(r.headers["location"]).text
    assert _est(session, world.est_a).name == "HMP New Name"
    assert [list(d) for d in _changes(session, world.est_a)] == [["code", "name"]]
    assert admin.get("/admin/establishments/999999").status_code == 404
    coordinator = make_client(app)
    browser_sign_in(coordinator, "coordinator.a")
    assert coordinator.get(f"/admin/establishments/{world.est_a}").status_code == 403


def test_two_establishments_cannot_share_a_name(world, app, as_user, session) -> None:  # type: ignore[no-untyped-def]
    """The lists, the reports' choices and the side-by-side columns name establishments by name."""
    alpha = _est(session, world.est_a).name
    admin_api = as_user("admin")
    r = admin_api.patch(f"/api/v1/establishments/{world.est_b}", json={"name": f" {alpha.upper()} "})
    assert r.status_code == 409 and "already called" in r.text
    r = admin_api.post("/api/v1/establishments", json={"code": "CCC", "name": alpha.lower(), "kind": "prison"})
    assert r.status_code == 409 and "already called" in r.text
    r = admin_api.post("/api/v1/establishments", json={"code": "DDD", "name": "  HMP   Delta ", "kind": "prison"})
    assert r.status_code == 201 and r.json()["name"] == "HMP Delta", "stored as people see it"
    r = admin_api.post("/api/v1/establishments", json={"code": "EEE", "name": "hmp delta", "kind": "prison"})
    assert r.status_code == 409
    r = admin_api.post("/api/v1/establishments", json={"code": "FFF", "name": "HMP Åland", "kind": "prison"})
    assert r.status_code == 201
    r = admin_api.post("/api/v1/establishments", json={"code": "GGG", "name": "HMP ÅLAND", "kind": "prison"})
    assert r.status_code == 409, "beyond ASCII too, on SQLite as on PostgreSQL"
    # Its own name again (in another case) is no clash.
    assert admin_api.patch(f"/api/v1/establishments/{world.est_a}", json={"name": alpha.upper()}).status_code == 200

    admin = make_client(app)
    browser_sign_in(admin, "admin")
    form = form_on_page(admin.get(f"/admin/establishments/{world.est_b}").text, f"/admin/establishments/{world.est_b}")
    r = admin.post(f"/admin/establishments/{world.est_b}", data={**form, "name": alpha})
    assert r.status_code == 422 and "is already called" in r.text and "There is a problem" in r.text
    form = form_on_page(admin.get("/admin/establishments").text, "/admin/establishments")
    r = admin.post("/admin/establishments", data={**form, "code": "CCC", "name": alpha, "kind": "prison"})
    assert r.status_code in (400, 422) and "is already called" in r.text
    assert 'name="name"' in r.text and f'value="{alpha}"' in r.text, "what was typed is kept"
    assert _est(session, world.est_b).name != alpha
    assert session.exec(select(Establishment).where(Establishment.code == "CCC")).first() is None
