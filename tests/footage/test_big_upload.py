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
