"""The queue and review pages through the browser session (forms, CSRF), sampling settings, queue order."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.establishment.models import Establishment
from app.rating.models import GuidanceTemplate, Rating
from tests.rating.conftest import T0
from tests.support import browser_sign_in


@pytest.fixture
def web(client, world):  # type: ignore[no-untyped-def]
    token = browser_sign_in(client, "coordinator.a")
    client.headers["X-CSRF-Token"] = token
    client.token = token  # type: ignore[attr-defined]
    return client


def test_queue_oldest_first_with_no_footage_and_filters(web, make_incident, make_clip, world):  # type: ignore[no-untyped-def]
    old = make_incident(at=T0, staff=("a1", "a2"), location="B wing")
    new = make_incident(at=T0 + timedelta(days=3), staff=("a1",))
    empty = make_incident(at=T0 + timedelta(days=1), staff=("a2",))
    c_new = make_clip(new, "a1")
    c_old = make_clip(old, "a1", lead=-5, press=0)  # late
    page = web.get("/review")
    assert page.status_code == 200, page.text
    html = page.text
    # Oldest incident first; the incident with no footage is listed, so is the officer with no clip.
    assert html.index(old.reference) < html.index(empty.reference) < html.index(new.reference)
    assert "No footage" in html and "Involved, but no clip of theirs is linked" in html
    assert "bwv-figure__rag" not in html  # the counts carry no RAG tag: on this page green/amber/red are ratings
    assert f'href="/review/{c_old.id}"' in html and f'href="/review/{c_new.id}"' in html
    assert "Start with the oldest" in html and f'/review/{c_old.id}" data-bwv-start-review' in html
    late = web.get("/review?check=late").text
    assert f"/review/{c_old.id}" in late and f"/review/{c_new.id}" not in late
    by_loc = web.get("/review?location=B+wing").text
    assert old.reference in by_loc and new.reference not in by_loc
    no_footage = web.get("/review?check=no_footage").text
    assert empty.reference in no_footage and f"/review/{c_new.id}" not in no_footage
    # a2 in the old incident and in the empty one: the list says so, and the home page's card counts the same
    # (it counted incidents with no clip at all: 1, beside a list of 2).
    assert "<strong>0</strong> clips shown and <strong>2</strong> with no footage" in no_footage
    home = web.get("/").text
    card = r'bwv-figure__value">(\d+)</p>\s*<p class="bwv-figure__label"><a [^>]*href="/review\?check=no_footage"'
    m = re.search(card, home)
    assert m and m.group(1) == "2", home
    assert web.get("/review?date_from=nonsense").status_code == 200


def test_save_moves_on_past_a_skipped_clip(web, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """Skip the oldest clip, rate the next: "Save and next" goes on to the one after, not back to the skipped
    one (it went back to the oldest after every save). After the last, it wraps round to the skipped one."""
    a, b, c = (make_clip(make_incident(at=T0 + timedelta(days=d), staff=("a1",)), "a1") for d in range(3))
    r = web.post(f"/review/{b.id}", data={"csrf_token": web.token, "rag": "green", "queue": ""})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/review/{c.id}?saved="), r.headers["location"]
    r = web.post(f"/review/{c.id}", data={"csrf_token": web.token, "rag": "green", "queue": ""})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/review/{a.id}?saved="), r.headers["location"]


def test_review_screen_and_save_moves_on(web, make_incident, make_clip, session):  # type: ignore[no-untyped-def]
    a = make_clip(
        make_incident(at=T0), "a1", lead=5, press=12, keyframes=(0.0, 10.0, 15.0), segments=(("dark", 20, 24),)
    )
    b = make_clip(make_incident(at=T0 + timedelta(days=1), staff=("a2",)), "a2")
    page = web.get(f"/review/{a.id}")
    assert page.status_code == 200
    html = page.text
    assert "Camera switched on 7 s after force began; the pre-record buffer caught the start" in html
    assert f'src="/api/v1/footage/{a.id}/video?view=' in html
    assert html.count("data-bwv-keyframe=") == 3 and "bwv-timeline__segment--dark" in html
    assert f'name="csrf_token" value="{web.token}"' in html  # the form really carries the session's token
    assert "Clip 1 of 2 to review" in html and "<script>" not in html and "style=" not in html
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_review_view")).one()
    assert ev.detail["purpose"] == "review"
    # Amber without guidance: the form comes back with the error, nothing saved.
    r = web.post(f"/review/{a.id}", data={"csrf_token": web.token, "rag": "amber", "queue": ""})
    assert r.status_code == 422 and "Enter guidance for the officer" in r.text
    assert session.exec(select(Rating)).all() == []
    # Guidance too long: refused with its length and shown back whole, never stored cut short.
    long_guidance = "Press record as you approach. " * 180  # 5,400 characters
    r = web.post(f"/review/{a.id}", data={"csrf_token": web.token, "rag": "amber", "guidance": long_guidance})
    assert r.status_code == 422 and "Guidance must be 5,000 characters or fewer (it has 5,399)" in r.text
    assert long_guidance in r.text and session.exec(select(Rating)).all() == []
    pasted = "Keep the camera on. " * 1500  # 30,000 characters: counted and shown back whole, not cut at 20,000
    r = web.post(f"/review/{a.id}", data={"csrf_token": web.token, "rag": "amber", "guidance": pasted})
    assert r.status_code == 422 and "(it has 29,999)" in r.text and pasted.strip() in r.text
    from app.rating.service import GUIDANCE_MAX_CHARS

    assert f'data-module="govuk-character-count" data-maxlength="{GUIDANCE_MAX_CHARS}"' in html, "a live count"
    r = web.post(
        f"/review/{a.id}",
        data={"csrf_token": web.token, "rag": "amber", "guidance": "Press record as you approach the cell.",
              "criteria": ["unobstructed", "sound_clear"], "queue": ""},
    )  # fmt: skip
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith(f"/review/{b.id}?saved=")
    saved = session.exec(select(Rating)).one()
    assert saved.rag.value == "amber" and saved.criteria["sound_clear"] and not saved.criteria["recording_announced"]
    nxt = web.get(r.headers["location"])
    # Named as the coordinator knows it: whose, which incident, when (UK time); not the camera's file name.
    from app.core.templates import london
    from app.rating.service import primary_incident

    ref = primary_incident(session, a.id).reference  # type: ignore[union-attr]
    named = f"Officer a1&#39;s clip of {ref}, recorded {london(a.recording_started_at, '%H:%M:%S')}"
    assert f'Saved: Amber for <a class="govuk-link" href="/review/{a.id}">{named}' in nxt.text
    # The last one: back to the queue, which is now empty.
    r = web.post(f"/review/{b.id}", data={"csrf_token": web.token, "rag": "green", "queue": ""})
    assert r.status_code == 303 and r.headers["location"].startswith("/review?saved=")
    assert "Every clip in the sample has been rated" in web.get("/review").text
    # Re-opening a rated clip shows the history and asks for a reason.
    again = web.get(f"/review/{a.id}").text
    assert "Rating history" in again and "Why you are rating it again" in again
    # ... and starts from the current rating: its RAG, criteria and guidance, to change rather than retype.
    assert re.search(r'id="rag-amber"[^>]*checked', again), "amber is chosen"
    assert re.search(r'id="criteria-sound_clear"[^>]*checked', again)
    assert not re.search(r'id="criteria-recording_announced"[^>]*checked', again)
    assert ">Press record as you approach the cell.</textarea>" in again


def test_form_without_csrf_is_refused(web, make_incident, make_clip):  # type: ignore[no-untyped-def]
    a = make_clip(make_incident())
    del web.headers["X-CSRF-Token"]
    r = web.post(f"/review/{a.id}", data={"rag": "green"})
    assert r.status_code == 403


def test_sampling_setting_is_audited_and_applied(web, make_incident, make_clip, session, world):  # type: ignore[no-untyped-def]
    for i in range(10):
        make_clip(make_incident(at=T0 + timedelta(hours=i)), "a1" if i % 2 else "a2")
    # Not a share: the queue comes back with the problem in its summary and beside the box, what was typed kept.
    bad = web.post("/review/settings", data={"csrf_token": web.token, "sample_percent": "abc", "reason": "adult site"})
    assert bad.status_code == 400 and "govuk-error-summary" in bad.text
    message = "Enter the share of footage to review, a whole number from 1 to 100"
    assert f'<a href="#sample_percent">{message}</a>' in bad.text
    assert re.search(r'id="sample_percent"[^>]*value="abc"', bad.text) and 'value="adult site"' in bad.text
    long_reason = web.post(
        "/review/settings", data={"csrf_token": web.token, "sample_percent": "20", "reason": "r" * 501}
    )
    assert '<a href="#reason">The reason must be 500 characters or fewer (it has 501)</a>' in long_reason.text
    r = web.post("/review/settings", data={"csrf_token": web.token, "sample_percent": "20", "reason": "adult site"})
    assert r.status_code == 303
    est = session.get(Establishment, world.est_a)
    session.refresh(est)
    assert est.review_sample_percent == 20 and est.review_sample_seed != 0
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "review_sample_change")).one()
    assert ev.detail == {"from": 100, "to": 20} and ev.reason == "adult site"
    html = web.get("/review").text
    shown = len(set(re.findall(r'data-bwv-queue-row="(\d+)"', html)))
    assert shown == 2  # ceil(20% of 10), one per officer
    assert "2 of 10 clips are in the sample" in html
    # The home page counts what the queue counts.
    home = web.get("/").text
    m = re.search(
        r'bwv-figure__value">(\d+)</p>\s*<p class="bwv-figure__label"><a[^>]*>Clips waiting for a rating', home
    )
    assert m and m.group(1) == "2", home[:300]
    assert web.post("/review/settings", data={"csrf_token": web.token, "sample_percent": "0"}).status_code == 400
    # More digits than int() will read (4,300) is a typing slip like any other, not a fault of ours.
    huge = web.post("/review/settings", data={"csrf_token": web.token, "sample_percent": "9" * 5000})
    assert huge.status_code == 400 and "a whole number from 1 to 100" in huge.text
    session.refresh(est)
    assert est.review_sample_percent == 20


def test_other_roles_cannot_open_the_queue(client, world):  # type: ignore[no-untyped-def]
    browser_sign_in(client, "governor.a")
    assert client.get("/review").status_code == 403


def test_sample_in_the_queue_is_reproducible_fair_and_keeps_flagged(web, make_incident, make_clip, session, world):  # type: ignore[no-untyped-def]
    clips = [make_clip(make_incident(at=T0 + timedelta(hours=i)), "a1" if i % 3 else "a2") for i in range(12)]
    flagged = make_clip(make_incident(at=T0 + timedelta(days=2)), "a1", lead=-5, press=0)  # switched on late
    r = web.post("/review/settings", data={"csrf_token": web.token, "sample_percent": "10"})
    assert r.status_code == 303

    def sample() -> set[int]:
        html = web.get("/review?status=in_sample").text
        return {int(x) for x in re.findall(r'data-bwv-queue-row="(\d+)"', html)}

    first = sample()
    assert first == sample()  # reproducible
    assert flagged.id in first  # flagged clips always in
    wearers = {f.wearer_id for f in [*clips, flagged] if f.id in first}
    assert wearers == {world.staff["a1"], world.staff["a2"]}  # every officer
    assert len(first) >= 2  # ceil(10% of 13) = 2, plus whatever fairness adds
    not_in = web.get("/review?status=not_in_sample").text
    assert len(set(re.findall(r'data-bwv-queue-row="(\d+)"', not_in))) == 13 - len(first)


def test_guidance_templates_defaults_add_change_delete(web, make_incident, make_clip, session, world, as_user):  # type: ignore[no-untyped-def]
    page = web.get("/review/templates")
    assert page.status_code == 200 and "Switch on earlier" in page.text  # sensible defaults seeded
    r = web.post(
        "/review/templates",
        data={"csrf_token": web.token, "title": "Cell move", "rag": "amber", "text": "Brief the team to switch on."},
    )
    assert r.status_code == 303
    t = session.exec(select(GuidanceTemplate).where(GuidanceTemplate.title == "Cell move")).one()
    assert web.post("/review/templates", data={"csrf_token": web.token, "title": "x", "text": ""}).status_code == 422
    # The same title again (the form sent twice, say) is refused: two buttons alike on the rating form.
    again = {"csrf_token": web.token, "title": "cell move ", "rag": "", "text": "Brief the team to switch on."}
    r = web.post("/review/templates", data=again)
    assert r.status_code == 422 and "There is already a template called cell move" in r.text
    assert len(session.exec(select(GuidanceTemplate).where(GuidanceTemplate.title == "Cell move")).all()) == 1
    # Too long is refused with its length and shown back whole: never saved cut short.
    long_text = "Brief the team. " * 180  # 2,880 characters
    r = web.post("/review/templates", data={"csrf_token": web.token, "title": "Long", "rag": "", "text": long_text})
    assert r.status_code == 422 and "The guidance must be 2,000 characters or fewer (it has 2,879)" in r.text
    assert long_text.strip() in r.text and 'data-maxlength="2000"' in r.text
    assert session.exec(select(GuidanceTemplate).where(GuidanceTemplate.title == "Long")).first() is None
    # A line break is one character, as the page's count shows it, though the browser sends CR LF.
    two_lines = "a" * 1000 + "\r\n" + "b" * 999  # 2,000 as counted on the page, 2,001 as sent
    r = web.post("/review/templates", data={"csrf_token": web.token, "title": "Full", "rag": "", "text": two_lines})
    assert r.status_code == 303, r.text[:500]
    full = session.exec(select(GuidanceTemplate).where(GuidanceTemplate.title == "Full")).one()
    assert full.text == "a" * 1000 + "\n" + "b" * 999
    r = web.post(
        f"/review/templates/{t.id}",
        data={"csrf_token": web.token, "title": "Planned cell move", "rag": "", "text": "Brief the team first."},
    )
    assert r.status_code == 303
    session.refresh(t)
    assert t.title == "Planned cell move" and t.rag is None
    # The review screen offers it; another establishment cannot see or change it.
    clip = make_clip(make_incident())
    assert "Planned cell move" in web.get(f"/review/{clip.id}").text
    assert as_user("coordinator.b").get(f"/review/templates/{t.id}").status_code == 404
    assert web.post(f"/review/templates/{t.id}", data={"csrf_token": web.token, "action": "delete"}).status_code == 303
    session.expunge_all()
    assert session.exec(select(GuidanceTemplate).where(GuidanceTemplate.id == t.id)).first() is None
    actions = {e.action for e in session.exec(select(AuditEvent)).all()}
    assert {"guidance_template_create", "guidance_template_change", "guidance_template_delete"} <= actions


def test_review_players_carry_viewing_tokens_for_the_coordinator(web, make_incident, make_clip, world):  # type: ignore[no-untyped-def]
    """The review screen's player and the side-by-side player of another camera at the same incident each get a
    signed viewing token for this coordinator and that clip, with the purpose recorded on playback."""
    from app.footage import viewing

    inc = make_incident(at=T0, staff=("a1", "a2"))
    a, b = make_clip(inc, "a1"), make_clip(inc, "a2")
    html = web.get(f"/review/{a.id}").text
    main = re.search(r'data-bwv-video src="/api/v1/footage/(\d+)/video\?view=([A-Za-z0-9._-]+)"', html)
    side = re.search(r'data-bwv-side="/api/v1/footage/(\d+)/video\?view=([A-Za-z0-9._-]+)"', html)
    assert main and side, html
    me = world.users["coordinator_a"]
    assert viewing.check(main.group(2), footage_id=a.id, user_id=me).purpose == "review"
    assert viewing.check(side.group(2), footage_id=b.id, user_id=me).purpose == "side_by_side"
    assert (int(main.group(1)), int(side.group(1))) == (a.id, b.id)


def test_home_counts_clips_rated_not_rating_versions(as_user, make_incident, make_clip, client):  # type: ignore[no-untyped-def]
    """A clip rated, then re-rated, is one clip rated in the last 30 days (the walk-through saw 3 for 2)."""
    from tests.rating.conftest import rating_body

    c = as_user("coordinator.a")
    first, second = (make_clip(make_incident(staff=(w,)), w) for w in ("a1", "a2"))
    assert c.post(f"/api/v1/footage/{first.id}/ratings", json=rating_body("green")).status_code == 201
    again = rating_body("green", rerating_reason="Seen again with the second camera")
    assert c.post(f"/api/v1/footage/{first.id}/ratings", json=again).status_code == 201
    assert c.post(f"/api/v1/footage/{second.id}/ratings", json=rating_body("green")).status_code == 201
    browser_sign_in(client, "coordinator.a")
    m = re.search(
        r'bwv-figure__value">(\d+)</p>\s*<p class="bwv-figure__label">Clips rated in the last 30 days',
        client.get("/").text,
    )
    assert m and m.group(1) == "2"


def test_the_template_picker_puts_first_what_fits_the_clip_and_last_what_does_not(web, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """A clip switched on before force: "Switch on earlier" (about switching on late) goes last, under "Not what
    the checks found on this clip", where it is not inserted unread. A clip switched on late: it goes first. A
    coordinator's own template says what it is about, or nothing in particular."""
    import re

    def groups(clip_id: int) -> dict[str, list[str]]:
        page = web.get(f"/review/{clip_id}").text
        picker = page.split("data-bwv-template>")[1].split("</select>")[0]
        out = {}
        for label, body in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', picker, re.S):
            out[label] = [re.sub(r" \((amber|red|green)\)$", "", t) for t in re.findall(r">([^<]+)</option>", body)]
        return out

    on_time = make_clip(make_incident(), lead=30, press=1)  # on 29 s before force
    g = groups(on_time.id)
    assert "Switch on earlier" in g["Not what the checks found on this clip"]
    assert "Not switched on until force ended" in g["Not what the checks found on this clip"]
    assert "Fit what the checks found" not in g and "Announce recording" in g["General"]
    late = make_clip(make_incident(), lead=5, press=20)  # pressed 15 s after force began
    g = groups(late.id)
    assert g["Fit what the checks found"] == ["Switch on earlier"]
    assert list(g) == ["Fit what the checks found", "General", "Not what the checks found on this clip"]

    mount = {"title": "Camera mount", "rag": "amber", "addresses": "lens_covered", "text": "Mount it clear."}
    r = web.post("/review/templates", data={"csrf_token": web.token, **mount})
    assert r.status_code == 303
    assert "About: lens covered or too dark to see" in web.get("/review/templates").text
    assert "Camera mount" in groups(on_time.id)["Not what the checks found on this clip"]
    bad = {"csrf_token": web.token, "title": "Odd", "rag": "", "addresses": "nonsense", "text": "Some guidance here."}
    r = web.post("/review/templates", data=bad)
    assert r.status_code == 422 and "Choose what the checks found from the list" in r.text
