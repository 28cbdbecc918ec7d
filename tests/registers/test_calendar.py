"""The one school calendar: the in-memory calendar of the statistics engine and casework agrees with the
range reads of the registers and with the import's checks, and a day belongs only to the year containing it."""

import datetime as dt

import pytest
from django_scopes import scope, scopes_disabled
from hypothesis import given, settings
from hypothesis import strategies as st

from attendance_portal.models import School
from registers.calendar import (
    NO_YEAR,
    SchoolCalendar,
    Year,
    academic_year_for,
    calendar_for,
    closed_sessions,
    closure_reasons,
    school_day_step,
    school_days_either_side,
    school_sessions,
    session_closures,
    year_containing,
)
from registers.models import Closure
from tests.conftest import add_calendar


@pytest.fixture
def school(world) -> School:
    add_calendar(world.school)
    return world.school


CALENDAR = SchoolCalendar(
    years=(Year(dt.date(2024, 9, 1), dt.date(2025, 8, 31)), Year(dt.date(2025, 9, 3), dt.date(2026, 8, 31))),
    terms=((dt.date(2025, 9, 3), dt.date(2025, 10, 24)),), closures=frozenset(),
)


@settings(max_examples=60, deadline=None)
@given(st.dates(dt.date(2024, 9, 1), dt.date(2025, 8, 31)), st.dates(dt.date(2024, 9, 1), dt.date(2025, 8, 31)),
       st.sampled_from(["AM", "PM"]))
def test_slots_masks_and_sessions_agree(day, other, session):
    year = CALENDAR.years[0]
    slot = year.slot(day, session)
    assert year.session_at(slot) == (day, session)
    assert 0 <= slot < year.slots == 730
    start, end = min(day, other), max(day, other)
    mask = year.range_mask(start, end)
    assert len(mask) == year.slots
    assert mask.count("1") == 2 * ((end - start).days + 1)
    assert mask[year.slot(start, "AM")] == mask[year.slot(end, "PM")] == "1"


def test_parts_of_a_range_outside_every_year():
    # The years are 2024-09-01..2025-08-31 and 2025-09-03..2026-08-31: 1 and 2 September 2025 are in neither.
    assert CALENDAR.outside_years(dt.date(2025, 8, 1), dt.date(2025, 9, 10)) == (
        (dt.date(2025, 9, 1), dt.date(2025, 9, 2)),)
    assert CALENDAR.outside_years(dt.date(2024, 8, 30), dt.date(2024, 9, 2)) == (
        (dt.date(2024, 8, 30), dt.date(2024, 8, 31)),)
    assert CALENDAR.outside_years(dt.date(2025, 1, 1), dt.date(2025, 2, 1)) == ()
    later = (dt.date(2026, 9, 1), dt.date(2026, 9, 5))
    assert CALENDAR.outside_years(*later) == (later,)
    assert CALENDAR.years[1].span(dt.date(2025, 9, 1), dt.date(2025, 9, 3)) == (0, 1)
    assert CALENDAR.years[0].span(dt.date(2025, 9, 1), dt.date(2025, 9, 3)) is None


def test_school_days_skip_weekends_holidays_and_closures(school):
    with scopes_disabled():
        calendar = calendar_for(school=school)
    assert dt.date(2025, 11, 14) not in calendar.days  # INSET day
    assert dt.date(2025, 10, 27) not in calendar.days  # half-term holiday
    assert dt.date(2025, 9, 6) not in calendar.days  # Saturday
    assert calendar.days[0] == dt.date(2025, 9, 3)
    assert len(calendar.sessions) == 2 * len(calendar.days)
    # Half-term week has no session, so it is not a school week.
    assert dt.date(2025, 10, 27) not in calendar.week_mondays


def test_the_school_days_either_side_skip_weekends_holidays_and_closures(school):
    with scopes_disabled(), scope(school=school):
        # Friday 24 October 2025 ends the half term; the holiday week follows; INSET on Friday 14 November.
        assert school_days_either_side(school=school, day=dt.date(2025, 10, 29)) == (
            dt.date(2025, 10, 24), dt.date(2025, 11, 3))
        assert school_days_either_side(school=school, day=dt.date(2025, 11, 14)) == (
            dt.date(2025, 11, 13), dt.date(2025, 11, 17))
        assert school_days_either_side(school=school, day=dt.date(2025, 11, 14), within=1) == (
            dt.date(2025, 11, 13), None)
        for step, side in ((-1, 0), (1, 1)):
            assert school_day_step(school=school, day=dt.date(2025, 10, 29), step=step) == (
                school_days_either_side(school=school, day=dt.date(2025, 10, 29))[side])


