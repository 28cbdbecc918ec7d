import datetime as dt

from django.db import connection
from django_scopes import scopes_disabled
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reporting.calendar import SchoolCalendar, Year, calendar_for

CALENDAR = SchoolCalendar(
    years=(Year(dt.date(2024, 9, 1), dt.date(2025, 8, 31)), Year(dt.date(2025, 9, 3), dt.date(2026, 8, 31))),
    terms=((dt.date(2025, 9, 3), dt.date(2025, 10, 24)),), closures=frozenset(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)))
def test_python_and_sql_buckets_agree(db, day):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {CALENDAR.bucket_start_sql('%(d)s::date')}, {CALENDAR.bucket_end_sql('%(d)s::date')}",
                       {"d": day})
        start, end = cursor.fetchone()
    assert (start, end) == (CALENDAR.bucket_start(day), CALENDAR.bucket_end(day))
    assert start <= day <= end
    assert (end - start).days <= 6


def test_buckets_are_cut_at_academic_year_boundaries():
    # 2025-09-01 is a Monday; the year starts on Wednesday the 3rd: two buckets in that week.
    assert CALENDAR.bucket_end(dt.date(2025, 9, 2)) == dt.date(2025, 9, 2)
    assert CALENDAR.bucket_start(dt.date(2025, 9, 4)) == dt.date(2025, 9, 3)


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
