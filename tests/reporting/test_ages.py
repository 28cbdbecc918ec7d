import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registers.ages import (
    compulsory_school_age_births,
    compulsory_school_age_end,
    compulsory_school_age_start,
    is_compulsory_school_age,
)


@pytest.mark.parametrize(("born", "starts"), [
    (dt.date(2020, 9, 1), dt.date(2025, 12, 31)),   # fifth birthday 1 Sep 2025 -> next prescribed day
    (dt.date(2020, 12, 31), dt.date(2025, 12, 31)),  # birthday on a prescribed day: that day
    (dt.date(2021, 1, 1), dt.date(2026, 3, 31)),
    (dt.date(2021, 4, 1), dt.date(2026, 8, 31)),
    (dt.date(2021, 8, 31), dt.date(2026, 8, 31)),
    (dt.date(2020, 2, 29), dt.date(2025, 3, 31)),
])
def test_compulsory_school_age_starts_on_the_prescribed_day_after_the_fifth_birthday(born, starts):
    assert compulsory_school_age_start(born) == starts


@pytest.mark.parametrize(("born", "ends"), [
    (dt.date(2010, 1, 15), dt.date(2026, 6, 26)),  # 16 in January 2026: last Friday of June 2026
    (dt.date(2010, 8, 31), dt.date(2026, 6, 26)),  # 16 on 31 August: still that school year
    (dt.date(2010, 9, 1), dt.date(2027, 6, 25)),   # 16 on 1 September: the next school year
])
def test_compulsory_school_age_ends_on_the_last_friday_in_june(born, ends):
    assert compulsory_school_age_end(born) == ends
    assert ends.weekday() == 4


@given(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)), st.dates(dt.date(2010, 1, 1), dt.date(2040, 12, 31)))
def test_the_birth_date_band_matches_the_per_pupil_rule(born, on):
    earliest, latest = compulsory_school_age_births(on=on)
    assert is_compulsory_school_age(born, on=on) == (earliest <= born <= latest)
