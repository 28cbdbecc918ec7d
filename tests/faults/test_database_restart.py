"""PostgreSQL restarted while registers are being saved.

Writers save registers through the register view without pause, as teachers do at 08:50, and retry a save
that gets "try again" as the page tells them to. Half way the database goes away: under `make faults` with the
embedded server, a real restart (`pg_ctl stop -m fast`, a pause, then start again); in the test suite, where
other test processes share the server, every connection of this test's database is terminated and new ones
are refused for the pause, which is what the application sees of a restart.

It must show: every answer is a saved register or the 503 "try again" page (never a server error), the
service saves again by itself within 10 seconds of the database being back, and no register is half-written:
each has all 30 marks or none, and each mark was written once.
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import threading
import time
from typing import Any
from unittest import mock

import pytest
from django.db import close_old_connections, connection, connections
from django_scopes import scopes_disabled

from registers.models import Mark, MarkEvent
from tests.registers.conftest import make_class

from . import FULL, say, scale

pytestmark = pytest.mark.django_db(transaction=True)
PUPILS = 30
RECOVERY_SECONDS = 10


def _registers(count: int) -> list[tuple[dt.date, str]]:
    """The first `count` registers of the test calendar's first half-term (3 September to 24 October 2025)."""
    out, day = [], dt.date(2025, 9, 8)
    while len(out) < count and day <= dt.date(2025, 10, 24):
        if day.weekday() < 5:
            out += [(day, "AM"), (day, "PM")]
        day += dt.timedelta(days=1)
    assert len(out) >= count, "the half-term has fewer registers than the scenario needs"
    return out[:count]


class _Writer(threading.Thread):
    """A teacher saving register after register, saving again after "try again"."""

    def __init__(self, client: Any, todo: queue.Queue, url: Any, pupils: list[Any], log: list[tuple]) -> None:
        super().__init__(daemon=True)
        self.client, self.todo, self.url, self.pupils, self.log = client, todo, url, pupils, log

    def run(self) -> None:
        try:
            while True:
                try:
                    day, session = self.todo.get_nowait()
                except queue.Empty:
                    return
                present = "/" if session == "AM" else "\\"
                data = {}
                for p in self.pupils:
                    data.update({f"code_{p.pk}": present, f"minutes_{p.pk}": "", f"note_{p.pk}": "",
                                 f"version_{p.pk}": ""})
                while True:
                    # What the server's request handler does before each request (the test client leaves
                    # it out): drop a connection that broke or is too old, so the request opens a new one.
                    close_old_connections()
                    response = self.client.post(self.url(day, session), data, HTTP_HX_REQUEST="true")
                    body = response.content.decode()
                    self.log.append((time.monotonic(), response.status_code, "Traceback" in body,
                                     "Register saved" in body))
                    if response.status_code != 503:
                        break
                    time.sleep(0.5)
        finally:
            connection.close()


def _pg_ctl(pgdata: str, *args: str) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(list(args), pgdata=pgdata, user="pgserver" if os.getuid() == 0 else None, timeout=60)


def test_postgresql_restarted_during_marking_answers_try_again_recovers_and_half_writes_nothing(world, client_as):
    group, pupils = make_class(world.school, PUPILS)
    registers = _registers(scale(24, 60))
    pause = scale(2, 8)
    pgdata = os.environ.get("EMBEDDED_PGDATA", "")
    real_restart = FULL and bool(pgdata)

    def url(day: dt.date, session: str) -> str:
        return f"/s/{world.school.slug}/registers/{group.pk}/{day.isoformat()}/{session}/"

    todo: queue.Queue = queue.Queue()
    for r in registers:
        todo.put(r)
    log: list[tuple] = []
    writers = []
    for _ in range(scale(2, 4)):
        client = client_as(world.users["office_staff"])
        client.raise_request_exception = False  # a server error is answered as the server would answer it
        writers.append(_Writer(client, todo, url, pupils, log))
    for w in writers:
        w.start()
    while sum(1 for _, status, _, _ in log if status == 200) < len(registers) // 4:
        time.sleep(0.05)

    database = connections["default"]
    if real_restart:
        down_at = time.monotonic()
        _pg_ctl(pgdata, "stop", "-m", "fast", "-w")
        time.sleep(pause)
        _pg_ctl(pgdata, "restart", "-w")  # starts the stopped server again with its own options
        how = f"real restart of the embedded server (pg_ctl stop -m fast, {pause} s down, start)"
    else:
        backend = type(database)
        real_params = backend.get_connection_params

        def unreachable(self: Any) -> dict:
            return {**real_params(self), "host": "/nonexistent-socket-directory", "port": 1}

        with mock.patch.object(backend, "get_connection_params", unreachable):
            down_at = time.monotonic()
            with database.cursor() as cursor:  # every other connection to this test's database dies
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            database.close()
            time.sleep(pause)
        how = f"every connection terminated and new ones refused for {pause} s"
    back_at = time.monotonic()
    for w in writers:
        w.join(timeout=300)
    assert not any(w.is_alive() for w in writers), "a writer never finished"
    database.close()

    statuses = [status for _, status, _, _ in log]
    assert set(statuses) <= {200, 503}, f"answers other than saved or try again: {sorted(set(statuses))}"
    assert not any(traceback for _, _, traceback, _ in log)
    assert all(saved for _, status, _, saved in log if status == 200)
    refused = statuses.count(503)
    assert refused > 0, "no save met the outage: the scenario tested nothing"
    first_after = min(at for at, status, _, _ in log if status == 200 and at > back_at)
    recovered = first_after - back_at
    assert recovered <= RECOVERY_SECONDS, f"first save {recovered:.1f} s after the database was back"
    with scopes_disabled():
        per_register = {}
        for m in Mark.objects.filter(school=world.school).values("date", "session"):
            key = (m["date"], m["session"])
            per_register[key] = per_register.get(key, 0) + 1
        events = MarkEvent.objects.filter(school_id=world.school.pk).count()
    assert per_register == dict.fromkeys(registers, PUPILS), "a register was half-written or lost"
    assert events == len(registers) * PUPILS, "a mark was written more than once"
    say(f"database restart during marking ({how}): {len(statuses)} saves answered, {refused} with 503 "
        f"'try again' and none with a server error; saving again {recovered:.1f} s after the database was back "
        f"(at most {RECOVERY_SECONDS} s); {len(registers)} registers each hold all {PUPILS} marks, each written "
        f"once, {time.monotonic() - down_at:.0f} s from the outage to the last save")
