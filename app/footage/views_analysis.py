"""The analysis panel of a clip as an htmx partial (polled while analysing), and the retry button's route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response

from app.audit.service import record
from app.core.deps import Coordinator, CurrentPrincipal, SessionDep, get_visible
from app.core.templates import render
from app.footage import analysis
from app.footage.models import Footage

router = APIRouter(include_in_schema=False)

FootageId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/footage/{footage_id}/analysis")
def analysis_partial(
    footage_id: FootageId, request: Request, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    """The panel alone. htmx polls it from the footage page (that page's view is audited); opened
    directly, it renders as a page of its own and the view is audited."""
    footage = get_visible(session, principal, Footage, footage_id)
    ctx = analysis.analysis_context(session, footage, principal)
    if _is_htmx(request):
        return render(request, "footage/_analysis.html", ctx)
    record(
        session,
        principal.actor,
        "footage_view",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        detail={"via": "browser", "part": "analysis"},
    )
    return render(request, "footage/analysis_page.html", ctx, page_title=f"Analysis of {footage.original_filename}")


@router.post("/footage/{footage_id}/analysis/retry")
def analysis_retry(footage_id: FootageId, request: Request, principal: Coordinator, session: SessionDep) -> Response:
    footage = get_visible(session, principal, Footage, footage_id)
    if not analysis.can_retry(footage):
        raise HTTPException(
            status_code=409, detail=f"Analysis can only be retried when it failed or is stuck; it is {footage.status}."
        )
    analysis.requeue(session, footage, principal.actor, why="retry requested")
    if _is_htmx(request):
        return render(request, "footage/_analysis.html", analysis.analysis_context(session, footage, principal))
    return RedirectResponse(f"/footage/{footage_id}", status_code=303)
