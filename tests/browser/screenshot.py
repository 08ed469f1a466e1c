"""Take a screenshot of a page with Playwright + Debian's Chromium.

Usage:
    python tests/browser/screenshot.py URL OUT.png [--width 1366] [--height 900] [--viewport-only]

As a library:
    from tests.browser.screenshot import shoot
    shoot("http://127.0.0.1:8000/", "/tmp/home.png")

Needs `pip install playwright`; browsers are not downloaded: the system
Chromium (/usr/bin/chromium, Debian package `chromium`) is used. Set
BWV_CHROMIUM to use another executable. Console errors and CSP violations seen
while loading are returned (and printed by the CLI) so they are not missed.
"""

from __future__ import annotations

import argparse
import os
import sys

CHROMIUM = os.environ.get("BWV_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def shoot(
    url: str,
    out_png: str,
    *,
    viewport: tuple[int, int] = (1366, 900),
    full_page: bool = True,
    wait_until: str = "networkidle",
    timeout_ms: int = 30_000,
) -> list[str]:
    """Load `url` and save a PNG to `out_png`. Returns console errors/warnings seen."""
    from playwright.sync_api import sync_playwright

    messages: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.on(
                "console",
                lambda m: messages.append(f"console.{m.type}: {m.text}") if m.type in ("error", "warning") else None,
            )
            page.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
            page.on("requestfailed", lambda r: messages.append(f"requestfailed: {r.url} {r.failure}"))
            page.on(
                "response",
                lambda r: messages.append(f"http {r.status}: {r.url}") if r.status >= 400 and r.url != url else None,
            )
            page.goto(url, wait_until=wait_until, timeout=timeout_ms)
            page.wait_for_timeout(200)
            os.makedirs(os.path.dirname(os.path.abspath(out_png)), exist_ok=True)
            page.screenshot(path=out_png, full_page=full_page)
        finally:
            browser.close()
    return messages


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url")
    ap.add_argument("out_png")
    ap.add_argument("--width", type=int, default=1366)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--viewport-only", action="store_true", help="capture only the viewport, not the full page")
    args = ap.parse_args(argv)
    msgs = shoot(args.url, args.out_png, viewport=(args.width, args.height), full_page=not args.viewport_only)
    for m in msgs:
        print(m, file=sys.stderr)
    print(args.out_png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
