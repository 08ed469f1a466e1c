"""create_app(): wiring only — routers, static files, middleware, error handlers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.core.config import get_settings
from app.core.http import API_ERROR_RESPONSES, RequestLimit, SecurityHeaders, install_error_handlers
from app.core.logging import configure_logging

STATIC_DIR = Path(__file__).resolve().parent / "static"

APP_DIR = Path(__file__).resolve().parent


def router_modules() -> list[str]:
    """Every `app/<domain>/api*.py` and `views*.py` module contributes its `router` (found, not listed,
    so a domain adds routes without touching this file)."""
    names = []
    for path in sorted(APP_DIR.glob("*/*.py")):
        stem = path.stem
        if stem in ("api", "views") or stem.startswith(("api_", "views_")):
            names.append(f"app.{path.parent.name}.{stem}")
    return names


def _include_routers(app: FastAPI) -> None:
    import importlib

    for name in router_modules():
        router = importlib.import_module(name).router
        # JSON routes document the error answers any of them can give (sign-in, role, scope, input).
        extra = API_ERROR_RESPONSES if router.prefix.startswith("/api/") else None
        app.include_router(router, responses=extra)


def create_app() -> FastAPI:
    configure_logging()
    settings = get_settings()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        from app.core import jobs

        jobs.start_relay_thread()
        # Everything made while starting (modules, routes, models: ~150,000 objects) lives as long as the
        # process: leave it out of the garbage collector's full passes, which a request making many objects
        # (a large prison's review queue) set off several times, each going over all of it again.
        gc.freeze()
        yield
        jobs.stop_relay_thread()

    app = FastAPI(
        title="bwv-review",
        version="0.1.0",
        description="Review of body-worn video footage of use-of-force incidents.",
        lifespan=lifespan,
        docs_url="/api/docs" if settings.environment != "production" else None,
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    install_error_handlers(app)
    _include_routers(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    govuk_assets = STATIC_DIR / "vendor" / "govuk" / "assets"
    app.mount("/assets", StaticFiles(directory=govuk_assets, check_dir=False), name="govuk-assets")
    app.add_middleware(RequestLimit, limit=settings.max_concurrent_requests)
    app.add_middleware(SecurityHeaders)
    return app
