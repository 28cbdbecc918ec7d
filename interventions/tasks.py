"""Celery tasks for casework: the case sync after each school's nightly statistics run, and its sweeper.

The chain: when `reporting.stats_batch` or `reporting.stats_school` succeeds, `cases_sync_school` is
enqueued for each school whose run is done. Nothing is lost if Redis drops that message: the changes to
act on are rows written by the statistics run itself (`SignalChange`), and `cases_sweep` enqueues a sync
for any school that still has some. A redelivered sync finds the rows already consumed and does nothing.
"""

from __future__ import annotations

import functools
from typing import Any

from celery import shared_task
from celery.signals import task_success
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask
from reporting.models import CalculationRun

from .services import cases_sync

STATS_TASKS = frozenset({"reporting.stats_batch", "reporting.stats_school"})


@shared_task(base=SchoolTask, name="interventions.cases_sync_school", acks_late=True)
def cases_sync_school(*, school: School) -> dict[str, int]:
    # The day the signals were found for (the last run's day), not the day the task happens to run.
    last = CalculationRun.objects.filter(school=school, status=CalculationRun.Status.DONE).order_by("-finished_at") \
        .values_list("on", flat=True).first()
    result = cases_sync(school=school, on=last or timezone.localdate())
    return {"changes": result.changes, "opened": result.opened, "raised": result.raised, "ended": result.ended,
            "clocks": result.clocks}


@shared_task(name="interventions.cases_sweep", acks_late=True)
def cases_sweep() -> int:
    """Enqueue a sync for every school with signal changes not yet read."""
    with scopes_disabled(), connection.cursor() as cursor:  # the sweeper looks across schools; each sync opens its own
        cursor.execute("SELECT DISTINCT school_id FROM interventions_signalchange")
        schools = [row[0] for row in cursor.fetchall()]
    for school_id in schools:
        transaction.on_commit(functools.partial(cases_sync_school.delay, school_id=school_id))
    return len(schools)


def schools_done(*, run_ids: list[int]) -> list[int]:
    with scopes_disabled():
        return sorted(set(CalculationRun.objects.filter(pk__in=run_ids, status=CalculationRun.Status.DONE)
                          .values_list("school_id", flat=True)))


@task_success.connect
def after_statistics(sender: Any = None, result: Any = None, **kwargs: Any) -> None:
    """Chain the case sync after a statistics task: for each school whose run is done."""
    name = getattr(sender, "name", "")
    if name not in STATS_TASKS:
        return
    request_kwargs = getattr(sender.request, "kwargs", None) or {}
    if name == "reporting.stats_batch":
        school_ids = schools_done(run_ids=list(request_kwargs.get("run_ids", [])))
    else:
        school_ids = schools_done(run_ids=[result]) if isinstance(result, int) else []
    for school_id in school_ids:
        cases_sync_school.delay(school_id=school_id)
