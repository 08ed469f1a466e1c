"""GET /api/v1/footage/{id}/analysis, retry, keyframe images, and the htmx analysis panel (polling, retry button)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.footage.models import Footage, FootageStatus, OutboxJob
from tests.footage.test_analysis_service import incident_for, register
from tests.support import browser_sign_in, make_client
from workers.analysis_tasks import run_analysis
from workers.video.synth import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("analysis-api") / "CAM-A1_20261103_140200.mp4"
    make_clip(path, seconds=5, size=(320, 180), scenes=[2.5], frozen=[(0.2, 2.4)], seed=5)
    return path


def _set_status(fid: int, status: FootageStatus, detail: str | None = None) -> None:
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        f.status, f.status_detail = status, detail
        s.add(f)


def test_footage_detail_api(engine, world, session, clip, tmp_path, as_user) -> None:
    fid = register(world, clip, tmp_path)
    inc = incident_for(world, fid, force_at=1.0, force_s=3.0)
    c = as_user("coordinator.a")
    queued = c.get(f"/api/v1/footage/{fid}/analysis").json()
    assert queued["status"] == "queued" and queued["measured"]["duration_s"] is None and queued["keyframes"] == []
    assert queued["activation"][0]["wearer"]["clips"][0]["basis"] == "claimed"

    assert run_analysis(fid) == "analysed"
    r = c.get(f"/api/v1/footage/{fid}/analysis")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "analysed" and body["can_retry"] is False
    assert body["measured"]["frame_count"] == 125 and body["measured"]["codec"] == "h264"
    assert [s["kind"] for s in body["segments"]] == ["frozen"]
    assert {k["reason"] for k in body["keyframes"]} >= {"interval", "force_started", "force_ended"}
    link = body["activation"][0]
    assert link["incident_id"] == inc and link["wearer"]["status"] == "before_force"
    assert link["wearer"]["compliant"] is True and link["wearer"]["clips"][0]["basis"] == "measured"

    record = c.get(f"/api/v1/footage/{fid}").json()  # the footage record embeds the same analysis
    assert record["analysis"]["measured"] == body["measured"] and record["analysis"]["activation"][0]["wearer"]
    assert len(record["analysis"]["keyframes"]) == len(body["keyframes"])

    img = c.get(body["keyframes"][0]["image_url"])
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg" and img.content[:2] == b"\xff\xd8"
    strip = c.get(body["filmstrip_url"])
    assert strip.status_code == 200 and strip.content[:2] == b"\xff\xd8"
    assert c.get(f"/api/v1/footage/{fid}/keyframes/999999.jpg").status_code == 404

    # Staff see their own footage only; other establishments never.
    assert as_user("officer.a1").get(f"/api/v1/footage/{fid}/analysis").status_code == 200
    assert as_user("officer.a1").get(body["keyframes"][0]["image_url"]).status_code == 200
    assert as_user("officer.a2").get(f"/api/v1/footage/{fid}/analysis").status_code == 404
    assert as_user("officer.a2").get(body["keyframes"][0]["image_url"]).status_code == 404
    assert as_user("coordinator.b").get(f"/api/v1/footage/{fid}/analysis").status_code == 404
    assert as_user("coordinator.b").get(body["filmstrip_url"]).status_code == 404
    assert c.get("/api/v1/footage/2147483647/analysis").status_code == 404
    views = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_view")).all()
    assert {e.actor_username for e in views} >= {"coordinator.a", "officer.a1"}


def test_retry_only_when_failed(engine, world, session, clip, tmp_path, as_user) -> None:
    fid = register(world, clip, tmp_path)
    c = as_user("coordinator.a")
    assert c.post(f"/api/v1/footage/{fid}/analysis/retry").status_code == 409  # queued, not stuck
    _set_status(fid, FootageStatus.failed, "the file is not a readable video")
    assert as_user("governor.a").post(f"/api/v1/footage/{fid}/analysis/retry").status_code == 403
    assert as_user("officer.a1").post(f"/api/v1/footage/{fid}/analysis/retry").status_code == 403
    assert as_user("coordinator.b").post(f"/api/v1/footage/{fid}/analysis/retry").status_code == 404
    jobs = len(session.exec(select(OutboxJob)).all())
    r = c.post(f"/api/v1/footage/{fid}/analysis/retry")
    assert r.status_code == 202, r.text
    assert r.json() == {"id": fid, "status": "queued"}
    f = session.get(Footage, fid)
    session.refresh(f)
    assert f.status == FootageStatus.queued and f.status_detail is None
    assert len(session.exec(select(OutboxJob)).all()) == jobs + 1
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_analysis_retry")).one()
    assert event.actor_username == "coordinator.a" and event.detail["previous_failure"].startswith("the file")


def test_panel_polls_while_active_and_stops_when_done(engine, world, clip, tmp_path, app) -> None:
    fid = register(world, clip, tmp_path)
    incident_for(world, fid)
    client = make_client(app)
    browser_sign_in(client, "coordinator.a")
    htmx = {"HX-Request": "true"}
    queued = client.get(f"/footage/{fid}/analysis", headers=htmx)
    assert queued.status_code == 200
    assert 'hx-trigger="every 2s"' in queued.text and "Queued" in queued.text
    assert "<html" not in queued.text  # a fragment for htmx
    assert "Camera activation in linked incidents" in queued.text and "Provisional" in queued.text  # claimed length
    _set_status(fid, FootageStatus.analysing)
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        f.progress = 0.37
        s.add(f)
    assert "Analysing 37%" in client.get(f"/footage/{fid}/analysis", headers=htmx).text
    run_analysis(fid)
    done = client.get(f"/footage/{fid}/analysis", headers=htmx).text
    assert "hx-trigger" not in done and "Analysed" in done
    assert "Picture frozen" in done and "bwv-filmstrip__thumb" in done and "Force began" in done
    assert "Length (measured)" in done and "320 × 180" in done
    # The wearer's activation check for the linked incident, from the measured 5 s (force window 2-12 s).
    assert "Camera activation in linked incidents" in done and "UOF-" in done
    assert "On before force, not all covered" in done and "Recording stopped before force ended" in done
    assert "Provisional" not in done
    page = client.get(f"/footage/{fid}/analysis")  # opened directly: a full page
    assert page.status_code == 200 and "<html" in page.text and "Analysis" in page.text


def test_failed_panel_offers_retry_to_coordinators(engine, world, session, clip, tmp_path, app) -> None:
    fid = register(world, clip, tmp_path)
    _set_status(fid, FootageStatus.failed, "the file has no video stream")
    coord = make_client(app)
    token = browser_sign_in(coord, "coordinator.a")
    panel = coord.get(f"/footage/{fid}/analysis", headers={"HX-Request": "true"}).text
    assert "the file has no video stream" in panel and "Retry analysis" in panel
    assert re.search(rf'action="/footage/{fid}/analysis/retry"', panel)
    gov = make_client(app)
    browser_sign_in(gov, "governor.a")
    assert "Retry analysis" not in gov.get(f"/footage/{fid}/analysis", headers={"HX-Request": "true"}).text

    assert coord.post(f"/footage/{fid}/analysis/retry", data={}).status_code == 403  # no CSRF token
    r = coord.post(f"/footage/{fid}/analysis/retry", data={"csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == f"/footage/{fid}"
    f = session.get(Footage, fid)
    session.refresh(f)
    assert f.status == FootageStatus.queued
    again = coord.post(f"/footage/{fid}/analysis/retry", data={"csrf_token": token})
    assert again.status_code == 409


def test_rerun_keeps_one_set_of_thumbnails(engine, world, clip, tmp_path) -> None:
    from app.footage.analysis import thumbs_dir

    fid = register(world, clip, tmp_path)
    run_analysis(fid)
    first = sorted(p.name for p in thumbs_dir(fid).iterdir())
    shutil.rmtree(thumbs_dir(fid))  # even with the folder gone, a rerun rebuilds it
    run_analysis(fid)
    assert sorted(p.name for p in thumbs_dir(fid).iterdir()) == first
