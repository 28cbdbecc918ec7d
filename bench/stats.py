"""`python -m bench stats [--pupils N] [--keep]`: the statistics engine against a synthetic trust.

Builds a throw-away database next to the one in DATABASE_URL (never the demo data), loads a trust of
N pupils (default 50,000) with a full academic year of marks in set-based SQL, then prints:

* full rebuild time (summaries + signals, every school);
* incremental nightly time after one more school day of marks;
* a plain `GROUP BY pupil` aggregate over the same marks (the floor), and the ratios;
* the worker's peak memory.

Targets (issue 4): rebuild <= 2x the floor, incremental < 5 % of the rebuild, memory < 1 GiB.

The marks are meant to look like a real year's registers, not a worst case: every `N` (reason not yet
established) older than the last few school days before the run date has been replaced, here by `O`,
as schools must do within 5 school days (dfe-rules R7). Only the latest days still hold `N` codes.

Per-phase timings (summaries, each signal rule, storing the signals) are printed for each run so a
regression can be traced to its statement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections, transaction
from django_scopes import scopes_disabled

PUPILS_PER_SCHOOL = 1000
YEAR_START = dt.date(2025, 9, 1)
# One full year of marks up to the last day; the last school day is the "next night" of new marks.
LAST_DAY = dt.date(2026, 7, 21)
HALF_TERMS = [
    ("Autumn 1", "autumn", dt.date(2025, 9, 3), dt.date(2025, 10, 24)),
    ("Autumn 2", "autumn", dt.date(2025, 11, 3), dt.date(2025, 12, 19)),
    ("Spring 1", "spring", dt.date(2026, 1, 5), dt.date(2026, 2, 13)),
    ("Spring 2", "spring", dt.date(2026, 2, 23), dt.date(2026, 3, 27)),
    ("Summer 1", "summer", dt.date(2026, 4, 13), dt.date(2026, 5, 22)),
    ("Summer 2", "summer", dt.date(2026, 6, 1), dt.date(2026, 7, 21)),
]
CLOSURES = [dt.date(2025, 11, 14), dt.date(2026, 5, 4)]
# `N` codes are still unresolved only on the last three school days before the full rebuild's run date
# (and on the incremental night's new day); older ones were replaced in time.
N_FROM = dt.date(2026, 7, 16)


def _parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench stats")
    parser.add_argument("--pupils", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="leave the bench database in place")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="schools calculated at once, as Celery worker processes would (default: one per core)")
    return parser.parse_args(args)


@contextmanager
def _bench_database(*, keep: bool) -> Iterator[str]:
    """A separate database on the same server; dropped afterwards so demo data is never touched."""
    base = settings.DATABASES["default"]
    name = f"{base['NAME']}_bench_stats"
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    connections.close_all()
    original = base["NAME"]
    base["NAME"] = name
    try:
        yield name
    finally:
        connections.close_all()
        base["NAME"] = original
        if not keep:
            _drop(name)


def _drop(name: str) -> None:
    connections.close_all()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@contextmanager
def _timer(label: str, results: dict[str, float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    results[label] = time.perf_counter() - started
    print(f"  {label}: {results[label]:.2f} s", flush=True)


def _create_trust(pupils: int) -> list[int]:
    from attendance_portal.models import School, Trust
    from registers.models import AcademicYear, Closure, Term

    trust = Trust.objects.create(name="Bench Learning Trust", slug="bench-trust")
    school_ids = []
    with scopes_disabled():
        for n in range(max(1, -(-pupils // PUPILS_PER_SCHOOL))):
            school = School.objects.create(trust=trust, name=f"Bench School {n}", slug=f"bench-{n}")
            year = AcademicYear.objects.create(school=school, name="2025/26", start=YEAR_START,
                                               end=dt.date(2026, 8, 31))
            for name, season, start, end in HALF_TERMS:
                Term.objects.create(school=school, academic_year=year, name=name, season=season,
                                    start=start, end=end)
            for day in CLOSURES:
                Closure.objects.create(school=school, date=day, session="BOTH", reason="INSET day")
            school_ids.append(school.pk)
    return school_ids


_PUPILS_SQL = """
INSERT INTO registers_pupil (school_id, upn, forename, surname, date_of_birth, year_group, sen, fsm, eal,
                             looked_after, child_in_need, has_social_worker)
SELECT s.school_id, 'B' || lpad(g::text, 12, '0'), 'Pupil', 'Bench ' || g,
       date '2010-09-01' + (g * 37 %% 3650), ((g %% 7) + 1)::text,
       CASE WHEN g %% 9 = 0 THEN 'K' WHEN g %% 31 = 0 THEN 'E' ELSE 'N' END,
       g %% 4 = 0, g %% 5 = 0, g %% 97 = 0, g %% 53 = 0, false
  FROM generate_series(0, %(pupils)s - 1) AS g
  JOIN (SELECT school_id, row_number() OVER (ORDER BY school_id) - 1 AS n
          FROM unnest(%(schools)s::bigint[]) AS school_id) s ON s.n = g / %(per_school)s
