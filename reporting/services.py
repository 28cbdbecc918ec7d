"""Writes of the statistics engine: request a run, do a run, store the signals.

A run for one school happens in one transaction under a PostgreSQL advisory lock keyed by (job,
school): a run killed half way leaves nothing behind, and the next run starts from the same
watermark, so it does the same work and reaches the same rows. A second run that finds the lock held
records itself as skipped instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import json

from django.db import connection, transaction
from django.utils import timezone

from attendance_portal.models import School
from registers.selectors import policy_for

from .calendar import calendar_for
from .models import CalculationRun
from .signal_rules import Previous, Signal, policy_key, signals_compute
from .summaries import summaries_rebuild, summaries_update

LOCK_NAMESPACE = 0x5354  # "ST": the statistics job; the second key is the school id
# Marks are stamped by the application clock; allow for skew between it and the database.
CLOCK_SKEW = dt.timedelta(minutes=5)


def calculation_request(*, school: School, full: bool = False, on: dt.date | None = None) -> CalculationRun:
    """Record a run and enqueue it once the surrounding transaction commits."""
    from .tasks import stats_school

    run = CalculationRun.objects.create(
        school=school, on=on or timezone.localdate(),
        mode=CalculationRun.Mode.FULL if full else CalculationRun.Mode.INCREMENTAL,
    )
    transaction.on_commit(lambda: stats_school.delay(school_id=school.pk, run_id=run.pk))
    return run


def calculation_run(*, school: School, on: dt.date | None = None, full: bool = False,
                    run: CalculationRun | None = None) -> CalculationRun:
    """Bring one school's summaries and signals up to date; returns the run row."""
    if run is None:
        mode = CalculationRun.Mode.FULL if full else CalculationRun.Mode.INCREMENTAL
        run = CalculationRun.objects.create(school=school, on=on or timezone.localdate(), mode=mode)
    CalculationRun.objects.filter(pk=run.pk).update(status=CalculationRun.Status.RUNNING, started_at=timezone.now())
    try:
        with transaction.atomic():
            if not _lock(school):
                _finish(run, status=CalculationRun.Status.SKIPPED)
                return run
            _calculate(school=school, run=run)
    except Exception as exc:
        CalculationRun.objects.filter(pk=run.pk).update(
            status=CalculationRun.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000])
        raise
    return run


def _lock(school: School) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, school.pk])
        return bool(cursor.fetchone()[0])


def _calculate(*, school: School, run: CalculationRun) -> None:
    calendar = calendar_for(school=school)
    last = (CalculationRun.objects.filter(school=school, status=CalculationRun.Status.DONE)
            .exclude(pk=run.pk).order_by("-finished_at", "-pk").first())
    full = run.mode == CalculationRun.Mode.FULL or last is None or last.watermark is None \
        or last.calendar_key != calendar.key
    watermark = _watermark()
    with connection.cursor() as cursor:
        # Enough memory for one school's year rows to aggregate in a hash table; no JIT for short queries.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SET LOCAL jit = off")
    if full:
        changed = summaries_rebuild(school=school, calendar=calendar)
    else:
        changed = summaries_update(school=school, calendar=calendar, changed_since=last.watermark)
    policy = policy_for(school=school, day=run.on)
    signals_key = policy_key(policy)
    # Signals still active from the last run keep their start when nothing they rest on has changed.
    previous = None if full or last.signals_key != signals_key else Previous(on=last.on, watermark=last.watermark)
    changed += signals_sync(school=school, signals=signals_compute(school=school, calendar=calendar, on=run.on,
                                                                    policy=policy, previous=previous))
    run.mode = CalculationRun.Mode.FULL if full else CalculationRun.Mode.INCREMENTAL
    run.watermark = watermark
    run.calendar_key = calendar.key
    run.signals_key = signals_key
    run.rows_changed = changed
    _finish(run, status=CalculationRun.Status.DONE)


def _finish(run: CalculationRun, *, status: str) -> None:
    run.status = status
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at", "mode", "watermark", "calendar_key", "signals_key",
                            "rows_changed"])


def _watermark() -> dt.datetime:
    """The instant from which the next run must look again: now, or the start of the oldest other
    transaction that has written something (its marks may commit after this run has read)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT least(now(), coalesce(min(xact_start), now())) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()""")
        oldest = cursor.fetchone()[0]
    return oldest - CLOCK_SKEW


def signals_sync(*, school: School, signals: list[Signal]) -> int:
    """Store the signals found for the school: new ones inserted, changed ones updated, ones no longer
    found marked inactive. Returns the number of rows written.

    Only differences travel to the database: the stored active rows are read first, and a signal whose
    count and evidence fingerprint are as stored is left alone (evidence carries no run date, so an
    ongoing signal is usually unchanged from one night to the next). Evidence is built only for the
    signals written."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT id, enrolment_id, kind, since, sessions, fingerprint
                            FROM reporting_attendancesignal WHERE school_id = %s AND active""", [school.pk])
        stored = {(e, k, since): (pk, sessions, fingerprint)
                  for pk, e, k, since, sessions, fingerprint in cursor.fetchall()}
    changed: list[Signal] = []
    for signal in signals:
        was = stored.pop((signal.enrolment_id, signal.kind, signal.since), None)
        if was is None or was[1] != signal.sessions or was[2] != signal.fingerprint:
            changed.append(signal)
    ended = [pk for pk, *_ in stored.values()]
    if not changed and not ended:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH ended AS (
                UPDATE reporting_attendancesignal SET active = false
                 WHERE school_id = %(school)s AND id = ANY(%(ended)s)
                RETURNING 1
            ),
            upserted AS (
                INSERT INTO reporting_attendancesignal AS s
                       (school_id, enrolment_id, kind, since, sessions, fingerprint, evidence, active)
                SELECT %(school)s, c.*, true
                  FROM unnest(%(enrolments)s::bigint[], %(kinds)s::varchar[], %(since)s::date[],
                              %(sessions)s::int[], %(fingerprints)s::varchar[], %(evidence)s::jsonb[]) AS c
                ON CONFLICT (school_id, enrolment_id, kind, since) DO UPDATE
                   SET sessions = excluded.sessions, fingerprint = excluded.fingerprint,
                       evidence = excluded.evidence, active = true
                 WHERE (s.sessions, s.fingerprint, s.evidence, s.active)
                       IS DISTINCT FROM (excluded.sessions, excluded.fingerprint, excluded.evidence, true)
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM ended) + (SELECT count(*) FROM upserted)
        """, {
            "school": school.pk,
            "ended": ended,
            "enrolments": [s.enrolment_id for s in changed],
            "kinds": [s.kind for s in changed],
            "since": [s.since for s in changed],
            "sessions": [s.sessions for s in changed],
            "fingerprints": [s.fingerprint for s in changed],
            "evidence": [json.dumps(s.evidence, sort_keys=True) for s in changed],
        })
        return cursor.fetchone()[0]
