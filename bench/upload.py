"""Upload throughput over loopback, as a ratio to writing the same bytes straight to disk, and the server's
peak memory during a 2 GB upload.

Starts uvicorn in a subprocess on a free port (own SQLite database and data folder under a temporary
directory), streams a generated multipart upload of --size bytes (default 2 GiB: an MP4 header, then
pseudo-random blocks) with a bearer token, and compares with a plain `write()` loop of the same bytes to
a file on the same disk (fsync included on both sides). Prints, never asserts.

    python bench/upload.py                  # 2 GiB
    python bench/upload.py --size 512M --runs 3
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.footage.live import start_server, upload, write_straight_to_disk  # noqa: E402


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    text = text.strip().upper()
    if text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="2G", help="bytes to upload (suffix K, M or G); default 2G")
    ap.add_argument("--runs", type=int, default=1, help="uploads to time (each a different server data dir)")
    args = ap.parse_args()
    size = parse_size(args.size)
    work = Path(tempfile.mkdtemp(prefix="bwv-bench-upload-"))
    try:
        disk_times, upload_times, peaks = [], [], []
        for run in range(args.runs):
            disk_times.append(write_straight_to_disk(work / f"straight-{run}.bin", size))
            (work / f"straight-{run}.bin").unlink()
            server = start_server(work / f"server-{run}", max_upload_bytes=size + 1024)
            try:
                token = server.token()
                before = server.peak_rss_bytes()
                r, seconds = upload(server, size, token)
                if r.status_code != 201:
                    raise SystemExit(f"upload failed: {r.status_code} {r.text[:300]}")
                upload_times.append(seconds)
                peaks.append((before, server.peak_rss_bytes()))
            finally:
                server.stop()
                shutil.rmtree(work / f"server-{run}", ignore_errors=True)
        mib = size / 1024**2
        disk = statistics.median(disk_times)
        up = statistics.median(upload_times)
        before, peak = max(peaks, key=lambda p: p[1])
        print(f"file size:                 {mib:,.0f} MiB")
        print(f"straight to disk:          {mib / disk:8.0f} MiB/s  ({disk:.1f} s)")
        print(f"upload over loopback:      {mib / up:8.0f} MiB/s  ({up:.1f} s; multipart parse, SHA-256, sniff, fsync)")
        print(f"throughput ratio:          {disk / up:8.2f}  (upload throughput / straight-to-disk throughput)")
        print(f"server peak RSS:           {peak / 1024**2:8.0f} MiB  (at start {before / 1024**2:.0f} MiB)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