"""

_ENROLMENTS_SQL = """
INSERT INTO registers_enrolment (school_id, pupil_id, admission_date, deletion_ground, registration_type)
SELECT school_id, id, date '2024-09-01', '', 'main' FROM registers_pupil WHERE school_id = ANY(%(schools)s)
"""

# Every school session of the calendar (weekdays inside a term, not closed) up to `last`.
_DAYS_SQL = """
CREATE TEMP TABLE bench_days AS
SELECT t.school_id, d::date AS day
  FROM registers_term t
 CROSS JOIN LATERAL generate_series(t.start, least(t."end", %(last)s), interval '1 day') AS d
 WHERE t.school_id = ANY(%(schools)s) AND extract(isodow FROM d) < 6
   AND NOT EXISTS (SELECT 1 FROM registers_closure c WHERE c.school_id = t.school_id AND c.date = d::date)
"""

# A pupil's absence propensity (per mille) is fixed per pupil so some are persistently or severely absent;
# the code of each session is a cheap deterministic hash, so runs are repeatable.
_MARKS_SQL = """
INSERT INTO registers_mark (school_id, pupil_id, enrolment_id, date, session, code, minutes_late, note, version,
                            recorded_at, updated_at)
SELECT school_id, pupil_id, enrolment_id, day, session,
       CASE WHEN x < risk AND x %% 12 = 5 AND day < %(n_from)s THEN 'O'
            WHEN x < risk THEN (ARRAY['I','I','I','I','M','N','O','G','U','C','E','R'])[1 + x %% 12]
            WHEN x %% 97 = 0 THEN 'L'
            WHEN x %% 211 = 0 THEN 'V'
            WHEN x %% 401 = 0 THEN 'D'
            WHEN session = 'AM' THEN '/' ELSE '\\' END,
       CASE WHEN x < risk AND x %% 12 = 8 THEN 12 WHEN x >= risk AND x %% 97 = 0 THEN 4 END,
       '', 1, %(stamp)s, %(stamp)s
  FROM (SELECT e.school_id, e.pupil_id, e.id AS enrolment_id, d.day, s.session,
               CASE WHEN e.pupil_id %% 10 = 0 THEN 300 + e.pupil_id %% 300
                    WHEN e.pupil_id %% 4 = 0 THEN 80 + e.pupil_id %% 60
                    ELSE 10 + e.pupil_id %% 40 END AS risk,
               abs(hashint8(e.pupil_id * 1000003 + (d.day - date '2025-01-01') * 2 + (s.session = 'PM')::int))
                   %% 1000 AS x
          FROM registers_enrolment e
          JOIN bench_days d ON d.school_id = e.school_id
         CROSS JOIN (VALUES ('AM'), ('PM')) AS s(session)
         WHERE e.school_id = ANY(%(schools)s) AND d.day BETWEEN %(first)s AND %(last)s) AS raw
