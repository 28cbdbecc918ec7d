import datetime as dt

from django_scopes import scopes_disabled
from hypothesis import given, settings
from hypothesis import strategies as st

from reporting.calendar import SchoolCalendar, Year, calendar_for

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
