"""Speed of the reports through the HTTP API, as a ratio to the same SQL run directly.

Seeds a dedicated PostgreSQL database (`bwv_bench_reports`, created if absent, reused once seeded) with
five years of a large prison: 100,000 incidents, 300,000 clips, 300,000 ratings (with re-ratings,
calibration-free), activation checks for 3 officers an incident, subjects, acknowledgements. COPY makes
seeding take about a minute.

Then, for a year's compliance summary and one officer's report:
- "bare SQL": the exact statements the service sends (captured once, per connection), replayed on plain
  psycopg connections — no ORM, no HTTP. The summary's service runs its clips' statement on a second
  connection beside the rest; the replay does the same, and also prints the one-after-another time;
- "API": `GET /api/v1/reports/...` with a bearer token against uvicorn in a subprocess on a free port
  (sign-in check, the audit entry, JSON), timed by the client.
API and bare runs take turns, so a noisy spell of the machine falls on both alike. For reference, the bare
statements are also timed run after run with nothing in between (hot caches: the lowest figure).
Prints medians and the ratio. Targets: API within 1.5x of the bare SQL, and under 300 ms for a year's
summary. Prints, never asserts. Machines differ (session machines here have differed by about 1.5x on the same
statements), so it also prints a yardstick: PostgreSQL counting 2 million generated rows, nothing read from
disk; compare absolute times from two machines only beside their yardsticks.

    python bench/reports.py                 # seed if needed, then measure
    python bench/reports.py --reseed        # drop and seed again
    python bench/reports.py --runs 30
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/postgres")
DB_NAME = "bwv_bench_reports"
PASSWORD = "bench-password-2026"  # noqa: S105
N_INCIDENTS = 100_000
N_CLIPS = 300_000
N_RATINGS = 300_000
N_OFFICERS = 400
WARM_UP = 12  # psycopg prepares on a connection's 5th run; the server's pool may rotate two connections
YEARS = 5
END = datetime(2026, 11, 1, tzinfo=UTC)
LOCATIONS = [f"{w} wing" for w in "ABCDEFGHJK"] + ["Reception", "Segregation unit", "Healthcare", "Exercise yard"]
ETHNICITY = ["White British", "White other", "Black British", "Black African", "Asian British", "Mixed", "Other"]
AGES = ["18-20", "21-24", "25-29", "30-39", "40-49", "50+"]


def db_url(name: str = DB_NAME) -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


# ---------------------------------------------------------------- seeding
def ensure_database(reseed: bool) -> bool:
    """Create the database if absent; True when it is already seeded."""
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
        if exists and reseed:
            conn.execute(f'DROP DATABASE "{DB_NAME}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ["DATABASE_URL"] = db_url()
    from alembic import command
    from app.cli import _alembic_config
    from app.core import db as core_db

    engine = core_db.make_engine(sa_url(db_url()))
    with engine.connect() as conn:
        cfg = _alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    engine.dispose()
    with psycopg.connect(db_url()) as conn:
        n = conn.execute("SELECT count(*) FROM incident").fetchone()[0]  # type: ignore[index]
    return bool(n >= N_INCIDENTS)


def _template(model: Any, **required: Any) -> dict[str, Any]:
    """Every column's Python-side default (SQLModel defaults are not in the database)."""
    obj = model(**required)
    return {name: getattr(obj, name) for name in model.model_fields}


def _copy(conn: Any, table: str, columns: list[str], rows: Any) -> int:
    n = 0
    with conn.cursor().copy(f'COPY "{table}" ({", ".join(columns)}) FROM STDIN') as cp:
        for row in rows:
            cp.write_row(row)
            n += 1
    return n


def _j(x: Any) -> Any:
    return json.dumps(x) if isinstance(x, dict | list) else x


