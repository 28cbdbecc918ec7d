"""The statistics run killed half way: a real process running the school's run (`manage.py attendance_stats`)
is SIGKILLed while the run is inside its transaction (its summaries written, its signals held up by a lock
this test takes on the signals table). Nothing it did is kept, and the run done again gives exactly what an
uninterrupted full rebuild gives.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import psycopg2
import pytest
from django.conf import settings
from django.db import connection
from django_scopes import scope, scopes_disabled

from reporting.models import AttendanceSignal, CalculationRun
from reporting.services import calculation_run
from tests.conftest import add_calendar
from tests.reporting.helpers import enrol, record, school_sessions
from tests.reporting.test_runs import amend, snapshot
from tests.workers import worker_kill

from . import say, scale

pytestmark = pytest.mark.django_db(transaction=True)
PATTERNS = ["." * 60, "." * 40 + "N" * 20, "IL" * 30, "GU." * 20, "D." * 30]


def _waiting_on_lock(cursor: psycopg2.extensions.cursor, mine: int) -> list[int]:
    cursor.execute("SELECT pg_stat_clear_snapshot()")  # activity is otherwise read once per transaction
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s "
                   "AND wait_event_type = 'Lock'", [mine])
    return [row[0] for row in cursor.fetchall()]


def _stats(env: dict[str, str], slug: str) -> list[str]:
    return [sys.executable, "manage.py", "attendance_stats", "--school", slug, "--from", "2025-09-01",
            "--to", dt.date.today().isoformat()]  # noqa: DTZ011


def _kill_half_way(holder: psycopg2.extensions.connection, env: dict[str, str], slug: str) -> list[int]:
    """Start the run in a process of its own and SIGKILL it once it waits on the signals table; the
    database pids it left waiting."""
    cursor = holder.cursor()
    cursor.execute(f"LOCK TABLE {AttendanceSignal._meta.db_table} IN EXCLUSIVE MODE")  # readers go on, writers wait
    child = subprocess.Popen(_stats(env, slug), cwd=settings.BASE_DIR, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _waiting_on_lock(cursor, holder.get_backend_pid()) and time.monotonic() < deadline \
                and child.poll() is None:
            time.sleep(0.2)
        stuck = _waiting_on_lock(cursor, holder.get_backend_pid())
        assert stuck, ("the run never reached the signals", child.poll())
        return stuck
    finally:
        worker_kill(child)  # half way: summaries written inside the run's transaction, signals not yet


def test_a_stats_run_killed_half_way_keeps_nothing_and_its_rerun_equals_an_uninterrupted_run(world):
    school = world.school
    pupils = scale(5, 100)
    today = dt.date.today()  # noqa: DTZ011 - the run in its own process works as of the machine's date
    start = dt.date(today.year if today.month >= 9 else today.year - 1, 9, 1)
    with scopes_disabled():  # this school year's calendar, so the run evaluates signals as of today
        add_calendar(school, year_start=start)
        sessions = school_sessions(school, start, 60, end=today - dt.timedelta(days=1))
        for n in range(pupils):
            record(enrol(school, upn=f"K{n:011d}A"), sessions, PATTERNS[n % len(PATTERNS)])
    with scope(school=school):
        calculation_run(school=school)
    amend(school, day=sessions[20][0], code="G")  # tonight's changes: a day of marks amended
    before = snapshot(school)

    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.faults.worker_settings",
           "FAULTS_TEST_DATABASE": connection.settings_dict["NAME"]}
    holder = psycopg2.connect(**connection.get_connection_params())  # a connection of its own, as the app
    try:
        stuck = _kill_half_way(holder, env, school.slug)
    finally:
        holder.close()  # the lock goes (the test database is emptied after the test, which needs it)
    cursor = connection.cursor()
    deadline = time.monotonic() + 30
    while set(stuck) & set(_pids(cursor)) and time.monotonic() < deadline:
        time.sleep(0.2)  # the orphaned statement finds no client to commit for it
    assert snapshot(school) == before, "a killed run left part of its work behind"
    with scopes_disabled():  # the killed run is left running: what the sweeper looks for
        killed = CalculationRun.objects.filter(school=school).latest("pk")
    assert killed.status == CalculationRun.Status.RUNNING
    subprocess.run(_stats(env, school.slug), cwd=settings.BASE_DIR, env=env, check=True, capture_output=True)
    rerun = snapshot(school)
    with scope(school=school):
        calculation_run(school=school, full=True)  # as of today, like the command
    uninterrupted = snapshot(school)
    assert rerun == uninterrupted and rerun != before
    say(f"statistics run for {pupils} pupils SIGKILLed half way (summaries written, signals waiting): nothing "
        f"kept; the re-run equals an uninterrupted full run ({len(rerun[0])} summary rows, {len(rerun[1])} signals)")


def _pids(cursor: psycopg2.extensions.cursor) -> list[int]:
    cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return [row[0] for row in cursor.fetchall()]
