"""Background work for registers: running an uploaded onboarding import.

Thin: the task opens the school's scope (SchoolTask) and calls the engine. It is idempotent — the
batch row is claimed by compare-and-set and a finished batch is never run twice — so a redelivery
after a worker dies does no harm. It is not retried automatically: a rejected import needs new files.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask

from .imports import import_batch_run


@shared_task(base=SchoolTask, bind=True, acks_late=True)
def import_batch_task(self: Any, *, school_id: int, batch_id: int) -> str:
    batch = import_batch_run(school=School.objects.get(pk=school_id), batch_id=batch_id)
    return "skipped" if batch is None else batch.status