def seed() -> None:
    import psycopg
    from sqlmodel import Session

    from app.auth.models import Role
    from app.auth.service import create_user
    from app.core import db as core_db
    from app.establishment.models import EstablishmentCreate
    from app.establishment.service import add_staff_member, create_establishment
    from app.footage.models import Footage
    from app.incident.models import ActivationResult, Incident
    from app.rating.models import Rating
    from app.staff.models import StaffMemberCreate

    rnd = random.Random(20261126)  # noqa: S311
    t0 = time.perf_counter()
    engine = core_db.make_engine(sa_url(db_url()))
    core_db.use_engine(engine)
    with Session(engine) as s:
        est = create_establishment(s, EstablishmentCreate(code="BEN", name="HMP Benchmark"))
        other = create_establishment(s, EstablishmentCreate(code="SML", name="HMP Small"))
        officers = [
            add_staff_member(s, est.id, StaffMemberCreate(staff_number=f"B{i:04d}", name=f"Officer {i:04d}")).id
            for i in range(1, N_OFFICERS + 1)
        ]
        add_staff_member(s, other.id, StaffMemberCreate(staff_number="S0001", name="Officer Small"))
        gov = create_user(
            s, username="bench.governor", password=PASSWORD, display_name="Bench Governor",
            role=Role.governor, establishment_id=est.id,
        )  # fmt: skip
        coord = create_user(
            s, username="bench.coordinator", password=PASSWORD, display_name="Bench Coordinator",
            role=Role.coordinator, establishment_id=est.id,
        )  # fmt: skip
        create_user(
            s, username="bench.officer", password=PASSWORD, display_name="Bench Officer",
            role=Role.staff, establishment_id=est.id, staff_member_id=officers[0],
        )  # fmt: skip
        s.commit()
        est_id, coord_id = est.id, coord.id
        _ = gov
    engine.dispose()

    start = END - timedelta(days=365 * YEARS)
    span = (END - start).total_seconds()
    inc_tpl = _template(
        Incident, establishment_id=est_id, reference="x", location="x", incident_started_at=END,
        force_started_at=END, force_ended_at=END, incident_ended_at=END,
    )  # fmt: skip
    inc_cols = [c for c in inc_tpl if c != "id"]
    fo_tpl = _template(
        Footage, establishment_id=est_id, recording_started_at=END, original_filename="x.mp4", size_bytes=1,
        sha256="x", storage_key="x",
    )  # fmt: skip
    fo_cols = [c for c in fo_tpl if c != "id"]
    ar_tpl = _template(
        ActivationResult, incident_id=1, staff_member_id=1, establishment_id=est_id, force_started_at=END,
        status="before_force",
    )  # fmt: skip
    ar_cols = list(ar_tpl)
    rt_tpl = _template(
        Rating, footage_id=1, establishment_id=est_id, rag="green", rated_by_user_id=coord_id, recorded_at=END
    )
    rt_cols = [c for c in rt_tpl if c != "id"]

    # Incidents (ids 1..N in force order, as COPY into an empty table assigns them).
    times = sorted(start + timedelta(seconds=rnd.random() * span) for _ in range(N_INCIDENTS))
    incidents = []
    for i, t in enumerate(times, start=1):
        dur = rnd.randint(20, 600)
        incidents.append((i, t, dur, rnd.random() < 0.2, rnd.choice(LOCATIONS)))

    def inc_rows() -> Any:
        for i, t, dur, planned, loc in incidents:
            row = dict(inc_tpl)
            row.update(
                reference=f"UOF-{i:06d}", location=loc, planned=planned,
                incident_started_at=t - timedelta(minutes=5), force_started_at=t,
                force_ended_at=t + timedelta(seconds=dur), incident_ended_at=t + timedelta(seconds=dur + 600),
                created_at=t + timedelta(hours=2), force_types=["control_and_restraint"],
            )  # fmt: skip
            yield [_j(row[c]) for c in inc_cols]

    # Three officers each; improving officers drift towards switching on earlier over the years.
    checks: list[tuple[int, int, str, float | None, float, datetime, int]] = []
    clips: list[tuple[int, int, datetime, int]] = []  # (incident, officer, recording start, n)
    for i, t, dur, _planned, _loc in incidents:
        progress = (t - start).total_seconds() / span
        for sid in rnd.sample(officers, 3):
            r = rnd.random()
            late_p = 0.35 - 0.2 * progress
            if r < 0.05:
                checks.append((i, sid, "no_footage", None, 0.0, t, dur))
                continue
            if r < 0.05 + late_p:
                lag = rnd.uniform(1, min(dur, 120))
                status = "late"
                cov = max(0.0, 1 - lag / dur)
            elif r < 0.07 + late_p:
                lag = dur + rnd.uniform(5, 60)
                status, cov = "after_force", 0.0
            else:
                lag = -rnd.uniform(2, 90)
                status, cov = "before_force", 1.0 if rnd.random() < 0.9 else rnd.uniform(0.6, 1.0)
            checks.append((i, sid, status, round(lag, 1), round(cov, 3), t, dur))
            clips.append((i, sid, t + timedelta(seconds=lag - 30), len(clips) + 1))

    def ar_rows() -> Any:
        for i, sid, status, lag, cov, t, _dur in checks:
            row = dict(ar_tpl)
            row.update(
                incident_id=i, staff_member_id=sid, force_started_at=t, status=status, lag_s=lag, coverage=cov,
                compliant=status == "before_force" and cov > 0.99, computed_at=t + timedelta(hours=3),
                activated_at=None if lag is None else t + timedelta(seconds=lag),
            )  # fmt: skip
            yield [_j(row[c]) for c in ar_cols]

    # Clips: one per officer with footage (linked), the rest unlinked (never reviewed) up to N_CLIPS.
    extra = N_CLIPS - len(clips)
    unlinked = [
        (0, rnd.choice(officers), start + timedelta(seconds=rnd.random() * span), len(clips) + k + 1)
        for k in range(max(0, extra))
    ]

    def fo_rows() -> Any:
        for _inc, sid, rec, n in clips + unlinked:
            row = dict(fo_tpl)
            digest = f"{n:064x}"
            row.update(
                wearer_id=sid, recording_started_at=rec, activated_at=rec + timedelta(seconds=30),
                prerecord_seconds=30.0, original_filename=f"clip-{n}.mp4", size_bytes=50_000_000 + n,
                sha256=digest, storage_key=f"sha256/{digest}", status="analysed", uploaded_at=rec + timedelta(hours=1),
                duration_s=600.0, analysed_at=rec + timedelta(hours=1, minutes=5), integrity_status="ok",
            )  # fmt: skip
            yield [_j(row[c]) for c in fo_cols]

    # Ratings: linked clips, most rated; ~10% re-rated (the first version superseded). Rating ids follow
    # insertion order, so a superseded version points at the id its replacement will get.
    ratings: list[dict[str, Any]] = []
    rate_p = 0.95
    rerate_p = (N_RATINGS / (len(clips) * rate_p)) - 1 + 0.01  # a little over, then cut to N_RATINGS
    for inc, sid, rec, n in clips:
        if rnd.random() > rate_p:
            continue
        t = incidents[inc - 1][1]
        rated_at = t + timedelta(hours=rnd.uniform(2, 24 * 20))
        progress = (t - start).total_seconds() / span
        roll = rnd.random()
        rag = "green" if roll < 0.5 + 0.3 * progress else ("amber" if roll < 0.85 + 0.1 * progress else "red")
        base = dict(footage_id=n, wearer_id=sid, recorded_at=rec, rated_at=rated_at, rag=rag)
        if rnd.random() < rerate_p:
            first_id = len(ratings) + 1
            ratings.append({**base, "version": 1, "is_current": False, "superseded_by_id": first_id + 1,
                            "rag": "red" if rag != "red" else "amber"})  # fmt: skip
            ratings.append({**base, "version": 2, "rated_at": rated_at + timedelta(days=2), "rerating_reason": "x"})
        else:
            ratings.append({**base, "version": 1})
    ratings = ratings[:N_RATINGS]
    if ratings and ratings[-1].get("is_current") is False:
        ratings[-1]["is_current"], ratings[-1]["superseded_by_id"] = True, None

    def rt_rows() -> Any:
        for r in ratings:
            row = dict(rt_tpl)
            row.update(r)
            row["guidance"] = "" if row["rag"] == "green" else "Switch on before going hands-on."
            row["establishment_id"] = est_id
            yield [_j(row[c]) for c in rt_cols]

    with psycopg.connect(db_url()) as conn:
        n_inc = _copy(conn, "incident", inc_cols, inc_rows())
        _copy(conn, "incident_staff", ["incident_id", "staff_member_id", "part"],
              ((c[0], c[1], "") for c in checks))  # fmt: skip
        _copy(conn, "activation_result", ar_cols, ar_rows())
        subjects = (
            (i, f"A{i:06d}", rnd.choice([*ETHNICITY, None]), rnd.choice(AGES), rnd.choice(["Male", "Male", "Female"]),
             rnd.choice(["None", "Yes", None]))
            for i, *_ in incidents
        )  # fmt: skip
        _copy(conn, "incident_subject", ["incident_id", "reference", "ethnicity", "age_band", "sex", "disability"],
              subjects)  # fmt: skip
        n_fo = _copy(conn, "footage", fo_cols, fo_rows())
        _copy(conn, "footage_incident",
              ["footage_id", "incident_id", "linked_at", "source", "establishment_id", "force_started_at"],
              ((n, inc, rec + timedelta(hours=1), "upload", est_id, incidents[inc - 1][1])
               for inc, _sid, rec, n in clips))  # fmt: skip
        n_rt = _copy(conn, "rating", rt_cols, rt_rows())
        # Acknowledgements: most current amber/red guidance, a few days after it was given.
        conn.execute(
            """INSERT INTO acknowledgement (rating_id, staff_member_id, acknowledged_at, reply)
               SELECT id, wearer_id, rated_at + interval '3 days', ''
               FROM rating WHERE is_current AND rag <> 'green' AND id % 10 <> 0"""
        )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
    print(f"seeded {n_inc:,} incidents, {n_fo:,} clips, {n_rt:,} ratings in {time.perf_counter() - t0:.0f} s")


