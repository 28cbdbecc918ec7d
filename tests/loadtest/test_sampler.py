"""The load test's sampler of pg_stat_activity: it names the statements it sees running, one line each."""

from __future__ import annotations

import threading
import time

import psycopg2
import pytest
from django.db import connection

from loadtest.__main__ import Sampler, statement_key


def test_a_statement_is_counted_without_the_settings_sent_with_it_and_without_its_values():
    sent = ("SELECT set_config('attendance.school_ids', '12', false); SELECT p.\"id\" FROM registers_pupil p "
            "WHERE p.school_id = 12 AND p.surname = 'O''Brien'")
    assert statement_key(sent) == 'SELECT p."id" FROM registers_pupil p WHERE p.school_id = ? AND p.surname = ?'
    two = ("SELECT set_config('pghistory.context_id', 'a1', true), set_config('pghistory.context_metadata', '{}', "
           "true);  INSERT INTO registers_mark (code) VALUES ('L')")
    assert statement_key(two) == "INSERT INTO registers_mark (code) VALUES (?)"
    assert statement_key("SELECT 1") == "SELECT ?"


@pytest.mark.django_db(transaction=True)
def test_the_sampler_sees_a_statement_running_on_another_connection():
    params = connection.get_connection_params()
    busy = psycopg2.connect(**params)
    sampler = Sampler(busy.dsn, params["dbname"])
    sampler.start()
    try:
        time.sleep(0.3)
        worker = threading.Thread(target=lambda: busy.cursor().execute("SELECT pg_sleep(1.2)"))
        worker.start()
        worker.join()
    finally:
        sampler.stop.set()
        sampler.join(5)
        busy.close()
    assert sampler.samples >= 3
    assert sampler.hidden == 0  # the same role sees its own connections' statements
    assert max(sampler.active) >= 1
    assert sampler.seen.get("SELECT pg_sleep(?)", 0) >= 2
