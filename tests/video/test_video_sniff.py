"""Magic-byte sniffing of the first 4 KiB of an upload."""

from __future__ import annotations

import pytest

from workers.video.probe import content_type_for, sniff_video_container
from workers.video.synth import SynthClip

EBML = b"\x1a\x45\xdf\xa3"
CASES = [
    (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", "mp4"),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "mp4"),
    (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", "mov"),
    (EBML + b"\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87", "webm"),
    (EBML + b"\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x88matroska", "mkv"),
    (b"RIFF\x10\x00\x00\x00AVI LIST", "avi"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
    (b"%PDF-1.7\n", None),
    (b"PK\x03\x04\x14\x00\x00\x00", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", None),
    (b"<!DOCTYPE html><html>", None),
    (b"hello, this is text", None),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", None),
    (b"", None),
]


@pytest.mark.parametrize(("head", "expected"), CASES)
def test_sniff(head: bytes, expected: str | None) -> None:
    assert sniff_video_container(head) == expected


def test_sniff_real_clip(short_clip: SynthClip) -> None:
    with short_clip.path.open("rb") as fh:
        assert sniff_video_container(fh.read(4096)) == "mp4"


@pytest.mark.parametrize(
    ("container", "ctype"),
    [
        ("mp4", "video/mp4"),
        ("mov", "video/quicktime"),
        ("webm", "video/webm"),
        (None, "application/octet-stream"),
    ],
)
def test_content_type(container: str | None, ctype: str) -> None:
    assert content_type_for(container) == ctype
