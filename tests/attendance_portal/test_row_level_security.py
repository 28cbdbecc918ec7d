"""Row-level security, the second tenancy layer (attendance_portal.rls): it holds on its own.

The cross-school suite is run again here with the django-scopes layer switched off (its managers filter
nothing and refuse nothing), so every 404 below comes from the database's policies alone.
"""

from __future__ import annotations

from typing import Any

import django_scopes.manager
import pytest
from django.db import DatabaseError, connection, transaction
from django_scopes import scope, scopes_disabled

from attendance_portal import rls
from registers.models import Pupil
from tests import factories as f
from tests.attendance_portal import test_cross_school as cross_school


def _pupils() -> int:
    """Pupils the connection can see, by plain SQL (no manager, no filter)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM registers_pupil")
        return cursor.fetchone()[0]


@pytest.fixture
def pupils(world):
    f.PupilFactory.create_batch(3, school=world.school)
    f.PupilFactory.create_batch(2, school=world.sister)
    f.PupilFactory.create_batch(4, school=world.other)


def test_every_school_owned_table_has_the_policy(db):
    tables = rls.school_owned_tables()
    assert {"registers_pupil", "registers_mark", "registers_markevent", "interventions_case"} <= set(tables)
    assert rls.tables_without_policy(connection) == []


def test_raw_sql_sees_only_the_scopes_schools(world, pupils):
    assert _pupils() == 0  # no scope: no school's rows
    with scope(school=world.school):
        assert _pupils() == 3
    with scope(school=[world.school, world.sister]):  # a trust's view
        assert _pupils() == 5
    with scope(school=world.other):
        assert _pupils() == 4
    with scopes_disabled():
        assert _pupils() == 9
    assert _pupils() == 0  # and closed again when the scope ends


def test_a_row_for_another_school_cannot_be_written_in_a_scope(world):
    mine = f.PupilFactory(school=world.school)
    stray = f.PupilFactory(school=world.school)
    stray.pk, stray.upn, stray.school = None, "", world.other
    refused = pytest.raises(DatabaseError, match="row-level security")
    with scope(school=world.school), refused, transaction.atomic():
        stray.save()
    with scope(school=world.school), pytest.raises(DatabaseError, match="row-level security"), \
            transaction.atomic(), connection.cursor() as cursor:  # nor moved to one
        cursor.execute("UPDATE registers_pupil SET school_id = %s WHERE id = %s", [world.other.pk, mine.pk])
    with scopes_disabled():
        assert list(Pupil.objects.values_list("school_id", flat=True)) == [world.school.pk] * 2


def test_a_rolled_back_scope_change_is_sent_again(world, pupils):
    """A rollback undoes a setting changed inside it; the next statement must not trust the stale copy."""
    with scope(school=world.other):
        assert _pupils() == 4
    def seen_then_undone() -> None:
        with transaction.atomic(), scope(school=world.school):
            assert _pupils() == 3
            raise RuntimeError("undo")

    with transaction.atomic():
        with pytest.raises(RuntimeError):
            seen_then_undone()
        with scope(school=world.school):
            assert _pupils() == 3
        assert _pupils() == 0


@pytest.mark.parametrize("statement", [
    "ALTER TABLE registers_pupil DISABLE ROW LEVEL SECURITY",
    "ALTER TABLE registers_pupil NO FORCE ROW LEVEL SECURITY",
    "DROP POLICY school_scope ON registers_pupil",
    "ALTER POLICY school_scope ON registers_pupil USING (true)",
])
def test_the_application_role_cannot_remove_the_policy(db, statement):
    with transaction.atomic(), connection.cursor() as cursor:
        with pytest.raises(DatabaseError, match="must be owner"):
            cursor.execute(statement)
        transaction.set_rollback(True)


def test_row_security_off_is_an_error_not_a_bypass(world, pupils):
    with scope(school=world.school), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL row_security = off")
        with pytest.raises(DatabaseError, match="row-level security"):
            cursor.execute("SELECT count(*) FROM registers_pupil")
        transaction.set_rollback(True)


@pytest.fixture
def scopes_layer_off(monkeypatch: Any) -> None:
    """django-scopes' managers see every scope as disabled: no filter, no refusal. The scope itself still
    opens and closes as usual, and the connection still carries it to the policies."""
    monkeypatch.setattr(django_scopes.manager, "get_scope", lambda: {"_enabled": False})


def test_the_scopes_layer_is_really_off(world, pupils, scopes_layer_off):
    assert Pupil.objects.count() == 0  # would raise ScopeError with the layer on
    with scope(school=world.school):
        assert Pupil.objects.count() == 3
        assert Pupil.objects.filter(school=world.other).count() == 0
        assert str(Pupil.objects.all().query).count("WHERE") == 0  # nothing filtered by the manager


@pytest.mark.parametrize("route", [r for r in cross_school.SCHOOL_ROUTES if r.make], ids=lambda r: r.name)
def test_another_schools_object_under_own_slug_is_404_by_policy_alone(route, world, client_as, scopes_layer_off):
    cross_school.test_another_schools_object_under_own_slug_is_404(route, world, client_as)


@pytest.mark.parametrize("route", cross_school.SCHOOL_ROUTES, ids=lambda r: r.name)
def test_another_schools_url_is_404_by_policy_alone(route, world, client_as, scopes_layer_off):
    cross_school.test_another_schools_url_is_404_for_every_role(route, world, client_as)


@pytest.mark.parametrize("route", [r for r in cross_school.DECLARED.values() if r.kind == "trust"],
                         ids=lambda r: r.name)
def test_another_trusts_url_is_404_by_policy_alone(route, world, client_as, scopes_layer_off):
    cross_school.test_another_trusts_url_is_404(route, world, client_as)


@pytest.mark.parametrize("route", [r for r in cross_school.DECLARED.values() if r.kind == "parent"],
                         ids=lambda r: r.name)
def test_another_familys_child_is_404_by_policy_alone(route, world, client_as, scopes_layer_off):
    cross_school.test_another_familys_child_is_404(route, world, client_as)


def test_the_setting_travels_with_the_statement_and_a_server_side_cursor_still_gets_it(world, pupils):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as seen, scope(school=world.other):
        assert _pupils() == 4
        assert _pupils() == 4
    count = "SELECT count(*) FROM registers_pupil"
    carried = rls.SET_SQL % f"'{world.other.pk}'" + "; " + count
    assert [q["sql"] for q in seen.captured_queries] == [carried, count]  # the change with the first only
    with scope(school=world.school):  # a named cursor runs its statement inside DECLARE: the setting goes first
        assert len(list(Pupil.objects.all().iterator(chunk_size=2))) == 3
    with scope(school=world.sister), connection.cursor() as cursor:  # and so does a batch
        cursor.executemany("UPDATE registers_pupil SET forename = forename WHERE id = %s", [[0], [0]])
        assert _pupils() == 2


@pytest.mark.django_db(transaction=True)
def test_a_failed_statement_that_carried_a_change_has_it_sent_again(world, pupils):
    """Outside a transaction the setting and the statement are one implicit transaction: when the statement
    fails, the change is undone with it, and the next statement must not trust it was made."""
    assert connection.get_autocommit()
    with scope(school=world.other):
        assert _pupils() == 4
    with scope(school=world.school):
        with pytest.raises(DatabaseError), connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0 FROM registers_pupil")
        assert _pupils() == 3
