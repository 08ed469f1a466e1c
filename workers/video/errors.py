"""Typed errors for the video pipeline.

Callers (the Celery task, the CLI) turn these into a one-line message for the reviewer instead of a
traceback, so every error carries a human sentence in ``str(exc)``.
"""

from __future__ import annotations


class VideoError(Exception):
    """Base class: anything the pipeline refuses or cannot finish."""

    default_message = "the video could not be analysed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)


class VideoOpenFailure(VideoError):
    """Not a video, unreadable, empty, or no decodable frames at all."""

    default_message = "the file is not a readable video"
