"""Fixtures for the security suite: one of every kind of record in establishment A, owned by officer A001.

`estate` uploads a clip through the API (wearer A001, linked to incident UOF-SEC-A1), adds a keyframe with its
image, a rating, a calibration assignment (coordinator.a -> coordinator2.a) and a resumable upload. The
`secrets` are strings that must never appear in an answer to a user who may not see these records.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.footage.conftest import meta, mp4_bytes  # noqa: F401 - shared helpers

T0 = datetime(2026, 11, 3, 14, 0, tzinfo=UTC)


@pytest.fixture
def storage_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test its own data folder (footage, thumbnails), as several suites run at once on this machine."""
    from app.core.config import get_settings
    from app.core.storage import get_storage

    monkeypatch.setenv("BWV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    get_storage.cache_clear()
    yield tmp_path / "data" / "footage"
    get_settings.cache_clear()
    get_storage.cache_clear()


def incident_body(ref: str, staff: list[str], start: datetime = T0) -> dict[str, Any]:
    return {
        "reference": ref,
        "location": "A wing",
        "planned": False,
        "force_types": ["guiding_hold"],
        "incident_started_at": start.isoformat(),
        "force_started_at": (start + timedelta(minutes=1)).isoformat(),
        "force_ended_at": (start + timedelta(minutes=3)).isoformat(),
        "incident_ended_at": (start + timedelta(minutes=10)).isoformat(),
        "staff": [{"staff_number": s, "part": "Head"} for s in staff],
        "subjects": [{"reference": "A1234BC", "ethnicity": "White British", "age_band": "21-24"}],
    }


@dataclass
class Estate:
    ids: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


def _rate(client: Any, footage_id: int) -> int:
    body = {
        "rag": "green",
        "criteria": {
            "switched_on_before_force": True,
            "whole_incident_captured": True,
            "unobstructed": True,
            "sound_clear": True,
            "recording_announced": True,
            "deescalation_visible": True,
        },
        "guidance": "Good practice throughout.",
    }
    r = client.post(f"/api/v1/footage/{footage_id}/ratings", json=body)
    if r.status_code == 422 and "override" in r.text:
        body["override_reason"] = "Seen in full: all six met."
        r = client.post(f"/api/v1/footage/{footage_id}/ratings", json=body)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


@pytest.fixture
def estate(as_user: Any, world: Any, storage_root: Path, session: Any) -> Estate:
    from app.core.config import get_settings
    from app.footage.models import Keyframe

    coord = as_user("coordinator.a")
    r = coord.post("/api/v1/incidents", json=incident_body("UOF-SEC-A1", ["A001"]))
    assert r.status_code == 201, r.text
    incident_id = r.json()["id"]
    filename = "secret-clip-a001.mp4"
    data = mp4_bytes(64 * 1024, seed=4242)
    fields = meta(
        recording_started_at=(T0 - timedelta(seconds=30)).isoformat(),
        activated_at=T0.isoformat(),
        incident_reference="UOF-SEC-A1",
    )
    r = coord.post("/api/v1/footage", data=fields, files={"file": (filename, data, "video/mp4")})
    assert r.status_code == 201, r.text
    footage = r.json()
    footage_id = footage["id"]
    # A keyframe with its image, as analysis leaves them.
    derived = get_settings().derived_dir.resolve() / str(footage_id)
    derived.mkdir(parents=True, exist_ok=True)
    (derived / "kf-0001.jpg").write_bytes(b"\xff\xd8\xff\xe0secret-keyframe\xff\xd9")
    (derived / "filmstrip.jpg").write_bytes(b"\xff\xd8\xff\xe0secret-filmstrip\xff\xd9")
    kf = Keyframe(footage_id=footage_id, t=1.0, reason="interval", image_key=f"{footage_id}/kf-0001.jpg")
    session.add(kf)
    session.commit()
    session.execute(
        sa.text("UPDATE footage SET filmstrip_key = :k WHERE id = :i"),
        {"k": f"{footage_id}/filmstrip.jpg", "i": footage_id},
    )
    rating_id = _rate(coord, footage_id)
    template_id = session.execute(
        sa.text(
            "INSERT INTO guidance_template (establishment_id, title, text) VALUES (:e, 'secret-template', "
            "'Keep the camera pointed at the incident.') RETURNING id"
        ),
        {"e": world.est_a},
    ).scalar()
    r = coord.post(
        "/api/v1/calibration", json={"assigned_to_user_id": world.users["coordinator2_a"], "footage_ids": [footage_id]}
    )
    assert r.status_code == 201, r.text
    assignment_id = r.json()[0]["id"]
    r = coord.post(
        "/api/v1/uploads",
        headers={
            "Tus-Resumable": "1.0.0",
            "Upload-Length": str(len(data) + 10),
            "Upload-Metadata": _tus_meta({**meta(), "filename": "secret-partial.mp4"}),
        },
    )
    assert r.status_code == 201, r.text
    upload_id = r.headers["location"].rsplit("/", 1)[1]
    return Estate(
        ids={
            "incident_id": incident_id,
            "footage_id": footage_id,
            "keyframe_id": kf.id,
            "assignment_id": assignment_id,
            "upload_id": upload_id,
            "rating_id": rating_id,
            "staff_number": "A001",
            "decision": "accept",
            "template_id": template_id,
            "user_id": world.users["staff_a1"],  # the wearer's sign-in (administrators only change users)
            "establishment_id": world.est_a,
        },
        secrets=[
            filename,
            footage["sha256"],
            "UOF-SEC-A1",
            "secret-keyframe",
            "secret-filmstrip",
            "secret-partial",
            "secret-template",
        ],
    )


def _tus_meta(fields: dict[str, str]) -> str:
    import base64

    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def all_routes(app: Any) -> list[tuple[str, str, Any]]:
    """Every (method, path, endpoint) the app serves, walking included routers (whatever FastAPI wraps them in)."""
    out: list[tuple[str, str, Any]] = []

    def walk(routes: Any, prefix: str = "") -> None:
        for r in routes:
            if hasattr(r, "effective_route_contexts"):  # FastAPI's included-router wrapper
                for c in r.effective_route_contexts():
                    for m in sorted(getattr(c.original_route, "methods", None) or []):
                        out.append((m, re.sub(r"\{(\w+):\w+\}", r"{\1}", c.path), c.endpoint))
            elif hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix)
            elif getattr(r, "methods", None) and hasattr(r, "endpoint"):
                for m in sorted(r.methods):
                    out.append((m, prefix + r.path, r.endpoint))

    walk(app.router.routes)
    seen: set[tuple[str, str]] = set()
    unique = []
    for m, p, e in out:
        if m == "HEAD" and ("GET", p) in {(a, b) for a, b, _ in out} and e.__name__ != "head_upload":
            continue
        if (m, p) not in seen:
            seen.add((m, p))
            unique.append((m, p, e))
    return unique


os.environ.setdefault("HYPOTHESIS_PROFILE", "default")