# ---------------------------------------------------------------- measuring
def capture_sql(kind: str, params: dict[str, Any]) -> list[list[tuple[str, Any]]]:
    """Run the service once in-process and keep every statement it sends (text and parameters), one list
    per database connection it used (the summary uses a second one for its clips' statement)."""
    from sqlalchemy import event
    from sqlmodel import Session

    from app.core import db as core_db
    from app.report import service
    from app.report.access import resolve_period

    engine = core_db.make_engine(sa_url(db_url()))
    seen: dict[int, list[tuple[str, Any]]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        seen.setdefault(id(conn.connection.dbapi_connection), []).append((statement, parameters))

    with Session(engine) as s:
        if kind == "compliance":
            service.compliance_summary(s, params["est_id"], resolve_period(params["from"], params["to"]))
        else:
            officer = service.find_officer(s, params["est_id"], params["staff_number"])
            assert officer is not None
            seen.clear()
            service.officer_report(s, officer)
    engine.dispose()
    return list(seen.values())


def _replay(conn: Any, statements: list[tuple[str, Any]]) -> None:
    with conn.transaction():
        for sql, params in statements:
            cur = conn.execute(sql, params)
            if cur.description is not None:
                cur.fetchall()


class Bare:
    """Replays the statements on plain psycopg connections: all on one, one after another; or `at_once`,
    each connection's statements on a connection of their own at the same time, as the service does."""

    def __init__(self, per_connection: list[list[tuple[str, Any]]]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import psycopg

        self.per_connection = per_connection
        self.conns = [psycopg.connect(db_url(), autocommit=True) for _ in per_connection]
        self.pool = ThreadPoolExecutor(max_workers=len(self.conns))

    def once(self, *, at_once: bool) -> float:
        t0 = time.perf_counter()
        if at_once:
            pairs = zip(self.conns, self.per_connection, strict=True)
            for f in [self.pool.submit(_replay, c, st) for c, st in pairs]:
                f.result()
        else:
            _replay(self.conns[0], [x for st in self.per_connection for x in st])
        return time.perf_counter() - t0

    def close(self) -> None:
        self.pool.shutdown()
        for c in self.conns:
            c.close()


def yardstick() -> float:
    """Median time PostgreSQL takes to count 2 million generated rows: CPU only, for comparing machines."""
    import psycopg

    with psycopg.connect(db_url(), autocommit=True) as conn:
        conn.execute("SET jit = off")
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            conn.execute("SELECT count(*) FROM generate_series(1, 2000000)").fetchone()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url(),
        BWV_ENVIRONMENT="development",
        BWV_RELAY_THREAD="false",
        BWV_LOG_LEVEL="WARNING",
        BWV_DATA_DIR=str(ROOT / "data" / "bench-reports"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    import httpx

    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the server did not start")


def time_api(client: Any, url: str) -> float:
    t0 = time.perf_counter()
    r = client.get(url)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200, r.text[:300]
    return elapsed


def measure(client: Any, url: str, bare: Bare, runs: int) -> tuple[list[float], list[float], list[float]]:
    """API, bare (as the service) and bare one after another, interleaved run by run, so that a slower or
    quieter spell of the machine falls on all three alike. The first runs warm up (psycopg prepares a
    statement on its 5th run on a connection) and are dropped."""
    api: list[float] = []
    at_once: list[float] = []
    sequential: list[float] = []
    for i in range(runs + WARM_UP):
        a = time_api(client, url)
        b = bare.once(at_once=True)
        c = bare.once(at_once=False) if len(bare.per_connection) > 1 else b
        if i >= WARM_UP:
            api.append(a)
            at_once.append(b)
            sequential.append(c)
    return api, at_once, sequential


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reseed", action="store_true")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--seed-only", action="store_true")
    args = ap.parse_args(argv)
    if not ensure_database(args.reseed):
        seed()
    if args.seed_only:
        return 0
    import httpx
    import psycopg

    with psycopg.connect(db_url()) as conn:
        est_id = conn.execute("SELECT id FROM establishment WHERE code = 'BEN'").fetchone()[0]  # type: ignore[index]
        busiest = conn.execute(
            "SELECT s.staff_number FROM rating r JOIN staff_member s ON s.id = r.wearer_id "
            "WHERE r.is_current GROUP BY s.staff_number ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM incident), (SELECT count(*) FROM footage), (SELECT count(*) FROM rating)"
        ).fetchone()
    year_from, year_to = date(2025, 11, 1), date(2026, 10, 31)
    print(f"database {DB_NAME}: {counts[0]:,} incidents, {counts[1]:,} clips, {counts[2]:,} ratings")  # type: ignore[index]

    cases = [
        ("compliance summary, 12 months", "compliance",
         {"est_id": est_id, "from": year_from.isoformat(), "to": year_to.isoformat()},
         f"/api/v1/reports/compliance?establishment=BEN&from={year_from}&to={year_to}"),
        (f"officer report ({busiest})", "officer", {"est_id": est_id, "staff_number": busiest},
         f"/api/v1/reports/officers/{busiest}"),
    ]  # fmt: skip
    port = free_port()
    proc = start_server(port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
            r = client.post("/api/v1/auth/token", data={"username": "bench.governor", "password": PASSWORD})
            r.raise_for_status()
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            print(f"{'':34} {'bare SQL':>10} {'API':>10} {'ratio':>7}   (medians of {args.runs})")
            for label, kind, params, url in cases:
                statements = capture_sql(kind, params)
                n = sum(len(st) for st in statements)
                bare = Bare(statements)
                try:
                    api_t, bare_t, seq_t = measure(client, url, bare, args.runs)
                finally:
                    bare.close()
                api, at_once = statistics.median(api_t), statistics.median(bare_t)
                print(f"{label:34} {at_once * 1000:8.1f}ms {api * 1000:8.1f}ms {api / at_once:6.2f}x"
                      f"   ({n} statements, {len(statements)} connection(s) at once, as the service)")  # fmt: skip
                if len(statements) > 1:
                    seq = statistics.median(seq_t)
                    print(f"{'  the same, one after another':34} {seq * 1000:8.1f}ms {'':>10} {api / seq:6.2f}x")
                bare = Bare(statements)
                try:
                    hot = statistics.median([bare.once(at_once=True) for _ in range(args.runs + WARM_UP)][WARM_UP:])
                finally:
                    bare.close()
                print(f"{'  bare SQL alone, run after run':34} {hot * 1000:8.1f}ms {'':>10} {api / hot:6.2f}x"
                      "   (nothing else between runs: caches stay hot)")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min);"
          f" yardstick {yardstick() * 1000:.0f} ms (PostgreSQL counts 2 million generated rows)")  # fmt: skip
    print("targets: API within 1.5x of the bare SQL; the year's summary under 300 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
