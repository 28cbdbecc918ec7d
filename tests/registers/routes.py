"""Registers routes (marking pages and API) for the cross-school URLconf walk."""

from __future__ import annotations

from typing import Any

from attendance_portal.models import School
from tests import factories as f
from tests.routes import Route

DAY = "2025-09-08"


def _group(school: School) -> dict[str, Any]:
    group = f.RegistrationGroupFactory(school=school)
    return {"group_id": group.pk, "date": DAY, "session": "AM"}


def _group_only(school: School) -> dict[str, Any]:
    return {"group_id": f.RegistrationGroupFactory(school=school).pk}


def _pupil(school: School) -> dict[str, Any]:
    return {"pupil_id": f.EnrolmentFactory(pupil__school=school).pupil.pk}


def _amend(school: School) -> dict[str, Any]:
    return {**_pupil(school), "date": DAY, "session": "AM"}


def _pk(school: School) -> dict[str, Any]:
    return {"pk": f.PupilFactory(school=school).pk}


def _marks(school: School) -> dict[str, Any]:
    return {"marks": [{"pupil": 1, "code": "/"}]}


RANGE = {"date_from": "2025-09-01", "date_to": "2025-09-30"}

ROUTES: list[Route] = [
    Route("registers:index"),
    Route("registers:board"),
    Route("registers:late"),
    Route("registers:closure"),
    Route("registers:register", make=_group),
    Route("registers:pupil_history", make=_pupil),
    Route("registers:amend", make=_amend),
    Route("registers:groups"),
    Route("registers:group_teachers", make=_group_only),
    Route("api:pupil-list", api=True),
    Route("api:pupil-detail", make=_pk, api=True),
    Route("api:enrolment-list", api=True),
    Route("api:group-list", api=True),
    Route("api:register-list", api=True),
    Route("api:register-detail", method="post", make=_group, data=_marks, api=True),
    Route("api:mark-list", data=lambda school: RANGE, api=True),
    Route("api:amendment-list", data=lambda school: RANGE, api=True),
]
