"""`bwv-review create-establishment` and `bwv-review create-user`: the first records of an installation work.

A user made on the command line signs in (API token and browser form) and sees what their role allows; refusals
(unknown establishment, another establishment's officer, short password, duplicates) change nothing.
"""

from __future__ import annotations

from click.testing import CliRunner
from sqlmodel import select

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cli import main
from app.establishment.models import Establishment, EstablishmentKind
from tests.support import browser_sign_in, new_officer

NEW_PASSWORD = "a-long-first-password-2026"  # noqa: S105


def _run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def _create_user(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, ["create-user", *args, "--password", NEW_PASSWORD], catch_exceptions=False)


def test_create_establishment_then_its_first_coordinator_signs_in(engine, session, client) -> None:  # type: ignore[no-untyped-def]
    r = _run("create-establishment", "--code", "lpi", "--name", "HMP Liverpool")
    assert r.exit_code == 0, r.output
    est = session.exec(select(Establishment).where(Establishment.code == "LPI")).one()
    assert (est.name, est.kind) == ("HMP Liverpool", EstablishmentKind.prison)
    assert f"created establishment LPI (id {est.id})" in r.output

    r = _create_user("--username", "Coord.One", "--name", "First Coordinator", "--role", "coordinator",
                     "--establishment", "lpi")  # fmt: skip
    assert r.exit_code == 0, r.output
    user = session.exec(select(User).where(User.username == "coord.one")).one()
    assert (user.role, user.establishment_id, user.display_name) == (Role.coordinator, est.id, "First Coordinator")
    assert user.password_hash.startswith("$argon2id$") and NEW_PASSWORD not in user.password_hash

    token = client.post("/api/v1/auth/token", data={"username": "coord.one", "password": NEW_PASSWORD})
    assert token.status_code == 200, token.text
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.status_code == 200
    assert (me.json()["role"], me.json()["establishment_id"]) == ("coordinator", est.id)
    browser_sign_in(client, "coord.one", NEW_PASSWORD)
    assert client.get("/review").status_code == 200

    actions = session.exec(select(AuditEvent.action, AuditEvent.detail).where(AuditEvent.actor_username == "system"))
    by_action = {a: d for a, d in actions.all()}
    assert by_action["establishment_create"]["via"] == "cli"
    assert by_action["user_create"] == {"username": "coord.one", "role": "coordinator", "via": "cli"}


def test_create_first_admin_without_an_establishment(engine, session, client) -> None:  # type: ignore[no-untyped-def]
    r = _create_user("--username", "first.admin", "--name", "First Admin", "--role", "admin")
    assert r.exit_code == 0, r.output
    browser_sign_in(client, "first.admin", NEW_PASSWORD)
    assert client.get("/admin/users").status_code == 200


def test_create_staff_user_linked_to_their_officer(world, session, client) -> None:  # type: ignore[no-untyped-def]
    a3 = new_officer(world.est_a, "A003")
    r = _create_user("--username", "officer.new", "--name", "Officer New", "--role", "staff",
                     "--establishment", "AAA", "--staff-number", "A003")  # fmt: skip
    assert r.exit_code == 0, r.output
    user = session.exec(select(User).where(User.username == "officer.new")).one()
    assert (user.establishment_id, user.staff_member_id) == (world.est_a, a3)
    token = client.post("/api/v1/auth/token", data={"username": "officer.new", "password": NEW_PASSWORD})
    assert token.status_code == 200


def test_create_user_refusals_change_nothing(world, session) -> None:  # type: ignore[no-untyped-def]
    before = len(session.exec(select(User)).all())
    cases = [
        # another establishment's officer
        (("--role", "staff", "--establishment", "AAA", "--staff-number", "B001"), "no staff member B001"),
        (("--role", "coordinator", "--establishment", "ZZZ"), "no establishment with code ZZZ"),
        (("--role", "coordinator"), "belongs to an establishment"),  # only admins have none
        (("--role", "staff", "--establishment", "AAA"), "linked to their staff member"),
    ]
    for extra, message in cases:
        r = _create_user("--username", "someone.new", "--name", "Someone", *extra)
        assert r.exit_code == 2, (extra, r.output)
        assert message in r.output, (extra, r.output)
    short = CliRunner().invoke(
        main, ["create-user", "--username", "someone.new", "--name", "S", "--role", "admin", "--password", "short"]
    )
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    taken = _create_user("--username", "coordinator.a", "--name", "Again", "--role", "coordinator",
                         "--establishment", "AAA")  # fmt: skip
    assert taken.exit_code == 2 and "username coordinator.a is taken" in taken.output
    bad = _create_user("--username", "Not A Name!", "--name", "Someone", "--role", "admin")
    assert bad.exit_code == 2 and "username" in bad.output
    assert len(session.exec(select(User)).all()) == before


def test_create_establishment_refusals(world, session) -> None:  # type: ignore[no-untyped-def]
    before = len(session.exec(select(Establishment)).all())
    again = CliRunner().invoke(main, ["create-establishment", "--code", "aaa", "--name", "HMP Again"])
    assert again.exit_code == 2 and "AAA is already used" in again.output
    kind = CliRunner().invoke(main, ["create-establishment", "--code", "NEW", "--name", "X", "--kind", "castle"])
    assert kind.exit_code == 2 and "castle" in kind.output
    assert len(session.exec(select(Establishment)).all()) == before
    r = _run("create-establishment", "--code", "YOI", "--name", "HMYOI Example", "--kind", "young_offender_institution")
    assert r.exit_code == 0, r.output
    assert session.exec(select(Establishment.kind).where(Establishment.code == "YOI")).one() == EstablishmentKind.yoi
