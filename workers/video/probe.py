"""Cheap checks on an upload before any decoding.

The upload service calls :func:`sniff_video_container` on the first 4 KiB so that a PDF or a photo renamed
``.mp4`` is refused at the door, and never trusts the file extension or the browser's content type.
"""

from __future__ import annotations

# ISO-BMFF brands that QuickTime writes; everything else with an ``ftyp`` box is treated as MP4.
_QUICKTIME_BRANDS = {b"qt  "}
# ISO-BMFF brands that are still images, not video (HEIF/AVIF photos also start with ``ftyp``).
_IMAGE_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis"}

_CONTENT_TYPES = {
    "mp4": "video/mp4",
    "mov": "video/quicktime",
    "webm": "video/webm",
    "mkv": "video/x-matroska",
    "avi": "video/x-msvideo",
}


def sniff_video_container(first_bytes: bytes) -> str | None:
    """Name the video container from its magic bytes, or None if it is not one we accept."""
    head = bytes(first_bytes[:4096])
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        return "mov" if brand in _QUICKTIME_BRANDS else "mp4"
    if len(head) >= 8 and head[4:8] in (b"moov", b"mdat", b"wide", b"free") and head[:4] != b"\0\0\0\0":
        # Old QuickTime files without an ftyp box.
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        # EBML header; the DocType element says webm or matroska.
        return "webm" if b"webm" in head[:64] else "mkv"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def content_type_for(container: str | None) -> str:
    """The HTTP content type to serve a stored clip with (browsers sniff poorly for video)."""
    if container is None:
        return "application/octet-stream"
    return _CONTENT_TYPES.get(container, "application/octet-stream")
