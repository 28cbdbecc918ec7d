"""Reads prepared once per database session (attendance_portal.tenancy.Prepared, pgbackend's `prepare`)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from attendance_portal.tenancy import Prepared, school_rows
from tests import factories as f

PUPILS = Prepared("test_pupils_named", "SELECT p.surname FROM registers_pupil p "
                                       "WHERE p.school_id = %(school)s AND p.surname LIKE %(start)s || '%%' "
                                       "AND p.school_id = %(school)s ORDER BY p.surname")


def test_parameters_are_numbered_in_order_of_first_use_and_percent_signs_kept():
    assert PUPILS.order == ("school", "start")
    assert PUPILS.text == ("SELECT p.surname FROM registers_pupil p WHERE p.school_id = $1 "
                           "AND p.surname LIKE $2 || '%' AND p.school_id = $1 ORDER BY p.surname")


def test_a_name_is_given_to_one_read_only():
    with pytest.raises(ValueError, match="name of its own"):
        Prepared("test_pupils_named", "SELECT 1")
    with pytest.raises(ValueError, match="name of its own"):
        Prepared("Bad name; DROP", "SELECT 1")


def _prepared_here() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)  # the connection is closed half way, which a test transaction forbids
def test_prepared_once_per_session_run_by_name_and_again_after_a_reconnect(world):
    f.PupilFactory(school=world.school, surname="Abbott")
    f.PupilFactory(school=world.school, surname="Adams")
    f.PupilFactory(school=world.school, surname="Brown")
    with scope(school=world.school):
        with CaptureQueriesContext(connection) as seen:
            first = school_rows(school_id=world.school.pk, sql=PUPILS, params={"school": world.school.pk, "start": "A"})
            again = school_rows(school_id=world.school.pk, sql=PUPILS, params={"school": world.school.pk, "start": "B"})
        assert first == [("Abbott",), ("Adams",)] and again == [("Brown",)]
        sent = [q["sql"] for q in seen.captured_queries]
        assert len(sent) == 2 and all("EXECUTE test_pupils_named(" in q for q in sent)  # PREPARE is not one of them
        assert "test_pupils_named" in _prepared_here()
    # A new session has prepared nothing; the read prepares itself there again.
    connection.close()
    with scope(school=world.school):
        assert "test_pupils_named" not in _prepared_here()
        assert school_rows(school_id=world.school.pk, sql=PUPILS,
                           params={"school": world.school.pk, "start": "Ab"}) == [("Abbott",)]


def test_a_rolled_back_transaction_leaves_the_statement_prepared(world):
    f.PupilFactory(school=world.school, surname="Abbott")
    rolled = Prepared("test_pupils_rolled_back",
                      "SELECT count(*) FROM registers_pupil p WHERE p.school_id = %(school)s")
    params = {"school": world.school.pk}

    def read_then_undo() -> None:
        with transaction.atomic():
            assert school_rows(school_id=world.school.pk, sql=rolled, params=params) == [(1,)]
            raise RuntimeError("undo")

    with scope(school=world.school):
        with pytest.raises(RuntimeError, match="undo"):
            read_then_undo()
        assert school_rows(school_id=world.school.pk, sql=rolled, params=params) == [(1,)]


def test_row_level_security_holds_for_a_prepared_read(world):
    f.PupilFactory(school=world.other, surname="Abbott")
    with scope(school=world.school), connection.cursor() as cursor:
        PUPILS.execute(cursor, {"school": world.other.pk, "start": "A"})  # another school's rows, asked for directly
        assert cursor.fetchall() == []
    with scope(school=world.other):
        assert school_rows(school_id=world.other.pk, sql=PUPILS,
                           params={"school": world.other.pk, "start": "A"}) == [("Abbott",)]
