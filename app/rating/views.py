"""Coordinator pages: the review queue, the review screen with the rating form, sampling settings."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.audit.service import record
from app.auth.models import User
from app.core import localtime
from app.core.deps import MAX_ID, Coordinator, PostedForm, Principal, SessionDep, get_visible, scope_establishment
from app.core.security import form_text, whole_number
from app.core.templates import render
from app.establishment.models import Establishment
from app.footage.models import Footage, FootageIncident, FootageStatus, Keyframe, Segment
from app.footage.viewing import video_url
from app.incident import no_footage
from app.incident import service as incident_service
from app.incident.models import Incident
from app.rating import service
from app.rating.api import audit_rating
from app.rating.models import Acknowledgement, CalibrationAssignment, Rag, Rating
from app.rating.rules import ClipFacts, Suggestion, suggest
from app.staff.models import StaffMember
from workers.video.activation import Clip

router = APIRouter(include_in_schema=False)
QUEUE_PAGE = 50  # incidents a page of the review queue
LOOSE_PAGE = 100  # clips a page of those linked to no incident (after the incidents)
QUEUE_KEYS = ("date_from", "date_to", "location", "officer", "check", "status", "establishment_id")
KEYFRAME_REASONS = {
    "first": "First frame",
    "interval": "Interval",
    "scene": "Scene change",
    "scene_change": "Scene change",
    "force_started": "Force began",
    "force_ended": "Force ended",
    "dark_start": "Picture went dark",
    "frozen_start": "Picture froze",
    "last": "Last frame",
}


# ---------------------------------------------------------------- filters
def parse_filters(params: dict[str, str]) -> tuple[service.QueueFilters, dict[str, str]]:
    f = service.QueueFilters()
    errors: dict[str, str] = {}
    for name, label in (("date_from", "Incidents from"), ("date_to", "Incidents to")):
        raw = (params.get(name) or "").strip()
        if raw:
            try:
                setattr(f, name, localtime.parse_day(raw))
            except ValueError:
                errors[name] = f"Enter a real date for {label}, for example 3/11/2026"
    if f.date_from and f.date_to and f.date_to < f.date_from:  # kept: such a range shows nothing, never everything
        errors["date_to"] = "Incidents to must be the same as or after incidents from"
    f.location = (params.get("location") or "").strip()[:120] or None
    officer = (params.get("officer") or "").strip()
    if officer:
        if officer.isascii() and officer.isdigit() and len(officer) < 10:
            f.officer = int(officer)
        else:
            errors["officer"] = "Choose an officer from the list"
    check = (params.get("check") or "").strip()
    if check:
        if check in service.CHECKS:
            f.check = check
        else:
            errors["check"] = "Choose a check result from the list"
    status = (params.get("status") or "").strip()
    if status:
        if status in service.STATUSES:
            f.status = status
        else:
            errors["status"] = "Choose a status from the list"
    return f, errors


def queue_params(request: Request) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in QUEUE_KEYS and v}


def review_params(given: Mapping[str, str]) -> dict[str, str]:
    """The queue's filters as a review screen carries them, with the queue's page it was opened from, so that
    "Back to queue" (and the queue after the last save) returns to that page, not to the first."""
    params = {k: v for k, v in given.items() if k in QUEUE_KEYS and v}
    page = whole_number(given.get("page", ""), 2, 999_999)
    if page is not None:
        params["page"] = str(page)
    return params


def _establishment(session: Session, principal: Principal, params: dict[str, str]) -> Establishment | None:
    requested = params.get("establishment_id")
    req_id = (
        int(requested) if requested and requested.isascii() and requested.isdigit() and len(requested) < 10 else None
    )
    est_id = scope_establishment(principal, req_id)
    return session.get(Establishment, est_id) if est_id is not None else None


# ---------------------------------------------------------------- the queue
@router.get("/review")
def review_queue(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    return _queue_page(request, principal, session, queue_params(request))


def _queue_page(
    request: Request,
    principal: Principal,
    session: Session,
    params: dict[str, str],
    sampling: dict[str, str] | None = None,
    sampling_errors: dict[str, str] | None = None,
) -> Response:
    """The queue; with `sampling` ({"sample_percent", "reason"} as typed) and `sampling_errors` (by field) the
    sampling form comes back with its problems."""
    est = _establishment(session, principal, params)
    if est is None:
        ests = session.exec(select(Establishment).order_by(Establishment.name)).all()
        return render(request, "review/choose.html", {"establishments": ests}, page_title="Review queue")
    assert est.id is not None
    filters, errors = parse_filters(params)
    if sampling_errors:
        errors = {**errors, **sampling_errors}
    # Nothing written yet in this request (the audit entry comes after): the missing footage may be worked out
    # on a second connection. A page of incidents at a time: a large prison's backlog listed whole was tens of
    # megabytes of page. Back from a clip (`near`), the page where that clip is, or was.
    queue = service.queue_page(
        session,
        est.id,
        filters,
        page=whole_number(request.query_params.get("page", ""), 0, 999_999) or 1,
        per_page=QUEUE_PAGE,
        loose_per_page=LOOSE_PAGE,
        near=whole_number(request.query_params.get("near", ""), 1, MAX_ID),
        side_connection=True,
    )
    page, page_groups, shown = queue.page, queue.groups, queue.shown
    hidden = service.blind_footage_ids(session, principal.user.id)
    for group in page_groups:
        for row in group.clips:
            row.blind = row.footage.id in hidden
    staff = session.exec(
        select(StaffMember).where(StaffMember.establishment_id == est.id).order_by(StaffMember.name)
    ).all()
    locations = incident_service.locations(session, est.id)
    selected = _selected_filters(params, filters, {s.id: s.name for s in staff})
    saved = request.query_params.get("saved")
    record(
        session,
        principal.actor,
        "review_queue_view",
        establishment_id=est.id,
        detail={"filters": params, "shown": shown, **({"page": page} if page > 1 else {})},
    )
    return render(
        request,
        "review/queue.html",
        {
            "est": est,
            "queue": queue,
            "page_groups": page_groups,
            "shown": shown,
            "page": page,
            "pages": queue.pages,
            "first_group": queue.first,
            "filters": filters,
            "params": params,
            "errors": errors,
            "staff": staff,
            "locations": locations,
            "selected": selected,
            "qs": urlencode(params),
            # A clip opened from page 3 goes back to page 3.
            "clip_qs": urlencode({**params, **({"page": page} if page > 1 else {})}),
            "check_labels": service.CHECK_LABELS,
            "status_labels": service.STATUS_LABELS,
            "saved": saved,
            "sample_saved": request.query_params.get("sample_saved"),
            "sampling": sampling or {},
            "explanations": no_footage.for_incidents(
                session, [g.incident.id for g in page_groups if g.missing and g.incident and g.incident.id]
            ),
        },
        page_title="Review queue",
        status_code=400 if sampling else 200,
    )


def _selected_filters(params: dict[str, str], f: service.QueueFilters, names: dict[Any, str]) -> list[dict[str, Any]]:
    def without(key: str) -> str:
        rest = {k: v for k, v in params.items() if k != key}
        return "/review" + ("?" + urlencode(rest) if rest else "")

    groups: list[dict[str, Any]] = []
    if f.date_from or f.date_to:
        items = []
        if f.date_from:
            items.append({"text": f"From {f.date_from:%-d %b %Y}", "href": without("date_from")})
        if f.date_to:
            items.append({"text": f"To {f.date_to:%-d %b %Y}", "href": without("date_to")})
        groups.append({"heading": "Date of incident", "items": items})
    if f.location:
        groups.append({"heading": "Location", "items": [{"text": f.location, "href": without("location")}]})
    if f.officer is not None:
        groups.append(
            {"heading": "Officer", "items": [{"text": names.get(f.officer, "Unknown"), "href": without("officer")}]}
        )
    if f.check:
        groups.append(
            {"heading": "Check result", "items": [{"text": service.CHECK_LABELS[f.check], "href": without("check")}]}
        )
    if "status" in params and f.status != "to_review":
        groups.append(
            {"heading": "Status", "items": [{"text": service.STATUS_LABELS[f.status], "href": without("status")}]}
        )
    return groups


@router.post("/review/settings")
def review_settings(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    """Change the share of footage that must be reviewed (audited)."""
    form = posted
    params = {k: str(v) for k, v in form.items() if k in QUEUE_KEYS and v}
    est = _establishment(session, principal, params)
    if est is None:
        raise HTTPException(status_code=404, detail="establishment not found")
    raw = str(form.get("sample_percent", "")).strip().rstrip("%").strip()
    reason = str(form.get("reason", "") or "").strip()
    problems: dict[str, str] = {}
    percent = whole_number(raw, 1, 100)
    if percent is None:
        problems["sample_percent"] = "Enter the share of footage to review, a whole number from 1 to 100"
    if len(reason) > 500:
        problems["reason"] = f"The reason must be 500 characters or fewer (it has {len(reason):,})"
    if problems or percent is None:
        values = {"sample_percent": str(form.get("sample_percent", ""))[:20], "reason": reason}
        return _queue_page(request, principal, session, params, values, problems)
    change = service.set_sample_percent(session, est, percent)
    record(
        session,
        principal.actor,
        "review_sample_change",
        object_type="establishment",
        object_id=est.id,
        establishment_id=est.id,
        reason=reason or None,
        detail={"from": change["from"], "to": change["to"]},
    )
    return RedirectResponse("/review?" + urlencode({**params, "sample_saved": "1"}), status_code=303)


# ---------------------------------------------------------------- the review screen
def _pct(t: float, length: float) -> float:
    return round(min(100.0, max(0.0, t / length * 100.0)), 3) if length > 0 else 0.0


def timeline(
    footage: Footage, incident: Incident | None, keyframes: list[Keyframe], segments: list[Segment]
) -> dict[str, Any]:
    """Positions on the clip's own timescale (percent of its length) for the timeline bar."""
    length = float(footage.duration_s or footage.claimed_duration_s or 0.0) or 1.0
    start = footage.recording_started_at

    def off(at: datetime) -> float:
        return (at - start).total_seconds()

    press = Clip(
        start=start,
        measured_duration_s=float(footage.duration_s or footage.claimed_duration_s or 0.0),
        activated_at=footage.activated_at,
        prerecord_s=float(footage.prerecord_seconds or 0.0),
    ).activation  # as the incident's check works it out
    activation = off(press)
    out: dict[str, Any] = {
        "length": length,
        "activation": activation,
        "activation_pct": _pct(activation, length),
        "prerecord_end_pct": _pct(min(activation, length), length),
        "prerecord_s": max(0.0, activation),
        "segments": [
            {"kind": str(s.kind), "start": s.start, "end": s.end, "s": _pct(s.start, length), "e": _pct(s.end, length)}
            for s in segments
        ],
        "ticks": [{"t": k.t, "at": _pct(k.t, length)} for k in keyframes],
        "scale": [(start + timedelta(seconds=length * q)) for q in (0, 0.25, 0.5, 0.75, 1)],
        "incident": None,
        "force": None,
        "notes": [],
    }
    if incident is not None:
        i0, i1 = off(incident.incident_started_at), off(incident.incident_ended_at)
        f0, f1 = off(incident.force_started_at), off(incident.force_ended_at)
        out["incident"] = {"s": _pct(i0, length), "e": _pct(i1, length), "start": i0, "end": i1}
        out["force"] = {"s": _pct(f0, length), "e": _pct(f1, length), "start": f0, "end": f1}
        if f1 < 0:
            out["notes"].append("Force had ended before this clip's first frame.")
        elif f0 < 0:
            out["notes"].append("Force had already begun at this clip's first frame.")
        if f0 > length:
            out["notes"].append("Force began after this clip ended.")
    return out


