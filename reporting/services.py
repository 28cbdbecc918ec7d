"""Writes of the statistics engine: do a run (one school or a batch of schools), store the signals.

A run happens in one transaction under a PostgreSQL advisory lock per school keyed by (job, school):
a run killed half way leaves nothing behind, and the next run starts from the same watermark, so it
does the same work and reaches the same rows. A school whose lock is held by another run is recorded
as skipped instead of waiting; the other schools of its batch go on.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from registers.calendar import SchoolCalendar, calendars_for
from registers.models import SchoolPolicy
from registers.selectors import policies_for

from .dashboard_cache import changes_prune
from .models import CalculationRun
from .signal_rules import Found, Previous, Signal, policy_key, signals_found
from .summaries import summaries_rebuild

LOCK_NAMESPACE = 0x5354  # "ST": the statistics job; the second key is the school id
# Marks are stamped by the application clock; allow for skew between it and the database.
CLOCK_SKEW = dt.timedelta(minutes=5)


def calculation_run(*, school: School, on: dt.date | None = None, full: bool = False,
                    run: CalculationRun | None = None) -> CalculationRun:
    """Bring one school's summaries and signals up to date; returns the run row."""
    if run is None:
        mode = CalculationRun.Mode.FULL if full else CalculationRun.Mode.INCREMENTAL
        run = CalculationRun.objects.create(school=school, on=on or timezone.localdate(), mode=mode)
    return calculation_batch([run])[0]


def calculation_batch(runs: list[CalculationRun]) -> list[CalculationRun]:
    """Do several schools' runs together (the nightly run of a trust): each school keeps its own lock and
    its own run row, and the statements of the engine serve every school that shares a calendar and a
    policy at once, which saves the fixed cost of each statement for each school.

    All in one transaction. If it fails, each school is tried again on its own, so one school's
    failure does not stop the others; the failing school's run records the error."""
    if not runs:
        return runs
    ids = [run.pk for run in runs]
    with scopes_disabled():
        CalculationRun.objects.filter(pk__in=ids, school__in=[r.school_id for r in runs]).update(
            status=CalculationRun.Status.RUNNING, started_at=timezone.now())
    try:
        with transaction.atomic(), scope(school=[run.school for run in runs]):  # the batch's schools, no other
            locked = []
            for run in runs:
                if _lock(run.school):
                    locked.append(run)
                else:
                    _finish(run, status=CalculationRun.Status.SKIPPED)
            _calculate(locked)
    except Exception as exc:
        if len(runs) > 1:
            failures = []
            for run in runs:
                try:
                    calculation_batch([run])
                except Exception as failure:  # recorded on the school's run; the other schools go on
                    failures.append(failure)
            if failures:
                raise failures[0] from exc
            return runs
        with scopes_disabled():
            CalculationRun.objects.filter(pk__in=ids, school__in=[r.school_id for r in runs]).update(
                status=CalculationRun.Status.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000])
        raise
    return runs


def _lock(school: School) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, school.pk])
        return bool(cursor.fetchone()[0])


def _calculate(runs: list[CalculationRun]) -> None:
    """The runs whose schools are locked: summaries first, then the signals, then the run rows."""
    if not runs:
        return
    calendars = calendars_for(schools=[run.school for run in runs])
    with scopes_disabled():
        done = (CalculationRun.objects.filter(school__in=[run.school_id for run in runs],
                                              status=CalculationRun.Status.DONE)
                .exclude(pk__in=[run.pk for run in runs]).order_by("school_id", "-finished_at", "-pk")
                .distinct("school_id"))
        last = {r.school_id: r for r in done}
    watermark = _watermark()
    with connection.cursor() as cursor:
        # Enough memory for one school's year rows to aggregate in a hash table; no JIT for short queries.
        cursor.execute("SET LOCAL work_mem = '64MB'; SET LOCAL jit = off")
    for run in runs:
        before = last.get(run.school_id)
        incremental = run.mode != CalculationRun.Mode.FULL and before is not None and before.watermark is not None \
            and before.calendar_key == calendars[run.school_id].key
        run.mode = CalculationRun.Mode.INCREMENTAL if incremental else CalculationRun.Mode.FULL
        run.rows_changed = 0
    _summaries(runs, calendars)
    policies: dict[int, SchoolPolicy] = {}
    for day in {run.on for run in runs}:
        policies |= policies_for(schools=[run.school for run in runs if run.on == day], day=day)
    _signals(runs, calendars, last, policies)
    for run in runs:
        run.watermark = watermark
        run.calendar_key = calendars[run.school_id].key
        run.signals_key = policy_key(policies[run.school_id])
        _finish(run, status=CalculationRun.Status.DONE)


def _summaries(runs: list[CalculationRun], calendars: dict[int, SchoolCalendar]) -> None:
    """Each full run's school rebuilt. An incremental run has nothing to do here: the summaries are
    kept as the marks are written (`reporting.summaries`). The dashboards' record of changes is trimmed
    to the last day."""
    for run in runs:
        if run.mode == CalculationRun.Mode.FULL:
            run.rows_changed += summaries_rebuild(school=run.school, calendar=calendars[run.school_id])
        changes_prune(school_id=run.school_id)


