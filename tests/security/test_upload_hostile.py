"""Hostile uploads (extends tests/footage/test_upload.py): files that are not videos by their content,
broken bodies, names that try to reach outside the storage, and a property test over arbitrary names.

Every refusal is a clear 4xx with a message, leaves no file in footage storage or its `.incoming` folder and
no footage row, and is audited. Whatever the name, a stored file's path is derived from its SHA-256 and is
inside the storage root.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.footage.conftest import meta, mp4_bytes

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("clip.mp4", mp4_bytes(10_000))  # a video inside a zip is still a zip
    return buf.getvalue()


def _multipart(filename_header: str, data: bytes, boundary: str = "hostile0boundary") -> tuple[bytes, str]:
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in meta().items()
    )
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; {filename_header}\r\n'.encode()
    body += b"Content-Type: video/mp4\r\n\r\n" + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _state(session: Any, storage_root: Path) -> tuple[int, list[str]]:
    rows = int(session.execute(sa.text("SELECT count(*) FROM footage")).scalar())
    files = sorted(str(p.relative_to(storage_root)) for p in storage_root.rglob("*") if p.is_file())
    return rows, files


def _refusals(session: Any) -> int:
    q = "SELECT count(*) FROM audit_event WHERE action = 'footage_upload_refused'"
    return int(session.execute(sa.text(q)).scalar())


CONTENT = [
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" * 200, 415),
    ("zip", _zip(), 415),
    ("html", b"<!doctype html><html><body><script>alert(1)</script>" + b"<p>x</p>" * 1000, 415),
    ("text renamed .mp4", b"This is not a video, only text with an .mp4 name.\n" * 200, 415),
    ("svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' * 100, 415),
    ("elf executable", b"\x7fELF\x02\x01\x01" + b"\x00" * 9000, 415),
    ("empty", b"", 422),
    ("mp4 magic cut short", b"\x00\x00\x00\x18ftyp", 415),
]


@pytest.mark.parametrize(("name", "data", "status"), CONTENT, ids=[c[0] for c in CONTENT])
def test_not_a_video_by_content_whatever_its_name(
    as_user: Any, world: Any, session: Any, storage_root: Path, name: str, data: bytes, status: int
) -> None:
    before = _state(session, storage_root)
    r = as_user("coordinator.a").post("/api/v1/footage", data=meta(), files={"file": ("clip.mp4", data, "video/mp4")})
    assert r.status_code == status, r.text
    assert r.json()["detail"] and len(r.json()["detail"]) > 20  # a sentence that says what to do
    assert _state(session, storage_root) == before
    assert _refusals(session) == 1


NAMES = [
    ("dot dot slash", 'filename="../../../../etc/cron.d/x.mp4"'),
    ("encoded dot dot", 'filename="%2e%2e%2f%2e%2e%2fx.mp4"'),
    ("upper-case encoding", 'filename="%2E%2E%5Cx.mp4"'),
    ("RFC 5987 encoded path", "filename*=UTF-8''..%2F..%2Fx.mp4"),
    ("NUL in the name", 'filename="clip\x00.mp4.exe"'),
    ("newline in the name", 'filename="clip\n.mp4"'),
    ("very long", 'filename="' + "a" * 300 + '.mp4"'),
    ("only dots", 'filename=".."'),
    ("backslashes", 'filename="..\\\\..\\\\x.mp4"'),
    ("right-to-left override", 'filename="clip\u202egpj.mp4"'),  # shown as clipmp4.jpg; accepted before the fix
    ("empty name", 'filename=""'),
]


@pytest.mark.parametrize(("name", "header"), NAMES, ids=[n[0] for n in NAMES])
def test_hostile_filenames_are_refused_and_leave_nothing(
    as_user: Any, world: Any, session: Any, storage_root: Path, name: str, header: str
) -> None:
    before = _state(session, storage_root)
    body, ctype = _multipart(header, mp4_bytes(20_000, seed=hash(name) % 1000))
    r = as_user("coordinator.a").post("/api/v1/footage", content=body, headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["detail"]
    assert _state(session, storage_root) == before
    assert not list((storage_root.parent).glob("**/etc")) and not (storage_root.parent.parent / "x.mp4").exists()


def test_unicode_names_are_kept_for_display_but_never_choose_the_path(
    as_user: Any, world: Any, session: Any, storage_root: Path
) -> None:
    name = "Überwachung — 監視カメラ 0042 ✓.mp4"
    data = mp4_bytes(20_000, seed=77)
    body, ctype = _multipart(f'filename="{name}"', data)
    r = as_user("coordinator.a").post("/api/v1/footage", content=body.replace(b"\r\n\r\n", b"\r\n\r\n"), headers={
        "Content-Type": ctype})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["original_filename"] == name
    sha = hashlib.sha256(data).hexdigest()
    rows, files = _state(session, storage_root)
    assert files == [f"sha256/{sha[:2]}/{sha[2:4]}/{sha}"]


@pytest.mark.parametrize(
    "data", [mp4_bytes(10_000)[:40], b"\x00\x00\x00\x18ftypisom" + b"\x00" * 9000], ids=["header only", "zeros"]
)
def test_video_header_without_a_video_is_kept_and_its_analysis_fails_with_a_reason(
    as_user: Any, world: Any, session: Any, storage_root: Path, data: bytes
) -> None:
    """A file that starts like an MP4 but holds no decodable video (a camera export cut short) is evidence of
    what was handed over: upload only sniffs (the web process never decodes), so it is stored, and analysis
    records a failed state with a reason a person can act on - never a crash or a silent 'analysed'."""
    from workers.analysis_tasks import run_analysis

    r = as_user("coordinator.a").post("/api/v1/footage", data=meta(), files={"file": ("cut.mp4", data, "video/mp4")})
    assert r.status_code == 201, r.text
    assert run_analysis(r.json()["id"]) == "failed"
    status, detail = session.execute(
        sa.text("SELECT status, status_detail FROM footage WHERE id = :i"), {"i": r.json()["id"]}
    ).one()
    assert status == "failed" and detail


def test_truncated_body_leaves_nothing(as_user: Any, world: Any, session: Any, storage_root: Path) -> None:
    """The request body ends in the middle of the file part (no closing boundary): refused, nothing kept.

    Before the fix in `app.footage.upload.receive_multipart` this answered 201 and stored the first half of the
    file as if it were the whole clip (python-multipart's `finalize()` does not check the end of the body).
    """
    body, ctype = _multipart('filename="clip.mp4"', mp4_bytes(50_000, seed=5))
    cut = body[: len(body) // 2]
    before = _state(session, storage_root)
    r = as_user("coordinator.a").post("/api/v1/footage", content=cut, headers={"Content-Type": ctype})
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert _state(session, storage_root) == before


def test_hostile_names_through_resumable_upload(as_user: Any, world: Any, session: Any, storage_root: Path) -> None:
    import base64

    for bad in ("../../x.mp4", "clip\x00.mp4", "a" * 300, "%2e%2e%2fx.mp4"):
        md = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in {**meta(), "filename": bad}.items())
        r = as_user("coordinator.a").post(
            "/api/v1/uploads", headers={"Tus-Resumable": "1.0.0", "Upload-Length": "20000", "Upload-Metadata": md}
        )
        assert r.status_code == 422, (bad, r.status_code, r.text)
    assert int(session.execute(sa.text("SELECT count(*) FROM upload_session")).scalar()) == 0
    assert _state(session, storage_root)[1] == []


# ---------------------------------------------------------------- property: any name, any place
NAME_CHARS = st.one_of(
    st.sampled_from(list("./\\%2eEfF5cC\x00\r\n\"';:*?<>|~$` ")),
    st.characters(codec="utf-8"),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    name=st.text(NAME_CHARS, min_size=0, max_size=300),
    encoded=st.booleans(),
    video=st.booleans(),
    seed=st.integers(min_value=0, max_value=10**9),
)
def test_property_whatever_the_name_nothing_lands_outside_the_storage_root(
    as_user: Any, world: Any, session: Any, storage_root: Path, name: str, encoded: bool, video: bool, seed: int
) -> None:
    """Hypothesis: for any file name (raw or RFC 5987-encoded), and video or not: the answer is 201 or a 4xx; on 201 the
    one new file is at sha256/<2>/<2>/<sha256 of the bytes> inside the storage root, its path chosen by the
    hash alone; on a 4xx nothing new exists anywhere under the data folder and no row was written."""
    from urllib.parse import quote

    from app.core.storage import get_storage

    data = mp4_bytes(5_000, seed=seed) if video else b"MZ" + bytes(seed % 251 for _ in range(5_000))
    header = f"filename*=UTF-8''{quote(name, safe='')}" if encoded else f'filename="{name}"'
    body, ctype = _multipart(header, data)
    data_dir = storage_root.parent
    before_all = sorted(p for p in data_dir.rglob("*") if p.is_file()) if data_dir.exists() else []
    rows_before, files_before = _state(session, storage_root) if storage_root.exists() else (0, [])
    r = as_user("coordinator.a").post("/api/v1/footage", content=body, headers={"Content-Type": ctype})
    assert r.status_code in (201, 409) or 400 <= r.status_code < 500, (r.status_code, r.text)
    after_all = sorted(p for p in data_dir.rglob("*") if p.is_file())
    new = [p for p in after_all if p not in before_all]
    root = storage_root.resolve()
    for p in after_all:
        assert p.resolve().is_relative_to(data_dir.resolve())
    if r.status_code == 201:
        sha = hashlib.sha256(data).hexdigest()
        key = r.json()["sha256"]
        assert key == sha
        stored = get_storage().local_path(f"sha256/{sha[:2]}/{sha[2:4]}/{sha}")
        assert stored is not None and stored.resolve().parent.parent.parent.parent == root
        assert [p.resolve() for p in new] == [stored.resolve()]
        assert _state(session, storage_root)[0] == rows_before + 1
    else:
        assert new == [], new
        assert _state(session, storage_root) == (rows_before, files_before)