"""


def _load_marks(school_ids: list[int], *, first: dt.date, last: dt.date, stamp: dt.datetime) -> int:
    """Bulk load bypassing triggers: the audit copy and the foreign-key checks are per-row and would
    measure the loader, not the engine. Only possible on this throw-away database. Triggers enabled
    ALWAYS still fire (`_write_day`)."""
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute("DROP TABLE IF EXISTS bench_days")
        cursor.execute(_DAYS_SQL, {"schools": school_ids, "last": last})
        cursor.execute(_MARKS_SQL, {"schools": school_ids, "first": first, "last": last, "stamp": stamp,
                                    "n_from": N_FROM})
        count = cursor.rowcount
        cursor.execute("SET session_replication_role = origin")
    return count


def _write_day(school_ids: list[int], day: dt.date, results: dict[str, float]) -> None:
    """The new day's marks, loaded the way the year's were (one statement per school, no audit copy, no
    foreign-key checks) but with the summaries trigger firing, as it does for every register save: the
    summaries are kept as marks are written, so this is where the day's share of their upkeep is paid,
    not in the nightly. Loaded three times, the first two undone, so the summaries' share is the
    difference of two warm loads: with the trigger, without it, then with it for good."""
    from reporting.summaries import TRIGGERS

    without, kept = "the day's marks loaded without keeping the summaries (undone)", "the day's marks loaded"
    for label, keep, undo in (("the day's marks loaded (undone, warms the cache)", True, True),
                              (without, False, True), (kept, True, False)):
        with transaction.atomic():
            with connection.cursor() as cursor:
                for trigger in TRIGGERS if keep else ():
                    cursor.execute(f"ALTER TABLE registers_mark ENABLE ALWAYS TRIGGER {trigger}")
            with _timer(label, results):
                for school_id in school_ids:
                    _load_marks([school_id], first=day, last=day, stamp=_now())
            with connection.cursor() as cursor:
                for trigger in TRIGGERS if keep else ():
                    cursor.execute(f"ALTER TABLE registers_mark ENABLE TRIGGER {trigger}")
            transaction.set_rollback(undo)
    results["keeping the summaries"] = results[kept] - results[without]
    print(f"    of which keeping the summaries: {results['keeping the summaries']:.2f} s", flush=True)


def _settle() -> None:
    """Registers are saved by day and the run comes at night: by then autovacuum has been through the
    tables the day's saves changed (every summary row was rewritten once) and checkpoints have written
    the changed pages out, so the run does not pay for them."""
    from django.db import DatabaseError

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) registers_mark, reporting_attendancesummary")
        try:
            cursor.execute("CHECKPOINT")
        except DatabaseError as exc:  # needs superuser or pg_checkpoint on a configured server
            print(f"  (no checkpoint before the nightly: {exc})", flush=True)


def _load(pupils: int) -> list[int]:
    from django.utils import timezone

    school_ids = _create_trust(pupils)
    with connection.cursor() as cursor:
        cursor.execute(_PUPILS_SQL, {"pupils": pupils, "schools": school_ids, "per_school": PUPILS_PER_SCHOOL})
        cursor.execute(_ENROLMENTS_SQL, {"schools": school_ids})
        # Indexes are built once after the load, which is how a large import would be done too.
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'registers_mark' "
                       "AND indexname NOT IN (SELECT conname FROM pg_constraint)")
        indexes = cursor.fetchall()
        for index_name, _ in indexes:
            cursor.execute(f'DROP INDEX IF EXISTS "{index_name}"')
    yesterday = timezone.now() - dt.timedelta(days=1)
    count = _load_marks(school_ids, first=YEAR_START, last=LAST_DAY - dt.timedelta(days=1), stamp=yesterday)
    with connection.cursor() as cursor:
        for _, definition in indexes:
            cursor.execute(definition)
        cursor.execute("VACUUM ANALYZE registers_mark")
        cursor.execute("ANALYZE")
    print(f"  loaded {pupils} pupils in {len(school_ids)} schools, {count:,} marks", flush=True)
    return school_ids


_FLOOR_SQL = """
SELECT pupil_id,
       count(*) FILTER (WHERE code = ANY(%(possible)s)),
       count(*) FILTER (WHERE code = ANY(%(attendance)s)),
       count(*) FILTER (WHERE code = ANY(%(authorised)s)),
       count(*) FILTER (WHERE code = ANY(%(unauthorised)s))
  FROM registers_mark
 WHERE school_id = ANY(%(schools)s)
 GROUP BY pupil_id
