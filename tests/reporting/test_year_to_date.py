"""Figures for a range are counts of bits under a mask; later marks in the same year must not leak
into a range that ends earlier, and any range must match a plain count of its marks."""

import datetime as dt

from django_scopes import scope, scopes_disabled

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


def test_any_range_inside_the_year_matches_the_marks(school):
    """Figures from the bit masks equal a plain count of the marks for ranges that start and end mid-week,
    on one day, and over the whole year."""
    from django.db import connection

    sessions = school_sessions(school, dt.date(2025, 9, 3), 40)
    with scopes_disabled():
        record(enrol(school, upn="Y00000000001A"), sessions, "." * 10 + "IIGNLU/KDO" * 3)
    with scope(school=school):
        calculation_run(school=school, on=sessions[-1][0])
    for start, end in [(dt.date(2025, 9, 4), dt.date(2025, 9, 10)), (dt.date(2025, 9, 17), dt.date(2025, 9, 17)),
                       (dt.date(2025, 9, 1), dt.date(2026, 8, 31)), (dt.date(2025, 9, 10), dt.date(2025, 10, 2))]:
        with scope(school=school), connection.cursor() as cursor:
            cursor.execute("""SELECT count(*) FILTER (WHERE code NOT IN ('D', 'X', 'Y', 'Z', '#')),
                                     count(*) FILTER (WHERE code IN ('I', 'G', 'N', 'U', 'O')),
                                     coalesce(sum(minutes_late), 0)
                                FROM registers_mark WHERE school_id = %s AND date BETWEEN %s AND %s""",
                           [school.pk, start, end])
            possible, absence, minutes = cursor.fetchone()
        found = figures_between(school, start, end)
        assert (found.possible, found.absence, found.minutes_late) == (possible, absence, minutes), (start, end)


def figures_between(school, start, end):
    from reporting.figures import Figures

    with scope(school=school):
        listed = enrolment_figures(school=school, start=start, end=end)
    return listed[0].figures if listed else Figures()
