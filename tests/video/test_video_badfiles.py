"""Files that are not video, cut short, empty, or with uneven frame timing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from workers.video.errors import VideoError, VideoOpenFailure
from workers.video.pipeline import analyse_file
from workers.video.synth import SynthClip, make_zero_frame_clip, mdat_offset, truncate_file


def _png_bytes() -> bytes:
    ok, buf = cv2.imencode(".png", np.full((90, 160, 3), 128, np.uint8))
    assert ok
    return buf.tobytes()


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("statement.txt", "officer statement " * 50)
    return out.getvalue()


NOT_VIDEO = {
    "empty": b"",
    "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 40,
    "zip": _zip_bytes(),
    "png_renamed": _png_bytes(),
    "html": b"<!DOCTYPE html><html><head><title>x</title></head><body>not a video</body></html>\n" * 30,
    "text": b"incident log: 14:02 restraint applied\n" * 60,
}


@pytest.mark.parametrize("kind", sorted(NOT_VIDEO))
def test_not_a_video_is_refused(kind: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.mp4"
    path.write_bytes(NOT_VIDEO[kind])
    with pytest.raises(VideoOpenFailure) as info:
        analyse_file(path)
    message = str(info.value)
    assert message and "\n" not in message and path.name in message


def test_png_renamed_is_named_as_an_image(tmp_path: Path) -> None:
    path = tmp_path / "photo.mp4"
    path.write_bytes(NOT_VIDEO["png_renamed"])
    with pytest.raises(VideoOpenFailure, match="png_pipe"):
        analyse_file(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(VideoOpenFailure, match="no such file"):
        analyse_file(tmp_path / "nope.mp4")


def test_zero_frames(tmp_path: Path) -> None:
    with pytest.raises(VideoOpenFailure):
        analyse_file(make_zero_frame_clip(tmp_path / "zero.mp4"))


def test_header_only_faststart_file_has_no_frames(short_clip: SynthClip, tmp_path: Path) -> None:
    cut = mdat_offset(short_clip.path) + 16
    path = tmp_path / "header_only.mp4"
    path.write_bytes(short_clip.path.read_bytes()[:cut])
    with pytest.raises(VideoOpenFailure, match="no video frames"):
        analyse_file(path)


def test_truncated_faststart_is_analysed_as_far_as_it_reads(short_clip: SynthClip, tmp_path: Path) -> None:
    path = truncate_file(short_clip.path, tmp_path / "cut.mp4", 0.5)
    result = analyse_file(path, thumbs_dir=tmp_path / "thumbs")
    assert result.truncated is True
    assert 0 < result.frame_count < short_clip.frame_count
    assert 0.5 < result.duration_s < short_clip.duration_s - 1
    assert result.claimed["container_duration_s"] == pytest.approx(short_clip.duration_s, abs=0.05)
    assert result.claimed["container_frames"] == short_clip.frame_count
    kinds = {f["kind"] for f in result.findings}
    assert "truncated_or_edited" in kinds
    assert result.keyframes and result.keyframes[0]["t"] == 0.0


def test_truncated_with_index_at_end_cannot_be_opened(short_clip_moov_at_end: SynthClip, tmp_path: Path) -> None:
    path = truncate_file(short_clip_moov_at_end.path, tmp_path / "cut.mp4", 0.5)
    with pytest.raises(VideoOpenFailure):
        analyse_file(path)


def test_index_at_end_untruncated_is_fine(short_clip_moov_at_end: SynthClip) -> None:
    result = analyse_file(short_clip_moov_at_end.path)
    assert result.frame_count == short_clip_moov_at_end.frame_count
    assert result.truncated is False


def test_variable_frame_rate_uses_frame_timestamps(vfr_clip: SynthClip) -> None:
    times = vfr_clip.frame_times
    moment = 5.0
    result = analyse_file(vfr_clip.path, key_moments=[(moment, "force_started")], interval_s=0)
    assert result.frame_count == vfr_clip.frame_count
    assert result.duration_s == pytest.approx(vfr_clip.duration_s, abs=0.002)
    assert result.fps == pytest.approx(vfr_clip.frame_count / vfr_clip.duration_s, abs=0.01)
    # The keyframe lands on the first frame at or after 5.0 s by its own timestamp; index/average-fps
    # arithmetic would put that frame somewhere else entirely.
    expected = min(t for t in times if t >= moment - 1e-9)
    (kf,) = [k for k in result.keyframes if k["reason"] == "force_started"]
    assert kf["t"] == pytest.approx(expected, abs=0.002)
    index = times.index(expected)
    assert abs(index / vfr_clip.fps - expected) > 1.0  # index / nominal fps would be wrong by > 1 s
    cuts = [k["t"] for k in result.keyframes if k["reason"] == "scene_change"]
    assert len(cuts) == 1 and abs(cuts[0] - 4.0) <= 0.5


def test_claimed_duration_longer_than_real_is_a_finding(short_clip: SynthClip) -> None:
    result = analyse_file(short_clip.path, claimed_duration_s=short_clip.duration_s + 5)
    (finding,) = [f for f in result.findings if f["kind"] == "metadata_duration_mismatch"]
    assert "shorter" in finding["detail"]
    assert result.claimed["metadata_duration_s"] == short_clip.duration_s + 5


def test_claimed_duration_matching_is_not_a_finding(short_clip: SynthClip) -> None:
    result = analyse_file(short_clip.path, claimed_duration_s=short_clip.duration_s + 0.04)
    assert result.findings == []


def test_errors_share_a_base_class() -> None:
    assert issubclass(VideoOpenFailure, VideoError)
    assert str(VideoOpenFailure()) == "the file is not a readable video"
