"""Why an involved officer has no footage: a coordinator records it from the incident or the list of
officers with no footage; it is shown wherever the gap is, audited with what it replaced, and never changes
the officer's camera check. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from sqlmodel import select

from app.audit.models import AuditEvent
from app.incident.models import ActivationResult, ActivationStatus, NoFootageExplanation
from tests.security.conftest import incident_body
from tests.support import browser_sign_in, form_on_page, make_client


def _incident(as_user) -> int:  # type: ignore[no-untyped-def]
    r = as_user("coordinator.a").post("/api/v1/incidents", json=incident_body("UOF-NF-1", ["A001", "A002"]))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_a_coordinator_records_why_and_it_shows_where_the_gap_is(app, as_user, world, session) -> None:  # type: ignore[no-untyped-def]
    inc = _incident(as_user)
    web = make_client(app)
    browser_sign_in(web, "coordinator.a")
    url = f"/incidents/{inc}/officers/A001/no-footage"
    page = web.get(f"/incidents/{inc}")
    assert f'href="{url}"' in page.text and "Record why there is no footage" in page.text
    missing = web.get("/footage/missing").text
    assert f'href="{url}?back=missing"' in missing and "Upload their footage, or record why there is none" in missing

    form = web.get(url)
    assert form.status_code == 200 and "Why is there no footage from Officer a1?" in form.text
    # No reason chosen, then "another reason" with no note: explained beside each field, nothing stored.
    sent = form_on_page(form.text, url)
    r = web.post(url, data=sent)
    assert r.status_code == 400 and '<a href="#reason">Choose why there is no footage</a>' in r.text
    r = web.post(url, data={**sent, "reason": "other", "note": " "})
    assert r.status_code == 400 and '<a href="#note">Say what the other reason is</a>' in r.text
    r = web.post(url, data={**sent, "reason": "camera_fault", "note": "x" * 501})
    assert r.status_code == 400 and "The note must be 500 characters or fewer (it has 501)" in r.text
    assert session.exec(select(NoFootageExplanation)).all() == []

    r = web.post(url, data={**sent, "reason": "camera_fault", "note": "Flat battery on BWV-0042"})
    assert r.status_code == 303 and r.headers["location"] == f"/incidents/{inc}?explained=A001"
    shown = web.get(r.headers["location"]).text
    assert "Reason recorded: why there is no footage from Officer a1." in shown
    assert "No footage: the camera failed (battery, fault, storage full) (Flat battery on BWV-0042)." in shown
    assert "the camera failed" in web.get("/footage/missing").text
    queue = web.get("/review", params={"status": "all"}).text
    assert "Reason recorded: the camera failed (battery, fault, storage full)." in queue
    assert f'href="{url}">change the reason<span class="govuk-visually-hidden"> for Officer a1' in queue

    # Changed: the form starts from what was recorded; the audit trail keeps what it replaced.
    again = web.get(url).text
    assert 'value="camera_fault" checked' in again and ">Flat battery on BWV-0042</textarea>" in again
    assert web.post(url, data={**sent, "reason": "not_switched_on", "note": ""}).status_code == 303
    session.expire_all()
    (row,) = session.exec(select(NoFootageExplanation)).all()
    assert (row.reason.value, row.note, row.staff_member_id) == ("not_switched_on", "", world.staff["a1"])
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "no_footage_explained")).all()
    assert [e.detail["reason"] for e in events] == ["camera_fault", "not_switched_on"]
    assert events[0].detail["replaced"] is None
    assert events[1].detail["replaced"] == {"reason": "camera_fault", "note": "Flat battery on BWV-0042"}
    assert {e.actor_username for e in events} == {"coordinator.a"} and events[0].object_id == str(inc)
    # The camera check still says no footage: an explanation is not an excuse in the figures.
    check = session.get(ActivationResult, (inc, world.staff["a1"]))
    assert check is not None and check.status == ActivationStatus.no_footage


def test_a_reason_recorded_from_the_list_goes_back_to_the_list(app, as_user, world, session) -> None:  # type: ignore[no-untyped-def]
    """From "Officers with no footage", the form goes back there (at its page), so the next officer can be
    done; it went to the incident. Nothing but that list is followed."""
    inc = _incident(as_user)
    web = make_client(app)
    browser_sign_in(web, "coordinator.a")
    card = re.compile(r'href="/review\?check=no_footage">No footage</a></p>.*?bwv-rag--(\w+)">([^<]+)<', re.S)
    assert card.search(web.get("/").text).groups() == ("red", "Follow up")  # type: ignore[union-attr]
    url = f"/incidents/{inc}/officers/A002/no-footage?back=missing&page=3"
    form = web.get(url)
    assert '<a href="/footage/missing?page=3" class="govuk-back-link">Back to officers with no footage' in form.text
    sent = form_on_page(form.text, f"/incidents/{inc}/officers/A002/no-footage")
    assert sent["back"] == "missing" and sent["page"] == "3"
    r = web.post(f"/incidents/{inc}/officers/A002/no-footage", data={**sent, "reason": "no_camera"})
    assert r.status_code == 303 and r.headers["location"] == f"/footage/missing?page=3&explained={inc}-A002"
    listed = web.get(f"/footage/missing?explained={inc}-A002").text
    assert "Reason recorded: why there is no footage from Officer a2 on UOF-NF-1." in listed
    # Anything else named is not followed, and a banner names only the viewer's own establishment's incident.
    r = web.post(
        f"/incidents/{inc}/officers/A001/no-footage",
        data={**sent, "back": "https://example.org/", "reason": "no_camera"},
    )
    assert r.headers["location"] == f"/incidents/{inc}?explained=A001"
    other = make_client(app)
    browser_sign_in(other, "coordinator.b")
    assert "Reason recorded" not in other.get(f"/footage/missing?explained={inc}-A002").text
    assert "Reason recorded" not in web.get("/footage/missing?explained=x-A002").text
    # Both officers' reasons recorded: the home page's card no longer asks to follow up.
    assert card.search(web.get("/").text).groups() == ("amber", "Reasons recorded")  # type: ignore[union-attr]


def test_only_coordinators_of_the_incident_and_only_for_its_officers(app, as_user, world, session) -> None:  # type: ignore[no-untyped-def]
    inc = _incident(as_user)
    url = f"/incidents/{inc}/officers/A001/no-footage"
    other = make_client(app)
    browser_sign_in(other, "coordinator.b")
    assert other.get(url).status_code == 404  # another establishment's incident
    governor = make_client(app)
    browser_sign_in(governor, "governor.a")
    assert governor.get(url).status_code == 403
    listed = governor.get("/footage/missing").text
    assert "Officer a1 (A001)" in listed and "no reason recorded" in listed and "/no-footage" not in listed
    web = make_client(app)
    browser_sign_in(web, "coordinator.a")
    assert web.get(f"/incidents/{inc}/officers/A003/no-footage").status_code == 404  # not involved
    assert web.get(f"/incidents/{inc}/officers/B001/no-footage").status_code == 404  # another prison's officer
    assert session.exec(select(NoFootageExplanation)).all() == []
