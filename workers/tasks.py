"""Thin Celery tasks: load ids, call the pipeline or a service, save. Named explicitly, idempotent."""

from __future__ import annotations

from workers.celery_app import celery


@celery.task(name="outbox.relay", ignore_result=True)
def relay_outbox() -> int:
    """Beat's safety net for the relay threads: publish anything still pending."""
    from app.core.jobs import publish_pending

    return publish_pending()
