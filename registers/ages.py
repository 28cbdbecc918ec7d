"""Compulsory school age (dfe-rules R16; Education Act 1996 s8, School Leaving Date Order 1997).

A child becomes of compulsory school age on the first prescribed day (31 December, 31 March or
31 August) on or after their fifth birthday, and stops on the last Friday in June of the school year
(1 September – 31 August) in which they turn 16.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_PRESCRIBED = ((12, 31), (3, 31), (8, 31))


def _birthday(date_of_birth: dt.date, years: int) -> dt.date:
    try:
        return date_of_birth.replace(year=date_of_birth.year + years)
    except ValueError:  # 29 February: the birthday falls on 1 March in other years
        return dt.date(date_of_birth.year + years, 3, 1)


def compulsory_school_age_start(date_of_birth: dt.date) -> dt.date:
    fifth = _birthday(date_of_birth, 5)
    candidates = [dt.date(fifth.year + offset, month, day) for offset in (0, 1) for month, day in _PRESCRIBED]
    return min(day for day in candidates if day >= fifth)


def compulsory_school_age_end(date_of_birth: dt.date) -> dt.date:
    sixteenth = _birthday(date_of_birth, 16)
    # The school year containing the 16th birthday ends on 31 August of this year or the next.
    june_year = sixteenth.year if sixteenth.month < 9 else sixteenth.year + 1
    last_of_june = dt.date(june_year, 6, 30)
    return last_of_june - dt.timedelta(days=(last_of_june.weekday() - 4) % 7)


def is_compulsory_school_age(date_of_birth: dt.date, *, on: dt.date) -> bool:
    return compulsory_school_age_start(date_of_birth) <= on <= compulsory_school_age_end(date_of_birth)


def compulsory_school_age_births(*, on: dt.date) -> tuple[dt.date, dt.date]:
    """The earliest and latest dates of birth of pupils of compulsory school age on `on`.

    Both ends of the age band move monotonically with the date of birth, so the set is one interval
    and SQL can filter `date_of_birth BETWEEN earliest AND latest` instead of testing each pupil.
    """
    latest = _last_true(lambda dob: compulsory_school_age_start(dob) <= on, on - dt.timedelta(days=366 * 7), on)
    earliest = _first_true(
        lambda dob: compulsory_school_age_end(dob) >= on, on - dt.timedelta(days=366 * 18), on
    )
    return earliest, latest


def _first_true(test: Callable[[dt.date], bool], low: dt.date, high: dt.date) -> dt.date:
    """Smallest day in [low, high] passing a monotone (False…True) test."""
    while low < high:
        middle = low + (high - low) // 2
        if test(middle):
            high = middle
        else:
            low = middle + dt.timedelta(days=1)
    return low


def _last_true(test: Callable[[dt.date], bool], low: dt.date, high: dt.date) -> dt.date:
    """Largest day in [low, high] passing a monotone (True…False) test."""
    while low < high:
        middle = low + (high - low + dt.timedelta(days=1)) // 2
        if test(middle):
            low = middle
        else:
            high = middle - dt.timedelta(days=1)
    return low
