"""Linking footage to incidents: manual links, suggested links, and officers with no footage at all.

A clip is suggested for an incident when it was worn by an officer involved in the incident (or recorded on a
camera named on the incident) and its recording overlaps the incident window widened by
`link_margin_minutes` either side. A clip's end is its measured length, else the length the camera
claimed; a clip of unknown length counts as the instant of its first frame. Suggestions the coordinator
dismissed are not made again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit.service import Actor, record
from app.core.config import get_settings
from app.footage.models import Footage, FootageIncident, FootageStatus, LinkDismissal
from app.footage.service import link, unlink
from app.incident.models import Incident, IncidentCamera, IncidentStaff
from app.staff.models import StaffMember

INC: Any = sa.inspect(Incident).local_table

# Longest clip considered when pre-filtering by start time (a whole shift).
LONGEST_CLIP = timedelta(hours=14)


def clip_end(f: Footage) -> datetime:
    length = f.duration_s if f.duration_s is not None else f.claimed_duration_s
    return f.recording_started_at + timedelta(seconds=length or 0.0)


def window(incident: Incident, margin_minutes: int | None = None) -> tuple[datetime, datetime]:
    m = timedelta(minutes=get_settings().link_margin_minutes if margin_minutes is None else margin_minutes)
    return incident.incident_started_at - m, incident.incident_ended_at + m


@dataclass
class Suggestion:
    footage: Footage
    wearer: StaffMember | None
    why: str  # "worn by an involved officer" | "camera named on the incident"
    overlap_s: float | None  # None while the clip's length is not known (not analysed, none claimed)


def suggestions(session: Session, incident: Incident, *, margin_minutes: int | None = None) -> list[Suggestion]:
    assert incident.id is not None
    start, end = window(incident, margin_minutes)
    staff_ids = set(
        session.exec(select(IncidentStaff.staff_member_id).where(IncidentStaff.incident_id == incident.id)).all()
    )
    camera_ids = set(
        session.exec(select(IncidentCamera.camera_id).where(IncidentCamera.incident_id == incident.id)).all()
    )
    if not staff_ids and not camera_ids:
        return []
    linked = set(session.exec(select(FootageIncident.footage_id).where(FootageIncident.incident_id == incident.id)))
    dismissed = set(session.exec(select(LinkDismissal.footage_id).where(LinkDismissal.incident_id == incident.id)))
    who = col(Footage.wearer_id).in_(staff_ids) if staff_ids else None
    cams = col(Footage.camera_id).in_(camera_ids) if camera_ids else None
    cond = who if cams is None else (cams if who is None else (who | cams))
    rows = session.exec(
        select(Footage)
        .where(
            Footage.establishment_id == incident.establishment_id,
            Footage.status != FootageStatus.purged,
            col(Footage.recording_started_at) <= end,
            col(Footage.recording_started_at) >= start - LONGEST_CLIP,
            cond,  # type: ignore[arg-type]
        )
        .order_by(col(Footage.recording_started_at))
    ).all()
    out: list[Suggestion] = []
    for f in rows:
        if f.id in linked or f.id in dismissed:
            continue
        f_end = clip_end(f)
        if f_end < start:
            continue
        known = f.duration_s is not None or f.claimed_duration_s is not None
        overlap = (min(f_end, end) - max(f.recording_started_at, start)).total_seconds() if known else None
        why = "worn by an involved officer" if f.wearer_id in staff_ids else "camera named on the incident"
        wearer = session.get(StaffMember, f.wearer_id) if f.wearer_id else None
        out.append(
            Suggestion(footage=f, wearer=wearer, why=why, overlap_s=None if overlap is None else max(0.0, overlap))
        )
    return out


def officers_without_footage(session: Session, incident: Incident) -> list[StaffMember]:
    """Involved officers with no linked footage and none suggested: "no footage found". As footage missing
    (`officers_missing_footage`), less those a clip was found for, which the page shows as suggestions."""
    assert incident.id is not None
    return _without_footage(session, [incident]).get(incident.id, [])


def _without_footage(session: Session, incidents: list[Incident]) -> dict[int, list[StaffMember]]:
    """`officers_without_footage` of each incident (by id; none missing: left out), the involvements and links
    of them all read by two statements. Suggestions are looked for only where an officer has no clip linked."""
    ids = [i.id for i in incidents if i.id is not None]
    if not ids:
        return {}
    staff: dict[int, list[StaffMember]] = {}
    for iid, sm in session.exec(
        select(IncidentStaff.incident_id, StaffMember)
        .join(StaffMember, col(StaffMember.id) == IncidentStaff.staff_member_id)
        .where(col(IncidentStaff.incident_id).in_(ids))
        .order_by(col(StaffMember.name), col(StaffMember.id))
    ).all():
        staff.setdefault(iid, []).append(sm)
    linked: dict[int, set[int | None]] = {}
    for iid, wearer in session.exec(
        select(FootageIncident.incident_id, Footage.wearer_id)
        .join(Footage, col(Footage.id) == FootageIncident.footage_id)
        .where(col(FootageIncident.incident_id).in_(ids))
    ).all():
        linked.setdefault(iid, set()).add(wearer)
    out: dict[int, list[StaffMember]] = {}
    for incident in incidents:
        assert incident.id is not None
        unlinked = [
            s
            for s in staff.get(incident.id, [])
            if s.id not in linked.get(incident.id, set()) and s.establishment_id == incident.establishment_id
        ]
        if unlinked:
            suggested = {s.footage.wearer_id for s in suggestions(session, incident)}
            missing = [s for s in unlinked if s.id not in suggested]
            if missing:
                out[incident.id] = missing
    return out


MISSING_PAGE = 50  # incidents a page of "Officers with no footage"


def clips_linked() -> Any:
    """Links of clips to incidents (for an EXISTS: add the incident, and the wearer where it matters). A purged
    clip counts: the footage was there, and the activation check measured it, before retention deleted it."""
    return select(FootageIncident.incident_id).join(Footage, col(Footage.id) == FootageIncident.footage_id)


def officers_missing_footage(establishment_id: int | None, *where: Any) -> Any:
    """(incident_id, staff_member_id) of each officer involved in an incident with no clip of theirs linked:
    "footage missing", one definition for the officers-with-no-footage list, the review queue's "No footage"
    and the coordinator's home card. Only officers of the incident's own establishment: another's officer's
    clips belong to their establishment and could never be linked here. `where`: more conditions on the
    incident (`INC`, its table)."""
    pairs = (
        select(IncidentStaff.incident_id, IncidentStaff.staff_member_id)
        .join(INC, INC.c.id == IncidentStaff.incident_id)
        .join(StaffMember, col(StaffMember.id) == IncidentStaff.staff_member_id)
        .where(
            StaffMember.establishment_id == INC.c.establishment_id,
            ~clips_linked()
            .where(
                FootageIncident.incident_id == IncidentStaff.incident_id,
                Footage.wearer_id == IncidentStaff.staff_member_id,
            )
            .exists(),
            *where,
        )
    )
    if establishment_id is not None:
        pairs = pairs.where(INC.c.establishment_id == establishment_id)
    return pairs


def incidents_without_any_footage(establishment_id: int | None, *where: Any) -> Any:
    """(incident_id) of each incident with no clip linked and none of its establishment's officers recorded:
    footage missing too, with nobody to chase for it until the officers are recorded. `where`: as above."""
    officers_recorded = (
        select(IncidentStaff.incident_id)
        .join(StaffMember, col(StaffMember.id) == IncidentStaff.staff_member_id)
        .where(IncidentStaff.incident_id == INC.c.id, StaffMember.establishment_id == INC.c.establishment_id)
    )
    bare = select(INC.c.id.label("incident_id")).where(
        ~clips_linked().where(FootageIncident.incident_id == INC.c.id).exists(),
        ~officers_recorded.exists(),
        *where,
    )
    if establishment_id is not None:
        bare = bare.where(INC.c.establishment_id == establishment_id)
    return bare


@dataclass
class OfficerWithout:
    """An involved officer with no clip of theirs linked to the incident; `suggested`: a clip was found that may
    be theirs (a suggestion waiting for the coordinator)."""

    staff: StaffMember
    suggested: bool


def incidents_missing_footage(
    session: Session, establishment_id: int | None, *, offset: int = 0, limit: int = MISSING_PAGE
) -> tuple[list[tuple[Incident, list[OfficerWithout]]], int]:
    """Incidents (newest first; `limit` of them from `offset`) where an involved officer has no clip of theirs
    linked, each with those officers (by name), and how many such incidents there are in all; with them, as the
    queue's "No footage" counts them, incidents with no clip linked and no officer recorded (no officers).

    Every incident counts, not the most recent few: a large prison records hundreds a week, and an incident
    whose footage is still missing must not drop off the list as newer ones come in. The database finds and
    counts them; suggestions are looked for only for the page's incidents."""
    found = officers_missing_footage(establishment_id).subquery("without")
    bare = incidents_without_any_footage(establishment_id).subquery("bare")
    ids = sa.union(sa.select(found.c.incident_id), sa.select(bare.c.incident_id))
    # The page and the count in one pass (the count rides on each row); past the end, counted on its own.
    rows = session.execute(
        select(Incident, sa.func.count().over().label("total"))
        .where(col(Incident.id).in_(ids))
        .order_by(col(Incident.force_started_at).desc(), col(Incident.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()
    if not rows:
        total = int(session.execute(sa.select(sa.func.count()).select_from(ids.subquery())).scalar_one())
        return [], total
    page: list[Incident] = [r[0] for r in rows]
    total = int(rows[0][1])
    officers: dict[int, list[StaffMember]] = {}
    for iid, sm in session.execute(
        sa.select(found.c.incident_id, StaffMember)
        .join(StaffMember, col(StaffMember.id) == found.c.staff_member_id)
        .where(found.c.incident_id.in_([i.id for i in page]))
        .order_by(col(StaffMember.name), col(StaffMember.id))
    ).all():
        officers.setdefault(iid, []).append(sm)
    out = []
    for incident in page:
        suggested = {s.footage.wearer_id for s in suggestions(session, incident)}
        out.append(
            (incident, [OfficerWithout(sm, sm.id in suggested) for sm in officers.get(incident.id, [])])  # type: ignore[arg-type]
        )
    return out, total


def link_warnings(session: Session, footage: Footage, incident: Incident) -> list[str]:
    """Why this clip may not be of this incident (none if nothing suggests so): recorded nowhere near its times
    (the suggestions' window), or worn by an officer not recorded as involved. A page asks the coordinator to
    confirm such a link: its rating would count for the incident in every report."""
    from app.core.templates import london

    out = []
    start, end = window(incident)
    if clip_end(footage) < start or footage.recording_started_at > end:
        out.append(
            f"It was recorded {london(footage.recording_started_at)}, not near the incident's times "
            f"({london(incident.incident_started_at)} to {london(incident.incident_ended_at)})."
        )
    if footage.wearer_id is not None:
        involved = session.get(IncidentStaff, (incident.id, footage.wearer_id))
        if involved is None:
            wearer = session.get(StaffMember, footage.wearer_id)
            name = wearer.name if wearer else "its wearer"
            out.append(f"{name}, who wore the camera, is not recorded as involved in {incident.reference}.")
    return out


class LinkRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def _same_place(footage: Footage, incident: Incident) -> None:
    if footage.establishment_id != incident.establishment_id:
        raise LinkRefused(422, "The footage and the incident belong to different establishments.")
    if footage.status == FootageStatus.purged:
        raise LinkRefused(409, "This footage has been deleted under the retention policy and cannot be linked.")


def make_link(
    session: Session,
    footage: Footage,
    incident: Incident,
    *,
    actor: Actor,
    source: str = "manual",
    reason: str | None = None,
    warnings: list[str] | None = None,
) -> bool:
    """Link and audit; `warnings`: what made it unlikely (`link_warnings`), kept in the entry as `despite`."""
    _same_place(footage, incident)
    created = link(session, footage, incident.id, user_id=actor.user_id, source=source)  # type: ignore[arg-type]
    if created:
        # A dismissed suggestion that is linked after all is no longer dismissed.
        dismissal = session.get(LinkDismissal, (footage.id, incident.id))
        if dismissal is not None:
            session.delete(dismissal)
        from app.rating.service import supersede_deleted_copies  # (the rating domain imports this module)

        # A file stored again and rated before this link: now in the deleted clip's place, it counts once.
        superseded = supersede_deleted_copies(session, footage)
        record(
            session,
            actor,
            "footage_suggestion_accept" if source == "suggestion" else "footage_link",
            object_type="footage",
            object_id=footage.id,
            establishment_id=footage.establishment_id,
            reason=reason,
            detail={
                "incident_id": incident.id,
                "incident": incident.reference,
                "source": source,
                **({"despite": warnings} if warnings else {}),
                **({"supersedes_deleted_copy_ratings": superseded} if superseded else {}),
            },
        )
    return created


def remove_link(session: Session, footage: Footage, incident: Incident, *, actor: Actor, reason: str) -> bool:
    removed = unlink(session, footage, incident.id)  # type: ignore[arg-type]
    if removed:
        from app.rating.service import later_copies, restore_deleted_copies, supersede_deleted_copies

        # A file stored again no longer in the deleted clip's place: the deleted clip's rating counts again.
        restored = restore_deleted_copies(session, footage)
        # A deleted clip unlinked: a copy stored after it may now take its place.
        superseded: list[int] = []
        if footage.purged_at is not None:
            for later in later_copies(session, footage):
                superseded += supersede_deleted_copies(session, later, deleted_too=True)
        record(
            session,
            actor,
            "footage_unlink",
            object_type="footage",
            object_id=footage.id,
            establishment_id=footage.establishment_id,
            reason=reason,
            detail={
                "incident_id": incident.id,
                "incident": incident.reference,
                **({"restores_deleted_copy_ratings": restored} if restored else {}),
                **({"supersedes_deleted_copy_ratings": superseded} if superseded else {}),
            },
        )
    return removed


def dismiss(session: Session, footage: Footage, incident: Incident, *, actor: Actor, reason: str | None) -> bool:
    _same_place(footage, incident)
    if session.get(LinkDismissal, (footage.id, incident.id)) is not None:
        return False
    session.add(LinkDismissal(footage_id=footage.id, incident_id=incident.id, dismissed_by_user_id=actor.user_id))  # type: ignore[arg-type]
    session.flush()
    record(
        session,
        actor,
        "footage_suggestion_dismiss",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        reason=reason,
        detail={"incident_id": incident.id, "incident": incident.reference},
    )
    return True
