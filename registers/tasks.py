"""Background work for registers: running an uploaded onboarding import.

Thin: the task opens the school's scope (SchoolTask) and calls the engine. It is idempotent — the
batch row is claimed by compare-and-set and a finished batch is never run twice — so a redelivery
after a worker dies does no harm. It is not retried automatically: a rejected import needs new files.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from attendance_portal.models import School
from attendance_portal.queueing import task_send
from attendance_portal.tenancy import SchoolTask

from .imports import import_batch_run


@shared_task(base=SchoolTask, bind=True, acks_late=True)
def import_batch_task(self: Any, *, school: School, batch_id: int) -> str:
    batch = import_batch_run(school=school, batch_id=batch_id)
    return "skipped" if batch is None else batch.status


@shared_task(name="registers.import_batches_sweep", acks_late=True)
def import_batches_sweep() -> int:
    """Re-enqueue uploads still waiting long after they were made: their first message was lost
    (a Redis outage between the commit and the enqueue). Running one twice is harmless (see above)."""
    import datetime as dt

    from django.utils import timezone
    from django_scopes import scopes_disabled

    from .models import ImportBatch

    cutoff = timezone.now() - dt.timedelta(minutes=10)
    with scopes_disabled():  # a sweep over every school; each batch then runs in its own school's scope
        waiting = list(ImportBatch.objects.filter(status=ImportBatch.Status.PENDING, created_at__lt=cutoff)
                       .values_list("school_id", "pk"))
    for school_id, batch_id in waiting:
        task_send(import_batch_task, school_id=school_id, batch_id=batch_id)
    return len(waiting)
