"""Pure video analysis for body-worn video: no web, database or task-queue imports here."""

from .errors import VideoError, VideoOpenFailure
from .pipeline import AnalysisResult, analyse_file
from .probe import content_type_for, sniff_video_container

__all__ = [
    "AnalysisResult",
    "VideoError",
    "VideoOpenFailure",
    "analyse_file",
    "content_type_for",
    "sniff_video_container",
]
