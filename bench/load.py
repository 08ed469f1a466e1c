"""Load: 50 concurrent users against uvicorn on PostgreSQL, mixing queue views, footage pages, rating
submissions and Range playback. Prints requests/s, p50/p95/p99 latency, the 5xx count (target 0) and the
server's memory growth from after warm-up to the end (target < 10%). Prints, never asserts timings; the exit
status is 1 only when a 5xx was answered.

    python bench/load.py                 # 3 minutes, 50 users
    python bench/load.py --quick         # 30 seconds
    python bench/load.py --users 20 --duration 60 --database-url postgresql://127.0.0.1:5432/test

A dedicated database is created next to --database-url (and dropped afterwards); the data folder is a
temporary one. Nothing else on the machine is touched.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PASSWORD = "load-test-password-0123456789"  # noqa: S105 - a throwaway database
CLIPS = 24
COORDINATORS = 5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(base_url: str) -> str:
    import sqlalchemy as sa

    from app.core.config import Settings

    admin_url = Settings(database_url=base_url).sqlalchemy_url
    name = f"bwv_load_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


def drop_database(url: str) -> None:
    import sqlalchemy as sa

    base, name = url.rsplit("/", 1)
    engine = sa.create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def seed(url: str, data_dir: Path) -> list[int]:
    """Migrate; one establishment with coordinators, staff, a camera, an incident and CLIPS clips."""
    from alembic import command
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.cli import _alembic_config
    from app.core import db as core_db
    from app.establishment.models import CameraCreate, EstablishmentCreate
    from app.establishment.service import add_camera, add_staff_member, create_establishment
    from app.footage.service import NewFootage, register_footage
    from app.staff.models import StaffMemberCreate
    from workers.video.synth import make_clip

    engine = core_db.make_engine(url)
    cfg = _alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()
    core_db.use_engine(engine)
    source = data_dir / "source.mp4"
    make_clip(source, seconds=60, size=(320, 180), scenes=[20.0, 40.0], noise=6, seed=5)
    body = source.read_bytes()
    first = datetime.now(UTC) - timedelta(days=2)
    ids: list[int] = []
    with core_db.unit_of_work() as s:
        est = create_establishment(s, EstablishmentCreate(code="LDT", name="HMP Load"))
        staff = [add_staff_member(s, est.id, StaffMemberCreate(staff_number=f"L{i:03d}", name=f"Officer {i}"))
                 for i in range(6)]  # fmt: skip
        cam = add_camera(s, est.id, CameraCreate(serial="CAM-L1"))
        for i in range(COORDINATORS):
            create_user(s, username=f"coord{i}", password=PASSWORD, display_name=f"Coordinator {i}",
                        role=Role.coordinator, establishment_id=est.id)  # fmt: skip
        for i in range(CLIPS):
            path = data_dir / f"clip{i}.mp4"
            path.write_bytes(body + i.to_bytes(4, "big"))  # distinct bytes, same video
            import hashlib

            sha = hashlib.sha256(path.read_bytes()).hexdigest()
            f = register_footage(
                s,
                NewFootage(
                    establishment_id=est.id,  # type: ignore[arg-type]
                    recording_started_at=first + timedelta(minutes=10 * i),
                    original_filename=f"clip{i}.mp4",
                    camera_id=cam.id,
                    wearer_id=staff[i % len(staff)].id,
                    activated_at=first + timedelta(minutes=10 * i, seconds=5),
                    prerecord_seconds=5,
                    claimed_duration_s=60,
                    content_type="video/mp4",
                    container="mp4",
                ),
                path=path,
                sha256=sha,
                size=path.stat().st_size,
            )
            ids.append(int(f.id))  # type: ignore[arg-type]
    core_db.use_engine(None)
    engine.dispose()
    return ids


class Stats:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()

    def add(self, kind: str, status: int, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)
        self.statuses[status] += 1


async def user(n: int, base: str, token: str, footage: list[int], size: int, until: float, stats: Stats) -> None:
    import httpx

    rng = random.Random(n)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        while time.monotonic() < until:
            fid = rng.choice(footage)
            roll = rng.random()
            if roll < 0.25:
                kind, req = "queue", client.build_request("GET", "/review")
            elif roll < 0.50:
                kind, req = "footage page", client.build_request("GET", f"/review/{fid}")
            elif roll < 0.60:
                body = {
                    "rag": rng.choice(["green", "amber", "red"]),
                    "criteria": {"switched_on_before_force": True, "whole_incident_captured": rng.random() < 0.5},
                    "guidance": "Keep the camera on the incident and say that it is recording." * 2,
                    "override_reason": "Seen in full during the load test.",
                    "rerating_reason": "Looked again during the load test.",
                }
                kind, req = "rating", client.build_request("POST", f"/api/v1/footage/{fid}/ratings", json=body)
            else:
                start = rng.randrange(0, max(1, size - 300_000))
                view = secrets.token_hex(8)
                kind = "range playback"
                req = client.build_request(
                    "GET",
                    f"/api/v1/footage/{fid}/video?view={view}",
                    headers={"Range": f"bytes={start}-{start + 262_143}"},
                )
            t = time.perf_counter()
            try:
                r = await client.send(req)
                await r.aread()
                stats.add(kind, r.status_code, time.perf_counter() - t)
            except httpx.HTTPError as exc:
                stats.errors[type(exc).__name__] += 1
                stats.add(kind, 599, time.perf_counter() - t)


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_load(base: str, tokens: list[str], footage: list[int], size: int, users: int, seconds: float,
                   stats: Stats) -> float:  # fmt: skip
    until = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(user(i, base, tokens[i % len(tokens)], footage, size, until, stats) for i in range(users)))
    return time.perf_counter() - started


def main() -> int:
    import httpx
    import psutil

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of measured load")
    parser.add_argument("--quick", action="store_true", help="30 seconds")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
    )
    args = parser.parse_args()
    duration = 30.0 if args.quick else args.duration

    tmp = Path(tempfile.mkdtemp(prefix="bwv-load-"))
    os.environ["BWV_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("BWV_SECRET_KEY", secrets.token_hex(32))
    url = create_database(args.database_url)
    server = None
    try:
        print(f"seeding {url.rsplit('/', 1)[1]} ...", flush=True)
        footage = seed(url, tmp)
        size = (tmp / "clip0.mp4").stat().st_size
        port = free_port()
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            BWV_ENVIRONMENT="production",
            BWV_RELAY_THREAD="false",
            BWV_COOKIE_SECURE="false",
            BWV_LOG_LEVEL="WARNING",
        )
        env.pop("REDIS_URL", None)
        log = (tmp / "uvicorn.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "app.main:create_app", "--host", "127.0.0.1",
             "--port", str(port), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        tokens = []
        for i in range(COORDINATORS):
            r = httpx.post(
                base + "/api/v1/auth/token", data={"username": f"coord{i}", "password": PASSWORD}, timeout=30
            )
            r.raise_for_status()
            tokens.append(r.json()["access_token"])
        proc = psutil.Process(server.pid)
        print(f"warm-up {args.warmup:.0f}s with {args.users} users ...", flush=True)
        asyncio.run(run_load(base, tokens, footage, size, args.users, args.warmup, Stats()))
        rss_start = proc.memory_info().rss
        print(f"measuring {duration:.0f}s with {args.users} users ...", flush=True)
        stats = Stats()
        elapsed = asyncio.run(run_load(base, tokens, footage, size, args.users, duration, stats))
        rss_end = proc.memory_info().rss
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(url)
        kept = Path(tempfile.gettempdir()) / "bwv-load-server.log"
        shutil.copyfile(tmp / "uvicorn.log", kept) if (tmp / "uvicorn.log").exists() else None
        shutil.rmtree(tmp, ignore_errors=True)

    every = [x for v in stats.latencies.values() for x in v]
    fivexx = sum(n for code, n in stats.statuses.items() if code >= 500)
    growth = (rss_end - rss_start) / rss_start * 100
    print()
    print(f"users {args.users}, measured {elapsed:.0f}s, requests {len(every)}")
    print(f"requests/s            {len(every) / elapsed:8.1f}")
    print(f"latency p50/p95/p99   {pct(every, 50) * 1000:6.0f} / {pct(every, 95) * 1000:6.0f} / "
          f"{pct(every, 99) * 1000:6.0f} ms")  # fmt: skip
    for kind, values in sorted(stats.latencies.items()):
        p50, p95, p99 = (pct(values, p) * 1000 for p in (50, 95, 99))
        mean = statistics.fmean(values) * 1000
        n = len(values)
        print(f"  {kind:<16} n={n:<6} p50 {p50:5.0f} ms p95 {p95:5.0f} ms p99 {p99:5.0f} ms mean {mean:5.0f} ms")
    print(f"status codes          {dict(sorted(stats.statuses.items()))}")
    if stats.errors:
        print(f"transport errors      {dict(stats.errors)}")
    print(f"5xx                   {fivexx}   (target 0)")
    mib = 2**20
    print(f"server RSS            {rss_start / mib:.0f} MiB -> {rss_end / mib:.0f} MiB: {growth:+.1f}% (target < 10%)")
    if fivexx:
        print(f"server log: {Path(tempfile.gettempdir()) / 'bwv-load-server.log'}")
    return 1 if fivexx else 0


if __name__ == "__main__":
    sys.exit(main())
