"""Footage JSON routes for analysis: what analysis measured and found in one clip, retry, thumbnails.

`GET /api/v1/footage/{id}` itself belongs to app/footage/api.py (registered first); it can embed this
module's `footage_analysis(session, footage, principal)` (model `FootageAnalysis`) as its analysis part.
This module serves the same document at `GET /api/v1/footage/{id}/analysis`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import FileResponse
from pydantic import BaseModel

from app.audit.service import record
from app.core.deps import Coordinator, CurrentPrincipal, SessionDep, get_visible
from app.footage import analysis
from app.footage.models import Footage, FootageStatus, Keyframe
from app.incident.api_activation import OfficerActivationOut, officer_out

router = APIRouter(prefix="/api/v1/footage", tags=["footage"])

FootageId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Footage id")]
KeyframeId = Annotated[int, Path(ge=1, le=2_147_483_647, description="Keyframe id")]
JPEG = {"content": {"image/jpeg": {}}, "description": "A JPEG image"}


class MeasuredOut(BaseModel):
    """What decoding the frames found (None until analysed)."""

    duration_s: float | None
    frame_count: int | None
    fps: float | None
    width: int | None
    height: int | None
    codec: str | None
    truncated: bool


class FindingOut(BaseModel):
    kind: str
    title: str
    detail: str


class SegmentOut(BaseModel):
    kind: str
    start: float
    end: float


class KeyframeOut(BaseModel):
    id: int
    t: float
    reason: str
    image_url: str | None


class LinkedActivationOut(BaseModel):
    incident_id: int
    reference: str
    force_started_at: datetime
    force_ended_at: datetime
    wearer: OfficerActivationOut | None


class FootageAnalysis(BaseModel):
    id: int
    establishment_id: int
    camera_id: int | None
    wearer_id: int | None
    original_filename: str
    content_type: str
    container: str | None
    size_bytes: int
    sha256: str
    recording_started_at: datetime
    activated_at: datetime | None
    prerecord_seconds: float
    claimed_duration_s: float | None
    uploaded_at: datetime
    status: FootageStatus
    status_detail: str | None
    progress: float
    analysis_attempts: int
    analysed_at: datetime | None
    can_retry: bool
    measured: MeasuredOut
    findings: list[FindingOut]
    segments: list[SegmentOut]
    keyframes: list[KeyframeOut]
    filmstrip_url: str | None
    activation: list[LinkedActivationOut]


class RetryOut(BaseModel):
    id: int
    status: FootageStatus


def footage_analysis(session: Any, footage: Footage, principal: Any) -> FootageAnalysis:
    from app.incident.activation import incident_activation

    assert footage.id is not None
    ctx = analysis.analysis_context(session, footage, principal)["analysis"]
    linked: list[LinkedActivationOut] = []
    for item in ctx["activation"]:
        incident = item["incident"]
        view = incident_activation(session, incident)
        mine = next((o for o in view.officers if o.staff_member_id == footage.wearer_id), None)
        linked.append(
            LinkedActivationOut(
                incident_id=incident.id,
                reference=incident.reference,
                force_started_at=incident.force_started_at,
                force_ended_at=incident.force_ended_at,
                wearer=officer_out(mine) if mine else None,
            )
        )
    base = f"/api/v1/footage/{footage.id}"
    return FootageAnalysis(
        id=footage.id,
        establishment_id=footage.establishment_id,
        camera_id=footage.camera_id,
        wearer_id=footage.wearer_id,
        original_filename=footage.original_filename,
        content_type=footage.content_type,
        container=footage.container,
        size_bytes=footage.size_bytes,
        sha256=footage.sha256,
        recording_started_at=footage.recording_started_at,
        activated_at=footage.activated_at,
        prerecord_seconds=footage.prerecord_seconds,
        claimed_duration_s=footage.claimed_duration_s,
        uploaded_at=footage.uploaded_at,
        status=footage.status,
        status_detail=footage.status_detail,
        progress=footage.progress,
        analysis_attempts=footage.analysis_attempts,
        analysed_at=footage.analysed_at,
        can_retry=analysis.can_retry(footage),
        measured=MeasuredOut(
            duration_s=footage.duration_s,
            frame_count=footage.frame_count,
            fps=footage.fps,
            width=footage.width,
            height=footage.height,
            codec=footage.codec,
            truncated=footage.truncated,
        ),
        findings=[FindingOut(**f) for f in ctx["findings"]],
        segments=[SegmentOut(kind=str(s.kind), start=s.start, end=s.end) for s in ctx["segments"]],
        keyframes=[
            KeyframeOut(
                id=k.id,  # type: ignore[arg-type]
                t=k.t,
                reason=k.reason,
                image_url=f"{base}/keyframes/{k.id}.jpg" if k.image_key else None,
            )
            for k in ctx["keyframes"]
        ],
        filmstrip_url=f"{base}/filmstrip.jpg" if footage.filmstrip_key else None,
        activation=linked,
    )


@router.get("/{footage_id}/analysis", response_model=FootageAnalysis, responses={404: {}})
def get_footage_analysis(footage_id: FootageId, principal: CurrentPrincipal, session: SessionDep) -> FootageAnalysis:
    """One clip: its record and processing state, what analysis measured and found, and the wearer's
    activation check in each linked incident. Staff see only footage they wore."""
    footage = get_visible(session, principal, Footage, footage_id)
    detail = footage_analysis(session, footage, principal)
    record(
        session,
        principal.actor,
        "footage_view",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        detail={"via": "api", "part": "analysis"},
    )
    return detail


@router.post("/{footage_id}/analysis/retry", response_model=RetryOut, status_code=202, responses={404: {}, 409: {}})
def retry_analysis(footage_id: FootageId, principal: Coordinator, session: SessionDep) -> RetryOut:
    """Queue a failed (or stuck) analysis again."""
    footage = get_visible(session, principal, Footage, footage_id)
    if not analysis.can_retry(footage):
        raise HTTPException(
            status_code=409,
            detail=f"Analysis can only be retried when it failed or is stuck; it is {footage.status}.",
        )
    analysis.requeue(session, footage, principal.actor, why="retry requested")
    return RetryOut(id=footage_id, status=footage.status)


def _image(session: Any, principal: Any, footage_id: int, key: str | None) -> FileResponse:
    path = analysis.image_path(key)
    if path is None:
        raise HTTPException(status_code=404, detail="image not found")
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/{footage_id}/keyframes/{keyframe_id}.jpg",
    response_class=FileResponse,
    responses={200: JPEG, 404: {}},
)
def keyframe_image(
    footage_id: FootageId, keyframe_id: KeyframeId, principal: CurrentPrincipal, session: SessionDep
) -> FileResponse:
    """A keyframe thumbnail (scoped like the footage)."""
    footage = get_visible(session, principal, Footage, footage_id)
    kf = session.get(Keyframe, keyframe_id)
    if kf is None or kf.footage_id != footage.id:
        raise HTTPException(status_code=404, detail="keyframe not found")
    return _image(session, principal, footage_id, kf.image_key)


@router.get("/{footage_id}/filmstrip.jpg", response_class=FileResponse, responses={200: JPEG, 404: {}})
def filmstrip_image(footage_id: FootageId, principal: CurrentPrincipal, session: SessionDep) -> FileResponse:
    """The clip's filmstrip: its keyframes side by side in one image."""
    footage = get_visible(session, principal, Footage, footage_id)
    return _image(session, principal, footage_id, footage.filmstrip_key)
