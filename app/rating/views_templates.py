"""Guidance templates: the common guidance a coordinator inserts into a rating and then edits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, func, select
from starlette.datastructures import FormData

from app.audit.service import record
from app.core.deps import Coordinator, PostedForm, SessionDep, get_visible
from app.core.security import form_text
from app.core.templates import render
from app.rating import service
from app.rating.models import GuidanceTemplate, Rag

router = APIRouter(include_in_schema=False)
TemplateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _est(principal: Coordinator) -> int:
    if principal.establishment_id is None:
        raise HTTPException(status_code=404, detail="Guidance templates belong to an establishment.")
    return principal.establishment_id


def _page(
    request: Request,
    session: SessionDep,
    est: int,
    errors: dict[str, str],
    values: dict[str, str],
    editing: GuidanceTemplate | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "rating/templates.html",
        {
            "templates": service.guidance_templates(session, est),
            "findings": service.TEMPLATE_FINDINGS,
            "about_options": [{"value": "", "text": "Nothing in particular"}]
            + [{"value": k, "text": v} for k, v in service.TEMPLATE_FINDINGS.items()],
            "errors": errors,
            "values": values,
            "editing": editing,
            "saved": request.query_params.get("saved"),
        },
        page_title="Guidance templates",
        status_code=status_code,
    )


@router.get("/review/templates")
def templates_page(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    return _page(request, session, _est(principal), {}, {})


@router.get("/review/templates/{template_id}")
def template_edit(request: Request, template_id: TemplateId, principal: Coordinator, session: SessionDep) -> Response:
    t = get_visible(session, principal, GuidanceTemplate, template_id)
    values = {"title": t.title, "text": t.text, "rag": t.rag.value if t.rag else "", "addresses": t.addresses or ""}
    return _page(request, session, _est(principal), {}, values, editing=t)


def _validate(form: dict[str, str]) -> tuple[dict[str, str], Rag | None]:
    errors: dict[str, str] = {}
    title, text, rag = form["title"].strip(), form["text"].strip(), form["rag"]
    if len(title) < 2:
        errors["title"] = "Enter a short title"
    elif len(title) > 120:
        errors["title"] = f"The title must be 120 characters or fewer (it has {len(title):,})"
    if len(text) < 10:
        errors["text"] = "Enter the guidance, at least 10 characters"
    elif len(text) > 2000:
        errors["text"] = f"The guidance must be 2,000 characters or fewer (it has {len(text):,}): shorten it"
    if rag and rag not in {r.value for r in Rag}:
        errors["rag"] = "Choose amber, red, green or any rating"
    if form["addresses"] and form["addresses"] not in service.TEMPLATE_FINDINGS:
        errors["addresses"] = "Choose what the checks found from the list, or nothing in particular"
    return errors, (Rag(rag) if rag in {r.value for r in Rag} else None)


def _title_taken(
    session: Session, est: int, title: str, errors: dict[str, str], *, other_than: int | None = None
) -> None:
    """Two templates of one title would be two buttons alike on the rating form (and submitting a form twice
    made them)."""
    if "title" in errors:
        return
    stmt = select(GuidanceTemplate.id).where(
        GuidanceTemplate.establishment_id == est, func.lower(GuidanceTemplate.title) == title.strip().lower()
    )
    if other_than is not None:
        stmt = stmt.where(GuidanceTemplate.id != other_than)
    if session.exec(stmt).first() is not None:
        errors["title"] = (
            f"There is already a template called {title.strip()}: choose another title, or change that one"
        )


def _form(form: FormData) -> dict[str, str]:
    # Cut only far past the limits, so that text too long is shown back with its length, never saved cut short.
    return {k: form_text(form.get(k)) for k in ("title", "text", "rag", "addresses", "action")}


@router.post("/review/templates")
def template_add(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    est = _est(principal)
    form = _form(posted)
    errors, rag = _validate(form)
    _title_taken(session, est, form["title"], errors)
    if errors:
        return _page(request, session, est, errors, form, status_code=422)
    t = GuidanceTemplate(
        establishment_id=est,
        title=form["title"].strip(),
        text=form["text"].strip(),
        rag=rag,
        addresses=form["addresses"] or None,
    )
    session.add(t)
    session.flush()
    record(
        session,
        principal.actor,
        "guidance_template_create",
        object_type="guidance_template",
        object_id=t.id,
        establishment_id=est,
        detail={"title": t.title},
    )
    return RedirectResponse("/review/templates?saved=1", status_code=303)


@router.post("/review/templates/{template_id}")
def template_change(
    request: Request, template_id: TemplateId, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    t = get_visible(session, principal, GuidanceTemplate, template_id)
    form = _form(posted)
    if form["action"] == "delete":
        record(
            session,
            principal.actor,
            "guidance_template_delete",
            object_type="guidance_template",
            object_id=t.id,
            establishment_id=t.establishment_id,
            detail={"title": t.title, "text": t.text},
        )
        session.delete(t)
        return RedirectResponse("/review/templates?saved=1", status_code=303)
    errors, rag = _validate(form)
    assert t.establishment_id is not None
    _title_taken(session, t.establishment_id, form["title"], errors, other_than=t.id)
    if errors:
        return _page(request, session, _est(principal), errors, form, editing=t, status_code=422)
    before = {"title": t.title, "text": t.text, "rag": t.rag.value if t.rag else None, "addresses": t.addresses}
    t.title, t.text, t.rag = form["title"].strip(), form["text"].strip(), rag
    t.addresses = form["addresses"] or None
    session.add(t)
    record(
        session,
        principal.actor,
        "guidance_template_change",
        object_type="guidance_template",
        object_id=t.id,
        establishment_id=t.establishment_id,
        detail={"before": before},
    )
    return RedirectResponse("/review/templates?saved=1", status_code=303)
