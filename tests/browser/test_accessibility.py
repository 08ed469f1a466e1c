"""WCAG 2.2 AA, checked by axe-core in real Chromium on the main pages of every role (issue 2).

Each page is opened as the role that uses it, axe-core (npm devDependency, read from node_modules) is run with
the WCAG 2.0/2.1/2.2 A and AA rules, and any violation of impact "serious" or "critical" fails the test, with
the rule, the elements and axe's own explanation. Moderate and minor findings are left to review by people.

The page's Content-Security-Policy stays on: axe is evaluated through the browser's debugging protocol
(`page.evaluate`), which the CSP does not govern, instead of an inline <script> it would block.

Extra users (governor, officer, admin) are added to the live server's database with `bwv-review create-user`,
and one clip is rated so the officer has guidance on their pages.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import ROOT, LiveServer, _env, sign_in
from tests.support import REQUIRE_SERVICES

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
PASSWORD = "accessible-pages-2026"  # noqa: S105

# Pages per role: (name, path or a function of the seed giving the path).
Path_ = str | Callable[[dict[str, Any]], str]
PAGES: dict[str, list[tuple[str, Path_]]] = {
    "signed-out": [("sign-in", "/sign-in")],
    "coordinator": [
        ("home", "/"),
        ("review queue", "/review"),
        ("review screen", lambda s: f"/review/{s['late']}"),
        ("incident list", "/incidents"),
        ("incident page", lambda s: f"/incidents/{s['incidents'][0]}"),
        ("new incident", "/incidents/new"),
        ("footage list", "/footage"),
        ("footage page", lambda s: f"/footage/{s['covered']}"),
        ("upload", "/footage/upload"),
        ("officers", "/officers"),
        ("officer", "/officers/LP101"),
        ("compliance summary", "/reports/compliance"),
        ("calibration", "/calibration"),
        ("guidance templates", "/review/templates"),
        ("feedback", "/feedback"),
        ("feedback for a period", "/feedback?days=0&from=1/1/2026&to=31/12/2026"),
        ("officers and cameras", "/staff-and-cameras"),
    ],
    "governor": [
        ("home", "/"),
        ("incident list", "/incidents"),
        ("incident page", lambda s: f"/incidents/{s['incidents'][1]}"),
        ("footage list", "/footage"),
        ("footage page", lambda s: f"/footage/{s['late']}"),
        ("officers", "/officers"),
        ("compliance summary", "/reports/compliance"),
        ("audit", "/audit"),
    ],
    "officer": [
        ("home", "/"),
        ("my footage", lambda s: f"/my/footage/{s['covered']}"),
        ("my progress", "/my/progress"),
        ("good practice", "/good-practice"),
    ],
    "admin": [
        ("home", "/"),
        ("users", "/admin/users"),
        ("user", "/admin/users/1"),
        ("establishments", "/admin/establishments"),
        ("establishment", "/admin/establishments/1"),
        ("officers and cameras (choose)", "/staff-and-cameras"),
        ("audit", "/audit"),
    ],
}
USERS = {
    "coordinator": ("coordinator", None),  # from the seed
    "governor": ("governor", ["--role", "governor", "--establishment", "LPI"]),
    "officer": ("officer.clarke", ["--role", "staff", "--establishment", "LPI", "--staff-number", "LP103"]),
    "admin": ("admin", ["--role", "admin"]),
}
CASES = [(role, name, path) for role, pages in PAGES.items() for name, path in pages]


def _need_axe() -> None:
    if not AXE.exists():
        message = f"{AXE.relative_to(ROOT)} is missing: run `make assets` (npm devDependency axe-core)"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)


def _api(server: LiveServer, method: str, path: str, *, token: str | None = None, **body: Any) -> Any:
    if token is None:  # the OAuth2 password form
        data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
    else:
        data = json.dumps(body).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(req, timeout=30) as r:  # noqa: S310 - our own server
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="module")
def people(live_server: LiveServer) -> dict[str, tuple[str, str]]:
    """role -> (username, password): the seed's coordinator plus users made with `bwv-review create-user`;
    the lens-covered clip rated amber with guidance, for the officer's pages."""
    _need_axe()
    env = _env(live_server.data_dir)
    out = {}
    for role, (username, args) in USERS.items():
        if args is None:
            out[role] = (username, live_server.seed["password"])
            continue
        made = subprocess.run(
            [sys.executable, "-m", "app.cli", "create-user", "--username", username,
             "--name", username.replace(".", " ").title(), "--password", PASSWORD, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-2000:]
        out[role] = (username, PASSWORD)
    token = _api(live_server, "POST", "/api/v1/auth/token", username="coordinator",
                 password=live_server.seed["password"])["access_token"]  # fmt: skip
    _api(
        live_server, "POST", f"/api/v1/footage/{live_server.seed['covered']}/ratings", token=token,
        rag="amber", criteria={"switched_on_before_force": True},
        guidance="The lens was covered during the restraint. Keep the camera clear of your arm when going hands-on.",
        override_reason="Checked by hand",
    )  # fmt: skip
    return out


def run_axe(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it stands, for the WCAG A/AA tags."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']}); return r.violations }",
        TAGS,
    )
    return list(result)


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            summary = " ".join((node.get("failureSummary") or "").split())[:300]
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    return "\n".join(lines)


@pytest.mark.browser
@pytest.mark.parametrize(("role", "name", "path"), CASES, ids=[f"{r}-{n.replace(' ', '-')}" for r, n, _ in CASES])
def test_page_has_no_serious_accessibility_violations(
    page: Any, live_server: LiveServer, people: dict[str, tuple[str, str]], role: str, name: str, path: Path_
) -> None:
    if role != "signed-out":
        sign_in(page, *people[role])
    url = path(live_server.seed) if callable(path) else path
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{role} {url}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    violations = run_axe(page)
    serious = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
    assert serious == [], f"{role} {name} ({url}):\n{describe(serious)}"
    assert live_server.messages == [], live_server.messages


# Forms sent back with their error summary and messages: (role, page, how to get the errors).
ERROR_STATES: list[tuple[str, str, Callable[[Any], None]]] = [
    ("signed-out", "/sign-in", lambda p: (p.fill("#username", "nobody"), p.fill("#password", "wrong-password!"),
                                          p.click("button[type=submit]"))),
    ("coordinator", "/incidents/new", lambda p: p.get_by_role("button", name="Save incident").first.click()),
    ("admin", "/admin/users", lambda p: p.get_by_role("button", name="Add user").click()),
    ("admin", "/admin/users/1", lambda p: p.get_by_role("button", name="Change password").click()),
    ("admin", "/admin/establishments/1", lambda p: (p.fill("#name", ""),
                                                    p.get_by_role("button", name="Save changes").click())),
    ("coordinator", "/staff-and-cameras", lambda p: p.get_by_role("button", name="Add officer").click()),
]  # fmt: skip


@pytest.mark.browser
@pytest.mark.parametrize(("role", "path", "submit"), ERROR_STATES, ids=[p for _, p, _ in ERROR_STATES])
def test_form_errors_have_no_serious_accessibility_violations(
    page: Any, live_server: LiveServer, people: dict[str, tuple[str, str]], role: str, path: str, submit: Any
) -> None:
    if role != "signed-out":
        sign_in(page, *people[role])
    page.goto(path)
    submit(page)
    page.wait_for_load_state("networkidle")
    assert page.locator(".govuk-error-summary").count() == 1, f"{path}: the form was not sent back with errors"
    serious = [v for v in run_axe(page) if v.get("impact") in FAILING_IMPACTS]
    assert serious == [], f"{role} {path} with errors:\n{describe(serious)}"


@pytest.mark.browser
def test_axe_finds_a_planted_violation(page: Any, live_server: LiveServer, people: dict[str, Any]) -> None:
    """The check can fail: an unlabelled field and a low-contrast line planted in the sign-in page are found."""
    page.goto("/sign-in")
    page.evaluate(
        """() => {
            const main = document.querySelector('main');
            const input = document.createElement('input');
            input.type = 'text';
            main.appendChild(input);
            const p = document.createElement('p');
            p.textContent = 'Barely visible';
            p.style.color = '#dddddd';
            p.style.background = '#ffffff';
            main.appendChild(p);
        }"""
    )
    found = {v["id"] for v in run_axe(page) if v.get("impact") in FAILING_IMPACTS}
    assert {"label", "color-contrast"} <= found, found


def test_pages_cover_every_role_and_the_issue_list() -> None:
    """The pages issue 2 names are all here (a page dropped from the list would go unchecked)."""
    names = {n for pages in PAGES.values() for n, _ in pages}
    wanted = {"sign-in", "home", "review queue", "review screen", "incident list", "incident page", "footage list",
              "footage page", "upload", "officers", "compliance summary", "audit", "calibration"}  # fmt: skip
    assert wanted <= names, wanted - names
    assert set(PAGES) == {"signed-out", *USERS}
    assert all(("home", "/") in pages for role, pages in PAGES.items() if role != "signed-out")
