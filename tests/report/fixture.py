"""A small hand-computed world for the report tests (every expected figure is worked out in comments).

Establishment AAA, October 2026 (London; BST ends on 25 October). Officers A001 (a1), A002 (a2) and
A003 (a3, involved once, no footage). Times are UTC.

Incidents in October (force started):
  I1 "A wing" spontaneous 5 Oct 10:00   a1 before_force -20s cov 1.0 (F1)   a2 late +30s cov 0.75 (F2)
  I2 "B wing" planned     30 Sep 23:30 UTC = 1 Oct 00:30 London   a1 before_force -10s cov 1.0 (F3)
  I3 "A wing" spontaneous 20 Oct 14:00  a3 no_footage cov 0   a2 before_force -5s cov 1.0 (F4, unrated)
  I4 "Reception" spont.   31 Oct 23:30 UTC (GMT, still October)   no officers, no footage
  I8 "B wing" spontaneous 25 Oct 10:00  a2 late +12s cov 0.9 (F8 and F9)
Outside: I5 1 Nov 00:00 UTC (a1 -1s, F5), I6 15 Sep 10:00 (a1 late +40s cov 0.5, F6), and one in BBB.

Ratings (current unless said): F1 v1 red 6 Oct 10:00 superseded by v2 amber 7 Oct 10:00 (not
acknowledged); F2 amber 6 Oct 12:00 (acknowledged); F3 green 2 Oct 23:30; F4 only a calibration green;
F8 red 26 Oct 10:00 (not acknowledged); F9 amber 29 Oct 10:00 (acknowledged); F5 red 2 Nov; F6 green 16 Sep.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import count

from sqlmodel import Session

from app.establishment.service import add_staff_member
from app.footage.models import Footage, FootageIncident, FootageStatus
from app.incident.models import ActivationResult, ActivationStatus, Incident, IncidentStaff, IncidentSubject
from app.rating.models import Acknowledgement, Rag, Rating
from app.staff.models import StaffMemberCreate


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


@dataclass
class ReportWorld:
    footage: dict[str, int]
    incidents: dict[str, int]
    ratings: dict[str, int]
    a3: int


_seq = count(1)


def build(session: Session, world) -> ReportWorld:  # type: ignore[no-untyped-def]
    est, est_b = world.est_a, world.est_b
    a1, a2 = world.staff["a1"], world.staff["a2"]
    coord = world.users["coordinator_a"]
    a3 = add_staff_member(session, est, StaffMemberCreate(staff_number="A003", name="Officer a3")).id
    session.commit()

    incidents: dict[str, int] = {}
    footage: dict[str, int] = {}
    ratings: dict[str, int] = {}

    def incident(key: str, force: datetime, location: str, planned: bool = False, e: int = est) -> int:
        inc = Incident(
            establishment_id=e,
            reference=f"UOF-{key}",
            location=location,
            planned=planned,
            incident_started_at=force - timedelta(minutes=2),
            force_started_at=force,
            force_ended_at=force + timedelta(minutes=3),
            incident_ended_at=force + timedelta(minutes=10),
        )
        session.add(inc)
        session.flush()
        incidents[key] = inc.id  # type: ignore[assignment]
        return inc.id  # type: ignore[return-value]

    def check(inc: int, staff: int, status: ActivationStatus, lag: float | None, cov: float) -> None:
        session.add(IncidentStaff(incident_id=inc, staff_member_id=staff, part="Head"))
        copied = session.get(Incident, inc)  # what activation.recompute copies from the incident
        assert copied is not None
        session.add(
            ActivationResult(
                incident_id=inc,
                staff_member_id=staff,
                establishment_id=copied.establishment_id,
                force_started_at=copied.force_started_at,
                status=status,
                lag_s=lag,
                coverage=cov,
            )
        )

    recorded_by_clip: dict[str, datetime] = {}  # each clip's recording_started_at, copied onto its ratings

    def clip(key: str, wearer: int, recorded: datetime, inc: int | None, e: int = est) -> int:
        digest = hashlib.sha256(f"{key}-{next(_seq)}".encode()).hexdigest()
        f = Footage(
            establishment_id=e,
            wearer_id=wearer,
            recording_started_at=recorded,
            activated_at=recorded,
            original_filename=f"{key}.mp4",
            size_bytes=1000,
            sha256=digest,
            storage_key=digest,
            status=FootageStatus.analysed,
            duration_s=600.0,
        )
        session.add(f)
        session.flush()
        footage[key] = f.id  # type: ignore[assignment]
        recorded_by_clip[key] = recorded
        if inc is not None:
            linked = session.get(Incident, inc)  # what footage.service.link copies from the incident
            assert linked is not None
            session.add(
                FootageIncident(
                    footage_id=f.id,
                    incident_id=inc,
                    establishment_id=linked.establishment_id,
                    force_started_at=linked.force_started_at,
                )
            )
        return f.id  # type: ignore[return-value]

    def rate(key: str, fkey: str, wearer: int, rag: Rag, at: datetime, **kw) -> int:  # type: ignore[no-untyped-def]
        r = Rating(
            footage_id=footage[fkey],
            establishment_id=kw.pop("e", est),
            wearer_id=wearer,
            recorded_at=recorded_by_clip[fkey],
            rag=rag,
            rated_at=at,
            rated_by_user_id=coord,
            guidance=f"Guidance for {fkey}" if rag != Rag.green else "",
            **kw,
        )
        session.add(r)
        session.flush()
        ratings[key] = r.id  # type: ignore[assignment]
        return r.id  # type: ignore[return-value]

    i1 = incident("I1", utc(2026, 10, 5, 10), "A wing")
    check(i1, a1, ActivationStatus.before_force, -20, 1.0)
    check(i1, a2, ActivationStatus.late, 30, 0.75)
    clip("F1", a1, utc(2026, 10, 5, 9, 59), i1)
    clip("F2", a2, utc(2026, 10, 5, 10, 0, 30), i1)
    session.add(
        IncidentSubject(
            incident_id=i1, reference="A1", ethnicity="White British", age_band="21-24", sex="Male", disability="None"
        )
    )
    session.add(
        IncidentSubject(
            incident_id=i1, reference="A2", ethnicity="White British", age_band="21-24", sex="Male", disability="None"
        )
    )

    i2 = incident("I2", utc(2026, 9, 30, 23, 30), "B wing", planned=True)
    check(i2, a1, ActivationStatus.before_force, -10, 1.0)
    clip("F3", a1, utc(2026, 9, 30, 23, 29), i2)
    session.add(
        IncidentSubject(
            incident_id=i2, reference="B1", ethnicity="Black British", age_band="18-20", sex="Male", disability=None
        )
    )

    i3 = incident("I3", utc(2026, 10, 20, 14), "A wing")
    check(i3, a3, ActivationStatus.no_footage, None, 0.0)
    check(i3, a2, ActivationStatus.before_force, -5, 1.0)
    clip("F4", a2, utc(2026, 10, 20, 13, 59), i3)

    i4 = incident("I4", utc(2026, 10, 31, 23, 30), "Reception")
    session.add(
        IncidentSubject(
            incident_id=i4, reference="C1", ethnicity="Black British", age_band="25-29", sex="Female", disability="Yes"
        )
    )

    i8 = incident("I8", utc(2026, 10, 25, 10), "B wing")
    check(i8, a2, ActivationStatus.late, 12, 0.9)
    clip("F8", a2, utc(2026, 10, 25, 9, 58), i8)
    clip("F9", a2, utc(2026, 10, 25, 10, 5), i8)
    session.add(IncidentSubject(incident_id=i8, reference="D1"))

    i5 = incident("I5", utc(2026, 11, 1, 0, 0), "A wing")
    check(i5, a1, ActivationStatus.before_force, -1, 1.0)
    clip("F5", a1, utc(2026, 11, 1, 0, 0, 30), i5)

    i6 = incident("I6", utc(2026, 9, 15, 10), "A wing")
    check(i6, a1, ActivationStatus.late, 40, 0.5)
    clip("F6", a1, utc(2026, 9, 15, 9, 59), i6)

    ib = incident("IB", utc(2026, 10, 10, 10), "B wing", e=est_b)
    check(ib, world.staff["b1"], ActivationStatus.late, 100, 0.1)
    clip("FB", world.staff["b1"], utc(2026, 10, 10, 10, 1), ib, e=est_b)
    session.flush()

    # F1: red, then re-rated amber (the red is superseded and no longer counts).
    r1v1 = rate("F1v1", "F1", a1, Rag.red, utc(2026, 10, 6, 10), version=1, is_current=False)
    r1v2 = rate("F1v2", "F1", a1, Rag.amber, utc(2026, 10, 7, 10), version=2)
    session.flush()
    old = session.get(Rating, r1v1)
    old.superseded_by_id = r1v2  # type: ignore[union-attr]
    session.add(old)
    r2 = rate("F2", "F2", a2, Rag.amber, utc(2026, 10, 6, 12))
    rate("F3", "F3", a1, Rag.green, utc(2026, 10, 2, 23, 30))
    rate("F4cal", "F4", a2, Rag.green, utc(2026, 10, 21, 9), is_current=False, is_calibration=True)
    rate("F8", "F8", a2, Rag.red, utc(2026, 10, 26, 10))
    r9 = rate("F9", "F9", a2, Rag.amber, utc(2026, 10, 29, 10))
    rate("F5", "F5", a1, Rag.red, utc(2026, 11, 2, 10))
    rate("F6", "F6", a1, Rag.green, utc(2026, 9, 16, 10))
    rate("FB", "FB", world.staff["b1"], Rag.red, utc(2026, 10, 11, 10), e=est_b)
    session.flush()
    session.add(Acknowledgement(rating_id=r2, staff_member_id=a2, acknowledged_at=utc(2026, 10, 8, 9)))
    session.add(
        Acknowledgement(rating_id=r9, staff_member_id=a2, acknowledged_at=utc(2026, 10, 30, 9), reply="Understood")
    )
    session.commit()
    return ReportWorld(footage=footage, incidents=incidents, ratings=ratings, a3=a3)
