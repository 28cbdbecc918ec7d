"""Kept dashboard figures: the same as computing them afresh from each enrolment's figures, new as soon as
marks or pupils change, and the statements per request flat in the number of schools."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from attendance_portal.models import School
from registers.calendar import calendar_for
from registers.models import Enrolment, Pupil
from reporting.dashboards import COHORTS, Counts, school_dashboard, trust_dashboard
from reporting.figures import is_persistent, is_severe
from reporting.periods import period_choose, season_terms
from reporting.selectors import figures_by_enrolment
from tests.reporting.helpers import record, school_sessions
from tests.reporting.test_dashboards import TODAY, governed  # noqa: F401 - the fixture

ON = TODAY.date()
FLAGS = {"sen_support": lambda p: p.sen == "K", "ehcp": lambda p: p.sen == "E", "fsm": lambda p: p.fsm,
         "eal": lambda p: p.eal, "looked_after": lambda p: p.looked_after,
         "child_in_need": lambda p: p.child_in_need, "social_worker": lambda p: p.has_social_worker,
         "female": lambda p: p.sex == "F", "male": lambda p: p.sex == "M"}


def _reference(school: School, start: dt.date, end: dt.date) -> dict[str, tuple[int, ...]]:
    """Pupils, PA, SA and session sums per group, from each enrolment's own figures, grouped in Python."""
    with scopes_disabled():
        enrolments = {e.pk: e.pupil for e in Enrolment.objects.filter(school=school).select_related("pupil")}
    with scope(school=school):
        figures = figures_by_enrolment(school=school, enrolment_ids=list(enrolments), start=start, end=end)
    groups: dict[str, list[int]] = {}
    for enrolment_id, f in figures.items():
        if not f.possible:
            continue
        pupil = enrolments[enrolment_id]
        names = ["all", f"year:{pupil.year_group}", *(k for k, test in FLAGS.items() if test(pupil))]
        for name in names:
            row = groups.setdefault(name, [0] * 8)
            for i, value in enumerate((1, is_persistent(f.absence, f.possible), is_severe(f.absence, f.possible),
                                       f.possible, f.absence, f.authorised, f.unauthorised, f.late_sessions)):
                row[i] += int(value)
    return {k: tuple(v) for k, v in groups.items()}


def _counts(c: Counts) -> tuple[int, ...]:
    return (c.pupils, c.pa, c.sa, c.poss, c.absent, c.authorised, c.unauthorised, c.late)


def _school_figures(school: School) -> dict[str, tuple[int, ...]]:
    with scopes_disabled():
        calendar = calendar_for(school=school)
        period = period_choose(calendar=calendar, terms=season_terms(school=school), kind="year_to_date", today=ON)
    with scope(school=school):  # the governors' page runs in its school's scope
        dash = school_dashboard(school=school, period=period, calendar=calendar, on=ON)
    found = {"all": _counts(dash.whole)} | {f"year:{k}": _counts(v) for k, v in dash.year_groups.items()}
    return found | {k: _counts(v) for k, v in dash.cohorts.items() if v.pupils}


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_kept_figures_are_the_reference_computations(world, governed):  # noqa: F811
    start = dt.date(2025, 9, 1)
    schools = [world.school, world.sister]
    for _ in range(2):  # computed, then kept
        for school in schools:
            assert _school_figures(school) == _reference(school, start, ON)
        with scope(school=schools):  # the trust's page runs in the scope of its schools
            trust = trust_dashboard(schools=schools, on=ON)
        references = {s.pk: _reference(s, start, ON) for s in schools}
        for row in trust.rows:
            assert _counts(row.now) == references[row.school.pk]["all"]
        assert _counts(trust.whole) == tuple(map(sum, zip(*(r["all"] for r in references.values()), strict=True)))
        for key in COHORTS:
            expected = [r[key] for r in references.values() if key in r]
            assert _counts(trust.cohorts[key]) == (tuple(map(sum, zip(*expected, strict=True))) if expected
                                                   else _counts(Counts()))


def _summary_statements(queries) -> int:
    return sum("reporting_attendancesummary" in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_new_marks_and_changed_pupils_are_counted_at_once(world, governed):  # noqa: F811
    school = world.school
    before = _school_figures(school)
    with CaptureQueriesContext(connection) as kept:
        assert _school_figures(school) == before
    assert _summary_statements(kept) == 0  # read from the kept figures
    with scopes_disabled():
        enrolment = Enrolment.objects.filter(school=school).order_by("pk").first()
        record(enrolment, school_sessions(school, dt.date(2025, 12, 1), count=2), "O")
    after = _school_figures(school)
    assert after["all"][4] == before["all"][4] + 2  # two more absent sessions
    assert after == _reference(school, dt.date(2025, 9, 1), ON)
    with scopes_disabled():
        Pupil.objects.filter(pk=enrolment.pupil_id).update(looked_after=True)
    assert _school_figures(school)["looked_after"][0] == 1
    with scope(school=[school, world.sister]):
        trust = trust_dashboard(schools=[school, world.sister], on=ON)
    assert trust.cohorts["looked_after"].pupils == 1


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_a_rebuild_that_changes_summaries_changes_the_version(world, governed):  # noqa: F811
    from reporting.dashboard_cache import school_versions
    from reporting.summaries import summaries_rebuild

    with scopes_disabled():
        calendar = calendar_for(school=world.school)
    with scope(school=world.school):
        first = school_versions(school_ids=[world.school.pk])
        assert summaries_rebuild(school=world.school, calendar=calendar) == 0  # nothing to change
        assert school_versions(school_ids=[world.school.pk]) == first
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM reporting_attendancesummary WHERE school_id = %s AND enrolment_id = "
                           "(SELECT min(enrolment_id) FROM reporting_attendancesummary WHERE school_id = %s)",
                           [world.school.pk, world.school.pk])
        assert summaries_rebuild(school=world.school, calendar=calendar) == 1
        assert school_versions(school_ids=[world.school.pk]) != first