def filmstrip(
    footage_id: int, keyframes: list[Keyframe], segments: list[Segment], facts: ClipFacts
) -> list[dict[str, Any]]:
    tiles: dict[str, dict[str, Any]] = {}
    for kf in keyframes:
        key = kf.image_key or f"t{kf.t:.2f}"
        tile = tiles.setdefault(
            key,
            {"id": kf.id, "t": kf.t, "src": service.keyframe_image_url(footage_id, kf), "reasons": [], "mod": ""},
        )
        tile["reasons"].append(KEYFRAME_REASONS.get(kf.reason, kf.reason.replace("_", " ").capitalize()))
    for tile in tiles.values():
        for s in segments:
            if s.start <= tile["t"] <= s.end:
                tile["mod"] = str(s.kind)
        if "Force began" in tile["reasons"]:
            tile["mod"] = tile["mod"] or "flagged"
    return sorted(tiles.values(), key=lambda x: x["t"])


def _other_clips(
    session: Session, principal: Principal, footage: Footage, incident: Incident | None
) -> list[dict[str, Any]]:
    if incident is None:
        return []
    rows = session.exec(
        select(Footage, StaffMember)
        .join(FootageIncident, col(FootageIncident.footage_id) == Footage.id)
        .join(StaffMember, col(StaffMember.id) == Footage.wearer_id, isouter=True)
        .where(
            FootageIncident.incident_id == incident.id,
            Footage.id != footage.id,
            Footage.purged_at == None,  # noqa: E711
        )
        .order_by(col(Footage.recording_started_at))
    ).all()
    out = []
    blind = service.blind_footage_ids(session, principal.user.id)  # their first ratings are not shown to them
    for other, wearer in rows:
        offset = (other.recording_started_at - footage.recording_started_at).total_seconds()
        out.append(
            {
                "footage": other,
                "wearer": wearer,
                "offset": round(offset, 3),
                "rating": None if other.id in blind else service.current_rating(session, other.id),  # type: ignore[arg-type]
                "video_src": video_url(other.id, principal.user.id, "side_by_side"),  # type: ignore[arg-type]
            }
        )
    return out


