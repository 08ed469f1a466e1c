"""Handlers that touch the database are plain `def`s, which FastAPI runs in its thread pool.

An `async def` handler runs on the event loop: its database reads, and above all its audit entry (which waits
for the audit chain's lock), hold up every other request — including the one holding that lock, whose commit
needs the loop. Form handlers read the form through the `PostedForm` dependency instead of awaiting it. The
only `async def` handlers are those that stream a request body, and they hand every database call to the
thread pool (`run_in_threadpool`). (Eleven form handlers were `async def` before this test.)"""

from __future__ import annotations

import inspect

from app.main import create_app
from tests.security.conftest import all_routes

STREAMING = {("app.footage.api", "upload_footage"), ("app.footage.api_tus", "patch_upload")}


def test_only_streaming_handlers_are_async() -> None:
    on_loop = {
        (e.__module__, e.__name__)
        for _m, _p, e in all_routes(create_app())
        if inspect.iscoroutinefunction(e) and e.__module__.startswith("app.")
    }
    assert on_loop == STREAMING


def test_streaming_handlers_reach_the_database_through_the_thread_pool() -> None:
    from app.footage import api, api_tus

    for fn in (api.upload_footage, api_tus.patch_upload):
        src = inspect.getsource(fn)
        assert "run_in_threadpool" in src
    assert "await run_in_threadpool(_own," in inspect.getsource(api_tus.patch_upload)
