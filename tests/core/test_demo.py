"""`bwv-review demo` (run by `make run` on an empty database): one establishment, users of every role, a dozen
incidents with generated footage (some switched on late, one covered lens), ratings and a calibration sample,
so every page has something real to show. Loaded here into the embedded SQLite default, then every role's
pages are opened with the printed demo sign-ins."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlmodel import Session, func, select

from app.auth.models import Role, User
from app.demo import DEMO_PASSWORD, DEMO_USERS, load_demo
from app.footage.models import Footage, FootageIncident
from app.incident.models import Incident
from app.rating.models import CalibrationAssignment, Rating
from tests.support import browser_sign_in, make_client

PAGES = {
    Role.coordinator: ["/", "/review", "/incidents", "/footage", "/officers", "/feedback", "/calibration"],
    Role.governor: ["/", "/reports/compliance", "/incidents", "/footage", "/officers", "/audit"],
    Role.staff: ["/", "/my/progress", "/good-practice"],
    Role.admin: ["/", "/admin/users", "/admin/establishments", "/audit", "/reports/compare"],
}


def test_demo_loads_once_and_every_page_has_something_to_show(sqlite_engine: sa.engine.Engine) -> None:
    said: list[str] = []
    load_demo(echo=said.append)
    assert any("Demo sign-ins" in line for line in said)
    for username, *_ in DEMO_USERS:
        assert any(line.strip().startswith(username + " ") for line in said), username

    with Session(sqlite_engine) as s:
        assert s.exec(select(func.count()).select_from(Incident)).one() == 12
        assert s.exec(select(func.count()).select_from(Footage)).one() >= 20
        pressed_after_force = s.exec(
            select(func.count())
            .select_from(Footage)
            .join(FootageIncident, FootageIncident.footage_id == Footage.id)  # type: ignore[arg-type]
            .join(Incident, Incident.id == FootageIncident.incident_id)  # type: ignore[arg-type]
            .where(Footage.activated_at > Incident.force_started_at)  # type: ignore[operator]
        ).one()
        assert pressed_after_force >= 2  # some switched on late
        roles = {Role(u.role) for u in s.exec(select(User)).all()}
        assert roles == {Role.admin, Role.coordinator, Role.governor, Role.staff}
        assert s.exec(select(func.count()).select_from(Rating).where(Rating.is_calibration == False)).one() >= 5  # noqa: E712
        assert s.exec(select(func.count()).select_from(CalibrationAssignment)).one() >= 3

    # Again, as `make run` does on every start: nothing is loaded twice.
    again: list[str] = []
    load_demo(if_empty=True, echo=again.append)
    assert "nothing loaded" in again[0]
    with Session(sqlite_engine) as s:
        assert s.exec(select(func.count()).select_from(Incident)).one() == 12

    from app.main import create_app

    app = create_app()
    for username, _name, role, _staff in DEMO_USERS:
        c = make_client(app)
        browser_sign_in(c, username, DEMO_PASSWORD)
        for path in PAGES[role]:
            r = c.get(path)
            assert r.status_code == 200, (username, path, r.status_code)
            assert "govuk-error-summary" not in r.text, (username, path)

    coordinator = make_client(app)
    browser_sign_in(coordinator, "coordinator", DEMO_PASSWORD)
    calibration = coordinator.get("/calibration").text
    assert "Dana Second" in calibration and re.search(r"Disagreements for the monthly meeting \(1\)", calibration)
    officer = make_client(app)
    browser_sign_in(officer, "officer.ahmed", DEMO_PASSWORD)
    assert "guidance to read and acknowledge" in officer.get("/").text


def test_the_demo_ratings_tick_what_their_clips_show() -> None:
    """An officer reads the ticked criteria beside the checks' findings: a late press is not "switched on
    before force", a covered lens during force is not "unobstructed" (the demo ticked them by the RAG)."""
    from app.demo import RATINGS, _clip_of, _criteria

    for idx, officer, rag, _guidance in RATINGS:
        _o, lead, press, _pre, length, dark = _clip_of(idx, officer)
        ticked = _criteria(rag, _clip_of(idx, officer))
        assert ticked["switched_on_before_force"] == (press <= lead), (idx, officer)
    late_amber = _criteria(RATINGS[5][2], _clip_of(4, "EX1001"))
    assert RATINGS[5][:2] == (4, "EX1001") and not late_amber["switched_on_before_force"]
    assert not _criteria(RATINGS[4][2], _clip_of(3, "EX1003"))["unobstructed"]  # lens covered in the force
