"""The load test's figures: per kind of request, marks, the database, the nightly run and the count check."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from attendance_portal.devstack import BASE_DIR

from .cpu import REFERENCE

# Which kind of request a path is, for the server-side times in gunicorn's access log.
KINDS = [
    ("POST", re.compile(r"^/s/[^/]+/registers/\d+/\d{4}-\d\d-\d\d/(AM|PM)/$"), "register: save"),
    ("GET", re.compile(r"^/s/[^/]+/registers/\d+/\d{4}-\d\d-\d\d/(AM|PM)/$"), "register: open"),
    ("GET", re.compile(r"^/s/[^/]+/registers/board/$"), "board: poll"),
    ("GET", re.compile(r"^/s/[^/]+/registers/late/$"), "late: open"),
    ("POST", re.compile(r"^/s/[^/]+/registers/late/$"), "late: sign in"),
    ("GET", re.compile(r"^/parent/report/$"), "parent: open report"),
    ("POST", re.compile(r"^/parent/report/$"), "parent: report absence"),
    ("GET", re.compile(r"^/s/[^/]+/casework/$"), "casework: queue"),
]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))]


def server_times(access_log: Path, skip: int = 0) -> dict[str, list[float]]:
    """Milliseconds each request spent in gunicorn (from accepting it to the last byte), by kind; the first
    `skip` lines (the warm-up before the load) are left out."""
    found: dict[str, list[float]] = {}
    if not access_log.exists():
        return found
    for line in access_log.read_text().splitlines()[skip:]:
        parts = line.split()
        if len(parts) != 4:
            continue
        method, path, status, micros = parts
        kind = next((k for m, rx, k in KINDS if m == method and rx.match(path)), f"other {method}")
        found.setdefault(kind, []).append(int(micros) / 1000)
        if not status.startswith(("2", "3")):
            found.setdefault(f"{kind} (HTTP {status})", []).append(int(micros) / 1000)
    return found


def statements_reset(owner: str) -> bool:
    """True when pg_stat_statements is loaded and readable; its counters are reset for the run."""
    import psycopg2

    conn = psycopg2.connect(owner)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
            if cursor.fetchone() is None:
                cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            cursor.execute("SELECT pg_stat_statements_reset()")
        return True
    except psycopg2.Error:
        return False
    finally:
        conn.close()


def checkpoint(url: str) -> str:
    """A checkpoint after the population is loaded, as the night before a real morning has written its bulk
    work out: otherwise the load's WAL forces a checkpoint in the middle of the peak. Needs a superuser or
    pg_checkpoint; says why when refused."""
    import psycopg2

    try:
        conn = psycopg2.connect(url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        conn.close()
        return "checkpoint written after loading"
    except psycopg2.Error as exc:
        return f"no checkpoint after loading ({str(exc).strip()})"


def checkpoints(url: str) -> tuple[int, int]:
    """(timed, requested) checkpoints so far on the server (pg_stat_bgwriter, PostgreSQL 16)."""
    import psycopg2

    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT checkpoints_timed, checkpoints_req FROM pg_stat_bgwriter")
        timed, requested = cursor.fetchone()
    conn.close()
    return int(timed), int(requested)


def statements_slowest(owner: str, limit: int = 8) -> list[tuple[str, int, float, float]]:
    import psycopg2

    with psycopg2.connect(owner) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT query, calls, total_exec_time, mean_exec_time FROM pg_stat_statements "
                       "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                       "ORDER BY total_exec_time DESC LIMIT %s", [limit])
        return [(" ".join(q.split())[:150], calls, total, mean) for q, calls, total, mean in cursor.fetchall()]


def nightly_run(env: dict[str, str], owner: str, timeout: float = 900) -> dict[str, Any]:
    """Fire the nightly statistics task as beat would, and wait for every school's run to finish."""
    import psycopg2

    started = time.monotonic()
    sent = subprocess.run([sys.executable, "-m", "celery", "-A", "attendance_portal", "call",
                           "reporting.stats_nightly"], cwd=BASE_DIR, env=env, check=False, capture_output=True,
                          text=True)
    if sent.returncode != 0:
        raise SystemExit(f"could not send the nightly statistics task: {(sent.stderr or sent.stdout).strip()[-800:]}")
    counts: dict[str, int] = {}
    with psycopg2.connect(owner) as conn:
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM attendance_portal_school")
            schools = cursor.fetchone()[0]
            while time.monotonic() - started < timeout:
                cursor.execute("SELECT status, count(*) FROM reporting_calculationrun GROUP BY status")
                counts = dict(cursor.fetchall())
                finished = sum(n for s, n in counts.items() if s in ("done", "skipped", "failed"))
                if finished >= schools:
                    break
                time.sleep(0.5)
    return {"seconds": time.monotonic() - started, "counts": counts, "schools": schools}


def marks_check(owner: str, day: dt.date, ledger: Path) -> tuple[int, int, list[str]]:
    """Every mark the server acknowledged is stored with the code sent (nothing lost), and every mark stored
    that day was sent by someone (nothing made up). A save cut off by the end of the test may be stored
    without its answer having arrived: it counts as sent, not acknowledged. Returns (acknowledged, stored,
    problems)."""
    import psycopg2

    sent: dict[tuple[int, str], str] = {}
    attempted: dict[tuple[int, str], str] = {}
    if ledger.exists():
        for line in ledger.read_text().splitlines():
            entry = json.loads(line)
            into = attempted if entry["kind"] == "attempt" else sent
            for pupil, code in entry["marks"]:
                into[(pupil, entry["session"])] = code
    with psycopg2.connect(owner) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT pupil_id, session, code FROM registers_mark WHERE date = %s", [day])
        stored = {(p, s): c for p, s, c in cursor.fetchall()}
    problems = []
    missing = [k for k in sent if k not in stored]
    wrong = [k for k in sent if k in stored and stored[k] not in sent[k].split("|")]
    unknown = [k for k in stored if k not in attempted]
    if missing:
        problems.append(f"{len(missing)} acknowledged marks are not in the database (e.g. {missing[:3]})")
    if wrong:
        problems.append(f"{len(wrong)} marks differ from what was acknowledged (e.g. {wrong[:3]})")
    if unknown:
        problems.append(f"{len(unknown)} marks stored that nobody sent (e.g. {unknown[:3]})")
    return len(sent), len(stored), problems


