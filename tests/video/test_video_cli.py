"""The analyse command: JSON output, human summary, and a clean one-line error for unreadable files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from workers.video.cli import main
from workers.video.synth import SynthClip, truncate_file

ROOT = Path(__file__).resolve().parents[2]


def test_json_output(short_clip: SynthClip, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(short_clip.path), "--json", "--interval", "2", "--thumbs", str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {
        "duration_s",
        "frame_count",
        "fps",
        "width",
        "height",
        "codec",
        "container",
        "claimed",
        "truncated",
        "findings",
        "keyframes",
        "segments",
        "filmstrip",
        "decode_seconds",
    } <= set(data)
    assert [k["t"] for k in data["keyframes"] if k["reason"] == "interval"] == [0.0, 2.0, 4.0, 6.0]
    assert (tmp_path / data["filmstrip"]).is_file()


def test_human_summary(short_clip: SynthClip, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(short_clip.path)]) == 0
    out = capsys.readouterr().out
    assert "320x180" in out and "200 frames" in out and "1 scene changes" in out


def test_truncated_says_so(short_clip: SynthClip, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = truncate_file(short_clip.path, tmp_path / "cut.mp4", 0.5)
    assert main([str(path)]) == 0
    assert "truncated: analysed first" in capsys.readouterr().out
    assert main([str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["truncated"] is True


@pytest.mark.parametrize("content", [b"", b"%PDF-1.4\n" * 100, b"plain text\n" * 100])
def test_unreadable_file_exits_2_with_one_line(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(content)
    proc = subprocess.run(
        [sys.executable, "-m", "workers.video", str(path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr


def test_main_returns_2_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "missing.mp4")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_the_operators_command_bwv_review_analyse(short_clip: SynthClip, tmp_path: Path) -> None:
    """What operators type: the installed `bwv-review analyse FILE --json`, not only the module."""
    command = Path(sys.executable).with_name("bwv-review")
    assert command.is_file(), f"{command} missing: pip install -e ."
    ok = subprocess.run(
        [str(command), "analyse", str(short_clip.path), "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    data = json.loads(ok.stdout)
    assert data["frame_count"] == short_clip.frame_count and data["codec"] == "h264"
    assert [k["t"] for k in data["keyframes"] if k["reason"] == "scene_change"] == pytest.approx([4.0], abs=0.5)
    assert all(s.keys() >= {"kind", "start", "end"} for s in data["segments"])
    bad = tmp_path / "not-a-video.mp4"
    bad.write_text("plain text\n" * 50)
    refused = subprocess.run(
        [str(command), "analyse", str(bad), "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("error: not-a-video.mp4")
