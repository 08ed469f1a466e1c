"""`bwv-review import DIR` (bulk import from a docking-system export) and `bwv-review verify` (integrity)."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from app.audit.service import Actor, record_now

IMPORT_ACTOR = Actor(username="cli-import", role="system")
MANIFEST_NAMES = ("manifest.csv", "manifest.json")
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v"}


@dataclass
class ImportSummary:
    imported: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)


def find_manifest(folder: Path, given: Path | None) -> Path:
    if given is not None:
        return given
    for name in MANIFEST_NAMES:
        if (folder / name).is_file():
            return folder / name
    candidates = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".csv", ".json") and p.is_file())
    if len(candidates) == 1:
        return candidates[0]
    raise click.UsageError(
        f"No manifest in {folder}: add manifest.csv or manifest.json (one row per file: filename, camera_serial, "
        "staff_number, recording_started_at, prerecord_seconds, activated_at, incident_reference), or pass --manifest."
    )


def read_manifest(path: Path) -> list[dict[str, str]]:
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            data = data.get("files") or data.get("clips") or data.get("items") or []
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise click.UsageError(f"{path.name}: expected a list of objects (or {{'files': [...]}}).")
        return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in data]
    with open(path, newline="", encoding="utf-8-sig") as fh:
        return [{(k or "").strip(): (v or "") for k, v in row.items()} for row in csv.DictReader(fh)]


def _row_filename(row: dict[str, str]) -> str:
    for key in ("filename", "file", "path", "name", "file_name"):
        if row.get(key, "").strip():
            return row[key].strip()
    return ""


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


def import_folder(
    folder: Path,
    *,
    establishment_id: int,
    manifest: Path | None = None,
    restore_purged: bool = False,
    echo: Any = click.echo,
) -> ImportSummary:
    """Import every file listed in the folder's manifest; safe to run again (known bytes are skipped). Files that
    were clips retention has since deleted are skipped too, unless `restore_purged` (or the manifest row's own
    restore_purged column): an export sent again must not bring them back unasked."""
    from fastapi import HTTPException

    from app.core.db import unit_of_work
    from app.footage import upload
    from app.footage.service import find_by_hash, find_purged

    folder = folder.resolve()
    rows = read_manifest(find_manifest(folder, manifest))
    summary = ImportSummary()
    listed: set[str] = set()
    total = len(rows)
    limit = upload.max_upload_bytes()
    for i, row in enumerate(rows, 1):
        name = _row_filename(row)
        label = name or f"row {i}"
        prefix = f"[{i}/{total}] {label}:"
        try:
            if not name:
                raise upload.problem(422, "the manifest row has no filename")
            path = (folder / name).resolve()
            if folder not in path.parents:
                raise upload.problem(422, "the filename points outside the import folder")
            listed.add(path.name)
            display = upload.check_filename(path.name)
            if not path.is_file():
                raise upload.problem(422, "file not found in the folder")
            size = path.stat().st_size
            if size == 0:
                raise upload.problem(422, "the file is empty (0 bytes)")
            if size > limit:
                raise upload.problem(413, upload.too_large(limit))
            restore = restore_purged or upload.yes_no(
                "restore_purged", upload.normalise_fields(row).get("restore_purged")
            )
            sha = _hash_file(path)
            with unit_of_work() as session:
                existing = find_by_hash(session, establishment_id, sha)
                existing_id = existing.id if existing else None
                gone = None if existing or restore else next(iter(find_purged(session, establishment_id, sha)), None)
                deleted = (gone.id, upload.deleted_on(gone)) if gone is not None else None
            if existing_id is not None:
                summary.skipped.append((label, f"already imported as footage {existing_id}"))
                echo(f"{prefix} skipped (already imported as footage {existing_id})")
                continue
            if deleted is not None:
                why = f"was footage {deleted[0]}, deleted under the retention policy on {deleted[1]}"
                why += "; --restore-purged stores it again"
                summary.skipped.append((label, why))
                echo(f"{prefix} skipped ({why})")
                record_now(
                    IMPORT_ACTOR,
                    "footage_upload_refused",
                    outcome="refused",
                    establishment_id=establishment_id,
                    object_type="footage",
                    object_id=deleted[0],
                    detail={"status": 409, "message": why, "filename": display, "via": "import", "purged": True},
                )
                continue
            meta = upload.parse_meta(row)
            meta.restore_purged = restore
            incoming = upload.IncomingFile(limit)
            try:
                with open(path, "rb") as src:
                    for chunk in iter(lambda: src.read(1024 * 1024), b""):  # noqa: B023 - src is this loop's file
                        incoming.write(chunk)
                copied_sha = incoming.finish()
                if copied_sha != sha:
                    raise upload.problem(409, "the file changed while it was being imported; run the import again")
                with unit_of_work() as session:
                    outcome = upload.finalize_upload(
                        session,
                        actor=IMPORT_ACTOR,
                        establishment_id=establishment_id,
                        meta=meta,
                        path=incoming.path,
                        sha256=sha,
                        size=incoming.size,
                        container=incoming.container,
                        filename=display,
                        via="import",
                    )
                    fid = outcome.footage.id
            finally:
                incoming.discard()
            if outcome.duplicate:
                summary.skipped.append((label, f"already imported as footage {fid}"))
                echo(f"{prefix} skipped (already imported as footage {fid})")
            else:
                summary.imported.append((label, fid))  # type: ignore[arg-type]
                echo(f"{prefix} imported as footage {fid} ({size} bytes)")
        except HTTPException as exc:
            summary.rejected.append((label, str(exc.detail)))
            echo(f"{prefix} REJECTED: {exc.detail}")
    for extra in sorted(p.name for p in folder.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES):
        if extra not in listed:
            summary.rejected.append((extra, "video file not listed in the manifest (no metadata)"))
            echo(f"{extra}: REJECTED: video file not listed in the manifest (no metadata)")
    return summary


def establishment_by_code(code: str | None) -> int:
    from sqlmodel import select

    import app.models  # noqa: F401 - every table known before the first query
    from app.core.db import unit_of_work
    from app.establishment.models import Establishment

    with unit_of_work() as session:
        if code:
            est = session.exec(select(Establishment).where(Establishment.code == code.upper())).first()
            if est is None:
                raise click.UsageError(f"no establishment with code {code}")
            return est.id  # type: ignore[return-value]
        all_ = session.exec(select(Establishment)).all()
        if len(all_) != 1:
            raise click.UsageError("give --establishment CODE (there is more than one establishment)")
        return all_[0].id  # type: ignore[return-value]


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--establishment", "code", default=None, help="Establishment code (needed if there are several)")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option(
    "--restore-purged",
    is_flag=True,
    help="Store again files that were clips retention has deleted (skipped otherwise)",
)
def import_command(folder: Path, code: str | None, manifest: Path | None, restore_purged: bool) -> None:
    """Import a docking-system export: video files plus a CSV or JSON manifest. Safe to run again."""
    est = establishment_by_code(code)
    summary = import_folder(folder, establishment_id=est, manifest=manifest, restore_purged=restore_purged)
    click.echo("")
    click.echo(
        f"Summary: {len(summary.imported)} imported, {len(summary.skipped)} skipped (already imported, or "
        f"deleted under the retention policy), {len(summary.rejected)} rejected"
    )
    for label, reason in summary.rejected:
        click.echo(f"  rejected {label}: {reason}")
    if summary.rejected:
        sys.exit(1)


@click.command("verify")
@click.option("--footage-id", "ids", type=int, multiple=True, help="Only these clips (repeatable)")
def verify_command(ids: tuple[int, ...]) -> None:
    """Re-hash stored footage; any mismatch becomes an integrity alert (exit code 1)."""
    import app.models  # noqa: F401 - every table known before the first query
    from app.footage.integrity import verify_all

    report = verify_all(footage_ids=list(ids) or None)
    for fid, status in report.problems:
        click.echo(f"footage {fid}: {status.upper()}", err=True)
    click.echo(f"checked {report.checked} stored clips: {report.ok} intact, {len(report.problems)} with problems")
    if report.problems:
        sys.exit(1)


commands = [import_command, verify_command]
