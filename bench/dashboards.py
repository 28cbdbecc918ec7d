"""`python -m bench dashboards [--pupils N] [--requests R]`: governor and trust dashboards at trust scale.

Loads the statistics bench's synthetic trust (default 50,000 pupils in 50 schools, a year of marks) into a
throw-away database, builds the summaries, imports DfE's published file for benchmarks, then requests
through the real views (middleware, view, disclosure, charts, template; in-process Client):

* the trust dashboard (`/t/<trust>/dashboard/`) — target p95 <= 150 ms for 50 schools;
* a governor dashboard (`/s/<school>/governors/`) — target p95 <= 100 ms;

with the SQL statements per request, and the trust dashboard again over a tenth of the schools, to show
that the statement count does not grow with the number of schools.

Figures are kept per school until its marks or pupils change (`reporting.dashboard_cache`), so each
dashboard is also timed on its first request after every school changed (everything computed) and after
one school changed (that school computed), which is what a trust officer meets during the school day.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import gc
import io
import pstats
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from bench.stats import LAST_DAY, _bench_database, _load

ON = LAST_DAY - dt.timedelta(days=1)


def _parse(args: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench dashboards")
    parser.add_argument("--pupils", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--profile", action="store_true", help="print where the trust page's time goes (cProfile)")
    return parser.parse_args(args)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _changed(school_ids: list[int]) -> None:
    from reporting.dashboard_cache import summaries_changed

    for school_id in school_ids:
        summaries_changed(school_id=school_id)


def _first(client: Client, url: str, changed: list[int]) -> tuple[float, int]:
    """One request after the schools in `changed` changed: milliseconds and statements."""
    _changed(changed)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        response = client.get(url)
        took = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (url, response.status_code)  # noqa: S101
    return took, len(queries.captured_queries)


def _time(client: Client, url: str, requests: int, *, profile: bool = False) -> tuple[float, float, int]:
    client.get(url)  # warm
    # The set-up left millions of objects in this process (a web worker has none of them): out of the
    # cyclic collector's way, or its full passes over them land in the requests timed.
    gc.collect()
    gc.freeze()
    timings = []
    profiler = cProfile.Profile() if profile else None
    for _ in range(requests):
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        response = client.get(url)
        if profiler is not None:
            profiler.disable()
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)  # noqa: S101
    if profiler is not None:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(45)
        stats.sort_stats("tottime").print_stats(25)
        print(out.getvalue(), flush=True)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return _percentile(timings, 50), _percentile(timings, 95), len(queries.captured_queries)


def run(args: list[str]) -> None:
    import time_machine

    from accounts.demo import client_signed_in
    from attendance_portal.models import Membership, School, Trust, User
    from attendance_portal.roles import Role
    from registers.calendar import calendar_for
    from reporting.summaries import summaries_rebuild

    options = _parse(args)
    with _bench_database(keep=options.keep):
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        school_ids = _load(options.pupils)
        with connection.cursor() as cursor:  # the statistics bench's pupils have no sex recorded
            cursor.execute("UPDATE registers_pupil SET sex = CASE WHEN id % 2 = 0 THEN 'F' ELSE 'M' END")
        with scopes_disabled():
            schools = list(School.objects.filter(pk__in=school_ids))
            for n, school in enumerate(schools):
                school.local_authority = ["Tower Hamlets", "Walsall", "Bexley", "Bracknell Forest"][n % 4]
                school.save(update_fields=["local_authority"])
                with transaction.atomic():
                    summaries_rebuild(school=school, calendar=calendar_for(school=school))
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE reporting_attendancesummary")
        call_command("import_dfe_attendance", str(Path(settings.SHARED_DIR) / "data" / "dfe" /
                                                  "attendance-ytd-2025-26.csv"), stdout=open("/dev/null", "w"))  # noqa: SIM115
        print(f"  set up in {time.perf_counter() - started:.0f} s", flush=True)
        trust = Trust.objects.get(slug="bench-trust")
        officer = User.objects.create(username="bench-officer")
        Membership.objects.create(user=officer, trust=trust, role=Role.TRUST_OFFICER)
        governor = User.objects.create(username="bench-governor")
        Membership.objects.create(user=governor, school=schools[0], role=Role.GOVERNOR)
        with time_machine.travel(dt.datetime.combine(ON, dt.time(12), tzinfo=dt.UTC), tick=True):
            client = Client(HTTP_HOST="localhost")
            client_signed_in(client, officer)
            settings.DEBUG = False
            reset_queries()
            big = len(schools)
            url = f"/t/{trust.slug}/dashboard/"
            for label, changed in ((f"all {big} schools", school_ids), ("one school", school_ids[:1])):
                took, statements = _first(client, url, changed)
                print(f"  trust dashboard, first request after {label} changed: {took:.0f} ms, "
                      f"{statements} SQL statements", flush=True)
            p50, p95, statements = _time(client, url, options.requests, profile=options.profile)
            print(f"  trust dashboard, {big} schools, {options.pupils * big // len(schools):,} pupils: "
                  f"p50 {p50:.0f} ms, p95 {p95:.0f} ms (target <= 150 ms), {statements} SQL statements", flush=True)
            # A tenth of the schools moved to a trust of their own: the same statements for fewer schools.
            small = Trust.objects.create(name="Bench small trust", slug="bench-small")
            few = schools[-max(1, len(schools) // 10):]
            School.objects.filter(pk__in=[s.pk for s in few]).update(trust=small)
            Membership.objects.create(user=officer, trust=small, role=Role.TRUST_OFFICER)
            p50, p95, small_statements = _time(client, f"/t/{small.slug}/dashboard/", options.requests)
            print(f"  trust dashboard, {len(few)} schools: p50 {p50:.0f} ms, p95 {p95:.0f} ms, "
                  f"{small_statements} SQL statements (the same count: statements do not grow with schools)",
                  flush=True)
            client_signed_in(client, governor)
            url = f"/s/{schools[0].slug}/governors/"
            took, statements = _first(client, url, [schools[0].pk])
            print(f"  governor dashboard, first request after the school changed: {took:.0f} ms, "
                  f"{statements} SQL statements", flush=True)
            p50, p95, statements = _time(client, url, options.requests, profile=options.profile)
            print(f"  governor dashboard, one school of {options.pupils // len(schools):,} pupils: p50 {p50:.0f} ms, "
                  f"p95 {p95:.0f} ms (target <= 100 ms), {statements} SQL statements", flush=True)
