"""Celery tasks: thin wrappers over `reporting.services`.

`stats_nightly` (scheduled by beat, see `reporting.schedule`) records one pending run per school and
enqueues `stats_school` for each once that is committed. Tasks acknowledge late, so a worker killed
mid-run gets its task redelivered; the run is idempotent, so doing it again is harmless.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask

from .models import CalculationRun
from .services import calculation_request, calculation_run

# A run not started after this long was probably lost with a Redis outage: enqueue it again.
STALE_PENDING = dt.timedelta(minutes=30)
# Longer than the task hard time limit: a run this old is not running any more.
STALE_RUNNING = dt.timedelta(hours=1)


@shared_task(base=SchoolTask, name="reporting.stats_school", acks_late=True)
def stats_school(*, school_id: int, run_id: int | None = None, full: bool = False) -> int:
    school = School.objects.get(pk=school_id)
    run = CalculationRun.objects.filter(school=school, pk=run_id).first() if run_id else None
    if run is not None and run.status in (CalculationRun.Status.DONE, CalculationRun.Status.SKIPPED):
        return run.pk  # delivered twice: already done
    return calculation_run(school=school, full=full, run=run).pk


@shared_task(name="reporting.stats_nightly", acks_late=True)
def stats_nightly() -> int:
    """Request tonight's run for every school; each school runs as its own task.

    Beat fires after midnight, so the day whose registers have just closed is yesterday."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    count = 0
    for school in School.objects.order_by("pk"):
        with scope(school=school), transaction.atomic():
            calculation_request(school=school, on=yesterday)
        count += 1
    return count


@shared_task(name="reporting.stats_sweep", acks_late=True)
def stats_sweep() -> int:
    """Enqueue again the runs that were requested but never started, or started and never finished."""
    now = timezone.now()
    with scopes_disabled():
        lost = list(
            CalculationRun.objects.filter(status=CalculationRun.Status.PENDING, requested_at__lt=now - STALE_PENDING)
            .union(CalculationRun.objects.filter(status=CalculationRun.Status.RUNNING,
                                                 started_at__lt=now - STALE_RUNNING))
            .values_list("school_id", "pk")
        )
    for school_id, run_id in lost:
        transaction.on_commit(lambda s=school_id, r=run_id: stats_school.delay(school_id=s, run_id=r))
    return len(lost)
