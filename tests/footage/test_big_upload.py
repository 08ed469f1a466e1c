"""A multi-gigabyte upload streamed through a real uvicorn server: memory stays flat, the hash is right."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.footage.live import expected_sha256, start_server, upload

SIZE = 2 * 1024**3 + 12345  # a little over 2 GiB, generated on the fly
PEAK_RSS_LIMIT = 300 * 1024**2


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_gigabyte_upload_keeps_memory_flat(tmp_path: Path) -> None:
    server = start_server(tmp_path / "live")
    try:
        token = server.token()
        before = server.peak_rss_bytes()
        r, seconds = upload(server, SIZE, token)
        assert r.status_code == 201, r.text
        peak = server.peak_rss_bytes()
        body = r.json()
        assert body["size_bytes"] == SIZE
        assert body["sha256"] == expected_sha256(SIZE)
        stored = server.data_dir / "footage" / "sha256" / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
        assert stored.stat().st_size == SIZE
        with open(stored, "rb") as fh:
            assert hashlib.sha256(fh.read(1024 * 1024)).digest()  # readable, in place
        assert not any((server.data_dir / "footage" / ".incoming").iterdir())
        print(
            f"\n2 GiB upload: {SIZE / seconds / 1024**2:.0f} MiB/s, server peak RSS {peak / 1024**2:.0f} MiB "
            f"(before: {before / 1024**2:.0f} MiB)"
        )
        assert peak < PEAK_RSS_LIMIT, f"server peak RSS {peak / 1024**2:.0f} MiB for a 2 GiB upload"
        assert peak - before < 150 * 1024**2
    finally:
        server.stop()
        for p in sorted((tmp_path / "live" / "data").rglob("*"), reverse=True):
            if p.is_file():
                p.chmod(0o644)
                p.unlink()


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_resumable_upload_survives_a_dropped_connection(tmp_path: Path) -> None:
    """A PATCH cut off mid-body keeps what arrived; HEAD says where to resume; the result hashes the same."""
    import base64
    import socket
    import time
    from datetime import UTC, datetime, timedelta

    import httpx

    from tests.footage.live import file_bytes

    size = 64 * 1024 * 1024 + 321
    data = b"".join(file_bytes(size))
    server = start_server(tmp_path / "live")
    try:
        auth = {"Authorization": f"Bearer {server.token()}", "Tus-Resumable": "1.0.0"}
        meta = {
            "filename": "dropped.mp4",
            "camera_serial": "CAM-1",
            "staff_number": "S001",
            "recording_started_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        }
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items())
        r = httpx.post(
            f"{server.base}/api/v1/uploads", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": header}
        )
        assert r.status_code == 201, r.text
        path = r.headers["location"]
        # Send the whole length in the headers but only ~40% of the body, then drop the connection.
        sent = int(size * 0.4)
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            head = (
                f"PATCH {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                f"Content-Type: application/offset+octet-stream\r\nContent-Length: {size}\r\n\r\n"
            )
            sock.sendall(head.encode())
            view = memoryview(data)
            for i in range(0, sent, 1024 * 1024):
                sock.sendall(view[i : min(i + 1024 * 1024, sent)])
        offset = 0
        for _ in range(50):  # the server notices the disconnect and keeps what it received
            h = httpx.head(f"{server.base}{path}", headers=auth)
            offset = int(h.headers["upload-offset"])
            if offset == sent:
                break
            time.sleep(0.1)
        assert 0 < offset <= sent
        r = httpx.patch(
            f"{server.base}{path}",
            content=data[offset:],
            headers={**auth, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
            timeout=60,
        )
        assert r.status_code == 204, r.text
        fid = r.headers["bwv-footage-id"]
        got = httpx.get(f"{server.base}/api/v1/footage/{fid}", headers=auth).json()
        assert got["sha256"] == hashlib.sha256(data).hexdigest() and got["size_bytes"] == size
    finally:
        server.stop()
