"""Register benchmarks: saving a 30-pupil register through the real view, and the load_school import rate.

Runs against DATABASE_URL (the local settings). Everything it makes lives in its own school with a
unique slug (bench-<timestamp>), so the demo data is never touched; marks cannot be deleted (the
register is a legal record), so bench schools stay behind and can be ignored.

    python -m bench registers                 both figures
    python -m bench registers --marks=20000   a smaller import
    python -m bench registers --saves=20      fewer register saves
    python -m bench registers --profile=open  where the time of opening the page goes (or =save);
                                              BENCH_SORT=cumulative BENCH_LINES=80 to order and size it
"""

from __future__ import annotations

import cProfile
import datetime as dt
import io
import json
import math
import os
import pstats
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.core.management import call_command
from django.db import connection, reset_queries
from django.test import Client
from django.urls import reverse
from django_scopes import scope

from attendance_portal.models import Membership, School, User
from attendance_portal.roles import Role
from registers.models import (
    YEAR_GROUPS,
    AcademicYear,
    Closure,
    Enrolment,
    Mark,
    Pupil,
    RegistrationGroup,
    SessionTimes,
    Term,
)
from registers.upn import upn_make

YEAR_START = dt.date(2025, 9, 1)
HALF_TERMS = [
    ("Autumn 1", dt.date(2025, 9, 3), dt.date(2025, 10, 24)),
    ("Autumn 2", dt.date(2025, 11, 3), dt.date(2025, 12, 19)),
    ("Spring 1", dt.date(2026, 1, 5), dt.date(2026, 2, 13)),
    ("Spring 2", dt.date(2026, 2, 23), dt.date(2026, 3, 27)),
    ("Summer 1", dt.date(2026, 4, 13), dt.date(2026, 5, 22)),
    ("Summer 2", dt.date(2026, 6, 1), dt.date(2026, 7, 21)),
]
INSET = dt.date(2025, 11, 14)
CLASS_SIZE = 30
# A register is posted as browsers and htmx post a form (the test client's default would be multipart).
FORM = "application/x-www-form-urlencoded"


def _option(args: list[str], name: str, default: int) -> int:
    for arg in args:
        if arg.startswith(f"--{name}="):
            return int(arg.split("=", 1)[1])
    return default


def _slug(kind: str) -> str:
    return f"bench-{kind}-{dt.datetime.now(dt.UTC):%Y%m%d%H%M%S%f}"


def _school_days() -> list[dt.date]:
    days = []
    for _, start, end in HALF_TERMS:
        day = start
        while day <= end:
            if day.weekday() < 5 and day != INSET:
                days.append(day)
            day += dt.timedelta(days=1)
    return days


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[rank]


# --------------------------------------------------------------------------- (a) register save


def _register_school() -> tuple[School, RegistrationGroup, list[Pupil], User]:
    school = School.objects.create(name="Bench Register School", slug=_slug("register"))
    with scope(school=school):
        year = AcademicYear.objects.create(school=school, name="2025/26", start=YEAR_START,
                                           end=dt.date(2026, 8, 31))
        for name, start, end in HALF_TERMS:
            Term.objects.create(school=school, academic_year=year, name=name, season=Term.season_for(name, start),
                                start=start, end=end)
        Closure.objects.create(school=school, date=INSET, session="BOTH", reason="INSET day")
        for yg in YEAR_GROUPS:
            SessionTimes.objects.create(school=school, year_group=yg, am_open=dt.time(8, 45),
                                        am_close=dt.time(9, 0), pm_open=dt.time(13, 15), pm_close=dt.time(13, 30))
        group = RegistrationGroup.objects.create(school=school, name="5B", year_group="5")
        pupils = Pupil.objects.bulk_create([
            Pupil(school=school, upn=upn_make(881, 9000, 20, n), forename=f"Pupil{n}", surname="Bench",
                  date_of_birth=dt.date(2015, 3, 1), year_group="5", registration_group=group)
            for n in range(1, CLASS_SIZE + 1)
        ])
        Enrolment.objects.bulk_create([
            Enrolment(school=school, pupil=p, admission_date=dt.date(2024, 9, 1)) for p in pupils
        ])
    user = User.objects.create_user(username=f"{school.slug}-office", first_name="Bench", last_name="Office",
                                    position="Office manager")
    Membership.objects.create(user=user, school=school, role=Role.OFFICE_STAFF)
    return school, group, pupils, user


