"""Establishments, cameras, staff and users over JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from sqlmodel import select

from app.audit.service import record
from app.auth.models import User, UserCreate, UserPublic, UserUpdate, password_problem
from app.auth.service import (
    ChangeRefused,
    create_user,
    record_refused_change,
    record_user_change,
    set_password,
    set_user_active,
)
from app.core.deps import (
    Admin,
    Coordinator,
    CoordinatorOrGovernor,
    Principal,
    SessionDep,
    get_visible,
    scope_establishment,
)
from app.establishment import service
from app.establishment.models import (
    CameraCreate,
    CameraPublic,
    Establishment,
    EstablishmentCreate,
    EstablishmentPublic,
    EstablishmentUpdate,
)
from app.staff.models import StaffMemberCreate, StaffMemberPublic

router = APIRouter(prefix="/api/v1", tags=["establishments"])


@router.get("/establishments", response_model=list[EstablishmentPublic])
def list_establishments(principal: CoordinatorOrGovernor, session: SessionDep) -> list[Establishment]:
    q = select(Establishment).order_by(Establishment.name)
    if not principal.is_admin:
        q = q.where(Establishment.id == principal.establishment_id)
    return list(session.exec(q).all())


@router.post("/establishments", response_model=EstablishmentPublic, status_code=201, responses={409: {}})
def create_establishment(data: EstablishmentCreate, principal: Admin, session: SessionDep) -> Establishment:
    est = service.create_establishment(session, data)
    record(
        session,
        principal.actor,
        "establishment_create",
        object_type="establishment",
        object_id=est.id,
        establishment_id=est.id,
        detail={"code": est.code},
    )
    return est


@router.patch("/establishments/{establishment_id}", response_model=EstablishmentPublic, responses={404: {}, 422: {}})
def change_establishment(
    establishment_id: int, data: EstablishmentUpdate, principal: Admin, session: SessionDep
) -> Establishment:
    """Correct an establishment's `name` (renamed) or `kind`. Its code stays: reports and files name it by it."""
    est = get_visible(session, principal, Establishment, establishment_id)
    if data.name is None and data.kind is None:
        raise HTTPException(status_code=422, detail="Give name, kind or both.")
    if data.name is not None and len(data.name.strip()) < 2:
        raise HTTPException(status_code=422, detail="The name must be at least 2 characters.")
    service.update_establishment(session, est, principal.actor, name=data.name, kind=data.kind)
    return est


@router.get("/staff", response_model=list[StaffMemberPublic])
def list_staff(
    principal: CoordinatorOrGovernor, session: SessionDep, establishment_id: Annotated[int | None, Query()] = None
) -> list[StaffMemberPublic]:
    est = scope_establishment(principal, establishment_id)
    return [StaffMemberPublic.model_validate(s, from_attributes=True) for s in service.list_staff(session, est)]


def _target_establishment(principal: Principal, establishment_id: int | None) -> int:
    est = scope_establishment(principal, establishment_id)
    if est is None:
        raise HTTPException(status_code=422, detail="Give establishment_id.")
    return est


@router.post("/staff", response_model=StaffMemberPublic, status_code=201, responses={409: {}})
def add_staff(
    data: StaffMemberCreate,
    principal: Coordinator,
    session: SessionDep,
    establishment_id: Annotated[int | None, Query()] = None,
) -> StaffMemberPublic:
    est = _target_establishment(principal, establishment_id)
    sm = service.add_staff_member(session, est, data)
    record(
        session,
        principal.actor,
        "staff_create",
        object_type="staff_member",
        object_id=sm.id,
        establishment_id=est,
        detail={"staff_number": sm.staff_number},
    )
    return StaffMemberPublic.model_validate(sm, from_attributes=True)


@router.get("/cameras", response_model=list[CameraPublic])
def list_cameras(
    principal: CoordinatorOrGovernor, session: SessionDep, establishment_id: Annotated[int | None, Query()] = None
) -> list[CameraPublic]:
    est = scope_establishment(principal, establishment_id)
    return [CameraPublic.model_validate(c, from_attributes=True) for c in service.list_cameras(session, est)]


@router.post("/cameras", response_model=CameraPublic, status_code=201, responses={409: {}})
def add_camera(
    data: CameraCreate,
    principal: Coordinator,
    session: SessionDep,
    establishment_id: Annotated[int | None, Query()] = None,
) -> CameraPublic:
    est = _target_establishment(principal, establishment_id)
    cam = service.add_camera(session, est, data)
    record(
        session,
        principal.actor,
        "camera_create",
        object_type="camera",
        object_id=cam.id,
        establishment_id=est,
        detail={"serial": cam.serial},
    )
    return CameraPublic.model_validate(cam, from_attributes=True)


@router.get("/users", response_model=list[UserPublic])
def list_users(principal: Admin, session: SessionDep) -> list[UserPublic]:
    return [
        UserPublic.model_validate(u, from_attributes=True)
        for u in session.exec(select(User).order_by(User.username)).all()
    ]


@router.post("/users", response_model=UserPublic, status_code=201, responses={409: {}, 422: {}})
def add_user(data: UserCreate, principal: Admin, session: SessionDep) -> UserPublic:
    if session.exec(select(User).where(User.username == data.username)).first():
        raise HTTPException(status_code=409, detail=f"Username {data.username} is taken.")
    if data.establishment_id is not None and session.get(Establishment, data.establishment_id) is None:
        raise HTTPException(status_code=422, detail="Unknown establishment.")
    try:
        user = create_user(
            session,
            username=data.username,
            password=data.password,
            display_name=data.display_name,
            role=data.role,
            establishment_id=data.establishment_id,
            staff_member_id=data.staff_member_id,
        )
    except ValueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    record(
        session,
        principal.actor,
        "user_create",
        object_type="user",
        object_id=user.id,
        establishment_id=user.establishment_id,
        detail={"username": user.username, "role": user.role},
    )
    return UserPublic.model_validate(user, from_attributes=True)


@router.patch("/users/{user_id}", response_model=UserPublic, responses={404: {}, 409: {}, 422: {}})
def change_user(user_id: int, data: UserUpdate, principal: Admin, session: SessionDep) -> UserPublic:
    """Turn a user's sign-in off (`"active": false`, a leaver) or on, or give them a new `password`. Turning it
    off or a new password ends their sessions and API tokens at once. Users are never deleted: their ratings
    and audit entries name them. An administrator cannot turn off their own sign-in (409)."""
    user = get_visible(session, principal, User, user_id)
    if data.active is None and data.password is None:
        raise HTTPException(status_code=422, detail="Give active, password or both.")
    if data.password is not None and (weak := password_problem(data.password, user.username)):
        raise HTTPException(status_code=422, detail=f"The password {weak}.")  # bad input, as the model's checks
    detail: dict[str, object] = {}
    ended = 0
    try:
        if data.active is not None:
            ended += set_user_active(session, user, data.active, by_user_id=principal.user.id)  # type: ignore[arg-type]
            detail["active"] = data.active
        if data.password is not None:
            # Their own password: the token making the change stays valid (their others end).
            own = principal.session_row.id if user.id == principal.user.id else None
            ended += set_password(session, user, data.password, keep=own)
            detail["password"] = "changed"  # noqa: S105 - never the password itself
    except ChangeRefused as exc:
        record_refused_change(session, principal.actor, user, str(exc))
        raise HTTPException(status_code=409, detail=str(exc).capitalize() + ".") from None
    record_user_change(session, principal.actor, user, **detail, sessions_ended=ended)
    return UserPublic.model_validate(user, from_attributes=True)
