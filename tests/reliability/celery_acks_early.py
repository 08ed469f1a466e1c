"""The worker with its protection switched off, to show that the kill tests catch it: the job is acknowledged
when it is received (task_acks_late=False) and not re-queued when the pool process dies. Test use only:
`celery -A tests.reliability.celery_acks_early worker`."""

from __future__ import annotations

import workers.analysis_tasks as analysis_tasks
from workers.celery_app import celery

celery.conf.task_acks_late = False
celery.conf.task_reject_on_worker_lost = False
analysis_tasks.analyse.acks_late = False
analysis_tasks.analyse.reject_on_worker_lost = False

__all__ = ["celery"]
