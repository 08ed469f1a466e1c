"""Rating JSON routes: rate a clip, its history, an incident's roll-up, calibration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth.models import Role, User
from app.core.deps import Coordinator, CoordinatorOrGovernor, CurrentPrincipal, Principal, SessionDep, get_visible
from app.footage.models import Footage, FootageStatus
from app.incident.models import Incident
from app.rating import service
from app.rating.models import Rag, Rating
from app.rating.rules import suggest

router = APIRouter(prefix="/api/v1", tags=["ratings"])
FootageId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class Criteria(BaseModel):
    """The six things every clip is checked for (true = met)."""

    model_config = ConfigDict(extra="forbid")
    switched_on_before_force: bool = False
    whole_incident_captured: bool = False
    unobstructed: bool = Field(default=False, description="Camera unobstructed and well positioned")
    sound_clear: bool = False
    recording_announced: bool = False
    deescalation_visible: bool = False


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rag: Rag
    criteria: Criteria = Field(default_factory=Criteria)
    guidance: str = Field(default="", max_length=5000, description="Required for amber and red")
    override_reason: str | None = Field(
        default=None, max_length=1000, description="Required when the rating differs from the suggested one"
    )
    rerating_reason: str | None = Field(
        default=None, max_length=1000, description="Required when the clip already has a rating"
    )


class RatingPublic(BaseModel):
    id: int
    footage_id: int
    version: int
    rag: Rag
    criteria: dict[str, bool]
    guidance: str
    suggested_rag: Rag | None = Field(description="The automatic checks' suggestion; null for officers")
    # The coordinators' own notes, and who rated: null for officers, whose page shows the rating, criteria and
    # guidance only.
    override_reason: str | None = Field(description="Why the rating differs from the suggestion; null for officers")
    rerating_reason: str | None = Field(description="Why the clip was rated again; null for officers")
    rated_by: str | None = Field(description="Username of who rated; null for officers")
    rated_at: datetime
    is_current: bool
    superseded_by_id: int | None
    is_calibration: bool
    calibration_id: int | None


class RatingHistory(BaseModel):
    footage_id: int
    suggested_rag: Rag | None = Field(
        description="The automatic checks' suggestion; null for officers and while a blind rating is owed"
    )
    reasons: list[str]
    current: RatingPublic | None
    versions: list[RatingPublic]
    blind: bool = Field(description="True while the caller owes this clip a blind second rating")


class OfficerRollupPublic(BaseModel):
    staff_member_id: int | None
    name: str
    staff_number: str
    rag: Rag | None
    clips: int
    rated: int
    footage_ids: list[int]


class ClipRatingPublic(BaseModel):
    footage_id: int | None
    wearer_id: int | None
    rag: Rag | None


class IncidentRollupPublic(BaseModel):
    incident_id: int
    reference: str
    rag: Rag | None
    clips: int
    rated: int
    fully_rated: bool
    officers: list[OfficerRollupPublic]
    clip_ratings: list[ClipRatingPublic]


class CalibrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assigned_to_user_id: int = Field(ge=1, le=2**31 - 1, description="The coordinator who gives the second rating")
    footage_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(default=None, max_length=500)
    sample_size: int | None = Field(default=None, ge=1, le=500, description="Or: how many rated clips to pick")
    note: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _one_of(self) -> Any:
        if not self.footage_ids and not self.sample_size:
            raise ValueError("give footage_ids or sample_size")
        return self


class CalibrationAssignmentPublic(BaseModel):
    id: int
    footage_id: int
    first_rating_id: int
    assigned_to_user_id: int
    requested_at: datetime
    completed_at: datetime | None


class PairAgreementPublic(BaseModel):
    rater_a: str
    rater_b: str
    n: int
    agreed: int
    share_agreeing: float | None
    kappa: float | None


class DisagreementPublic(BaseModel):
    assignment_id: int
    footage_id: int
    incident_reference: str | None
    first_rag: Rag
    first_rater: str
    second_rag: Rag
    second_rater: str


class AgreementReport(BaseModel):
    pairs: list[PairAgreementPublic]
    disagreements: list[DisagreementPublic]


ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "Not found (or another establishment's)"}}


def rejected(exc: service.RatingRejected) -> JSONResponse:
    errors = [{"field": k, "message": v} for k, v in exc.errors.items()]
    return JSONResponse(
        {"detail": "; ".join(exc.errors.values()), "errors": errors},
        status_code=exc.status_code,
    )


def to_public(
    session: Session, rating: Rating, names: dict[int, str] | None = None, *, for_officer: bool = False
) -> RatingPublic:
    names = names if names is not None else {}
    if not for_officer and rating.rated_by_user_id not in names:
        u = session.get(User, rating.rated_by_user_id)
        names[rating.rated_by_user_id] = u.username if u else "unknown"
    assert rating.id is not None
    return RatingPublic(
        id=rating.id,
        footage_id=rating.footage_id,
        version=rating.version,
        rag=rating.rag,
        criteria={k: bool(v) for k, v in (rating.criteria or {}).items()},
        guidance=rating.guidance,
        suggested_rag=None if for_officer else rating.suggested_rag,
        override_reason=None if for_officer else rating.override_reason,
        rerating_reason=None if for_officer else rating.rerating_reason,
        rated_by=None if for_officer else names[rating.rated_by_user_id],
        rated_at=rating.rated_at,
        is_current=rating.is_current,
        superseded_by_id=rating.superseded_by_id,
        is_calibration=rating.is_calibration,
        calibration_id=rating.calibration_id,
    )


def audit_rating(session: Session, principal: Principal, rating: Rating, *, via: str) -> None:
    # The ratings of deleted clips of the same file that this one superseded (`create_rating`), in one statement.
    rated = sa.orm.aliased(Footage)
    deleted = (
        select(Footage.id)
        .join(
            rated,
            sa.and_(
                col(rated.establishment_id) == col(Footage.establishment_id), col(rated.sha256) == col(Footage.sha256)
            ),
        )
        .where(col(rated.id) == rating.footage_id, col(Footage.status) == FootageStatus.purged)
    )
    superseded = session.exec(
        select(Rating.id).where(col(Rating.footage_id).in_(deleted), Rating.superseded_by_id == rating.id)
    ).all()
    record(
        session,
        principal.actor,
        "rating_create",
        object_type="footage",
        object_id=rating.footage_id,
        establishment_id=rating.establishment_id,
        reason=rating.rerating_reason or rating.override_reason,
        detail={
            "rating_id": rating.id,
            "version": rating.version,
            "rag": rating.rag.value,
            "suggested_rag": rating.suggested_rag.value if rating.suggested_rag else None,
            "override": rating.suggested_rag is not None and rating.rag != rating.suggested_rag,
            "override_reason": rating.override_reason,
            "rerating_reason": rating.rerating_reason,
            "calibration_id": rating.calibration_id,
            "via": via,
            # Ratings of the same recording given before retention deleted its clip, superseded by this one.
            **({"supersedes_deleted_copy_ratings": sorted(superseded)} if superseded else {}),
        },
    )


@router.post(
    "/footage/{footage_id}/ratings",
    response_model=RatingPublic,
    status_code=201,
    responses={**ERRORS, 409: {"description": "Rated at the same moment by someone else"}, 422: {}},
)
def rate_footage(
    footage_id: FootageId, data: RatingCreate, principal: Coordinator, session: SessionDep
) -> RatingPublic | JSONResponse:
    footage = get_visible(session, principal, Footage, footage_id)
    try:
        rating = service.create_rating(
            session,
            footage,
            service.RatingInput(
                rag=data.rag,
                criteria=data.criteria.model_dump(),
                guidance=data.guidance,
                override_reason=data.override_reason,
                rerating_reason=data.rerating_reason,
            ),
            user_id=principal.user.id,  # type: ignore[arg-type]
        )
    except service.RatingRejected as exc:
        session.rollback()  # nothing of a refused rating is kept
        return rejected(exc)
    audit_rating(session, principal, rating, via="api")
    return to_public(session, rating)


@router.get("/footage/{footage_id}/ratings", response_model=RatingHistory, responses=ERRORS)
def rating_history(footage_id: FootageId, principal: CurrentPrincipal, session: SessionDep) -> RatingHistory:
    """Every version of the clip's rating, newest first. Officers see their own clips' ratings (without the
    calibration ratings, and without the coordinators' notes: who rated, the suggestion, the reasons for
    differing from it or rating again); a coordinator who owes this clip a blind second rating sees none
    until it is given."""
    footage = get_visible(session, principal, Footage, footage_id)
    blind = service.pending_assignment(session, footage_id, principal.user.id) is not None
    staff = principal.role == Role.staff
    rows = [] if blind else service.history(session, footage_id, include_calibration=not staff)
    names: dict[int, str] = {}
    versions = [to_public(session, r, names, for_officer=staff) for r in rows]
    suggestion = suggest(service.facts_for(session, footage, service.primary_incident(session, footage_id)))
    record(
        session,
        principal.actor,
        "rating_history_view",
        object_type="footage",
        object_id=footage_id,
        establishment_id=footage.establishment_id,
        detail={"via": "api", "blind": blind},
    )
    current = next((v for v in versions if v.is_current and not v.is_calibration), None)
    return RatingHistory(
        footage_id=footage_id,
        # Not for officers: beside the rating given, the suggestion tells them a coordinator overrode it, which
        # their page does not say (the checks' findings, `reasons`, are facts about their footage).
        suggested_rag=None if blind or staff else suggestion.rag,
        reasons=[] if blind else suggestion.reasons,
        current=current,
        versions=versions,
        blind=blind,
    )


@router.get("/incidents/{incident_id}/ratings", response_model=IncidentRollupPublic, responses=ERRORS)
def incident_ratings(
    incident_id: Annotated[int, Path(ge=1, le=2**31 - 1)], principal: CoordinatorOrGovernor, session: SessionDep
) -> IncidentRollupPublic:
    """Ratings rolled up: per officer the worst of their clips, and the worst clip of the incident."""
    incident = get_visible(session, principal, Incident, incident_id)
    roll = service.incident_rollup(session, incident, viewer_id=principal.user.id)
    record(
        session,
        principal.actor,
        "incident_ratings_view",
        object_type="incident",
        object_id=incident_id,
        establishment_id=incident.establishment_id,
        detail={"via": "api"},
    )
    return IncidentRollupPublic(
        **{k: v for k, v in roll.items() if k not in ("officers", "clip_ratings")},
        officers=[OfficerRollupPublic(**o.__dict__) for o in roll["officers"]],
        clip_ratings=[ClipRatingPublic(**c) for c in roll["clip_ratings"]],
    )


def _establishment_for(principal: Principal, session: Session, footage_ids: list[int] | None) -> int:
    if principal.establishment_id is not None:
        return principal.establishment_id
    # Admins: the establishment of the clips named.
    if footage_ids:
        footage = get_visible(session, principal, Footage, footage_ids[0])
        return footage.establishment_id
    raise HTTPException(status_code=422, detail="Admins name the clips (footage_ids) to send for a second rating.")


@router.post(
    "/calibration",
    response_model=list[CalibrationAssignmentPublic],
    status_code=201,
    responses={**ERRORS, 422: {}},
)
def send_for_calibration(
    data: CalibrationCreate, principal: Coordinator, session: SessionDep
) -> list[CalibrationAssignmentPublic] | JSONResponse:
    """Send rated clips (named, or a random sample of N) for a blind second rating by another coordinator."""
    est = _establishment_for(principal, session, data.footage_ids)
    assignee = session.get(User, data.assigned_to_user_id)
    if assignee is None or (not principal.is_admin and assignee.establishment_id != principal.establishment_id):
        raise HTTPException(status_code=404, detail="user not found")
    if data.footage_ids:
        for fid in data.footage_ids:
            f = get_visible(session, principal, Footage, fid)
            if f.establishment_id != est:
                raise HTTPException(status_code=404, detail="footage not found")
    try:
        rows = service.send_for_calibration(
            session,
            establishment_id=est,
            assignee=assignee,
            requested_by=principal.user.id,  # type: ignore[arg-type]
            footage_ids=data.footage_ids,
            sample_size=data.sample_size,
            note=data.note,
        )
    except service.RatingRejected as exc:
        return rejected(exc)
    record(
        session,
        principal.actor,
        "calibration_send",
        object_type="user",
        object_id=assignee.id,
        establishment_id=est,
        detail={"footage_ids": [a.footage_id for a in rows], "assignment_ids": [a.id for a in rows]},
    )
    return [CalibrationAssignmentPublic(**a.model_dump()) for a in rows]


@router.get("/calibration/agreement", response_model=AgreementReport)
def calibration_agreement(principal: Coordinator, session: SessionDep) -> AgreementReport:
    """Per pair of raters: clips both rated, share agreeing, Cohen's kappa; and the disagreements."""
    hidden = service.blind_footage_ids(session, principal.user.id)
    pairs, disagreements = service.calibration_results(session, principal.establishment_id, hidden=hidden)
    record(
        session,
        principal.actor,
        "calibration_agreement_view",
        establishment_id=principal.establishment_id,
        detail={"via": "api", "pairs": len(pairs)},
    )
    return AgreementReport(
        pairs=[
            PairAgreementPublic(
                rater_a=p.rater_a.username,
                rater_b=p.rater_b.username,
                n=p.agreement.n,
                agreed=p.agreement.agreed,
                share_agreeing=p.agreement.share_agreeing,
                kappa=p.agreement.kappa,
            )
            for p in pairs
        ],
        disagreements=[
            DisagreementPublic(
                assignment_id=d.assignment.id,  # type: ignore[arg-type]
                footage_id=d.footage.id,  # type: ignore[arg-type]
                incident_reference=d.incident.reference if d.incident else None,
                first_rag=d.first.rag,
                first_rater=d.first_rater.username,
                second_rag=d.second.rag,
                second_rater=d.second_rater.username,
            )
            for d in disagreements
        ],
    )