def test_the_calendar_and_the_range_reads_give_the_same_sessions(school):
    """Both readers of the rule over a whole year, with a morning-only closure added: the same sessions."""
    with scopes_disabled():
        Closure.objects.create(school=school, date=dt.date(2025, 12, 3), session="AM", reason="Training")
        calendar = calendar_for(school=school)
        start, end = dt.date(2025, 8, 25), dt.date(2026, 9, 6)
        ranged = school_sessions(school=school, start=start, end=end)
        closed = session_closures(school=school, start=start, end=end)
    assert tuple(ranged) == calendar.sessions
    assert (dt.date(2025, 12, 3), "AM") not in calendar.sessions
    assert (dt.date(2025, 12, 3), "PM") in calendar.sessions
    assert closed[(dt.date(2025, 12, 3), "AM")] == "Training"
    assert closed[(dt.date(2025, 11, 14), "PM")] == "INSET day"
    assert closed[(dt.date(2025, 9, 6), "AM")] == "weekend"
    assert closed[(dt.date(2025, 10, 28), "AM")] == "outside term time"


def test_the_rule_in_memory_names_each_reason():
    terms = [(dt.date(2025, 9, 3), dt.date(2025, 9, 12))]
    closures = closure_reasons([(dt.date(2025, 9, 10), "PM", "INSET day")])
    closed = closed_sessions(start=dt.date(2025, 9, 1), end=dt.date(2025, 9, 14), terms=terms, closures=closures)
    assert closed[(dt.date(2025, 9, 1), "AM")] == "outside term time"
    assert closed[(dt.date(2025, 9, 6), "PM")] == "weekend"
    assert closed[(dt.date(2025, 9, 10), "PM")] == "INSET day"
    assert (dt.date(2025, 9, 10), "AM") not in closed
    assert (dt.date(2025, 9, 12), "PM") not in closed


def test_a_day_belongs_only_to_the_year_containing_it(school):
    """In the September gap before the next year is set up, there is no current year (never last year)."""
    with scope(school=school):
        assert academic_year_for(school=school, day=dt.date(2026, 3, 2)).start == dt.date(2025, 9, 1)
        assert academic_year_for(school=school, day=dt.date(2026, 9, 7)) is None
        assert academic_year_for(school=school, day=dt.date(2025, 8, 31)) is None
    calendar = calendar_for(school=school)
    assert calendar.year_for(dt.date(2026, 8, 31)) == Year(dt.date(2025, 9, 1), dt.date(2026, 8, 31))
    assert calendar.year_for(dt.date(2026, 9, 1)) is None
    assert year_containing(CALENDAR.years, dt.date(2025, 9, 2)) is None
    assert "no academic year containing 07 September 2026" in NO_YEAR.format(day=dt.date(2026, 9, 7))


def test_school_days_and_weeks_are_counted_on_the_calendar(school):
    calendar = calendar_for(school=school)
    # Thursday 13 November: Friday 14 is INSET, so the second school day after is Tuesday 18.
    assert calendar.school_days_after(dt.date(2025, 11, 13), 2) == dt.date(2025, 11, 18)
    # Two school weeks after the week of 20 October: half term (27 October) does not count.
    assert calendar.school_weeks_after(dt.date(2025, 10, 22), 2) == dt.date(2025, 11, 14)
    # Past the calendar's end, five school days a week and calendar weeks.
    assert calendar.school_days_after(dt.date(2026, 7, 21), 5) == dt.date(2026, 7, 28)
    assert calendar.school_weeks_after(dt.date(2026, 7, 21), 2) == dt.date(2026, 8, 4)


def test_a_range_read_outside_the_schools_scope_raises_rather_than_reading_every_session_closed(school):
    from django_scopes.exceptions import ScopeError

    with pytest.raises(ScopeError):
        session_closures(school=school, start=dt.date(2025, 9, 8), end=dt.date(2025, 9, 12))
    with scope(school=school):
        assert session_closures(school=school, start=dt.date(2025, 9, 8), end=dt.date(2025, 9, 12)) == {}