def _post_data(pupils: list[Pupil]) -> dict[str, str]:
    """A register as a teacher sends it: mostly present, a few late (with minutes) and a few absent."""
    data = {"reason": ""}
    for i, p in enumerate(pupils):
        code = "L" if i % 10 == 3 else ("N" if i % 15 == 7 else "/")
        data[f"code_{p.pk}"] = code
        data[f"minutes_{p.pk}"] = "7" if code == "L" else ""
        data[f"note_{p.pk}"] = ""
        data[f"version_{p.pk}"] = ""
    return data


def _timed(client: Client, method: str, url: str, *, profile: cProfile.Profile | None = None,
           **kwargs: Any) -> tuple[float, int, int]:
    """One request through the whole stack: milliseconds, SQL statements, bytes of response."""
    connection.force_debug_cursor = True
    reset_queries()
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    response = getattr(client, method)(url, **kwargs)
    if profile is not None:
        profile.disable()
    elapsed = (time.perf_counter() - started) * 1000
    statements = len(connection.queries)
    connection.force_debug_cursor = False
    if response.status_code not in (200, 302):
        raise SystemExit(f"{method.upper()} {url} failed with HTTP {response.status_code}")
    return elapsed, statements, len(response.content)


def _report(label: str, runs: list[tuple[float, int, int]]) -> None:
    timings = [r[0] for r in runs]
    queries = [r[1] for r in runs]
    sizes = [r[2] for r in runs]
    print(f"{label}: median {statistics.median(timings):.0f} ms, p95 {_percentile(timings, 95):.0f} ms "
          f"over {len(runs)}; SQL {min(queries)}–{max(queries)}; response {statistics.median(sizes) / 1024:.1f} KB")


def _bench_register_save(saves: int, *, profile: str = "") -> None:
    """Three requests of the 08:50 peak, in-process through middleware and view: a teacher opens the
    register, saves it as the page does (htmx: the answer updates the open page), and the same save as a
    plain form (no JavaScript: a redirect). Each save is a fresh day, so all 30 marks are new."""
    from accounts.demo import client_signed_in

    school, group, pupils, user = _register_school()
    days = _school_days()[: 2 * saves]
    client = Client(HTTP_HOST="localhost")
    client_signed_in(client, user)
    profiler = cProfile.Profile() if profile else None  # --profile=open or --profile=save
    opened, htmx, plain = [], [], []
    for n, day in enumerate(days):
        url = reverse("registers:register", kwargs={"school_slug": school.slug, "group_id": group.pk,
                                                   "date": day.isoformat(), "session": "AM"})
        opened.append(_timed(client, "get", url, profile=profiler if profile == "open" else None))
        if n < saves:
            htmx.append(_timed(client, "post", url, data=urlencode(_post_data(pupils)), content_type=FORM,
                               HTTP_HX_REQUEST="true", profile=profiler if profile == "save" else None))
        else:
            plain.append(_timed(client, "post", url, data=urlencode(_post_data(pupils)), content_type=FORM))
    with scope(school=school):
        saved = Mark.objects.filter(school=school).count()
    if saved != CLASS_SIZE * len(days):
        raise SystemExit(f"expected {CLASS_SIZE * len(days)} marks after the saves, found {saved}")
    print(f"register ({CLASS_SIZE} pupils), in-process Client through middleware and view:")
    _report("  open the register page", opened)
    _report("  save as the page does (htmx)", htmx)
    _report("  save as a plain form (redirect)", plain)
    print(f"  every mark saved is stored: {saved} marks; bench school: {school.slug}")
    if profiler is not None:
        out = io.StringIO()
        order, lines = os.environ.get("BENCH_SORT", "tottime"), int(os.environ.get("BENCH_LINES", "30"))
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(lines)
        print(out.getvalue())


