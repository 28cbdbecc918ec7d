"""The load test's synthetic population loads into the current schema (its SQL inserts bypass the models, so a
new column without a database default would otherwise break `make loadtest` and nothing else)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django_scopes import scopes_disabled

from loadtest.population import population_load
from registers.models import Enrolment, Guardian, Mark, Pupil
from reporting.models import AttendanceSummary

pytestmark = pytest.mark.django_db(transaction=True)


def test_one_school_loads_with_every_pupil_enrolled_and_a_parent_with_an_address(tmp_path):
    out = tmp_path / "plan.json"
    sizes = population_load(schools=1, day=dt.date(2025, 11, 27), out=out)
    with scopes_disabled():
        pupils = Pupil.objects.filter(school__slug="load-0").count()
        assert pupils == sizes["pupils"] > 0
        assert Enrolment.objects.filter(school__slug="load-0").count() == pupils
        guardians = Guardian.objects.filter(school__slug="load-0")
        assert guardians.count() == pupils
        assert not guardians.filter(postcode="").exists() and all(g.address for g in guardians[:10])
    plan = json.loads(out.read_text())
    assert plan["day"] == "2025-11-27" and len(plan["schools"]) == 1


def test_the_morning_starts_with_the_day_before_marked_and_every_summary_row_made(tmp_path):
    sizes = population_load(schools=1, day=dt.date(2025, 11, 24), out=tmp_path / "plan.json")  # a Monday
    with scopes_disabled():
        marks = Mark.objects.filter(school__slug="load-0")
        assert sizes["marks_before"] == marks.count() == 2 * sizes["pupils"]
        assert set(marks.values_list("date", flat=True)) == {dt.date(2025, 11, 21)}  # the Friday before
        assert set(marks.values_list("session", "code")) == {("AM", "/"), ("PM", "\\")}
        assert AttendanceSummary.objects.filter(school__slug="load-0").count() == sizes["pupils"]


def test_the_morning_finds_the_day_befores_rows_vacuumed(tmp_path):
    # Yesterday's marks rewrote every summary row; a real morning finds the old versions cleared (autovacuum
    # runs within minutes of the afternoon's writes), so the peak does not pay for them.
    from django.db import connection

    from attendance_portal.dbroles import connected_as_owner

    with connected_as_owner(connection):  # as `python -m loadtest.populate` runs: the owner may vacuum
        population_load(schools=1, day=dt.date(2025, 11, 24), out=tmp_path / "plan.json")
    with connection.cursor() as cursor:  # every page vacuumed since the last change is marked all-visible
        cursor.execute("SELECT relname, relpages, relallvisible FROM pg_class "
                       "WHERE relname IN ('reporting_attendancesummary', 'registers_mark')")
        found = {name: (pages, visible) for name, pages, visible in cursor.fetchall()}
    assert set(found) == {"reporting_attendancesummary", "registers_mark"}
    assert all(pages == visible > 0 for pages, visible in found.values()), found
