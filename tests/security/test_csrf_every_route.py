"""CSRF on every form and every cookie-authenticated write: each POST/PUT/PATCH/DELETE route that needs a sign-in,
called from a browser session without the session's CSRF token, answers 403 and is audited as `csrf_refused`.

The routes come from the app (as in the role matrix), so a new write route that forgot the check fails here.
Shown to fail with the check off: with `app.core.deps._check_csrf` patched to do nothing, all 82 requests (41
write routes at the time, twice each) were answered otherwise for the admin session (204, 303, 401, 422...).
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tests.security.test_role_matrix import MATRIX, PUBLIC, _routes, _url
from tests.support import browser_sign_in, make_client

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def _refusals(session: Any) -> int:
    return int(session.execute(sa.text("SELECT count(*) FROM audit_event WHERE action = 'csrf_refused'")).scalar())


def _write_routes(app: Any) -> list[tuple[str, str]]:
    return [(m, p) for m, p in _routes(app) if m in UNSAFE and MATRIX.get((m, p)) != PUBLIC]


def test_there_are_write_routes_to_check(app: Any) -> None:
    assert len(_write_routes(app)) >= 30


@pytest.mark.parametrize("username", ["admin", "coordinator.a"])
def test_every_cookie_write_without_the_token_is_refused_and_audited(
    app: Any, world: Any, session: Any, username: str
) -> None:
    client = make_client(app)
    csrf = browser_sign_in(client, username)
    before = _refusals(session)
    wrong = []
    routes = _write_routes(app)
    for method, path in routes:
        # No token at all, then a token of the right shape that is not this session's.
        for headers in ({}, {"X-CSRF-Token": "x" * len(csrf)}):
            r = client.request(method, _url(path), headers=headers)
            if r.status_code != 403:
                wrong.append(f"{method} {path} {sorted(headers)} -> {r.status_code}")
    assert not wrong, f"{len(wrong)} cookie writes without the session's CSRF token were not refused: {wrong}"
    assert _refusals(session) - before == 2 * len(routes), "every refusal is written to the audit trail"
