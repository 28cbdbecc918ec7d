"""Fixtures for the statistics tests: the home school with the 2025/26 calendar of tests.conftest."""

from __future__ import annotations

from typing import Any

import pytest

from attendance_portal.models import School
from tests.conftest import add_calendar


@pytest.fixture
def school(world: Any) -> School:
    add_calendar(world.school)
    return world.school