"""


def _floor(school_ids: list[int]) -> int:
    from registers import codes

    with connection.cursor() as cursor:
        cursor.execute(_FLOOR_SQL, {"schools": school_ids, "possible": sorted(codes.POSSIBLE),
                                    "attendance": sorted(codes.ATTENDANCE), "authorised": sorted(codes.AUTHORISED),
                                    "unauthorised": sorted(codes.UNAUTHORISED)})
        return len(cursor.fetchall())


# (module, function) pairs timed per phase; names missing from a module are skipped.
_PHASES = [
    ("reporting.services", "summaries_rebuild"),
    ("reporting.services", "signals_found"),
    ("reporting.services", "signals_sync"),
    ("reporting.signal_rules", "_tallies"),
    ("reporting.signal_rules", "_bits"),
    ("reporting.signal_rules", "_rate_signals"),
    ("reporting.signal_rules", "_window_signals"),
    ("reporting.signal_rules", "_n_overdue"),
    ("reporting.signal_rules", "_continuous"),
]


@contextmanager
def _phase_timings() -> Iterator[dict[str, float]]:
    """Accumulates the time spent in each phase of the engine while the block runs."""
    import importlib

    totals: dict[str, float] = {}  # per process: each forked worker adds to its own copy and reports it
    patched = []
    for module_name, name in _PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None:
            continue

        def timed(*args, __original=original, __label=name, **kwargs):  # type: ignore[no-untyped-def]
            label = __label
            started = time.perf_counter()
            try:
                return __original(*args, **kwargs)
            finally:
                totals[label] = totals.get(label, 0.0) + time.perf_counter() - started

        setattr(module, name, timed)
        patched.append((module, name, original))
    try:
        yield totals
    finally:
        for module, name, original in patched:
            setattr(module, name, original)
        print("    per phase (time summed over the workers):", flush=True)
        for label, seconds in sorted(totals.items(), key=lambda item: -item[1]):
            print(f"      {label}: {seconds:.2f} s", flush=True)


def _run_all(school_ids: list[int], *, full: bool, on: dt.date, workers: int) -> int:
    """Every school, in the nightly task's batches (`reporting.tasks.batches`), `workers` batches at a
    time, each worker a process with its own database connection: the way the nightly runs under
    Celery's default (prefork) pool, one task per worker process."""
    from attendance_portal.models import School
    from reporting.tasks import batches

    context = multiprocessing.get_context("fork")
    tasks: multiprocessing.Queue = context.Queue()
    results: multiprocessing.Queue = context.Queue()
    with scopes_disabled():
        groups = batches(list(School.objects.filter(pk__in=school_ids)))
    for group in groups:
        tasks.put([school.pk for school in group])
    for _ in range(workers):
        tasks.put(None)
    print(f"    {len(school_ids)} schools in {len(groups)} batches", flush=True)
    connections.close_all()  # a forked worker must open its own connection
    with _phase_timings() as totals:
        processes = [context.Process(target=_worker, args=(tasks, results, full, on, totals),
                                     name=f"bench-worker-{n}") for n in range(workers)]
        for process in processes:
            process.start()
        reports = [results.get() for _ in processes]
        for process in processes:
            process.join()
        for _, worker_totals, _ in reports:
            for label, seconds in worker_totals.items():
                totals[label] = totals.get(label, 0.0) + seconds
    errors = [error for _, _, error in reports if error]
    if errors:
        raise RuntimeError(f"a bench worker failed: {errors[0]}")
    return sum(changed for changed, _, _ in reports)


def _worker(tasks: multiprocessing.Queue, results: multiprocessing.Queue, full: bool, on: dt.date,
            totals: dict[str, float]) -> None:
    """Runs batches of schools from `tasks` until it reads None; reports (rows changed, phase times, error)."""
    from attendance_portal.models import School
    from reporting.models import CalculationRun
    from reporting.services import calculation_batch

    changed, error = 0, ""
    mode = CalculationRun.Mode.FULL if full else CalculationRun.Mode.INCREMENTAL
    try:
        with scopes_disabled():
            while (school_ids := tasks.get()) is not None:
                runs = CalculationRun.objects.bulk_create(
                    CalculationRun(school=school, on=on, mode=mode)
                    for school in School.objects.filter(pk__in=school_ids).order_by("pk"))
                changed += sum(run.rows_changed for run in calculation_batch(runs))
    except BaseException as exc:  # reported to the parent, which raises
        error = repr(exc)
    finally:
        connection.close()
        results.put((changed, dict(totals), error))


def run(args: list[str]) -> None:
    options = _parse(args)
    results: dict[str, float] = {}
    with _bench_database(keep=options.keep):
        call_command("migrate", verbosity=0)
        with _timer("load (not part of the figures)", results):
            school_ids = _load(options.pupils)
        with _timer("floor: plain GROUP BY pupil", results):
            _floor(school_ids)
        with _timer("full rebuild", results):
            _run_all(school_ids, full=True, on=LAST_DAY - dt.timedelta(days=1), workers=options.workers)
        _write_day(school_ids, LAST_DAY, results)
        _settle()
        with _timer("incremental nightly (one school day)", results):
            _run_all(school_ids, full=False, on=LAST_DAY, workers=options.workers)
        with _timer("floor again (warm cache)", results):
            _floor(school_ids)
    _report(results, workers=options.workers)


def _now() -> dt.datetime:
    from django.utils import timezone

    return timezone.now()


def _report(results: dict[str, float], *, workers: int) -> None:
    floor = min(results["floor: plain GROUP BY pupil"], results["floor again (warm cache)"])
    full = results["full rebuild"]
    incremental = results["incremental nightly (one school day)"]
    # The largest of the worker processes (and of this one, which loads the data).
    peak_mib = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(f"  schools calculated {workers} at a time; the floor is one statement, parallel as PostgreSQL plans it")
    print(f"  full rebuild / floor: {full / floor:.2f}x (target <= 2x)")
    print(f"  incremental / full rebuild: {100 * incremental / full:.2f} % (target < 5 %)")
    kept = results["keeping the summaries"]
    print(f"  the day's summaries, kept as its marks were written: {kept:.2f} s ({100 * kept / full:.2f} % of the full"
          " rebuild; paid during the day with the register saves, not in the nightly)")
    print(f"  peak worker memory: {peak_mib:.0f} MiB (target < 1024 MiB)")
