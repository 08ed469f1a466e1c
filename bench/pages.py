"""How long every page and JSON list takes for each role on five years of a large prison.

Uses the database `bench/reports.py` seeds (`bwv_bench_reports`: 100,000 incidents, 300,000 clips, 300,000
ratings; seeded here if absent), signs in as the coordinator, the governor, an officer and an admin, and
asks for each page of theirs through uvicorn, one after another, with a time limit per request. Prints each
page's median time and flags those over a second: a page that reads every clip of the establishment into
Python, or a statement PostgreSQL plans badly at this size, shows here long before a prison has five years
of footage. Prints, never asserts.

    python bench/pages.py               # every page, 3 runs each
    python bench/pages.py --runs 5 --only /review
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import reports  # noqa: E402  (the seeding and the server are shared)

SLOW_S = 1.0
LIMIT_S = 120.0


def ensure_admin() -> None:
    """The seed has no admin; add one (once)."""
    from sqlmodel import Session, select

    from app.auth.models import Role, User
    from app.auth.service import create_user
    from app.core import db as core_db

    engine = core_db.make_engine(reports.sa_url(reports.db_url()))
    with Session(engine) as s:
        if s.exec(select(User).where(User.username == "bench.admin")).first() is None:
            create_user(
                s,
                username="bench.admin",
                password=reports.PASSWORD,
                display_name="Bench Admin",
                role=Role.admin,
                establishment_id=None,
            )
            s.commit()
    engine.dispose()


def pages(ids: dict[str, object]) -> dict[str, list[str]]:
    inc, clip, sn, kf = ids["incident"], ids["footage"], ids["staff_number"], ids["own_footage"]
    coordinator = [
        "/", "/review", "/review?status=rated", "/review?check=no_footage",
        "/review?check=flagged", f"/review/{clip}", "/review/templates",
        "/incidents", f"/incidents/{inc}", "/footage", "/footage/missing", f"/footage/{clip}",
        f"/footage/{clip}/analysis", "/feedback", "/good-practice", "/calibration", "/officers", f"/officers/{sn}",
        "/reports/compliance", "/audit",
        "/api/v1/footage", "/api/v1/footage/missing", "/api/v1/incidents", f"/api/v1/incidents/{inc}",
        f"/api/v1/incidents/{inc}/activation", f"/api/v1/incidents/{inc}/ratings", f"/api/v1/footage/{clip}",
        f"/api/v1/footage/{clip}/analysis", f"/api/v1/footage/{clip}/ratings", "/api/v1/feedback/overdue",
        "/api/v1/good-practice", "/api/v1/calibration/agreement", "/api/v1/staff", "/api/v1/cameras",
        "/api/v1/reports/officers", f"/api/v1/reports/officers/{sn}", "/api/v1/reports/compliance",
    ]  # fmt: skip
    governor = ["/", "/reports/compliance", "/officers", f"/officers/{sn}", "/incidents", "/feedback"]
    officer = ["/", "/my/progress", f"/my/footage/{kf}", "/good-practice", "/api/v1/my/feedback"]
    admin = ["/", "/admin/establishments", "/admin/users", "/audit", "/reports/compare", "/api/v1/audit/events"]
    return {"coordinator": coordinator, "governor": governor, "officer": officer, "admin": admin}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="only paths starting with this")
    args = ap.parse_args(argv)
    if not reports.ensure_database(False):
        reports.seed()
    ensure_admin()
    import httpx
    import psycopg

    with psycopg.connect(reports.db_url()) as conn:
        one = conn.execute

        est = one("SELECT id FROM establishment WHERE code = 'BEN'").fetchone()[0]  # type: ignore[index]
        officer_id = one("SELECT staff_member_id FROM \"user\" WHERE username = 'bench.officer'").fetchone()[0]  # type: ignore[index]
        ids = {
            "incident": one(
                "SELECT incident_id FROM footage_incident WHERE establishment_id = %s ORDER BY force_started_at DESC"
                " LIMIT 1",
                (est,),
            ).fetchone()[0],  # type: ignore[index]
            "footage": one(
                "SELECT f.id FROM footage f JOIN footage_incident fi ON fi.footage_id = f.id"
                " WHERE f.establishment_id = %s AND f.purged_at IS NULL ORDER BY fi.force_started_at DESC LIMIT 1",
                (est,),
            ).fetchone()[0],  # type: ignore[index]
            "staff_number": one(
                "SELECT s.staff_number FROM rating r JOIN staff_member s ON s.id = r.wearer_id WHERE r.is_current"
                " GROUP BY s.staff_number ORDER BY count(*) DESC LIMIT 1"
            ).fetchone()[0],  # type: ignore[index]
            "own_footage": one(
                "SELECT footage_id FROM rating WHERE wearer_id = %s AND is_current ORDER BY rated_at DESC LIMIT 1",
                (officer_id,),
            ).fetchone()[0],  # type: ignore[index]
        }
    port = reports.free_port()
    proc = reports.start_server(port)
    slow: list[str] = []
    try:
        print(f"{'role':12} {'page':58} {'status':>6} {'median':>9} {'KB':>7}")
        for role, paths in pages(ids).items():
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=LIMIT_S) as client:
                r = client.post("/api/v1/auth/token", data={"username": f"bench.{role}", "password": reports.PASSWORD})
                r.raise_for_status()
                client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
                for path in paths:
                    if not path.startswith(args.only):
                        continue
                    times: list[float] = []
                    status, size = "", 0
                    for _ in range(args.runs):
                        t0 = time.perf_counter()
                        try:
                            resp = client.get(path)
                        except httpx.TimeoutException:
                            status, times = "timeout", [LIMIT_S]
                            break
                        except httpx.HTTPError as exc:  # the server dropped the connection: say so, go on
                            status, times = type(exc).__name__[:6], [time.perf_counter() - t0]
                            break
                        times.append(time.perf_counter() - t0)
                        status, size = str(resp.status_code), len(resp.content)
                    med = statistics.median(times)
                    mark = "  <- slow" if med > SLOW_S else ""
                    if mark:
                        slow.append(f"{role} {path}")
                    print(f"{role:12} {path[:58]:58} {status:>6} {med * 1000:7.0f}ms {size / 1024:7.0f}{mark}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"{len(slow)} page(s) over {SLOW_S:.0f} s" + (": " + ", ".join(slow) if slow else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
