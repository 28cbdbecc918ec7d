"""Year-to-date figures are read from the year rows when no later marks exist; they must not differ
from the figures built from the week rows and the raw marks of the current week."""

import datetime as dt

from django_scopes import scope, scopes_disabled

from reporting.calendar import calendar_for
from reporting.figures import range_figures_sql
from reporting.selectors import enrolment_figures
from reporting.services import calculation_run

from .helpers import enrol, record, school_sessions

YEAR_START = dt.date(2025, 9, 1)


def figures(school, end):
    with scope(school=school):
        return {f.upn: f.figures for f in enrolment_figures(school=school, start=YEAR_START, end=end)}


def test_year_to_date_is_the_same_with_and_without_later_marks(school):
    sessions = school_sessions(school, dt.date(2025, 9, 3), 40)
    with scopes_disabled():
        record(enrol(school, upn="Y00000000001A"), sessions[:30], "." * 20 + "IIGNLU/KDO")
        record(enrol(school, upn="Y00000000002A"), sessions[:30], "GO" * 15)
    end = sessions[29][0]  # the PM session of that day is the last mark
    with scope(school=school):
        calculation_run(school=school, on=end)
    shortcut = figures(school, end)  # no marks after `end`: the year rows answer
    with scopes_disabled():
        record(enrol(school, upn="Y00000000003A"), sessions[30:], "I")  # marks after `end`
    with scope(school=school):
        calculation_run(school=school, on=sessions[-1][0])
    general = figures(school, end)  # later marks: weeks and raw marks answer
    assert shortcut == general
    assert set(general) == {"Y00000000001A", "Y00000000002A"}
    assert general["Y00000000002A"].unauthorised == 30


def test_the_year_row_is_used_only_for_a_range_that_starts_with_the_year(school):
    with scopes_disabled():
        calendar = calendar_for(school=school)
    assert "kind = 'year'" in range_figures_sql(calendar, YEAR_START, dt.date(2025, 10, 1))[0]
    assert "kind = 'year'" not in range_figures_sql(calendar, dt.date(2025, 9, 2), dt.date(2025, 10, 1))[0]
