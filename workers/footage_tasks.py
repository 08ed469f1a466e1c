"""Celery tasks for stored footage: retention purge and integrity checks (thin: call the services)."""

from __future__ import annotations

from typing import Any

from app.core.logging import get_logger
from workers.celery_app import celery

log = get_logger("bwv.worker.footage")


@celery.task(name="footage.purge_due", ignore_result=True)
def purge_due() -> dict[str, Any]:
    """Delete footage whose retention has run out (links and legal holds honoured). Idempotent."""
    import app.models  # noqa: F401 - every table known before the first query
    from app.core.db import unit_of_work
    from app.footage.retention import purge_due as run

    with unit_of_work() as session:
        report = run(session)
    log.info("retention_purge", purged=len(report.purged), refreshed=report.refreshed)
    return {"purged": report.purged, "refreshed": report.refreshed, "abandoned_uploads": report.abandoned_uploads}


@celery.task(name="footage.verify_integrity", ignore_result=True)
def verify_integrity(footage_ids: list[int] | None = None) -> dict[str, Any]:
    """Re-hash stored footage; mismatches become integrity alerts in the audit trail."""
    import app.models  # noqa: F401
    from app.footage.integrity import verify_all

    report = verify_all(footage_ids=footage_ids)
    log.info("integrity_verify", checked=report.checked, problems=len(report.problems))
    return {"checked": report.checked, "ok": report.ok, "problems": report.problems}
