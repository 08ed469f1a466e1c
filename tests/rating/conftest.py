"""Factories for rating tests: incidents and analysed clips written directly (no worker needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.footage.models import Footage, FootageIncident, FootageStatus, Keyframe, Segment
from app.incident.models import Incident, IncidentStaff

T0 = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)


@pytest.fixture
def make_incident(session, world) -> Callable[..., Incident]:  # type: ignore[no-untyped-def]
    n = {"i": 0}

    def _make(
        est: str = "a", *, at: datetime = T0, staff: tuple[str, ...] = ("a1",), location: str = "A wing"
    ) -> Incident:
        n["i"] += 1
        inc = Incident(
            reference=f"UOF-{est.upper()}-{n['i']}",
            location=location,
            establishment_id=world.est_a if est == "a" else world.est_b,
            incident_started_at=at,
            force_started_at=at + timedelta(seconds=60),
            force_ended_at=at + timedelta(seconds=90),
            incident_ended_at=at + timedelta(seconds=180),
        )
        session.add(inc)
        session.commit()
        for s in staff:
            session.add(IncidentStaff(incident_id=inc.id, staff_member_id=world.staff[s], part="Head"))
        session.commit()
        return inc

    return _make


@pytest.fixture
def make_clip(session, world) -> Callable[..., Footage]:  # type: ignore[no-untyped-def]
    """An analysed clip of `incident` worn by `wearer`; `lead` s before force its first frame, `press` s after
    the first frame the wearer pressed record."""
    n = {"i": 0}

    def _make(
        incident: Incident | None,
        wearer: str = "a1",
        *,
        lead: float = 10,
        press: float = 2,
        length: float = 60,
        segments: tuple[tuple[str, float, float], ...] = (),
        status: FootageStatus = FootageStatus.analysed,
        est: str | None = None,
        keyframes: tuple[float, ...] = (),
    ) -> Footage:
        n["i"] += 1
        est_id = incident.establishment_id if incident else (world.est_a if (est or "a") == "a" else world.est_b)
        base = incident.force_started_at if incident else T0
        start = base - timedelta(seconds=lead)
        sha = hashlib.sha256(f"clip-{n['i']}-{wearer}".encode()).hexdigest()
        f = Footage(
            establishment_id=est_id,
            wearer_id=world.staff[wearer],
            recording_started_at=start,
            activated_at=start + timedelta(seconds=press),
            prerecord_seconds=press,
            claimed_duration_s=length,
            duration_s=length,
            fps=25.0,
            original_filename=f"clip{n['i']}.mp4",
            size_bytes=1000,
            sha256=sha,
            storage_key=f"sha256/{sha[:2]}/{sha}",
            status=status,
        )
        session.add(f)
        session.commit()
        if incident is not None:
            session.add(
                FootageIncident(
                    footage_id=f.id,
                    incident_id=incident.id,
                    source="manual",
                    establishment_id=incident.establishment_id,
                    force_started_at=incident.force_started_at,
                )
            )
        for kind, a, b in segments:
            session.add(Segment(footage_id=f.id, kind=kind, start=a, end=b))
        for t in keyframes:
            session.add(Keyframe(footage_id=f.id, t=t, reason="interval"))
        session.commit()
        return f

    return _make


def rating_body(rag: str = "green", **kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"rag": rag, "criteria": {"switched_on_before_force": True}}
    body.update(kw)
    return body
