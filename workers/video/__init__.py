"""Pure video analysis for body-worn video: no web, database or task-queue imports here.

Names are imported lazily (PEP 562) so the web process can use ``workers.video.activation`` and
``workers.video.probe`` without loading OpenCV or PyAV; only touching ``analyse_file`` or
``AnalysisResult`` imports the decoding pipeline.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_WHERE = {
    "AnalysisResult": ".pipeline",
    "analyse_file": ".pipeline",
    "VideoError": ".errors",
    "VideoOpenFailure": ".errors",
    "content_type_for": ".probe",
    "sniff_video_container": ".probe",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
