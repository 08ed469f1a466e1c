"""Establishments, their cameras and staff."""

from __future__ import annotations

from fastapi import HTTPException
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.establishment.models import Camera, CameraCreate, Establishment, EstablishmentCreate, EstablishmentKind
from app.staff.models import StaffMember, StaffMemberCreate


def name_taken(session: Session, name: str, *, other_than: int | None = None) -> Establishment | None:
    """The establishment already called `name` (case and outer spaces aside), if any: two of the same name
    could not be told apart in the establishment lists, the reports' choices or the side-by-side columns."""
    # Compared here, not in SQL: SQLite's lower() folds ASCII only, and names may have been stored with spaces.
    # A service has a few hundred establishments at most.
    wanted = " ".join(name.split()).casefold()
    for est in session.exec(select(Establishment)).all():
        if est.id != other_than and " ".join(est.name.split()).casefold() == wanted:
            return est
    return None


def create_establishment(session: Session, data: EstablishmentCreate) -> Establishment:
    if session.exec(select(Establishment).where(Establishment.code == data.code)).first():
        raise HTTPException(status_code=409, detail=f"Establishment code {data.code} is already used.")
    if (same := name_taken(session, data.name)) is not None:
        raise HTTPException(status_code=409, detail=f"{same.code} is already called {same.name}.")
    est = Establishment.model_validate(data)
    session.add(est)
    session.flush()
    return est


def update_establishment(
    session: Session,
    est: Establishment,
    actor: Actor,
    *,
    name: str | None = None,
    kind: EstablishmentKind | None = None,
) -> None:
    """Change the name or kind; audited with what changed ({field: [before, after]}) when anything did."""
    changed: dict[str, list[str]] = {}
    if name is not None and (same := name_taken(session, name, other_than=est.id)) is not None:
        raise HTTPException(status_code=409, detail=f"{same.code} is already called {same.name}.")
    name = None if name is None else " ".join(name.split())  # as EstablishmentCreate stores it
    if name is not None and name != est.name:
        changed["name"] = [est.name, name]
        est.name = name
    if kind is not None and kind != est.kind:
        changed["kind"] = [est.kind.value, kind.value]
        est.kind = kind
    if not changed:
        return
    session.add(est)
    session.flush()
    record(
        session,
        actor,
        "establishment_update",
        object_type="establishment",
        object_id=est.id,
        establishment_id=est.id,
        detail={"code": est.code, **changed},
    )


def add_camera(session: Session, establishment_id: int, data: CameraCreate) -> Camera:
    if session.exec(
        select(Camera).where(Camera.establishment_id == establishment_id, Camera.serial == data.serial)
    ).first():
        raise HTTPException(status_code=409, detail=f"Camera {data.serial} is already registered here.")
    cam = Camera(**data.model_dump(), establishment_id=establishment_id)
    session.add(cam)
    session.flush()
    return cam


def add_staff_member(session: Session, establishment_id: int, data: StaffMemberCreate) -> StaffMember:
    if session.exec(
        select(StaffMember).where(
            StaffMember.establishment_id == establishment_id, StaffMember.staff_number == data.staff_number
        )
    ).first():
        raise HTTPException(status_code=409, detail=f"Staff number {data.staff_number} is already used here.")
    sm = StaffMember(**data.model_dump(), establishment_id=establishment_id)
    session.add(sm)
    session.flush()
    return sm


def find_camera(session: Session, establishment_id: int, serial: str) -> Camera | None:
    return session.exec(
        select(Camera).where(Camera.establishment_id == establishment_id, Camera.serial == serial)
    ).first()


def find_staff(session: Session, establishment_id: int, staff_number: str) -> StaffMember | None:
    return session.exec(
        select(StaffMember).where(
            StaffMember.establishment_id == establishment_id, StaffMember.staff_number == staff_number
        )
    ).first()


def list_staff(session: Session, establishment_id: int | None) -> list[StaffMember]:
    q = select(StaffMember).order_by(StaffMember.name)
    if establishment_id is not None:
        q = q.where(StaffMember.establishment_id == establishment_id)
    return list(session.exec(q).all())


def list_cameras(session: Session, establishment_id: int | None) -> list[Camera]:
    q = select(Camera).order_by(Camera.serial)
    if establishment_id is not None:
        q = q.where(Camera.establishment_id == establishment_id)
    return list(session.exec(q).all())
