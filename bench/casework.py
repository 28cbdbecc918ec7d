"""`python -m bench casework`: the officer's queue and the nightly case sync.

Uses the statistics bench's throw-away database and synthetic registers (`bench.stats`), so demo data is
never touched, and prints:

* the officer queue page (`/s/<school>/casework/`) for a school of 1,500 pupils with 100 and then 300 open
  cases: server time (median, p95) through the real view in-process, and the SQL statements per request,
  which must be the same for both;
* the nightly case sync after one more school day for a trust of `--pupils` pupils (default 5,000;
  `--pupils=50000` for the full trust): its time beside the full statistics rebuild and the incremental
  statistics run of the same night.

    python -m bench casework                    both, 5,000 pupils for the sync
    python -m bench casework --pupils=50000     the sync on 50,000 pupils
    python -m bench casework --requests=20      fewer queue requests
    python -m bench casework --only=queue       one of the two
    python -m bench casework --only=queue --profile   and where one queue request spends its time (cProfile)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time

from django.db import connection, reset_queries
from django.test import Client
from django.urls import reverse
from django_scopes import scope, scopes_disabled

from bench import stats

QUEUE_PUPILS = 1500


def _parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench casework")
    parser.add_argument("--pupils", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", choices=["queue", "sync"], default=None)
    parser.add_argument("--profile", action="store_true",
                        help="after timing the queue, print where its requests spend their time (cProfile)")
    return parser.parse_args(args)


def _ladders(school_ids: list[int]) -> None:
    from attendance_portal.models import School
    from interventions.ladders import NATIONAL
    from interventions.services import ladder_create

    spec = dict(NATIONAL)
    stages, name = spec.pop("stages"), spec.pop("name")
    with scopes_disabled():
        for school in School.objects.filter(pk__in=school_ids):
            ladder_create(school=school, name=name, effective_from=stats.YEAR_START, stages=stages, **spec)


def _sync_all(school_ids: list[int], on: dt.date) -> tuple[float, int, int]:
    from attendance_portal.models import School
    from interventions.services import cases_sync

    started = time.perf_counter()
    changes = opened = 0
    with scopes_disabled():
        schools = list(School.objects.filter(pk__in=school_ids))
    for school in schools:
        with scope(school=school):
            result = cases_sync(school=school, on=on)
        changes += result.changes
        opened += result.opened
    return time.perf_counter() - started, changes, opened


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * pct // 100) - 1)]  # type: ignore[call-overload]


def _open_exactly(school_id: int, target: int, on: dt.date) -> int:
    """Leave exactly `target` cases open in the school: open more by hand (as an officer may), or set the
    rest aside as closed. The nightly opens as many as the synthetic registers call for."""
    from attendance_portal.models import School
    from interventions.models import Case
    from interventions.selectors import ladder_for, ladder_stages
    from registers.models import Enrolment

    with scopes_disabled():
        school = School.objects.get(pk=school_id)
    with scope(school=school):
        cases = Case.objects.filter(school=school)
        cases.filter(opened_reason="set aside").update(status=Case.Status.OPEN, outcome="", closed_on=None)
        open_ids = list(cases.exclude(status=Case.Status.CLOSED).order_by("pk").values_list("pk", flat=True))
        cases.filter(pk__in=open_ids[target:]).update(status=Case.Status.CLOSED, outcome=Case.Outcome.OTHER,
                                                       closed_on=on, opened_reason="set aside")
        stages = ladder_stages(ladder=ladder_for(school=school, day=on))
        taken = cases.values("enrolment_id")
        free = list(Enrolment.objects.filter(school=school).exclude(pk__in=taken).order_by("pk")
                    .values_list("pk", "pupil_id")[: max(0, target - len(open_ids))])
        Case.objects.bulk_create([
            Case(school=school, enrolment_id=e, pupil_id=p, stage=stages[n % len(stages)], opened_reason="bench",
                 opened_on=on, stage_since=on, next_due=on - dt.timedelta(days=n % 10), next_action="Review")
            for n, (e, p) in enumerate(free)])
        return cases.exclude(status=Case.Status.CLOSED).count()


def _client(school_id: int):  # type: ignore[no-untyped-def]
    from accounts.demo import client_signed_in
    from attendance_portal.models import Membership, School, User
    from attendance_portal.roles import Role

    with scopes_disabled():
        school = School.objects.get(pk=school_id)
    user, _ = User.objects.get_or_create(username=f"bench-officer-{school_id}")
    Membership.objects.get_or_create(user=user, school=school, role=Role.ATTENDANCE_OFFICER)
    client = Client(HTTP_HOST="localhost")
    client_signed_in(client, user)
    return client, reverse("interventions:queue", args=[school.slug])


def _profile_queue(school_id: int, requests: int = 10) -> None:
    """cProfile over `requests` queue requests: the functions with the most time of their own, and the most
    time under them."""
    import cProfile
    import io
    import pstats

    client, url = _client(school_id)
    client.get(url)
    connection.force_debug_cursor = True
    reset_queries()
    client.get(url)
    connection.force_debug_cursor = False
    print(f"    the statements of one request, slowest first ({len(connection.queries)}):")
    for query in sorted(connection.queries, key=lambda q: -float(q["time"]))[:8]:
        print(f"      {float(query['time']) * 1000:6.1f} ms  {' '.join(query['sql'].split())[:110]}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        client.get(url)
    profiler.disable()
    for order, count in (("tottime", 20), ("cumulative", int(os.environ.get("PROFILE_LINES", "30")))):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(count)
        print(f"    profile of {requests} requests by {order}:")
        print("\n".join("      " + line for line in out.getvalue().splitlines()[6:] if line.strip()), flush=True)


def _time_queue(school_id: int, requests: int) -> tuple[float, float, int]:
    client, url = _client(school_id)
    timings, queries, sql_ms = [], [], []
    for n in range(requests + 2):
        connection.force_debug_cursor = True
        reset_queries()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        queries.append(len(connection.queries))
        sql_ms.append(sum(float(q["time"]) for q in connection.queries) * 1000)
        connection.force_debug_cursor = False
        if response.status_code != 200:
            raise SystemExit(f"queue page failed with HTTP {response.status_code}")
        if n >= 2:  # the first requests warm the caches
            timings.append(elapsed)
    if len(set(queries[2:])) != 1:
        raise SystemExit(f"the queue's statement count varies between identical requests: {set(queries)}")
    print(f"    of which SQL: median {statistics.median(sql_ms[2:]):.0f} ms", flush=True)
    return statistics.median(timings), _percentile(timings, 95), queries[-1]


def _queue(requests: int, workers: int, profile: bool = False) -> None:
    saved = stats.PUPILS_PER_SCHOOL
    stats.PUPILS_PER_SCHOOL = QUEUE_PUPILS  # one school of 1,500
    try:
        with stats._bench_database(keep=False):
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
            school_ids = stats._load(QUEUE_PUPILS)
            _ladders(school_ids)
            on = stats.LAST_DAY - dt.timedelta(days=1)
            stats._run_all(school_ids, full=True, on=on, workers=workers)
            _sync_all(school_ids, on)
            figures = []
            for target in (100, 300):
                cases = _open_exactly(school_ids[0], target, on)
                median, p95, count = _time_queue(school_ids[0], requests)
                figures.append((cases, median, p95, count))
                print(f"  officer queue, {QUEUE_PUPILS} pupils, {cases} open cases: median {median:.0f} ms, "
                      f"p95 {p95:.0f} ms, {count} SQL statements per request", flush=True)
            same = figures[0][3] == figures[1][3]
            print(f"  statements per request {'do not grow' if same else 'GROW'} with the number of cases "
                  f"({figures[0][3]} at {figures[0][0]}, {figures[1][3]} at {figures[1][0]})", flush=True)
            if profile:
                _profile_queue(school_ids[0])
    finally:
        stats.PUPILS_PER_SCHOOL = saved


def _sync(pupils: int, workers: int) -> None:
    results: dict[str, float] = {}
    with stats._bench_database(keep=False):
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        school_ids = stats._load(pupils)
        _ladders(school_ids)
        with stats._timer("statistics: full rebuild", results):
            stats._run_all(school_ids, full=True, on=stats.LAST_DAY - dt.timedelta(days=1), workers=workers)
        first, changes, opened = _sync_all(school_ids, stats.LAST_DAY - dt.timedelta(days=1))
        print(f"  first case sync (every signal of the year is new): {first:.2f} s, {changes:,} concerns, "
              f"{opened:,} cases opened", flush=True)
        stats._write_day(school_ids, stats.LAST_DAY, results)
        stats._settle()
        with stats._timer("statistics: incremental nightly (one school day)", results):
            stats._run_all(school_ids, full=False, on=stats.LAST_DAY, workers=workers)
        seconds, changes, opened = _sync_all(school_ids, stats.LAST_DAY)
        again, repeat, _ = _sync_all(school_ids, stats.LAST_DAY)
    full = results["statistics: full rebuild"]
    nightly = results["statistics: incremental nightly (one school day)"]
    print(f"  nightly case sync after one school day, {pupils:,} pupils in {len(school_ids)} schools: "
          f"{seconds:.2f} s for {changes:,} changed concerns ({opened} cases opened)")
    print(f"    = {100 * seconds / full:.2f} % of the full statistics rebuild ({full:.2f} s), "
          f"{100 * seconds / nightly:.1f} % of that night's statistics run ({nightly:.2f} s)")
    print(f"  the same sync again (a redelivered task): {again:.3f} s, {repeat} changes")


def run(args: list[str]) -> None:
    options = _parse(args)
    if options.only in (None, "queue"):
        print("officer queue", flush=True)
        _queue(options.requests, options.workers, options.profile)
    if options.only in (None, "sync"):
        print("nightly case sync", flush=True)
        _sync(options.pupils, options.workers)