# --------------------------------------------------------------------------- (b) import rate


def generate_school_files(directory: Path, *, slug: str, marks: int, seed: int = 2025) -> dict[str, int]:
    """Write school.json, pupils.csv and marks.csv for a school with exactly `marks` marks."""
    rng = random.Random(seed)
    days = _school_days()
    sessions = [(d, s) for d in days for s in ("AM", "PM")]
    pupils_needed = math.ceil(marks / len(sessions))
    school = {
        "school": {"name": "Bench Import School", "slug": slug, "urn": "999999", "phase": "primary",
                   "local_authority": "Bench"},
        "session_times": [{"year_groups": ["1", "2", "3", "4", "5", "6"], "am": ["08:45", "09:00"],
                           "pm": ["13:15", "13:30"]}],
        "academic_years": [{
            "start": YEAR_START.isoformat(), "end": "2026-08-31",
            "terms": [{"name": n, "start": s.isoformat(), "end": e.isoformat()} for n, s, e in HALF_TERMS],
            "closures": [{"date": INSET.isoformat(), "session": "BOTH", "reason": "INSET day"}],
        }],
    }
    (directory / "school.json").write_text(json.dumps(school, indent=2))
    upns = [upn_make(881, 9100 + n // 1000, 20, n % 1000) for n in range(pupils_needed)]
    with (directory / "pupils.csv").open("w") as out:
        out.write("upn,forename,surname,date_of_birth,year_group,registration_group,admission_date,leaving_date,"
                  "sen,fsm,eal,cla,cin\n")
        for n, upn in enumerate(upns):
            year = 1 + n % 6
            out.write(f"{upn},Pupil{n},Bench,{2019 - year}-05-01,{year},{year}{'ABC'[n % 3]},2024-09-01,,"
                      f"{'NNNK'[n % 4]},{'NY'[n % 5 == 0]},N,N,N\n")
    weights = [("/", 88), ("L", 3), ("I", 4), ("M", 1), ("N", 1), ("O", 1), ("U", 1), ("G", 1)]
    pool = [code for code, w in weights for _ in range(w)]
    written = 0
    with (directory / "marks.csv").open("w") as out:
        out.write("upn,date,session,code,minutes_late\n")
        for upn in upns:
            for day, session in sessions:
                if written == marks:
                    break
                code = rng.choice(pool)
                if code == "/" and session == "PM":
                    code = "\\"
                minutes = str(rng.randint(1, 40)) if code in ("L", "U") else ""
                out.write(f"{upn},{day.isoformat()},{session},{code},{minutes}\n")
                written += 1
    return {"pupils": len(upns), "marks": written, "sessions": len(sessions)}


def _bench_import(marks: int) -> None:
    slug = _slug("import")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        directory = Path(tmp)
        sizes = generate_school_files(directory, slug=slug, marks=marks)
        out, err = io.StringIO(), io.StringIO()
        started = time.perf_counter()
        call_command("load_school", str(directory), stdout=out, stderr=err)
        elapsed = time.perf_counter() - started
        again = time.perf_counter()
        out2 = io.StringIO()
        call_command("load_school", str(directory), stdout=out2, stderr=err)
        elapsed_again = time.perf_counter() - again
    school = School.objects.get(slug=slug)
    with scope(school=school):
        stored = Mark.objects.filter(school=school).count()
    if stored != sizes["marks"]:
        raise SystemExit(f"expected {sizes['marks']} marks imported, found {stored}")
    print(f"load_school import: {sizes['marks']:,} marks ({sizes['pupils']} pupils) in {elapsed:.1f} s = "
          f"{sizes['marks'] / elapsed:,.0f} marks/second")
    print(f"  re-import of the same files (no-op): {elapsed_again:.1f} s")
    print(f"  bench school: {slug}")


def run(args: list[str]) -> None:
    saves = _option(args, "saves", 50)
    marks = _option(args, "marks", 100_000)
    profile = next((a.split("=", 1)[1] for a in args if a.startswith("--profile=")), "")
    _bench_register_save(saves, profile=profile)
    _bench_import(marks)
