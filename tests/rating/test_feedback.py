"""Staff feedback: own ratings only, acknowledging with time and reply, overdue list, good practice."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import User
from app.footage.models import Footage
from app.rating.models import Acknowledgement
from tests.report.fixture import build
from tests.support import browser_sign_in, form_on_page


@pytest.fixture
def rw(session, world):  # type: ignore[no-untyped-def]
    return build(session, world)


def test_officers_see_only_their_own_current_ratings(as_user, rw):  # type: ignore[no-untyped-def]
    mine = as_user("officer.a1").get("/api/v1/my/feedback").json()
    assert sorted(i["footage_id"] for i in mine) == sorted(rw.footage[k] for k in ("F1", "F3", "F5", "F6"))
    f1 = next(i for i in mine if i["footage_id"] == rw.footage["F1"])
    assert f1["rag"] == "amber" and f1["version"] == 2 and f1["needs_acknowledgement"] is True
    a2 = as_user("officer.a2").get("/api/v1/my/feedback").json()
    assert {i["footage_id"] for i in a2} == {rw.footage[k] for k in ("F2", "F8", "F9")}
    assert as_user("coordinator.a").get("/api/v1/my/feedback").status_code == 403


def test_acknowledge_records_time_and_reply_once(as_user, rw, session):  # type: ignore[no-untyped-def]
    me = as_user("officer.a1")
    url = f"/api/v1/ratings/{rw.ratings['F1v2']}/acknowledgement"
    r = me.post(url, json={"reply": "I will switch on earlier."})
    assert r.status_code == 201, r.text
    assert r.json()["reply"] == "I will switch on earlier." and r.json()["acknowledged_at"]
    ack = session.exec(select(Acknowledgement).where(Acknowledgement.rating_id == rw.ratings["F1v2"])).one()
    assert ack.staff_member_id is not None and ack.acknowledged_at is not None
    assert me.post(url, json={}).status_code == 409
    # The superseded version cannot be acknowledged; another officer's rating is not there at all.
    assert me.post(f"/api/v1/ratings/{rw.ratings['F1v1']}/acknowledgement", json={}).status_code == 409
    assert me.post(f"/api/v1/ratings/{rw.ratings['F8']}/acknowledgement", json={}).status_code == 404
    assert as_user("coordinator.a").post(url, json={}).status_code == 403
    assert me.post(url, json={"reply": "x" * 2001}).status_code == 422
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "guidance_acknowledge")).first() is not None


def test_coordinator_sees_who_has_not_acknowledged(as_user, rw):  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    rows = c.get("/api/v1/feedback/overdue").json()
    assert {(r["staff_number"], r["rag"]) for r in rows} == {("A001", "amber"), ("A001", "red"), ("A002", "red")}
    assert all(r["days_waiting"] >= 7 for r in rows)
    # Nothing is a year overdue; BBB's coordinator sees only BBB.
    assert c.get("/api/v1/feedback/overdue?days=365").json() == []
    assert [r["staff_number"] for r in as_user("coordinator.b").get("/api/v1/feedback/overdue").json()] == ["B001"]
    assert as_user("officer.a1").get("/api/v1/feedback/overdue").status_code == 403


def test_good_practice_only_green_and_visible_to_colleagues(as_user, rw, session):  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    amber = c.put(f"/api/v1/footage/{rw.footage['F2']}/good-practice", json={"good_practice": True})
    assert amber.status_code == 409
    ok = c.put(f"/api/v1/footage/{rw.footage['F3']}/good-practice", json={"good_practice": True, "reason": "clear"})
    assert ok.status_code == 200 and ok.json()["good_practice"] is True
    assert (
        as_user("officer.a1")
        .put(f"/api/v1/footage/{rw.footage['F3']}/good-practice", json={"good_practice": True})
        .status_code
        == 403
    )
    # F3 was worn by a1; a2 (same establishment) sees it as an example; b1 does not.
    examples = as_user("officer.a2").get("/api/v1/good-practice").json()
    assert [e["footage_id"] for e in examples] == [rw.footage["F3"]]
    # Its video_url is a viewing of a2's own (one audit entry, purpose good_practice), not a tokenless one.
    from app.footage import viewing

    token = examples[0]["video_url"].split("?view=", 1)[1]
    a2 = session.exec(select(User).where(User.username == "officer.a2")).one()
    assert viewing.check(token, footage_id=rw.footage["F3"], user_id=a2.id).purpose == "good_practice"
    assert as_user("officer.b1").get("/api/v1/good-practice").json() == []

    from app.core.deps import can_view_footage

    class P:  # a minimal principal for the rule itself
        def __init__(self, role, est, sid):  # type: ignore[no-untyped-def]
            from types import SimpleNamespace

            from app.auth.models import Role

            self.role = Role(role)
            self.establishment_id = est
            self.is_admin = False
            self.user = SimpleNamespace(staff_member_id=sid)

    f3 = session.get(Footage, rw.footage["F3"])
    f8 = session.get(Footage, rw.footage["F8"])
    a2 = P("staff", rw_est(session, f3), None)
    a2.user.staff_member_id = f8.wearer_id
    assert can_view_footage(session, a2, f3)  # good practice, green, same establishment
    assert can_view_footage(session, a2, f8)  # their own
    f1 = session.get(Footage, rw.footage["F1"])
    assert not can_view_footage(session, a2, f1)  # a colleague's amber clip
    b = P("staff", f3.establishment_id + 1, 999)
    assert not can_view_footage(session, b, f3)
    # Withdrawn: no longer visible.
    assert c.put(f"/api/v1/footage/{rw.footage['F3']}/good-practice", json={"good_practice": False}).status_code == 200
    session.refresh(f3)
    assert not can_view_footage(session, a2, f3)


def rw_est(session, f):  # type: ignore[no-untyped-def]
    return f.establishment_id


def test_my_footage_page_and_acknowledging_in_the_browser(client, rw, session):  # type: ignore[no-untyped-def]
    browser_sign_in(client, "officer.a1")
    home = client.get("/")
    assert home.status_code == 200 and "Waiting for you" in home.text
    page = client.get(f"/my/footage/{rw.footage['F1']}")
    assert page.status_code == 200
    assert "Guidance for F1" in page.text and "Amber" in page.text
    assert f"/api/v1/footage/{rw.footage['F1']}/video" in page.text
    # Another officer's clip is not there.
    assert client.get(f"/my/footage/{rw.footage['F8']}").status_code == 404
    url = f"/my/footage/{rw.footage['F1']}/acknowledge"
    long = client.post(url, data={**form_on_page(page.text, url), "reply": "Understood. " * 500})
    assert long.status_code == 422 and "2,000 characters or fewer (it has 5,999)" in long.text, "counted, kept"
    # The page comes back as it was: its camera facts too (they read "Not provided" in a walk-through).
    facts = ("On before force began", "Switched on after force", "before force", "after force began")
    shown = [f for f in facts if f in page.text]
    assert shown and all(f in long.text for f in shown), shown
    assert not session.exec(select(Acknowledgement).where(Acknowledgement.rating_id == rw.ratings["F1v2"])).all()
    r = client.post(url, data={**form_on_page(page.text, url), "reply": "Noted, thank you."})  # the page's form
    assert r.status_code == 303
    after = client.get(r.headers["location"])
    assert "You acknowledged this guidance" in after.text and "Noted, thank you." in after.text
    assert session.exec(select(Acknowledgement).where(Acknowledgement.rating_id == rw.ratings["F1v2"])).one()


def test_coordinator_feedback_page_lists_overdue_and_marks_good_practice(client, rw, session):  # type: ignore[no-untyped-def]
    browser_sign_in(client, "coordinator.a")
    page = client.get("/feedback")
    assert page.status_code == 200 and "Officer a1" in page.text and "Not acknowledged" in page.text
    url = f"/feedback/good-practice/{rw.footage['F6']}"
    r = client.post(url, data=form_on_page(page.text, url))  # "Offer as example", as the page's form sends it
    assert r.status_code == 303 and r.headers["location"] == "/feedback?done=offered#good-practice"
    assert "Offered as a good-practice example" in client.get(r.headers["location"]).text, "the action is confirmed"
    assert "Offered as" not in client.get("/feedback?done=%3Cb%3E").text
    assert session.get(Footage, rw.footage["F6"]).good_practice is True
    staff = client.__class__(client.app, base_url="https://testserver", follow_redirects=False)
    browser_sign_in(staff, "officer.a2")
    gp = staff.get("/good-practice")
    assert gp.status_code == 200 and f"/good-practice/{rw.footage['F6']}" in gp.text
    one = staff.get(f"/good-practice/{rw.footage['F6']}")
    assert one.status_code == 200 and f"/api/v1/footage/{rw.footage['F6']}/video" in one.text
    assert staff.get(f"/good-practice/{rw.footage['F1']}").status_code == 404


def test_colleagues_can_play_a_good_practice_clip_and_nothing_else(as_user, rw, session, tmp_path):  # type: ignore[no-untyped-def]
    from app.core.storage import get_storage

    f3 = session.get(Footage, rw.footage["F3"])  # worn by a1, rated green
    src = tmp_path / "clip.mp4"
    src.write_bytes(b"\x00" * f3.size_bytes)
    get_storage().put_file(src, f3.storage_key)
    a2 = as_user("officer.a2")
    url = f"/api/v1/footage/{f3.id}/video"
    assert a2.get(url, headers={"Range": "bytes=0-9"}).status_code == 404  # not offered yet
    assert (
        as_user("coordinator.a").put(f"/api/v1/footage/{f3.id}/good-practice", json={"good_practice": True}).status_code
        == 200
    )
    r = a2.get(url, headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and len(r.content) == 10
    assert as_user("officer.b1").get(url, headers={"Range": "bytes=0-9"}).status_code == 404  # other prison
    # Only watching: the colleague cannot download it, nor see its ratings.
    assert a2.get(f"/api/v1/footage/{f3.id}/download").status_code in (403, 404)
    assert a2.get(f"/api/v1/footage/{rw.footage['F1']}/video").status_code == 404  # a colleague's amber clip


def test_officers_players_carry_a_viewing_token_of_their_own(as_user, rw, world):  # type: ignore[no-untyped-def]
    """The officer's own-footage page and a good-practice example give the player a signed viewing token for
    that officer, that clip and that purpose (app/footage/viewing.py)."""
    import re

    from app.footage import viewing

    def token_on(page: str) -> tuple[int, str]:
        m = re.search(r'<video[^>]* src="/api/v1/footage/(\d+)/video\?view=([A-Za-z0-9._-]+)"', page)
        assert m, page
        return int(m.group(1)), m.group(2)

    fid, token = token_on(as_user("officer.a1").get(f"/my/footage/{rw.footage['F1']}").text)
    seen = viewing.check(token, footage_id=fid, user_id=world.users["staff_a1"])
    assert (fid, seen.purpose) == (rw.footage["F1"], "own_footage")
    coordinator = as_user("coordinator.a")
    assert coordinator.put(f"/api/v1/footage/{rw.footage['F6']}/good-practice", json={"good_practice": True}).is_success
    fid, token = token_on(as_user("officer.a2").get(f"/good-practice/{rw.footage['F6']}").text)
    seen = viewing.check(token, footage_id=fid, user_id=world.users["staff_a2"])
    assert (fid, seen.purpose) == (rw.footage["F6"], "good_practice")
    with pytest.raises(viewing.ViewTokenRefused):
        viewing.check(token, footage_id=fid, user_id=world.users["staff_a1"])


def test_an_officers_reply_reaches_the_coordinator_and_the_officer_report(as_user, rw, app):  # type: ignore[no-untyped-def]
    """The reply is addressed to the coordinator: it is shown in the clip's rating history on the review
    screen, on the feedback page and in the officer's report (page and JSON); never to another officer.
    (Before, only the officer who wrote it ever saw it again.)"""
    from tests.support import make_client

    reply = "The camera slipped off my vest <during> the restraint; I have a new clip."
    r = as_user("officer.a1").post(f"/api/v1/ratings/{rw.ratings['F1v2']}/acknowledgement", json={"reply": reply})
    assert r.status_code == 201, r.text
    escaped = reply.replace("<", "&lt;").replace(">", "&gt;")

    coordinator = make_client(app)
    browser_sign_in(coordinator, "coordinator.a")
    screen = coordinator.get(f"/review/{rw.footage['F1']}").text
    history = screen.split('id="history-h"')[1]
    assert "Acknowledged by the officer" in history and escaped in history and reply not in history
    feedback_page = coordinator.get("/feedback").text
    replies = feedback_page.split('id="replies"')[1].split('id="good-practice"')[0]
    assert escaped in replies and f'href="/review/{rw.footage["F1"]}"' in replies

    report = as_user("governor.a").get("/api/v1/reports/officers/A001").json()
    assert [h["reply"] for h in report["history"] if h["footage_id"] == rw.footage["F1"]] == [reply]
    governor = make_client(app)
    browser_sign_in(governor, "governor.a")
    assert "Reply: “The camera slipped off my vest &lt;during&gt;" in governor.get("/officers/A001").text
    assert reply not in str(as_user("officer.a2").get("/api/v1/my/feedback").json())
    other = make_client(app)
    browser_sign_in(other, "coordinator.b")
    assert escaped not in other.get("/feedback").text


def test_an_officers_api_shows_what_their_page_shows(as_user, rw, session):  # type: ignore[no-untyped-def]
    """An officer's own clip over the API carried the coordinators' notes their page does not show: the legal
    hold's reason (a prisoner number, an investigation reference), why a rating differed from the suggestion
    or was given again, and who rated (found by a walk-through)."""
    from app.rating.models import Rating

    f1 = rw.footage["F1"]
    v2 = session.get(Rating, rw.ratings["F1v2"])
    v2.override_reason, v2.rerating_reason = "Officer turned away from the incident", "Second look after complaint"
    session.add(v2)
    session.commit()
    coordinator = as_user("coordinator.a")
    held = coordinator.put(f"/api/v1/footage/{f1}/legal-hold", json={"reason": "Complaint by prisoner A1234BC"})
    assert held.status_code == 200 and held.json()["legal_hold_reason"] == "Complaint by prisoner A1234BC"

    mine = as_user("officer.a1").get(f"/api/v1/footage/{f1}").json()
    assert mine["legal_hold"] is True and mine["legal_hold_reason"] is None
    history = as_user("officer.a1").get(f"/api/v1/footage/{f1}/ratings").json()
    assert history["current"]["guidance"] == v2.guidance and history["current"]["rag"] == "amber"
    assert history["suggested_rag"] is None  # beside the rating, it would tell of an override
    for version in history["versions"]:
        assert version["override_reason"] is None and version["rerating_reason"] is None
        assert version["rated_by"] is None and version["suggested_rag"] is None
    theirs = coordinator.get(f"/api/v1/footage/{f1}/ratings").json()["current"]
    assert theirs["override_reason"] == "Officer turned away from the incident"
    assert theirs["rerating_reason"] == "Second look after complaint" and theirs["rated_by"] == "coordinator.a"


def test_feedback_page_lists_the_longest_waiting_and_counts_them_all(client, rw, monkeypatch):  # type: ignore[no-untyped-def]
    """Years of a large prison's unacknowledged guidance made a page of megabytes: the page lists the longest
    waiting and says how many there are in all."""
    from app.rating import views_feedback

    browser_sign_in(client, "coordinator.a")
    everything = client.get("/api/v1/feedback/overdue?days=0").json()
    assert len(everything) >= 2
    monkeypatch.setattr(views_feedback, "OVERDUE_SHOWN", 1)
    page = client.get("/feedback?days=0").text
    said = f"{len(everything)} pieces of guidance not acknowledged: the 1 waiting longest are listed."
    assert said + " Narrow it by when force began" in page
    longest = max(everything, key=lambda r: r["days_waiting"])
    assert page.count('data-sort-value="') >= 1 and longest["staff_number"] in page
    monkeypatch.setattr(views_feedback, "OVERDUE_SHOWN", 500)
    page = client.get("/feedback?days=0").text
    assert f"{len(everything)} pieces of guidance not acknowledged</caption>" in page or (
        f"{len(everything)} pieces of guidance not acknowledged<" in page
    )


def test_overdue_api_comes_a_page_at_a_time(as_user, rw, session, world):  # type: ignore[no-untyped-def]
    """A large prison has thousands of unacknowledged pieces of guidance: the API gives them a page at a time,
    longest waiting first, says how many there are in all, and links the next page."""
    c = as_user("coordinator.a")
    everything = c.get("/api/v1/feedback/overdue?days=0")
    order = [o["rating_id"] for o in everything.json()]
    assert len(order) >= 3 and everything.headers["X-Total-Count"] == str(len(order))
    assert "Link" not in everything.headers
    waited = [o["rated_at"] for o in everything.json()]
    assert waited == sorted(waited)  # longest waiting first
    first = c.get("/api/v1/feedback/overdue?days=0&limit=2")
    assert [o["rating_id"] for o in first.json()] == order[:2]
    assert first.headers["X-Total-Count"] == str(len(order))
    assert first.headers["Link"] == f'</api/v1/feedback/overdue?days=0&after={order[1]}&limit=2>; rel="next"'
    rest = c.get("/api/v1/feedback/overdue?days=0&limit=2&offset=2")
    assert [o["rating_id"] for o in rest.json()] == order[2:4]
    last = c.get(f"/api/v1/feedback/overdue?days=0&limit=2&offset={len(order) - 1}")
    assert [o["rating_id"] for o in last.json()] == order[-1:] and "Link" not in last.headers
    assert c.get("/api/v1/feedback/overdue?days=0&offset=99").json() == []
    for bad in ("limit=0", "limit=5001", "offset=-1", "limit=x", "after=0", "after=x", "after=99999"):
        assert c.get(f"/api/v1/feedback/overdue?{bad}").status_code == 422, bad
    other = as_user("coordinator.b").get("/api/v1/feedback/overdue?days=0").json()[0]["rating_id"]
    assert c.get(f"/api/v1/feedback/overdue?after={other}").status_code == 422, "another establishment's rating"
    session.expire_all()
    views = session.exec(select(AuditEvent).where(AuditEvent.action == "feedback_overdue_view")).all()
    assert [v.detail.get("offset") for v in views if v.establishment_id == world.est_a][-4:] == [
        None,
        2,
        len(order) - 1,
        99,
    ]


def test_overdue_api_next_page_skips_nothing_when_guidance_is_acknowledged_meanwhile(as_user, rw):  # type: ignore[no-untyped-def]
    """The next page goes on after the last rating listed: an officer acknowledging one of the first page
    between the two requests does not push one of the second page out of sight (as an offset did)."""
    c = as_user("coordinator.a")
    order = [o["rating_id"] for o in c.get("/api/v1/feedback/overdue?days=0").json()]
    first = c.get("/api/v1/feedback/overdue?days=0&limit=1")
    assert [o["rating_id"] for o in first.json()] == order[:1]
    owner = next(
        as_user(u)
        for u in ("officer.a1", "officer.a2")
        if order[0] in {o["rating_id"] for o in as_user(u).get("/api/v1/my/feedback").json()}
    )
    assert owner.post(f"/api/v1/ratings/{order[0]}/acknowledgement", json={}).status_code == 201
    nxt = first.headers["Link"].split(">")[0].lstrip("<")
    seen: list[int] = []
    while nxt and len(seen) <= len(order):
        page = c.get(nxt)
        assert page.status_code == 200
        seen += [o["rating_id"] for o in page.json()]
        nxt = page.headers["Link"].split(">")[0].lstrip("<") if "Link" in page.headers else ""
    assert seen == order[1:]


def test_officers_home_lists_their_ratings_a_page_at_a_time(client, rw, session, monkeypatch):  # type: ignore[no-untyped-def]
    """Five years of an officer's footage is hundreds of ratings: the home page lists a page of them, the latest
    rated first, and what waits for them whole on every page."""
    import re

    from app.home import service as home

    monkeypatch.setattr(home, "STAFF_PAGE", 3)
    browser_sign_in(client, "officer.a1")
    a1 = session.exec(select(User).where(User.username == "officer.a1")).one().staff_member_id
    everything = home.staff_feedback(session, a1)
    assert len(everything) == 4 and home.staff_feedback_count(session, a1) == 4
    waiting = home.staff_waiting(session, a1)
    assert [r.id for r, _, _ in waiting] == [r.id for r, _, a in everything if a is None and r.rag != "green"]
    assert len(waiting) == 2

    def listed(text: str) -> list[int]:
        table = text[text.index("Your rated footage") :]
        return [int(x) for x in re.findall(r'href="/my/footage/(\d+)">View', table)]

    first, second = client.get("/"), client.get("/?page=2")
    assert listed(first.text) == [f.id for _, f, _ in everything[:3]]
    assert listed(second.text) == [f.id for _, f, _ in everything[3:]]
    assert "Ratings 1 to 3 of 4, latest first" in first.text and "Ratings 4 to 4 of 4" in second.text
    for page in (first, second):
        assert "You have 2 pieces of guidance to read and acknowledge." in page.text
    assert listed(client.get("/?page=99").text) == listed(second.text), "past the end: the last page"
    assert client.get("/?page=0").status_code == 422 and client.get("/?page=x").status_code == 422
    monkeypatch.setattr(home, "STAFF_PAGE", 25)
    one = client.get("/").text
    assert listed(one) == [f.id for _, f, _ in everything] and "govuk-pagination" not in one
