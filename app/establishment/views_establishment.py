"""One establishment, for administrators: correct its name (a renamed establishment) or its kind.

The code stays as it was: reports, CSV files, links and the API name the establishment by it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, func, select

from app.auth.models import User
from app.core.deps import Admin, PostedForm, SessionDep, get_visible
from app.core.security import form_text
from app.core.templates import render
from app.establishment import service
from app.establishment.models import Establishment, EstablishmentKind
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
NAME_MAX = 120


def _page(
    request: Request,
    session: Session,
    est: Establishment,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    def count(model: Any) -> int:
        return int(session.exec(select(func.count()).select_from(model).where(model.establishment_id == est.id)).one())

    ctx = {
        "est": est,
        "kinds": list(EstablishmentKind),
        "values": values or {"name": est.name, "kind": est.kind.value},
        "errors": errors or {},
        "done": not errors and request.query_params.get("done") == "1",
        "users": count(User),
        "officers": count(StaffMember),
    }
    return render(request, "admin/establishment.html", ctx, page_title=est.name, status_code=status_code)


@router.get("/admin/establishments/{establishment_id}")
def establishment_page(request: Request, establishment_id: int, principal: Admin, session: SessionDep) -> Response:
    return _page(request, session, get_visible(session, principal, Establishment, establishment_id))


@router.post("/admin/establishments/{establishment_id}")
def establishment_change(
    request: Request, establishment_id: int, principal: Admin, session: SessionDep, form: PostedForm
) -> Response:
    est = get_visible(session, principal, Establishment, establishment_id)
    name = form_text(form.get("name"), 1_000).strip()
    kind = str(form.get("kind") or "")
    errors: dict[str, str] = {}
    if len(name) < 2:
        errors["name"] = "Enter the establishment's name"
    elif len(name) > NAME_MAX:
        errors["name"] = f"The name must be {NAME_MAX} characters or fewer (it has {len(name):,})"
    elif (same := service.name_taken(session, name, other_than=est.id)) is not None:
        errors["name"] = f"{same.code} is already called {same.name}: choose a name that tells them apart"
    if kind not in {k.value for k in EstablishmentKind}:
        errors["kind"] = "Choose the kind of establishment"
    if errors:
        return _page(request, session, est, values={"name": name, "kind": kind}, errors=errors, status_code=422)
    service.update_establishment(session, est, principal.actor, name=name, kind=EstablishmentKind(kind))
    return RedirectResponse(f"/admin/establishments/{est.id}?done=1", status_code=303)
