"""Function-level access (OWASP API5 / ASVS V4.1-4.2): a role x route matrix over every route of the app.

MATRIX says who may call each route. The routes come from the app, so a new route without a row fails
`test_every_route_is_in_the_matrix`. For every route that needs a sign-in, a signed-out request answers 401
(API, with WWW-Authenticate) or a redirect to the sign-in page (pages); for every role not allowed, the
answer is 403 and the refusal is written to the audit trail (one `access_denied` entry per refusal).

Shown to fail with the protection off: with `require_roles` patched to let every role through (run once with
BWV_TEST_BREAK_ROLES=1), `test_wrong_role_gets_403_and_is_audited` failed: all 129 role refusals
(at the time) were answered otherwise (200, 303, 404, 409, 422...), e.g. a coordinator reading the audit trail.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
import sqlalchemy as sa

from tests.security.conftest import all_routes

C, G, S = "coordinator", "governor", "staff"
PUBLIC = "public"  # no sign-in needed
ANY = "any"  # any signed-in user (the handler may still narrow what is shown)
ADMIN: frozenset[str] = frozenset()  # admins only (admins pass every role check)
USERS = {C: "coordinator.a", G: "governor.a", S: "officer.a1"}
MATRIX: dict[tuple[str, str], Any] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/admin/establishments"): ADMIN,
    ("POST", "/admin/establishments"): ADMIN,
    ("GET", "/admin/establishments/{establishment_id}"): ADMIN,
    ("POST", "/admin/establishments/{establishment_id}"): ADMIN,
    ("GET", "/admin/users"): ADMIN,
    ("POST", "/admin/users"): ADMIN,
    ("GET", "/admin/users/{user_id}"): ADMIN,
    ("POST", "/admin/users/{user_id}/active"): ADMIN,
    ("POST", "/admin/users/{user_id}/password"): ADMIN,
    ("GET", "/api/v1/audit/events"): frozenset({G}),
    ("GET", "/api/v1/audit/verify"): frozenset({G}),
    ("POST", "/api/v1/auth/revoke"): ANY,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/calibration"): frozenset({C}),
    ("GET", "/api/v1/calibration/agreement"): frozenset({C}),
    ("GET", "/api/v1/cameras"): frozenset({C, G}),
    ("POST", "/api/v1/cameras"): frozenset({C}),
    ("POST", "/api/v1/establishments"): ADMIN,
    ("GET", "/api/v1/establishments"): frozenset({C, G}),
    ("GET", "/api/v1/feedback/overdue"): frozenset({C, G}),
    ("GET", "/api/v1/footage"): frozenset({C, G}),
    ("POST", "/api/v1/footage"): frozenset({C}),
    ("GET", "/api/v1/footage/missing"): frozenset({C, G}),
    ("GET", "/api/v1/footage/{footage_id}"): ANY,
    ("GET", "/api/v1/footage/{footage_id}/analysis"): ANY,
    ("POST", "/api/v1/footage/{footage_id}/analysis/retry"): frozenset({C}),
    ("GET", "/api/v1/footage/{footage_id}/download"): frozenset({C, G}),
    ("GET", "/api/v1/footage/{footage_id}/filmstrip.jpg"): ANY,
    ("PUT", "/api/v1/footage/{footage_id}/good-practice"): frozenset({C}),
    ("GET", "/api/v1/footage/{footage_id}/keyframes/{keyframe_id}.jpg"): ANY,
    ("DELETE", "/api/v1/footage/{footage_id}/legal-hold"): frozenset({C}),
    ("PUT", "/api/v1/footage/{footage_id}/legal-hold"): frozenset({C}),
    ("GET", "/api/v1/footage/{footage_id}/ratings"): ANY,
    ("POST", "/api/v1/footage/{footage_id}/ratings"): frozenset({C}),
    ("GET", "/api/v1/footage/{footage_id}/video"): ANY,
    ("GET", "/api/v1/good-practice"): ANY,
    ("GET", "/api/v1/incidents"): frozenset({C, G}),
    ("POST", "/api/v1/incidents"): frozenset({C}),
    ("GET", "/api/v1/incidents/{incident_id}"): frozenset({C, G}),
    ("PATCH", "/api/v1/incidents/{incident_id}"): frozenset({C}),
    ("GET", "/api/v1/incidents/{incident_id}/activation"): frozenset({C, G}),
    ("GET", "/api/v1/incidents/{incident_id}/footage-suggestions"): frozenset({C, G}),
    ("POST", "/api/v1/incidents/{incident_id}/footage-suggestions/{footage_id}/accept"): frozenset({C}),
    ("POST", "/api/v1/incidents/{incident_id}/footage-suggestions/{footage_id}/dismiss"): frozenset({C}),
    ("DELETE", "/api/v1/incidents/{incident_id}/footage/{footage_id}"): frozenset({C}),
    ("PUT", "/api/v1/incidents/{incident_id}/footage/{footage_id}"): frozenset({C}),
    ("GET", "/api/v1/incidents/{incident_id}/ratings"): frozenset({C, G}),
    ("GET", "/api/v1/me"): ANY,
    ("GET", "/api/v1/my/feedback"): frozenset({S}),  # officers only (not admins)
    ("POST", "/api/v1/ratings/{rating_id}/acknowledgement"): frozenset({S}),  # officers only
    ("GET", "/api/v1/reports/compliance"): frozenset({C, G}),
    ("GET", "/api/v1/reports/compliance/compare"): ADMIN,
    ("GET", "/api/v1/reports/officers"): frozenset({C, G}),
    ("GET", "/api/v1/reports/officers/{staff_number}"): ANY,
    ("GET", "/api/v1/staff"): frozenset({C, G}),
    ("POST", "/api/v1/staff"): frozenset({C}),
    ("OPTIONS", "/api/v1/uploads"): PUBLIC,
    ("POST", "/api/v1/uploads"): frozenset({C}),
    ("GET", "/api/v1/uploads/{upload_id}"): ANY,
    ("HEAD", "/api/v1/uploads/{upload_id}"): ANY,
    ("DELETE", "/api/v1/uploads/{upload_id}"): frozenset({C}),
    ("PATCH", "/api/v1/uploads/{upload_id}"): frozenset({C}),
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
    ("PATCH", "/api/v1/users/{user_id}"): ADMIN,
    ("PATCH", "/api/v1/establishments/{establishment_id}"): ADMIN,
    ("GET", "/audit"): frozenset({G}),
    ("POST", "/audit/export"): frozenset({G}),
    ("GET", "/calibration"): frozenset({C}),
    ("POST", "/calibration"): frozenset({C}),
    ("GET", "/calibration/{assignment_id}"): frozenset({C}),
    ("POST", "/calibration/{assignment_id}"): frozenset({C}),
    ("GET", "/feedback"): frozenset({C, G}),
    ("POST", "/feedback/good-practice/{footage_id}"): frozenset({C}),
    ("GET", "/footage/{footage_id}/analysis"): ANY,
    ("POST", "/footage/{footage_id}/analysis/retry"): frozenset({C}),
    ("GET", "/good-practice"): ANY,
    ("GET", "/good-practice/{footage_id}"): ANY,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/incidents"): frozenset({C, G}),
    ("GET", "/incidents/new"): frozenset({C}),
    ("POST", "/incidents/new"): frozenset({C}),
    ("GET", "/incidents/{incident_id}"): frozenset({C, G}),
    ("GET", "/my/footage/{footage_id}"): ANY,
    ("GET", "/my/progress"): ANY,
    ("GET", "/officers"): frozenset({C, G}),
    ("GET", "/officers/{staff_number}"): ANY,
    ("GET", "/reports/compliance"): frozenset({C, G}),
    ("POST", "/reports/compliance/export"): frozenset({C, G}),
    ("GET", "/reports/compare"): ADMIN,
    ("POST", "/my/footage/{footage_id}/acknowledge"): ANY,
    ("GET", "/review"): frozenset({C}),
    ("POST", "/review/settings"): frozenset({C}),
    ("GET", "/review/{footage_id}"): frozenset({C}),
    ("POST", "/review/{footage_id}"): frozenset({C}),
    ("GET", "/sign-in"): PUBLIC,
    ("POST", "/sign-in"): PUBLIC,
    ("POST", "/sign-out"): ANY,
    ("GET", "/footage"): frozenset({C, G}),
    ("GET", "/footage/upload"): frozenset({C}),
    ("GET", "/footage/missing"): frozenset({C, G}),
    ("GET", "/footage/{footage_id}"): frozenset({C, G}),
    ("POST", "/footage/{footage_id}/legal-hold"): frozenset({C}),
    ("POST", "/footage/{footage_id}/links"): frozenset({C}),
    ("POST", "/footage/{footage_id}/links/{incident_id}/remove"): frozenset({C}),
    ("GET", "/incidents/{incident_id}/footage-suggestions"): frozenset({C, G}),
    ("POST", "/incidents/{incident_id}/footage-suggestions/{footage_id}/{decision}"): frozenset({C}),
    ("GET", "/incidents/{incident_id}/officers/{staff_number}/no-footage"): frozenset({C}),
    ("POST", "/incidents/{incident_id}/officers/{staff_number}/no-footage"): frozenset({C}),
    ("GET", "/staff-and-cameras"): frozenset({C}),
    ("POST", "/staff-and-cameras/officers"): frozenset({C}),
    ("POST", "/staff-and-cameras/cameras"): frozenset({C}),
    ("GET", "/review/templates"): frozenset({C}),
    ("GET", "/review/templates/{template_id}"): frozenset({C}),
    ("POST", "/review/templates"): frozenset({C}),
    ("POST", "/review/templates/{template_id}"): frozenset({C}),
}
IDS = {
    "footage_id": 1,
    "incident_id": 1,
    "keyframe_id": 1,
    "assignment_id": 1,
    "rating_id": 1,
    "upload_id": "f" * 32,
    "staff_number": "A001",
    "decision": "accept",
    "template_id": 1,
    "user_id": 1,
    "establishment_id": 1,
}


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(IDS[m.group(1)]), path)


def _routes(app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p, _ in all_routes(app) if not p.startswith(("/api/openapi", "/api/docs", "/docs/"))]


@pytest.fixture(autouse=True)
def _break_roles(app: Any) -> Any:
    """BWV_TEST_BREAK_ROLES=1 switches role checks off (every role check lets every role through), to show
    that these tests then fail."""
    if os.environ.get("BWV_TEST_BREAK_ROLES") != "1":
        yield
        return
    from app.auth.models import Role

    saved = []

    def walk(dep: Any) -> None:
        call = dep.call
        if getattr(call, "__name__", "") == "_check" and call.__closure__:
            for cell in call.__closure__:
                if isinstance(cell.cell_contents, tuple):
                    saved.append((cell, cell.cell_contents))
                    cell.cell_contents = tuple(Role)
        for sub in dep.dependencies:
            walk(sub)

    for r in app.router.routes:
        for c in r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else []:
            walk(c.original_route.dependant)
    yield
    for cell, value in saved:
        cell.cell_contents = value


def _declared_roles(app: Any) -> dict[tuple[str, str], str]:
    """What the code declares (from the routes' dependencies), to suggest rows for new routes."""

    def walk(dep: Any, out: list[Any]) -> None:
        call = dep.call
        name = getattr(call, "__name__", "")
        if name == "_check" and call.__closure__:
            out += [c.cell_contents for c in call.__closure__ if isinstance(c.cell_contents, tuple)]
        if name == "current_principal":
            out.append(ANY)
        for sub in dep.dependencies:
            walk(sub, out)

    found: dict[tuple[str, str], str] = {}
    for r in app.router.routes:
        for c in r.effective_route_contexts() if hasattr(r, "effective_route_contexts") else []:
            for m in c.original_route.methods:
                out: list[Any] = []
                walk(c.original_route.dependant, out)
                roles = [o for o in out if o != ANY]
                if roles:
                    letters = sorted(role.value[0].upper() for role in roles[0])
                    text = "frozenset({" + ", ".join(letters) + "})" if letters else "ADMIN"
                else:
                    text = "ANY" if ANY in out else "PUBLIC"
                found[(m, re.sub(r"\{(\w+):\w+\}", r"{\1}", c.path))] = text
    return found


def test_every_route_is_in_the_matrix(app: Any) -> None:
    missing = [r for r in _routes(app) if r not in MATRIX]
    declared = _declared_roles(app)
    hint = "".join(f"\n    {r!r}: {declared.get(r, '?')}," for r in missing)
    assert not missing, f"routes with no row in tests/security/test_role_matrix.py MATRIX (as declared now):{hint}"
    stale = [r for r in MATRIX if r not in set(_routes(app))]
    assert not stale, f"rows for routes that no longer exist: {stale}"


def test_signed_out_gets_401_or_the_sign_in_page(app: Any, client: Any, world: Any) -> None:
    wrong = []
    for method, path in _routes(app):
        if MATRIX.get((method, path)) == PUBLIC:
            continue
        r = client.request(method, _url(path))
        if path.startswith("/api/"):
            ok = r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer"
        else:
            ok = r.status_code == 303 and r.headers["location"].startswith("/sign-in")
        if not ok:
            wrong.append(f"{method} {path} -> {r.status_code}")
    assert not wrong, wrong


def test_wrong_role_gets_403_and_is_audited(app: Any, as_user: Any, session: Any) -> None:
    def denials() -> int:
        return int(session.execute(sa.text("SELECT count(*) FROM audit_event WHERE action = 'access_denied'")).scalar())

    before = denials()
    refused = 0
    wrong = []
    for method, path in _routes(app):
        allowed = MATRIX.get((method, path))
        if allowed in (PUBLIC, ANY):
            continue
        for role, username in USERS.items():
            if role in allowed:
                continue
            r = as_user(username).request(method, _url(path))
            refused += 1
            if r.status_code != 403:
                wrong.append(f"{method} {path} as {role} -> {r.status_code}")
    assert not wrong, f"{len(wrong)} of {refused} refusals answered otherwise: {wrong}"
    assert denials() - before == refused, "every refusal is written to the audit trail"