def _history_items(session: Session, ratings: list[Rating]) -> list[dict[str, Any]]:
    """Each version with who rated it and, once the officer has acknowledged it, when and their reply."""
    names: dict[int, str] = {}
    acks = {
        a.rating_id: a
        for a in session.exec(
            select(Acknowledgement).where(col(Acknowledgement.rating_id).in_([r.id for r in ratings]))
        ).all()
    }
    items = []
    for r in ratings:
        if r.rated_by_user_id not in names:
            u = session.get(User, r.rated_by_user_id)
            names[r.rated_by_user_id] = u.display_name if u else "unknown"
        items.append({"rating": r, "by": names[r.rated_by_user_id], "ack": acks.get(r.id)})  # type: ignore[arg-type]
    return items


def screen_context(
    session: Session,
    principal: Principal,
    footage: Footage,
    *,
    params: dict[str, str],
    blind: bool = False,
    assignment: CalibrationAssignment | None = None,
) -> dict[str, Any]:
    assert footage.id is not None
    incident = service.primary_incident(session, footage.id)
    keyframes = list(
        session.exec(select(Keyframe).where(Keyframe.footage_id == footage.id).order_by(col(Keyframe.t))).all()
    )
    segments = list(
        session.exec(select(Segment).where(Segment.footage_id == footage.id).order_by(col(Segment.start))).all()
    )
    facts = service.facts_for(session, footage, incident)
    suggestion: Suggestion = suggest(facts)
    current = None if blind else service.current_rating(session, footage.id)
    ratings = [] if blind else service.history(session, footage.id)
    wearer = session.get(StaffMember, footage.wearer_id) if footage.wearer_id else None
    queue_pos = None
    next_id = None
    if not blind:
        filters, _ = parse_filters(params)
        order = service.review_order(session, footage.establishment_id, filters)
        if footage.id in order:
            queue_pos = (order.index(footage.id) + 1, len(order))
        next_id = service.next_in(order, footage.id)
    templates = service.guidance_templates(session, footage.establishment_id)
    return {
        "footage": footage,
        "incident": incident,
        "wearer": wearer,
        "camera_serial": _camera_serial(session, footage),
        "facts": facts,
        "suggestion": suggestion,
        "timeline": timeline(footage, incident, keyframes, segments),
        "filmstrip": filmstrip(footage.id, keyframes, segments, facts),
        "others": _other_clips(session, principal, footage, incident),
        "current": current,
        "history": _history_items(session, ratings),
        "criteria": service.CRITERIA,
        "template_groups": service.template_groups(templates, facts),
        "blind": blind,
        "assignment": assignment,
        "queue_qs": urlencode(params),
        "queue_pos": queue_pos,
        "next_id": next_id,
        "full_width": True,
        # One viewing = one audit entry, however many Range requests (app/footage/viewing.py).
        "video_src": video_url(footage.id, principal.user.id, "calibration" if blind else "review"),  # type: ignore[arg-type]
        "analysed": footage.status == FootageStatus.analysed,
    }


