"""The Celery settings the fault tests rely on, checked where they are read, and the broker's socket timeouts
checked against a paused Redis (our own)."""

from __future__ import annotations

import time
from typing import Any

import pytest

pytestmark = pytest.mark.services


@pytest.fixture
def redis_app(redis_server: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from app.core.config import get_settings
    from workers.celery_app import make_celery

    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("BWV_BROKER_SOCKET_TIMEOUT_S", "1")
    get_settings.cache_clear()
    app = make_celery()
    yield app
    app.close()
    get_settings.cache_clear()


def test_delivery_guarantees_are_configured(redis_app: Any) -> None:
    import workers.analysis_tasks as tasks
    from app.core.config import get_settings

    c = redis_app.conf
    s = get_settings()
    assert c.task_acks_late and c.task_reject_on_worker_lost and c.worker_prefetch_multiplier == 1
    assert tasks.analyse.acks_late and tasks.analyse.reject_on_worker_lost
    # Redis hands an unacknowledged job out again after the visibility timeout: it must exceed the longest job,
    # which the hard time limit bounds. No result backend is used, so no other visibility timeout is read.
    assert c.broker_transport_options["visibility_timeout"] == s.celery_visibility_timeout_s
    assert c.task_time_limit < s.celery_visibility_timeout_s
    assert c.result_backend in (None, "disabled") and c.task_ignore_result
    assert c.worker_cancel_long_running_tasks_on_connection_loss
    # Broker socket timeouts, so a paused or half-open Redis makes a publish fail instead of hang.
    assert c.broker_transport_options["socket_timeout"] == 1.0
    assert c.broker_transport_options["socket_connect_timeout"] == 1.0
    # Retries with backoff and jitter, for transient errors only.
    assert tasks.analyse.retry_backoff and tasks.analyse.retry_jitter and tasks.analyse.max_retries
    assert set(tasks.analyse.autoretry_for) == set(tasks.TRANSIENT)
    assert not any(issubclass(e, (ValueError, tasks.FootageFileMissing)) for e in tasks.TRANSIENT)


def test_publish_to_a_paused_redis_times_out_instead_of_hanging(redis_app: Any, redis_server: Any) -> None:
    """CLIENT PAUSE: the connection is accepted, commands never answer. The publish raises after the socket
    timeout (1 s here). Without socket_timeout in broker_transport_options (tried once by removing it) the publish
    blocked until the 8 s pause ended."""
    redis_app.send_task("outbox.relay", queue="bwv-config-test", retry=False)  # connect while Redis is well
    redis_server.pause(8_000)
    t = time.monotonic()
    with pytest.raises(Exception) as exc:
        redis_app.send_task("outbox.relay", queue="bwv-config-test", retry=False)
    waited = time.monotonic() - t
    redis_server.unpause()
    assert "timeout" in str(exc.value).lower(), exc.value
    assert waited < 4, f"publish waited {waited:.1f}s"
