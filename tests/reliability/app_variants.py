"""App factories for the fault tests' uvicorn subprocesses (test use only).

`unprotected` is the app with its database-down handler removed: it shows that the PostgreSQL restart test
fails when that protection is off.
"""

from __future__ import annotations

import sqlalchemy.exc
from fastapi import FastAPI

from app.main import create_app


def unprotected() -> FastAPI:
    app = create_app()
    for exc in (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError):
        app.exception_handlers.pop(exc, None)
    return app