def _camera_serial(session: Session, footage: Footage) -> str | None:
    from app.establishment.models import Camera

    cam = session.get(Camera, footage.camera_id) if footage.camera_id else None
    return cam.serial if cam else None


def _audit_view(session: Session, principal: Principal, footage: Footage, *, blind: bool) -> None:
    record(
        session,
        principal.actor,
        "footage_review_view",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        reason="review",
        detail={"purpose": "calibration" if blind else "review"},
    )


def _form_values(form: Any) -> tuple[service.RatingInput, dict[str, Any]]:
    rag_raw = str(form.get("rag", "") or "")
    rag = Rag(rag_raw) if rag_raw in {r.value for r in Rag} else None
    ticked = [str(v) for v in form.getlist("criteria")]
    data = service.RatingInput(
        rag=rag,
        criteria={k: k in ticked for k in service.CRITERIA_KEYS},
        # Cut only far past the limits: the service refuses text too long, and the form shows it back whole.
        guidance=form_text(form.get("guidance")),
        override_reason=form_text(form.get("override_reason")) or None,
        rerating_reason=form_text(form.get("rerating_reason")) or None,
    )
    values = {
        "rag": rag_raw,
        "criteria": ticked,
        "guidance": data.guidance,
        "override_reason": data.override_reason or "",
        "rerating_reason": data.rerating_reason or "",
    }
    return data, values


