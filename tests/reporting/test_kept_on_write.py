"""Summaries kept as marks are written: the trigger on the marks, against the full rebuild."""

import datetime as dt

import pghistory
import psycopg2
import pytest
from django.db import OperationalError, connection, transaction
from django_scopes import scope, scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registers import codes as code_table
from registers.calendar import calendar_for
from registers.models import AcademicYear, Mark
from registers.services import MarkEntry, marks_save
from reporting.models import AttendanceSummary
from reporting.summaries import APPLY_BODY, APPLY_FUNCTION, SUMMARY_LOCK, summaries_rebuild

from .helpers import enrol, record, school_sessions, summary_rows


def rebuilt(school):
    """The rows a full rebuild makes from the marks, in a transaction that is then undone."""
    with transaction.atomic():
        with scopes_disabled():
            summaries_rebuild(school=school, calendar=calendar_for(school=school))
        found = summary_rows(school)
        transaction.set_rollback(True)
    return found


def test_the_installed_trigger_is_the_current_code(db):
    """A change to the trigger's SQL (codes, categories, layout) needs a migration that installs it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT prosrc FROM pg_proc WHERE proname = %s", [APPLY_FUNCTION])
        (installed,) = cursor.fetchone()
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgfoid = %s::regproc ORDER BY tgname", [APPLY_FUNCTION])
        triggers = [name for (name,) in cursor.fetchall()]
    assert installed == APPLY_BODY
    assert triggers == ["reporting_summaries_insert", "reporting_summaries_update"]


def test_a_saved_register_and_its_amendments_are_in_the_summaries_at_once(school):
    pupils = [enrol(school, upn=f"K0000000000{n}A").pupil for n in range(3)]
    monday = dt.date(2025, 9, 8)
    slot = (monday - dt.date(2025, 9, 1)).days * 2 + 1  # the afternoon
    with scope(school=school):
        marks_save(school=school, by=None, entries=[MarkEntry(p.pk, monday, "AM", "/") for p in pupils])
        marks_save(school=school, by=None, entries=[MarkEntry(pupils[0].pk, monday, "PM", "\\"),
                                                     MarkEntry(pupils[1].pk, monday, "PM", "L", 7),
                                                     MarkEntry(pupils[2].pk, monday, "PM", "I")])
        assert len(summary_rows(school)) == 3
        assert summary_rows(school) == rebuilt(school)
        late, ill = (Mark.objects.get(pupil=p, date=monday, session="PM") for p in pupils[1:])
        marks_save(school=school, by=None, reason="arrived on time after all",
                   entries=[MarkEntry(pupils[1].pk, monday, "PM", "\\", expected_version=late.version),
                            MarkEntry(pupils[2].pk, monday, "PM", "M", expected_version=ill.version)])
        kept = {r.enrolment.pupil_id: r for r in AttendanceSummary.objects.filter(school=school)
                .select_related("enrolment")}
    assert kept[pupils[1].pk].late_before_close[slot] == "0" and kept[pupils[1].pk].on_time[slot] == "1"
    assert kept[pupils[1].pk].minutes_late == {}  # the amended slot's minutes are gone
    assert kept[pupils[2].pk].illness[slot] == "0" and kept[pupils[2].pk].authorised_other[slot] == "1"
    assert summary_rows(school) == rebuilt(school)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 11), st.sampled_from(sorted(code_table.CODES)),
                                 st.booleans()), min_size=1, max_size=25))
def test_any_order_of_writes_and_amendments_gives_the_rebuilds_rows(school, writes):
    """Marks written one statement at a time, some of them changed later, in any order: the rows kept as
    they were written are the rows a rebuild makes from the final marks."""
    with transaction.atomic():
        enrolments = [enrol(school) for _ in range(3)]
        sessions = school_sessions(school, dt.date(2025, 9, 3), 12)
        with scopes_disabled(), pghistory.context(name="office", reason="amended"):
            for n, slot, code, late_minutes in writes:
                day, session = sessions[slot]
                minutes = 4 if late_minutes and code in code_table.LATE else None
                mark = Mark.objects.filter(enrolment=enrolments[n], date=day, session=session).first()
                if mark is None:
                    record(enrolments[n], [(day, session)], [code])
                else:
                    mark.code, mark.minutes_late = code, minutes
                    mark.save()
        assert summary_rows(school) == rebuilt(school)
        transaction.set_rollback(True)


def test_marks_outside_every_academic_year_make_no_row(school):
    enrolment = enrol(school)
    record(enrolment, [(dt.date(2025, 8, 20), "AM")], "/")
    assert summary_rows(school) == []


def test_a_row_laid_out_for_other_year_bounds_waits_for_the_rebuild(school):
    """Moving a year's end changes its layout: the stored rows are left as they are (the changed calendar
    makes the next run a full rebuild) and the register is still saved."""
    enrolment = enrol(school)
    record(enrolment, school_sessions(school, dt.date(2025, 9, 3), 2), "//")
    before = summary_rows(school)
    with scopes_disabled():
        AcademicYear.objects.filter(school=school).update(end=dt.date(2026, 7, 31))
    record(enrolment, school_sessions(school, dt.date(2025, 9, 4), 1), "G")
    assert summary_rows(school) == before
    assert len(rebuilt(school)[0][3]) == (dt.date(2026, 7, 31) - dt.date(2025, 9, 1)).days * 2 + 2


@pytest.mark.django_db(transaction=True)
def test_writers_wait_while_a_rebuild_of_their_school_holds_the_summaries(school):
    """No mark can land between a rebuild's read of the marks and its write of the rows."""
    enrolment = enrol(school)
    rebuild = psycopg2.connect(**connection.get_connection_params())
    try:
        with rebuild.cursor() as cursor:
            cursor.execute("BEGIN; SELECT pg_advisory_xact_lock(%s, %s)", [SUMMARY_LOCK, school.pk])
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
            with pytest.raises(OperationalError, match="lock timeout"):
                record(enrolment, school_sessions(school, dt.date(2025, 9, 3), 1), "/")
        rebuild.rollback()
    finally:
        rebuild.close()
    record(enrolment, school_sessions(school, dt.date(2025, 9, 3), 1), "/")
    with scope(school=school):
        assert AttendanceSummary.objects.filter(school=school).count() == 1
