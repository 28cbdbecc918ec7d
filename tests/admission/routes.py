"""Admission register routes for the cross-school URLconf walk: each `make` builds the object in `school`."""

from __future__ import annotations

from typing import Any

from attendance_portal.models import School
from tests import factories as f
from tests.routes import Route


def _pupil(school: School) -> dict[str, Any]:
    return {"pupil_id": f.EnrolmentFactory(pupil__school=school).pupil.pk}


def _enrolment(school: School) -> dict[str, Any]:
    return {"enrolment_id": f.EnrolmentFactory(pupil__school=school).pk}


def _contact(school: School) -> dict[str, Any]:
    return {"contact_id": f.PupilContactFactory(pupil__school=school).pk}


ROUTES: list[Route] = [
    Route("registers:admission"),
    Route("registers:pupil_add"),
    Route("registers:pupil", make=_pupil),
    Route("registers:pupil_edit", make=_pupil),
    Route("registers:enrolment_admit", make=_pupil),
    Route("registers:enrolment_leave", make=_enrolment, method="post",
          data=lambda school: {"leaving_date": "2025-09-30", "deletion_ground": "died", "confirm": "yes"}),
    Route("registers:contact_add", make=_pupil),
    Route("registers:contact_edit", make=_contact),
    # The writes are declared as POSTs: another school's enrolment or contact must not be touched.
    Route("registers:contact_remove", make=_contact, method="post", data=lambda school: {"confirm": "yes"}),
]
