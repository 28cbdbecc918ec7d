"""The register's append-only rule holds against the application's own database role.

The suite connects as production's web and workers do (attendance_portal.dbroles): a role that owns
nothing. Each way round the rule is tried on that connection and must be refused by PostgreSQL.
The triggers are also tried as the owner, with `pgtrigger.ignore` set: they do not step aside.
"""

from __future__ import annotations

import datetime as dt

import pghistory
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django_scopes import scope, scopes_disabled

from attendance_portal.dbroles import connected_as_owner, privilege_problems
from registers.models import Mark, MarkEvent
from registers.services import MarkEntry, marks_save
from tests import factories as f
from tests.conftest import add_calendar

MONDAY = dt.date(2025, 9, 8)
# Every trigger on the marks and their events, by the names pgtrigger knew them by and by their own.
IGNORE_ALL = ("{registers_mark:pgtrigger_mark_never_deleted_0b505,registers_mark:pgtrigger_amended_update_37b9e,"
              "registers_mark:pgtrigger_recorded_insert_3aa46,registers_markevent:pgtrigger_append_only_ef7d8,"
              "registers_mark_never_deleted,registers_mark_amended,registers_mark_recorded,"
              "registers_mark_amendment_explained,registers_markevent_append_only}")


@pytest.fixture
def mark(world):
    add_calendar(world.school)
    pupil = f.EnrolmentFactory(pupil__school=world.school).pupil
    with scope(school=world.school):
        marks_save(school=world.school, entries=[MarkEntry(pupil.pk, MONDAY, "AM", "/")],
                   by=world.users["office_staff"])
        return Mark.objects.get(pupil=pupil)


def _refused(statement: str, *params: object, before: str = "SELECT 1") -> DatabaseError:
    """Run `statement` as the application role, seeing every school's rows; it must fail, and nothing it
    did is kept."""
    with scopes_disabled(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(before)
        with pytest.raises(DatabaseError) as refused:
            cursor.execute(statement, params or None)
        transaction.set_rollback(True)
    return refused.value


def _kept(mark: Mark) -> Mark:
    with scopes_disabled():
        return Mark.objects.get(pk=mark.pk)


def _pgcode(error: DatabaseError) -> str:
    return getattr(error.__cause__, "pgcode", "")


def test_the_suite_runs_as_a_role_that_is_not_superuser_and_owns_nothing(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles "
                       "WHERE rolname = current_user")
        user, superuser, createrole, createdb = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
                       "WHERE rolname = current_user)")
        owned = cursor.fetchone()[0]
    assert settings.DATABASE_OWNER, "the suite needs DATABASE_OWNER_URL (make test sets it)"
    assert user == settings.DATABASE_APP_ROLE != settings.DATABASE_OWNER["USER"]
    assert (superuser, createrole, createdb, owned) == (False, False, False, 0)
    assert privilege_problems(connection) == []


@pytest.mark.parametrize("table", ["registers_mark", "registers_markevent"])
def test_truncate_is_refused(mark, table):
    error = _refused(f"TRUNCATE {table} CASCADE")
    assert _pgcode(error) == "42501" and "permission denied" in str(error)
    assert _kept(mark)


def test_pgtrigger_ignore_does_not_let_a_mark_be_deleted(mark):
    error = _refused("DELETE FROM registers_mark WHERE id = %s", mark.pk,
                     before=f"SET LOCAL pgtrigger.ignore = '{IGNORE_ALL}'")
    assert _pgcode(error) == "42501"
    assert _kept(mark)


def test_pgtrigger_ignore_does_not_let_a_mark_change_without_who_and_why(mark):
    error = _refused("UPDATE registers_mark SET code = 'O' WHERE id = %s", mark.pk,
                     before=f"SET LOCAL pgtrigger.ignore = '{IGNORE_ALL}'")
    assert _pgcode(error) == "42501" and "cannot change without who and why" in str(error)
    assert _kept(mark).code == "/"


def test_pgtrigger_ignore_does_not_skip_the_history(mark):
    """With who and why given, the change goes through, and the event is written whatever pgtrigger.ignore says."""
    with scopes_disabled(), transaction.atomic(), pghistory.context(name="Office", reason="phoned in"), \
            connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL pgtrigger.ignore = '{IGNORE_ALL}'")
        cursor.execute("UPDATE registers_mark SET code = 'I', version = version + 1 WHERE id = %s", [mark.pk])
    with scope(school=mark.school):
        latest = MarkEvent.objects.filter(pgh_obj=mark).order_by("-pgh_id").first()
    assert (latest.pgh_label, latest.code, latest.pgh_context["reason"]) == ("amended", "I", "phoned in")


