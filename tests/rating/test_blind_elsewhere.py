"""The first rating of a clip stays hidden from the coordinator who owes it a blind second rating on the
feedback, good-practice and calibration views too, and the review screen's "Saved:" line shows only the
viewer's own rating. (Each test here was seen failing: the review of 27 Nov 2026 found these.)"""

from __future__ import annotations

from typing import Any

from tests.rating.conftest import rating_body
from tests.support import PASSWORD, browser_sign_in, form_on_page, make_client


def _rate(c: Any, clip_id: int, rag: str) -> int:
    body = rating_body(rag)
    if rag != "green":
        body.update(guidance="Switch on earlier.", override_reason="Start of restraint missing")
    r = c.post(f"/api/v1/footage/{clip_id}/ratings", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _ask_blind(c1: Any, user_id: int, clip_id: int) -> int:
    r = c1.post("/api/v1/calibration", json={"assigned_to_user_id": user_id, "footage_ids": [clip_id]})
    assert r.status_code == 201, r.text
    return int(r.json()[0]["id"])


def _web(app: Any, username: str) -> Any:
    web = make_client(app)
    browser_sign_in(web, username)
    return web


def test_overdue_guidance_leaves_out_a_clip_owed_a_blind_rating(as_user, make_incident, make_clip, world) -> None:  # type: ignore[no-untyped-def]
    c1, c2 = as_user("coordinator.a"), as_user("coordinator2.a")
    clip = make_clip(make_incident(staff=("a1",)), "a1")
    _rate(c1, clip.id, "red")
    assert any(o["footage_id"] == clip.id for o in c1.get("/api/v1/feedback/overdue", params={"days": 0}).json())
    _ask_blind(c1, world.users["coordinator2_a"], clip.id)
    assert all(o["footage_id"] != clip.id for o in c2.get("/api/v1/feedback/overdue", params={"days": 0}).json())
    assert any(o["footage_id"] == clip.id for o in c1.get("/api/v1/feedback/overdue", params={"days": 0}).json())


def test_good_practice_leaves_out_a_clip_owed_a_blind_rating(as_user, make_incident, make_clip, world) -> None:  # type: ignore[no-untyped-def]
    c1, c2 = as_user("coordinator.a"), as_user("coordinator2.a")
    offered = make_clip(make_incident(staff=("a1",)), "a1")
    candidate = make_clip(make_incident(staff=("a2",)), "a2")
    for clip in (offered, candidate):
        _rate(c1, clip.id, "green")
    assert c1.put(f"/api/v1/footage/{offered.id}/good-practice", json={"good_practice": True}).status_code == 200
    for clip in (offered, candidate):
        _ask_blind(c1, world.users["coordinator2_a"], clip.id)

    assert all(e["footage_id"] != offered.id for e in c2.get("/api/v1/good-practice").json())
    assert any(e["footage_id"] == offered.id for e in c1.get("/api/v1/good-practice").json())
    web = _web(c2.app, "coordinator2.a")
    page = web.get("/feedback").text
    for clip in (offered, candidate):  # neither "Offered now" nor "Recently rated green"
        assert f"/good-practice/{clip.id}" not in page and f"/feedback/good-practice/{clip.id}" not in page
    assert f"/good-practice/{offered.id}" not in web.get("/good-practice").text
    assert web.get(f"/good-practice/{offered.id}").status_code == 404
    # Nor can they mark it: whether that works would tell them it is green.
    r = c2.put(f"/api/v1/footage/{candidate.id}/good-practice", json={"good_practice": True})
    assert r.status_code == 409 and "blind second rating" in r.json()["detail"]
    first = _web(c1.app, "coordinator.a").get("/feedback").text
    assert f"/feedback/good-practice/{candidate.id}" in first


def test_agreement_leaves_out_a_calibrated_clip_sent_to_a_third_coordinator(  # type: ignore[no-untyped-def]
    as_user, make_incident, make_clip, world
) -> None:
    admin = as_user("admin")
    r = admin.post(
        "/api/v1/users",
        json={
            "username": "coordinator3.a",
            "display_name": "Third Coordinator",
            "role": "coordinator",
            "establishment_id": world.est_a,
            "password": PASSWORD,
        },
    )
    assert r.status_code == 201, r.text
    third_id = int(r.json()["id"])
    c1, c3 = as_user("coordinator.a"), as_user("coordinator3.a")
    incident = make_incident(staff=("a1",))
    clip = make_clip(incident, "a1")
    _rate(c1, clip.id, "red")
    assignment = _ask_blind(c1, world.users["coordinator2_a"], clip.id)
    web2 = _web(c1.app, "coordinator2.a")
    shown = web2.get(f"/incidents/{incident.id}").text
    assert "Hidden until you give your blind rating" in shown, "hidden, not 'Not rated'"
    home = web2.get("/").text
    assert "Blind second ratings asked of you" in home and 'href="/calibration"' in home, "the home page says so"
    screen = web2.get(f"/calibration/{assignment}").text
    assert "the officer never sees a blind second rating" in screen and "reads this with their footage" not in screen
    assert "a different rating needs a reason" not in screen, "the blind screen asks for no reason"
    data = form_on_page(screen, f"/calibration/{assignment}")
    data.update(rag="green", criteria="switched_on_before_force")
    assert web2.post(f"/calibration/{assignment}", data=data).status_code == 303
    assert "Blind second ratings asked of you" not in web2.get("/").text, "given: no longer waiting"
    # The first and second disagree (red, green); now a third coordinator is asked about the same clip.
    assert any(d["footage_id"] == clip.id for d in c1.get("/api/v1/calibration/agreement").json()["disagreements"])
    _ask_blind(c1, third_id, clip.id)
    report = c3.get("/api/v1/calibration/agreement").json()
    assert all(d["footage_id"] != clip.id for d in report["disagreements"])
    assert any(d["footage_id"] == clip.id for d in c1.get("/api/v1/calibration/agreement").json()["disagreements"])
    assert "Disagreements for the monthly meeting (1)" in _web(c1.app, "coordinator.a").get("/calibration").text
    assert "Disagreements for the monthly meeting (0)" in _web(c1.app, "coordinator3.a").get("/calibration").text


def test_saved_line_shows_only_the_viewers_own_rating(as_user, make_incident, make_clip, world) -> None:  # type: ignore[no-untyped-def]
    c1 = as_user("coordinator.a")
    clip_a = make_clip(make_incident("a", staff=("a1",)), "a1")
    theirs = _rate(c1, clip_a.id, "red")
    own_clip = make_clip(make_incident("a", staff=("a2",)), "a2")
    web1 = _web(c1.app, "coordinator.a")
    assert "Saved: Red" in web1.get(f"/review/{own_clip.id}", params={"saved": theirs}).text
    # Another establishment's coordinator, putting that rating's id in the address of a clip of theirs.
    clip_b = make_clip(make_incident("b", staff=("b1",)), "b1")
    page = _web(c1.app, "coordinator.b").get(f"/review/{clip_b.id}", params={"saved": theirs})
    assert page.status_code == 200 and "Saved:" not in page.text
    # The blind second rater of that clip, on another clip of the same establishment.
    _ask_blind(c1, world.users["coordinator2_a"], clip_a.id)
    page = _web(c1.app, "coordinator2.a").get(f"/review/{own_clip.id}", params={"saved": theirs})
    assert page.status_code == 200 and "Saved:" not in page.text
