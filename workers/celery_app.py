"""Celery configuration, in one place.

Embedded default: kombu's filesystem transport under `data/broker` (no server needed) with a real
worker process. Production: Redis (`REDIS_URL`). Results live in the database, not a result backend.
"""

from __future__ import annotations

from celery import Celery

from app.core.config import get_settings

# Task modules: thin tasks per capability (analysis, retention/integrity...), named explicitly.
TASK_MODULES = ["workers.tasks", "workers.analysis_tasks", "workers.footage_tasks"]


def make_celery() -> Celery:
    s = get_settings()
    app = Celery("bwv", include=TASK_MODULES)
    transport_options: dict[str, object]
    if s.redis_url:
        broker = s.redis_url
        transport_options = {
            # Above the longest job, or Redis hands an unacknowledged job to a second worker.
            "visibility_timeout": s.celery_visibility_timeout_s,
            "socket_timeout": s.broker_socket_timeout_s,
            "socket_connect_timeout": s.broker_socket_timeout_s,
            "retry_on_timeout": False,
            "max_retries": 1,
        }
    else:
        folder = s.broker_dir.resolve()
        for sub in ("queue", "processed", "control"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        broker = "filesystem://"
        transport_options = {
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        }
    app.conf.update(
        broker_url=broker,
        broker_transport_options=transport_options,
        broker_connection_timeout=s.broker_socket_timeout_s,
        broker_connection_retry_on_startup=True,
        redis_socket_timeout=s.broker_socket_timeout_s,
        redis_socket_connect_timeout=s.broker_socket_timeout_s,
        result_backend=None,
        task_ignore_result=True,
        task_default_queue=s.celery_task_queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # No job may outlive the visibility timeout, or Redis would hand it to a second worker while it runs.
        task_time_limit=max(60, s.celery_visibility_timeout_s - 300),
        task_soft_time_limit=max(30, s.celery_visibility_timeout_s - 360),
        # The broker connection lost: stop running jobs (Redis gives them out again) rather than run them twice.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=50,
        task_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "outbox-relay": {"task": "outbox.relay", "schedule": 15.0},
            "analysis-sweep": {"task": "footage.sweep_stuck", "schedule": 300.0},
            "retention-purge": {"task": "footage.purge_due", "schedule": 3600.0},
            "integrity-verify": {"task": "footage.verify_integrity", "schedule": 24 * 3600.0},
        },
    )
    return app


celery = make_celery()
