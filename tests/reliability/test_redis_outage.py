"""Uploads do not depend on Redis: the job is written with the footage (transactional outbox) and a relay
publishes it when the broker is reachable.

Our own redis-server on a free port is stopped or paused (never the shared one); the app runs in this process
with its relay thread, a real worker consumes the queue. Marked `disruptive` so `make test` runs these after
the main suite.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.reliability.conftest import clip, duplicate_results, statuses, wait_for
from tests.support import api_token, make_client

pytestmark = [
    pytest.mark.services,
    pytest.mark.slow,
    pytest.mark.disruptive,
    pytest.mark.parametrize("engine", ["postgresql"], indirect=True),
]


@pytest.fixture
def web(broker: dict[str, str], engine: Any, world: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The app with its outbox relay thread running, as under uvicorn; a coordinator's bearer client."""
    from app.core.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("BWV_RELAY_THREAD", "true")
    get_settings.cache_clear()
    app = create_app()
    with make_client(app) as client:  # runs the lifespan: the relay thread starts and stops with it
        client.headers.update(api_token(client, "coordinator.a"))
        yield client


def _upload(client: Any, i: int) -> tuple[int, float]:
    data = clip(i).read_bytes()
    fields = {
        "camera_serial": "CAM-A1",
        "staff_number": "A001",
        "recording_started_at": "2026-11-03T14:02:00+00:00",
        "prerecord_seconds": "1",
        "claimed_duration_s": "12",
    }
    t = time.monotonic()
    r = client.post("/api/v1/footage", data=fields, files={"file": (f"clip-{i}.mp4", data, "video/mp4")})
    elapsed = time.monotonic() - t
    assert r.status_code == 201, r.text
    return int(r.json()["id"]), elapsed


def _outbox(session: Any) -> dict[str, int]:
    import sqlalchemy as sa

    rows = session.execute(sa.text("SELECT status, count(*) FROM outbox_job GROUP BY status")).all()
    return {str(s): int(n) for s, n in rows}


@pytest.mark.allow_error_logs  # the worker's and relay's own complaints while Redis is gone
def test_redis_stopped_during_50_uploads_all_analysed_after_it_returns(
    web: Any, redis_server: Any, session: Any, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis stopped (killed) during 50 uploads -> 50/50 answered 201 within a second, 50/50 analysed once
    Redis is back (the worker ran throughout and reconnected), 0 duplicate results, every outbox job sent.

    With the protection off (the upload publishing straight to the broker instead of through the outbox:
    run once with BWV_TEST_PUBLISH_IN_REQUEST=1, which makes `enqueue` call the relay's send in the request)
    the first upload failed after about 2 s with "kombu.exceptions.OperationalError: Error 111 connecting to
    127.0.0.1:<port>. Connection refused." (a 500 under uvicorn) and the test failed.
    """
    import os

    from app.core import jobs

    worker = start_worker()
    if os.environ.get("BWV_TEST_PUBLISH_IN_REQUEST") == "1":
        _publish_in_request(monkeypatch)
    redis_server.stop()
    times = []
    ids = []
    for i in range(50):
        fid, elapsed = _upload(web, 300 + i)
        ids.append(fid)
        times.append(elapsed)
    assert max(times) < 1.0, f"slowest upload {max(times):.2f}s"
    assert _outbox(session) == {"pending": 50}
    assert all(s == "queued" for s, _, _ in statuses(session).values())
    redis_server.start()  # same port, empty: the jobs only exist in the outbox
    jobs.kick()

    def done() -> bool:
        return all(s == "analysed" for s, _, _ in statuses(session).values())

    try:
        wait_for(done, 120, "50 clips analysed", worker.output)
    except pytest.fail.Exception:
        left = {fid: s for fid, (s, _, _) in statuses(session).items() if s != "analysed"}
        pytest.fail(f"{len(left)} clips not analysed: {left}; outbox {_outbox(session)}\n{worker.output()}")
    assert len(ids) == 50 and len(statuses(session)) == 50
    assert _outbox(session) == {"sent": 50}
    assert duplicate_results(session) == {"keyframes": 0, "segments": 0, "findings": 0}
    assert all(attempts == 1 for _, attempts, _ in statuses(session).values())


@pytest.mark.allow_error_logs
def test_redis_paused_uploads_still_answer_within_a_second(
    web: Any, redis_server: Any, session: Any, start_worker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis PAUSED (CLIENT PAUSE ALL: connections accepted, commands hang — the nastier failure) -> uploads
    still answer 201 within a second; the relay's publish times out (broker socket timeout) instead of hanging,
    and the jobs go out when Redis answers again.

    With the protection off (BWV_TEST_PUBLISH_IN_REQUEST=1, as above) the first upload hung for the broker's
    socket timeout (5 s) and failed with "kombu.exceptions.OperationalError: Timeout reading from socket".
    """
    import os

    from app.core import jobs

    worker = start_worker()
    if os.environ.get("BWV_TEST_PUBLISH_IN_REQUEST") == "1":
        _publish_in_request(monkeypatch)
    redis_server.pause(12_000)
    paused_at = time.monotonic()
    times = []
    for i in range(5):
        _fid, elapsed = _upload(web, 360 + i)
        times.append(elapsed)
        time.sleep(0.5)
    assert max(times) < 1.0, f"slowest upload {max(times):.2f}s"
    assert time.monotonic() - paused_at < 12, "the uploads were made while Redis was paused"
    redis_server.unpause()
    jobs.kick()
    wait_for(
        lambda: all(s == "analysed" for s, _, _ in statuses(session).values()), 90, "5 clips analysed", worker.output
    )
    assert _outbox(session) == {"sent": 5}


def _publish_in_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Protection off (demonstration only): publish to the broker inside the request, as a naive app would."""
    import app.core.jobs as jobs
    import app.footage.service as service

    original = jobs.enqueue

    def enqueue(session: Any, task_name: str, *args: Any) -> Any:
        job = original(session, task_name, *args)
        jobs._send(job)
        return job

    monkeypatch.setattr(jobs, "enqueue", enqueue)
    monkeypatch.setattr(service, "enqueue", enqueue)