def _signals(runs: list[CalculationRun], calendars: dict[int, SchoolCalendar], last: dict[int, CalculationRun],
             policies: dict[int, SchoolPolicy]) -> None:
    """The signals of each group of schools with the same day, calendar and policy, computed and stored."""
    groups: dict[tuple[Any, ...], list[CalculationRun]] = {}
    for run in runs:
        key = (run.on, calendars[run.school_id], policy_key(policies[run.school_id]), run.school.state_funded)
        groups.setdefault(key, []).append(run)
    for (on, calendar, _, _), members in groups.items():
        # Signals still active from the last run keep their start when nothing they rest on has changed.
        previous = {run.school_id: Previous(on=last[run.school_id].on, watermark=last[run.school_id].watermark)  # type: ignore[arg-type]  # an incremental run follows a finished one, which has a watermark
                    for run in members if run.mode == CalculationRun.Mode.INCREMENTAL
                    and last[run.school_id].signals_key == policy_key(policies[run.school_id])}
        found = signals_found(schools=[run.school for run in members], calendar=calendar, on=on,
                              policy=policies[members[0].school_id], previous=previous)
        by_school = {run.school_id: run for run in members}
        for school_id, count in signals_sync(schools=list(by_school), found=found).items():
            by_school[school_id].rows_changed += count


def _finish(run: CalculationRun, *, status: str) -> None:
    run.status = status
    run.finished_at = timezone.now()
    with scopes_disabled():
        CalculationRun.objects.filter(pk=run.pk, school=run.school_id).update(
            status=run.status, finished_at=run.finished_at, mode=run.mode, watermark=run.watermark,
            calendar_key=run.calendar_key, signals_key=run.signals_key, rows_changed=run.rows_changed)


def _watermark() -> dt.datetime:
    """The instant from which the next run must look again: now, or the start of the oldest other
    transaction that has written something (its marks may commit after this run has read)."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT least(now(), coalesce(min(xact_start), now())) FROM pg_stat_activity
             WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()""")
        oldest = cursor.fetchone()[0]
    return oldest - CLOCK_SKEW


def signals_sync(*, schools: list[int], found: Found) -> dict[int, int]:
    """Store what a run found for the schools: new signals inserted, changed ones updated, stored ones
    no longer found marked inactive. Returns the number of rows written, by school.

    Only differences travel to the database. A signal whose count and evidence fingerprint are as
    stored is left alone (evidence carries no run date, so an ongoing signal is usually unchanged from
    one night to the next), and signals that went on from the last run as they were are not in
    `found` at all. Evidence is built only for the signals written."""
    signals = found.signals
    stored = dict(found.stored)
    if any(s.school_id not in schools for s in signals):
        raise ValueError("signals_sync: a signal of another school")
    changed: list[Signal] = []
    for signal in signals:
        was = stored.pop((signal.enrolment_id, signal.kind, signal.since), None)
        if was is None or was[1] != signal.sessions or was[2] != signal.fingerprint:
            changed.append(signal)
    ended = [pk for pk, *_ in stored.values()]
    if not changed and not ended:
        return {}
    with connection.cursor() as cursor:
        cursor.execute("""
            WITH ended AS (
                UPDATE reporting_attendancesignal SET active = false
                 WHERE school_id = ANY(%(schools)s) AND id = ANY(%(ended)s)
                RETURNING school_id
            ),
            upserted AS (
                INSERT INTO reporting_attendancesignal AS s
                       (school_id, enrolment_id, kind, since, sessions, fingerprint, evidence, active)
                SELECT c.*, true
                  FROM unnest(%(school_ids)s::bigint[], %(enrolments)s::bigint[], %(kinds)s::varchar[],
                              %(since)s::date[], %(sessions)s::int[], %(fingerprints)s::varchar[],
                              %(evidence)s::jsonb[]) AS c
                ON CONFLICT (school_id, enrolment_id, kind, since) DO UPDATE
                   SET sessions = excluded.sessions, fingerprint = excluded.fingerprint,
                       evidence = excluded.evidence, active = true
                 WHERE (s.sessions, s.fingerprint, s.evidence, s.active)
                       IS DISTINCT FROM (excluded.sessions, excluded.fingerprint, excluded.evidence, true)
                RETURNING s.school_id
            )
            SELECT school_id, count(*) FROM (SELECT * FROM ended UNION ALL SELECT * FROM upserted) AS w
             GROUP BY school_id
        """, {
            "schools": schools,
            "school_ids": [s.school_id for s in changed],
            "ended": ended,
            "enrolments": [s.enrolment_id for s in changed],
            "kinds": [s.kind for s in changed],
            "since": [s.since for s in changed],
            "sessions": [s.sessions for s in changed],
            "fingerprints": [s.fingerprint for s in changed],
            "evidence": [json.dumps(s.evidence, sort_keys=True) for s in changed],
        })
        return dict(cursor.fetchall())
