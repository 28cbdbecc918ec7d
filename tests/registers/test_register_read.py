"""The register's pupils, enrolments and marks are read in one statement written in SQL (registers.marking
REGISTER_SQL); these tests hold it to the ORM's definitions: who is on the admission register that day
(`pupils_enrolled`), which enrolment covers it, which mark is the session's, and the scope."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db.models import Subquery
from django_scopes import scope, scopes_disabled
from django_scopes.exceptions import ScopeError

from registers.marking import _enrolments_on, pupils_enrolled, register_build, register_marks_refresh
from registers.models import Mark
from tests import factories as f

from .conftest import MONDAY, make_class

pytestmark = pytest.mark.django_db


@pytest.fixture
def edge(world):
    """Pupils whose enrolments start or end either side of MONDAY, one of them admitted twice."""
    school = world.school
    group, pupils = make_class(school, 1, name="6C")
    day = MONDAY
    with scopes_disabled():
        kinds = {
            "admitted that day": [(day, None)],
            "admitted the next day": [(day + dt.timedelta(days=1), None)],
            "left that day": [(dt.date(2024, 9, 1), day)],
            "left the day before": [(dt.date(2024, 9, 1), day - dt.timedelta(days=1))],
            "left and came back": [(dt.date(2023, 9, 1), dt.date(2024, 7, 20)), (dt.date(2024, 9, 2), None)],
            "two covering, earliest wins": [(dt.date(2024, 1, 8), None), (dt.date(2024, 6, 3), None)],
        }
        for n, (name, spans) in enumerate(kinds.items()):
            pupil = f.PupilFactory(school=school, registration_group=group, forename=name, surname=f"Edge{n}")
            for admitted, left in spans:
                f.EnrolmentFactory(pupil=pupil, school=school, admission_date=admitted, leaving_date=left)
        other = f.PupilFactory(school=school, forename="other group", surname="Edge9")
        f.EnrolmentFactory(pupil=other, school=school)
        f.MarkFactory(enrolment=pupils[0].enrolments.get(), date=day, session="AM", code="L", minutes_late=4)
        f.MarkFactory(enrolment=pupils[0].enrolments.get(), date=day, session="PM", code="/")
    return school, group, day


def test_the_register_reads_the_pupils_and_enrolments_the_orm_defines(edge):
    school, group, day = edge
    for on in (day, day + dt.timedelta(days=1), day - dt.timedelta(days=1)):
        with scope(school=school):
            reg = register_build(school=school, group=group, day=on, session="AM")
            orm = list(pupils_enrolled(school=school, day=on).filter(registration_group=group).annotate(
                enrolment_on=Subquery(_enrolments_on(on).values("pk")[:1])))
        assert [r.pupil.pk for r in reg.rows] == [p.pk for p in orm]
        assert reg.enrolment_of == {p.pk: p.enrolment_on for p in orm}
    names = {r.pupil.forename for r in reg.rows}
    assert "left the day before" in names and "admitted that day" not in names  # the day before MONDAY


def test_each_row_carries_the_sessions_mark_as_a_whole_model(edge):
    school, group, day = edge
    with scope(school=school):
        reg = register_build(school=school, group=group, day=day, session="AM")
        stored = Mark.objects.get(school=school, date=day, session="AM")
    marked = [r for r in reg.rows if r.mark is not None]
    assert len(marked) == 1
    row = marked[0]
    assert (row.mark.pk, row.mark.version, row.mark.recorded_at, row.mark.code) == (
        stored.pk, stored.version, stored.recorded_at, "L")
    assert (row.code, row.minutes, row.note) == ("L", "4", "")
    assert [r.code for r in reg.rows if r.mark is None] == [""] * (len(reg.rows) - 1)
    with scope(school=school):
        register_marks_refresh(school=school, register=reg)
    assert [r.mark.pk for r in reg.rows if r.mark is not None] == [stored.pk]


def test_the_read_outside_the_schools_scope_raises(edge, world):
    school, group, day = edge
    with pytest.raises(ScopeError):
        register_build(school=school, group=group, day=day, session="AM")
    with scope(school=world.sister), pytest.raises(ScopeError):
        register_build(school=school, group=group, day=day, session="AM")


def test_objects_read_in_sql_are_whole_models_and_models_that_convert_are_refused(edge):
    from attendance_portal.tenancy import model_columns, school_objects
    from registers.models import RegistrationGroup
    from reporting.models import AttendanceSignal

    school, group, _ = edge
    with scope(school=school):
        (read,) = school_objects(RegistrationGroup, school_id=school.pk, where="t.id = %(id)s", params={"id": group.pk})
        assert (read.pk, read.name, read.year_group, read.school_id) == (group.pk, "6C", group.year_group, school.pk)
        assert school_objects(RegistrationGroup, school_id=school.pk, where="t.id = %(id)s", params={"id": -1}) == []
    with pytest.raises(ScopeError):
        school_objects(RegistrationGroup, school_id=school.pk)
    with pytest.raises(TypeError, match="evidence"):  # a JSON field: from_db would skip the ORM's converter
        model_columns(AttendanceSignal, "t")