@pytest.mark.parametrize("statement", [
    "UPDATE registers_markevent SET code = 'O'",
    "DELETE FROM registers_markevent",
])
def test_events_cannot_be_changed_or_removed(mark, statement):
    error = _refused(statement, before=f"SET LOCAL pgtrigger.ignore = '{IGNORE_ALL}'")
    assert _pgcode(error) == "42501"
    with scope(school=mark.school):
        assert MarkEvent.objects.filter(pgh_obj=mark).count() == 1


def test_session_replication_role_is_refused(mark):
    error = _refused("SET LOCAL session_replication_role = replica")
    assert _pgcode(error) == "42501" and "session_replication_role" in str(error)
    error = _refused("SET session_replication_role = replica")
    assert _pgcode(error) == "42501"


@pytest.mark.parametrize("statement", [
    "ALTER TABLE registers_mark DISABLE TRIGGER registers_mark_amendment_explained",
    "ALTER TABLE registers_mark DISABLE TRIGGER ALL",
    "ALTER TABLE registers_markevent DISABLE TRIGGER USER",
    "DROP TRIGGER registers_mark_never_deleted ON registers_mark",
    "ALTER TABLE registers_mark OWNER TO CURRENT_USER",
])
def test_triggers_cannot_be_disabled_or_dropped(mark, statement):
    error = _refused(statement)
    assert _pgcode(error) == "42501" and "must be owner" in str(error)


@pytest.mark.parametrize("statement", [
    "UPDATE registers_mark SET code = 'O' WHERE id = %s",
    "UPDATE registers_mark SET minutes_late = 5, code = 'L' WHERE id = %s",
    "UPDATE registers_mark SET note = 'changed quietly' WHERE id = %s",
])
def test_a_direct_change_without_the_services_context_is_refused(mark, statement):
    error = _refused(statement, mark.pk)
    assert _pgcode(error) == "42501" and f"mark {mark.pk} cannot change without who and why" in str(error)
    # A context without a reason is no better.
    with transaction.atomic(), pghistory.context(name="Office", reason=" "), scopes_disabled():
        with pytest.raises(DatabaseError, match="who and why"):
            Mark.objects.filter(pk=mark.pk).update(code="O")
        transaction.set_rollback(True)
    kept = _kept(mark)
    assert (kept.code, kept.note, kept.version) == ("/", "", 1)


def test_an_amendment_through_the_service_is_made_and_recorded(mark, world):
    head = world.users["headteacher"]
    with scope(school=mark.school):
        result = marks_save(school=mark.school, by=head, reason="Parent phoned: illness",
                            entries=[MarkEntry(mark.pupil_id, MONDAY, "AM", "I", expected_version=1)])
        assert result.amended == 1
        events = list(MarkEvent.objects.filter(pgh_obj=mark).order_by("pgh_id"))
    assert [(e.pgh_label, e.code) for e in events] == [("recorded", "/"), ("amended", "I")]
    assert events[1].pgh_context["reason"] == "Parent phoned: illness"
    assert events[1].pgh_context["name"] == head.display_name()


@pytest.mark.django_db(transaction=True)
def test_the_triggers_hold_against_the_owner_and_pgtrigger_ignore(mark):
    """The owner has every privilege on the tables; the triggers still refuse, and ignore pgtrigger.ignore."""
    with connected_as_owner(connection):
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == settings.DATABASE_OWNER["USER"]
        for statement, message in (("DELETE FROM registers_mark", "marks are never deleted"),
                                   ("UPDATE registers_markevent SET code = 'O'", "append-only"),
                                   ("DELETE FROM registers_markevent", "append-only"),
                                   ("UPDATE registers_mark SET code = 'O'", "cannot change without who and why")):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL pgtrigger.ignore = '{IGNORE_ALL}'")
                with pytest.raises(DatabaseError, match=message):
                    cursor.execute(statement)
                transaction.set_rollback(True)
    assert _kept(mark).code == "/"
