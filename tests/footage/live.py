"""A real uvicorn server in a subprocess, and a multi-gigabyte upload generated on the fly.

Used by the slow streamed-upload test and by `bench/upload.py`. The server gets its own data folder and
SQLite database (seeded with an establishment, camera, officer and coordinator), a free port, and is
stopped by process id.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"  # noqa: S105
# The first box of a real MP4 (ftyp, brand isom), then a `free` box header: enough for the sniffer.
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00\x00\x00\x08free"
CHUNK = 1024 * 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(db_path: Path) -> None:
    """A migrated SQLite database with establishment LIV, camera CAM-1, officer S001, coordinator."""
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "BWV_RELAY_THREAD": "false",
        "BWV_DATA_DIR": str(db_path.parent / "data"),
    }
    code = (
        "from app.cli import main\n"
        "import sys\n"
        "sys.argv=['bwv-review','migrate']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "from app.core.db import unit_of_work\n"
        "from app.establishment.models import EstablishmentCreate, CameraCreate\n"
        "from app.establishment.service import create_establishment, add_camera, add_staff_member\n"
        "from app.staff.models import StaffMemberCreate\n"
        "from app.auth.service import create_user\n"
        "from app.auth.models import Role\n"
        "with unit_of_work() as s:\n"
        "    e = create_establishment(s, EstablishmentCreate(code='LIV', name='HMP Test'))\n"
        "    add_camera(s, e.id, CameraCreate(serial='CAM-1'))\n"
        "    add_staff_member(s, e.id, StaffMemberCreate(staff_number='S001', name='Officer One'))\n"
        f"    create_user(s, username='coord', password='{PASSWORD}', display_name='C', role=Role.coordinator,"
        " establishment_id=e.id)\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True)


@dataclass
class LiveServer:
    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_bytes(self) -> int:
        """The server process's peak resident set (VmHWM), in bytes."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmHWM")

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def token(self) -> str:
        r = httpx.post(f"{self.base}/api/v1/auth/token", data={"username": "coord", "password": PASSWORD})
        r.raise_for_status()
        return str(r.json()["access_token"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_server(workdir: Path, *, max_upload_bytes: int = 8 * 1024**3) -> LiveServer:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "bwv.sqlite3"
    seed(db)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{db}",
        "BWV_DATA_DIR": str(workdir / "data"),
        "BWV_RELAY_THREAD": "false",
        "BWV_COOKIE_SECURE": "false",
        "BWV_LOG_LEVEL": "WARNING",
        "BWV_MAX_UPLOAD_BYTES": str(max_upload_bytes),
    }
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    server = LiveServer(proc=proc, port=port, data_dir=workdir / "data")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            if httpx.get(f"{server.base}/sign-in", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.stop()
    raise RuntimeError("the server did not start in 30 s")


def file_bytes(size: int) -> Iterator[bytes]:
    """`size` bytes of a would-be MP4: the header, then 1 MiB chunks (a repeating pseudo-random block)."""
    block = hashlib.shake_256(b"bwv-bench").digest(CHUNK)
    yield MP4_HEAD
    left = size - len(MP4_HEAD)
    while left > 0:
        n = min(CHUNK, left)
        yield block[:n]
        left -= n


def expected_sha256(size: int) -> str:
    h = hashlib.sha256()
    for chunk in file_bytes(size):
        h.update(chunk)
    return h.hexdigest()


def multipart_body(size: int, boundary: str = "bwvboundary7d1a") -> tuple[int, Iterator[bytes], str]:
    """(Content-Length, body generator, content type) for a streamed multipart upload of `size` bytes."""
    start = datetime.now(UTC) - timedelta(hours=1)
    fields = {
        "camera_serial": "CAM-1",
        "staff_number": "S001",
        "recording_started_at": start.isoformat(),
        "prerecord_seconds": "30",
    }
    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()
    )
    head += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    def gen() -> Iterator[bytes]:
        yield head
        yield from file_bytes(size)
        yield tail

    return len(head) + size + len(tail), gen(), f"multipart/form-data; boundary={boundary}"


def upload(server: LiveServer, size: int, token: str) -> tuple[httpx.Response, float]:
    """Stream a `size`-byte upload; returns the response and the seconds it took."""
    length, body, ctype = multipart_body(size)
    t0 = time.perf_counter()
    r = httpx.post(
        f"{server.base}/api/v1/footage",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype, "Content-Length": str(length)},
        timeout=httpx.Timeout(600.0),
    )
    return r, time.perf_counter() - t0


def write_straight_to_disk(path: Path, size: int) -> float:
    """The same bytes written to a file with no HTTP at all (fsync included, as the server does)."""
    t0 = time.perf_counter()
    with open(path, "wb") as fh:
        for chunk in file_bytes(size):
            fh.write(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    return time.perf_counter() - t0