def _locust_rows(out: Path) -> list[dict[str, str]]:
    path = out / "locust_stats.csv"
    if not path.exists():
        return []
    with path.open() as handle:
        return list(csv.DictReader(handle))


def cpu_line(used: dict[str, float], *, elapsed: float, saves: int) -> str:
    """Each part's CPU over the peak, as cores busy and milliseconds per register saved, and what was left
    of the machine's cores."""
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{name} {seconds / elapsed:.2f}" + (f" ({1000 * seconds / saves:.0f} ms/save)" if saves else "")
                      for name, seconds in sorted(used.items(), key=lambda kv: -kv[1]))
    idle = cores - sum(used.values()) / elapsed
    return f"CPU during the peak, cores busy of {cores}: {parts}; not used by the stack {max(idle, 0):.2f}"


def print_all(*, out: Path, owner: str, day: dt.date, elapsed: float, sampler: Any, slow: Any,
              nightly: dict[str, Any], web_workers: int, schools: int, warmup: int,
              used: dict[str, float] | None = None, during: tuple[int, int] | None = None,
              speed: tuple[float, ...] = (), vacuum: float | None = None) -> int:
    rows = _locust_rows(out)
    server = server_times(out / "access.log", skip=warmup)
    print(f"\n== load test: {schools} schools, {elapsed:.0f}s of the 08:45 peak, gunicorn {web_workers} workers "
          f"(loopback, this machine)")
    print(f"{'request':<24}{'count':>7}{'rps':>8}{'errors':>8}   {'client p50/p95/p99 ms':<22}"
          f"{'server p50/p95/p99 ms':<22}")
    failures = 0
    for row in rows:
        name = row["Name"]
        if name == "Aggregated":
            continue
        failures += int(row["Failure Count"])
        times = server.get(name, [])
        srv = "/".join(f"{percentile(times, p):.0f}" for p in (50, 95, 99)) if times else "-"
        print(f"{name:<24}{int(row['Request Count']):>7}{float(row['Requests/s']):>8.1f}{int(row['Failure Count']):>8}"
              f"   {row['50%']}/{row['95%']}/{row['99%']:<14}{srv:<22}")
    for kind, times in sorted(server.items()):
        if "HTTP" in kind or kind.startswith("other"):
            print(f"  server side {kind}: {len(times)} requests")
    saves = next((r for r in rows if r["Name"] == "register: save"), None)
    acknowledged, stored, problems = marks_check(owner, day, out / "ledger.jsonl")
    print(f"\nregister saves: {float(saves['Requests/s']) if saves else 0:.1f}/s; marks saved: "
          f"{acknowledged:,} = {acknowledged / elapsed:,.0f} marks/s")
    if used:
        print(cpu_line(used, elapsed=elapsed, saves=int(saves["Request Count"]) if saves else 0))
        if vacuum is not None and "postgres" in used:
            print(f"  of PostgreSQL's, autovacuum workers at least {vacuum:.1f} s of {used['postgres']:.1f} s "
                  f"({vacuum / elapsed:.2f} cores): the rest is the requests' statements and the server's own work")
    if len(speed) == 2:
        print(f"machine speed: the reference workload ({REFERENCE}) took {speed[0]:.0f} ms on one core "
              f"before the peak and {speed[1]:.0f} ms after; the figures above scale with it")
    if during is not None:
        print(f"checkpoints during the peak: {sum(during)} ({during[0]} on the timer, {during[1]} asked for by "
              "the volume of WAL); a checkpoint makes the next change of every page write the whole page to WAL")
    if sampler.connections:
        print(f"database connections: max {max(sampler.connections)}, mean {statistics.mean(sampler.connections):.1f}; "
              f"statements running at once: max {max(sampler.active)}, mean {statistics.mean(sampler.active):.2f} "
              f"({sampler.samples} samples)")
    if slow:
        print("slowest statements (pg_stat_statements, total time):")
        for query, calls, total, mean in slow:
            print(f"  {total:>9.0f} ms total {calls:>7} calls {mean:>7.2f} ms mean  {query}")
    else:
        print("pg_stat_statements is not loaded on this server; statements most often seen running "
              "(pg_stat_activity sampled every 0.2 s):")
        if sampler.hidden:
            print(f"  {sampler.hidden} connection samples were hidden: the sampling role may not see the "
                  "application's statements (grant it pg_read_all_stats)")
        if not sampler.seen:
            print("  none was running at any sample")
        for query, seen in sorted(sampler.seen.items(), key=lambda kv: -kv[1])[:8]:
            print(f"  {seen:>6} samples  {query}")
    finished = nightly["counts"]
    print(f"nightly statistics for {nightly['schools']} schools: {nightly['seconds']:.1f}s "
          f"({', '.join(f'{k} {v}' for k, v in sorted(finished.items()))})")
    if problems:
        print("COUNT CHECK FAILED: " + "; ".join(problems))
        return 1
    print(f"count check: all {acknowledged:,} acknowledged marks are in the database ({stored:,} stored for the day)")
    return 1 if failures else 0
