"""The connection health check is made only after a quiet second (attendance_portal.pgbackend): a connection
that has just answered is taken as alive, and one that died within that second costs one request the "try
again" page and is then replaced."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import InterfaceError, OperationalError, connection

from attendance_portal.pgbackend.base import RECENTLY

pytestmark = pytest.mark.django_db(transaction=True)


def _select_one() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone()[0]


def _request_starts() -> None:
    """What Django does as each request starts and ends: drop a broken or old connection, check afresh."""
    connection.close_if_unusable_or_obsolete()
    connection.health_check_done = False


def test_the_check_is_skipped_just_after_an_answer_and_made_after_a_quiet_second(monkeypatch):
    asked = []
    usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: asked.append(1) or usable())
    _select_one()
    connection.health_check_enabled = True
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert asked == []  # it answered a moment ago
    connection._answered_at -= RECENTLY
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    assert asked == [1]


def test_a_connection_that_died_within_the_second_fails_one_request_and_is_replaced():
    assert _select_one() == 1
    pid = connection.connection.get_backend_pid()
    other = psycopg2.connect(**connection.get_connection_params())
    other.autocommit = True
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    other.close()
    connection.health_check_enabled = True
    connection.health_check_done = False
    with pytest.raises((OperationalError, InterfaceError)):
        _select_one()  # the one request that finds it dead (the "try again" page)
    _request_starts()
    assert _select_one() == 1
    assert connection.connection.get_backend_pid() != pid
