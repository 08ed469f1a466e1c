"""Every link a page shows leads to a page that person may open. A walk-through found links that answered
403 or 404 for the very role they were shown to (a governor's "Open" going to the coordinators' review
screen, an admin's "Guidance not acknowledged" going to an establishment's list). This walks each role's pages
from their home page, following every link on the service, and expects each to open."""

from __future__ import annotations

import re
from collections import deque
from urllib.parse import urlsplit

import pytest

from tests.report.fixture import build
from tests.support import browser_sign_in, make_client

# Not pages: files, the JSON API, downloads (a reason is asked for first), signing out.
SKIP = re.compile(r"^/(static|api|files)/|^/sign-out|/export|/download|\.(csv|pdf|jpg|png|mp4)$")
MAX_PAGES = 150


def _links(html: str) -> list[str]:
    out = []
    for href in re.findall(r'<a [^>]*href="([^"#]+)', html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/") or SKIP.search(parts.path):
            continue
        out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


@pytest.mark.parametrize("username", ["coordinator.a", "governor.a", "officer.a1", "admin"])
def test_every_link_shown_opens(app, session, world, username) -> None:  # type: ignore[no-untyped-def]
    build(session, world)
    client = make_client(app)
    browser_sign_in(client, username)
    seen: set[str] = set()
    broken: list[str] = []
    queue: deque[tuple[str, str]] = deque([("/", "(home)")])
    while queue and len(seen) < MAX_PAGES:
        url, came_from = queue.popleft()
        # One of each page shape is enough: /review/12 and /review/13 are the same page for another clip.
        shape = re.sub(r"\d+", "N", url.split("?")[0])
        if url in seen or sum(1 for s in seen if re.sub(r"\d+", "N", s.split("?")[0]) == shape) >= 3:
            continue
        seen.add(url)
        r = client.get(url)
        if r.status_code in (301, 302, 303, 307):
            queue.append((r.headers["location"], url))
            continue
        if r.status_code != 200:
            broken.append(f"{url} -> {r.status_code} (linked from {came_from})")
            continue
        if r.headers.get("content-type", "").startswith("text/html"):
            queue.extend((link, url) for link in _links(r.text))
    assert broken == [], "\n".join(broken)
    assert len(seen) > 5, seen