FootageId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/review/{footage_id:int}")
def review_screen(request: Request, footage_id: FootageId, principal: Coordinator, session: SessionDep) -> Response:
    footage = get_visible(session, principal, Footage, footage_id)
    pending = service.pending_assignment(session, footage_id, principal.user.id)
    if pending is not None:
        return RedirectResponse(f"/calibration/{pending.id}", status_code=303)
    params = review_params(request.query_params)
    ctx = screen_context(session, principal, footage, params=params)
    ctx["saved"] = saved = _own_rating(session, principal, request.query_params.get("saved"))
    # Which clip was saved, with a way back to it: a slip is put right there (as a re-rating, with a reason).
    ctx["saved_footage"] = saved_clip = session.get(Footage, saved.footage_id) if saved is not None else None
    # Named as the coordinator knows it, by whose it is and its incident (the camera's file name told them
    # nothing, and its time is the camera's, not UK time).
    ctx["saved_wearer"] = (
        session.get(StaffMember, saved_clip.wearer_id) if saved_clip is not None and saved_clip.wearer_id else None
    )
    ctx["saved_incident"] = (
        service.primary_incident(session, saved_clip.id) if saved_clip is not None and saved_clip.id else None
    )
    ctx["qs"] = urlencode(params)
    ctx["values"] = _default_values(ctx)
    ctx["errors"] = {}
    ctx["action"] = f"/review/{footage_id}"
    _audit_view(session, principal, footage, blind=False)
    return render(request, "review/screen.html", ctx, page_title=f"Review {footage.original_filename}")


