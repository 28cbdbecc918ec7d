"""What other pages show of staff management: the person's own registration groups and the way in for managers."""

from __future__ import annotations

from typing import Any

from attendance_portal.http import SchoolRequest
from registers.marking import local_today

from .selectors import groups_taught, may_manage_staff


def school_home_staff(request: SchoolRequest) -> dict[str, Any]:
    """For the school home page: the groups this person takes today, and whether they manage staff."""
    school = request.school
    return {"my_groups": groups_taught(school=school, user=request.user),
            "may_manage_staff": may_manage_staff(user=request.user, school=school),
            "today": local_today()}
