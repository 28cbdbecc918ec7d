from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache

from tests.conftest import add_calendar

from .factories import family

LONDON = ZoneInfo("Europe/London")
MONDAY = dt.date(2025, 9, 8)  # in Autumn 1 of add_calendar's 2025/26


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def monday_morning():
    with time_machine.travel(at(MONDAY, 8, 15), tick=False) as traveller:
        yield traveller


@pytest.fixture
def calendar(world):
    add_calendar(world.school)
    add_calendar(world.other)
    return world


@pytest.fixture
def fam(calendar):
    pupil, guardian, user = family(calendar.school, username="mum@example.org", email="mum@example.org")
    return pupil, guardian, user