def _own_rating(session: Session, principal: Principal, saved: str | None) -> Rating | None:
    """The rating the viewer just saved, for "Saved: Amber for the previous clip". Only their own: the id
    comes from the address, and anyone else's rating (another establishment's, or the first rating of a
    clip this viewer owes a blind second rating) is not theirs to see here."""
    if not (saved and saved.isascii() and saved.isdigit() and len(saved) < 10):
        return None
    rating = session.get(Rating, int(saved))
    return rating if rating is not None and rating.rated_by_user_id == principal.user.id else None


def _default_values(ctx: dict[str, Any]) -> dict[str, Any]:
    facts: ClipFacts = ctx["facts"]
    suggestion: Suggestion = ctx["suggestion"]
    suggested = suggestion.rag.value if suggestion.rag else ""
    current: Rating | None = ctx.get("current")
    if current is not None:  # a re-rating starts from the rating it replaces (a reason for the change is asked)
        rag = current.rag.value if isinstance(current.rag, Rag) else str(current.rag)
        return {"rag": rag, "criteria": [k for k, v in (current.criteria or {}).items() if v],
                "guidance": current.guidance or "", "override_reason": current.override_reason or "",
                "rerating_reason": "", "suggested": suggested}  # fmt: skip
    ticked = []
    if facts.status == "before_force":
        ticked.append("switched_on_before_force")
    if facts.status is not None and facts.coverage >= 0.999 and not facts.stopped_early:
        ticked.append("whole_incident_captured")
    if ctx["analysed"] and not facts.segments_in_force:
        ticked.append("unobstructed")
    return {"rag": "", "criteria": ticked, "guidance": "", "override_reason": "", "rerating_reason": "",
            "suggested": suggested}  # fmt: skip


@router.post("/review/{footage_id:int}")
def review_save(
    request: Request, footage_id: FootageId, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    footage = get_visible(session, principal, Footage, footage_id)
    form = posted
    params = review_params(dict(parse_qsl(str(form.get("queue", "") or ""))))
    data, values = _form_values(form)
    filters, _ = parse_filters(params)
    # The clips to review as they are before this save, this clip among them: the next is the one after it.
    # Worked out after the save, this clip is gone from them, and "next" was the oldest clip, one the
    # coordinator had skipped (and would be sent back to after every save).
    order = service.review_order(session, footage.establishment_id, filters)
    try:
        rating = service.create_rating(session, footage, data, user_id=principal.user.id)  # type: ignore[arg-type]
    except service.RatingRejected as exc:
        session.rollback()
        if exc.status_code == 409 and "footage" in exc.errors and exc.errors["footage"].startswith("This clip is"):
            pending = service.pending_assignment(session, footage_id, principal.user.id)
            if pending is not None:
                return RedirectResponse(f"/calibration/{pending.id}", status_code=303)
        ctx = screen_context(session, principal, footage, params=params)
        ctx["values"] = {**values, "suggested": ctx["suggestion"].rag.value if ctx["suggestion"].rag else ""}
        ctx["errors"] = exc.errors
        ctx["saved"] = None
        ctx["action"] = f"/review/{footage_id}"
        return render(
            request,
            "review/screen.html",
            ctx,
            status_code=exc.status_code,
            page_title=f"Review {footage.original_filename}",
        )
    audit_rating(session, principal, rating, via="form")
    nxt = service.next_in(order, footage_id)
    qs = urlencode({**params, "saved": rating.id})
    if nxt is not None:
        return RedirectResponse(f"/review/{nxt}?{qs}", status_code=303)
    return RedirectResponse(f"/review?{qs}&near={footage_id}", status_code=303)
