"""Helpers for footage tests: bytes that sniff as MP4, metadata, uploads through the API."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

# The first box of a real MP4 (ftyp, brand isom): what the sniffer checks.
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00\x00\x00\x08free"


def mp4_bytes(size: int, seed: int = 0) -> bytes:
    """`size` bytes starting with an MP4 header, the rest deterministic pseudo-random."""
    body = bytearray(MP4_HEAD)
    block = hashlib.sha256(f"seed{seed}".encode()).digest()
    while len(body) < size:
        block = hashlib.sha256(block).digest()
        body += block * 64
    return bytes(body[:size])


def meta(**over: Any) -> dict[str, str]:
    start = datetime.now(UTC) - timedelta(hours=2)
    fields = {
        "camera_serial": "CAM-A1",
        "staff_number": "A001",
        "recording_started_at": start.isoformat(),
        "prerecord_seconds": "30",
        "activated_at": (start + timedelta(seconds=30)).isoformat(),
    }
    fields.update({k: v for k, v in over.items() if v is not None})
    for k in [k for k, v in over.items() if v is None]:
        fields.pop(k, None)
    return fields


def post_footage(client: Any, data: bytes, *, filename: str = "clip.mp4", **fields: Any) -> Any:
    return client.post("/api/v1/footage", data=meta(**fields), files={"file": (filename, data, "video/mp4")})


def incoming_files() -> list[Path]:
    from app.core.storage import incoming_dir

    return [p for p in incoming_dir().iterdir()]


@pytest.fixture
def storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own footage folder (tests run in parallel on this machine)."""
    from app.core.config import get_settings
    from app.core.storage import get_storage

    monkeypatch.setenv("BWV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    get_storage.cache_clear()
    yield tmp_path / "data" / "footage"
    get_settings.cache_clear()
    get_storage.cache_clear()
