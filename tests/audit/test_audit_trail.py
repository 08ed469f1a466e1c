"""The hash-chained, append-only audit trail."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from sqlmodel import select

from app.audit.models import AuditEvent
from app.audit.service import SYSTEM, record, verify_chain
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
    assert client.post("/audit/export", data={"csrf_token": csrf}).status_code == 422
    r = client.post("/audit/export", data={"csrf_token": csrf, "reason": "Monthly use of force meeting"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.text.splitlines()[0].startswith("id,at,actor_username")
    exports = session.exec(select(AuditEvent).where(AuditEvent.action == "audit_export")).all()
    assert exports and exports[0].reason == "Monthly use of force meeting"
