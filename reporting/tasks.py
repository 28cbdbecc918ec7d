"""Celery tasks: thin wrappers over `reporting.services`.

`stats_nightly` (scheduled by beat, see `reporting.schedule`) records one pending run per school and,
once that is committed, enqueues `stats_batch` for each group of up to STATS_BATCH_SCHOOLS schools
(a trust's schools together): the engine's statements then serve the whole group at once, while each
school keeps its own lock and run row. Tasks acknowledge late, so a worker killed mid-run gets its
task redelivered; the run is idempotent, so doing it again is harmless.
"""

from __future__ import annotations

import datetime as dt
import functools

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from attendance_portal.tenancy import SchoolTask

from .models import CalculationRun
from .services import calculation_batch, calculation_run

# A run not started after this long was probably lost with a Redis outage: enqueue it again.
STALE_PENDING = dt.timedelta(minutes=30)
# Longer than the task hard time limit: a run this old is not running any more.
STALE_RUNNING = dt.timedelta(hours=1)


@shared_task(base=SchoolTask, name="reporting.stats_school", acks_late=True)
def stats_school(*, school: School, run_id: int | None = None, full: bool = False) -> int:
    run = CalculationRun.objects.filter(school=school, pk=run_id).first() if run_id else None
    if run is not None and run.status in (CalculationRun.Status.DONE, CalculationRun.Status.SKIPPED):
        return run.pk  # delivered twice: already done
    return calculation_run(school=school, full=full, run=run).pk


@shared_task(name="reporting.stats_batch", acks_late=True)
def stats_batch(*, run_ids: list[int]) -> int:
    """The runs among `run_ids` not yet done, together (see `calculation_batch`). A run left running by a
    worker that died is done again when the task is delivered again (it is idempotent)."""
    with scopes_disabled():
        runs = list(CalculationRun.objects.filter(pk__in=run_ids)
                    .exclude(status__in=[CalculationRun.Status.DONE, CalculationRun.Status.SKIPPED])
                    .select_related("school").order_by("school_id"))
    calculation_batch(runs)
    return len(runs)


def batches(schools: list[School]) -> list[list[School]]:
    """The schools in groups of up to STATS_BATCH_SCHOOLS. A trust is split only when it is larger than
    a group: its schools usually share a calendar and a policy, which is what lets a batch save work."""
    size = max(1, settings.STATS_BATCH_SCHOOLS)
    trusts: dict[int | None, list[School]] = {}
    for school in sorted(schools, key=lambda s: (s.trust_id or 0, s.pk)):
        trusts.setdefault(school.trust_id, []).append(school)
    found: list[list[School]] = []
    current: list[School] = []
    for members in trusts.values():
        if len(current) + len(members) > size:
            found += [current] if current else []
            current = []
        while len(members) > size:
            found.append(members[:size])
            members = members[size:]
        current += members
    return found + ([current] if current else [])


@shared_task(name="reporting.stats_nightly", acks_late=True)
def stats_nightly() -> int:
    """Request tonight's run for every school, and enqueue them in batches once they are recorded.

    Beat fires after midnight, so the day whose registers have just closed is yesterday."""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    count = 0
    for group in batches(list(School.objects.all())):
        run_ids = []
        with transaction.atomic():
            for school in group:
                with scope(school=school):
                    run_ids.append(CalculationRun.objects.create(school=school, on=yesterday).pk)
            transaction.on_commit(functools.partial(stats_batch.delay, run_ids=run_ids))
        count += len(group)
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
        transaction.on_commit(functools.partial(stats_school.delay, school_id=school_id, run_id=run_id))
    return len(lost)


@shared_task(base=SchoolTask, name="reporting.governor_report_build", acks_late=True)
def governor_report_build(*, school: School, report_id: int) -> bool:
    from .reports import governor_report_build as build

    return build(report_id=report_id, school=school)


@shared_task(name="reporting.governor_reports_daily")
def governor_reports_daily() -> list[int]:
    from .reports import governor_reports_daily as daily

    return daily(today=timezone.localdate())
