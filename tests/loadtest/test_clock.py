"""The load test plays the morning at 08:50 whatever time it is run: a process loading the load test's
settings with LOADTEST_CLOCK runs from that moment in the school's time and its clock ticks on; without it,
the clock is the machine's."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOW = ("import time, django\ndjango.setup()\nfrom registers.marking import local_now\n"
        "first = local_now(); time.sleep(0.3); print(first.isoformat(), local_now().isoformat())")


def _clock(clock: str | None) -> tuple[dt.datetime, dt.datetime]:
    env = {k: v for k, v in os.environ.items() if k != "LOADTEST_CLOCK"}
    env["DJANGO_SETTINGS_MODULE"] = "attendance_portal.settings.loadtest"
    if clock is not None:
        env["LOADTEST_CLOCK"] = clock
    env.setdefault("DATABASE_URL", "postgres://x@localhost:1/x")
    env.setdefault("REDIS_URL", "redis://localhost:1/0")
    out = subprocess.run([sys.executable, "-c", SHOW], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    return dt.datetime.fromisoformat(out[0]), dt.datetime.fromisoformat(out[1])


def test_the_stack_runs_from_the_scenario_mornings_clock_and_ticks():
    first, later = _clock("2026-11-27T08:50:00")
    assert first.date() == dt.date(2026, 11, 27)
    assert dt.time(8, 50) <= first.time() < dt.time(8, 51)  # the school's local time (Europe/London)
    assert dt.timedelta(seconds=0.25) <= later - first < dt.timedelta(seconds=5)


def test_without_the_setting_the_clock_is_the_machines():
    first, _ = _clock(None)
    assert abs(first - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=5)
