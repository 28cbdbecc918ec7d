"""Staff management routes for the cross-school URLconf walk."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from attendance_portal.models import School, Trust
from attendance_portal.roles import Role
from staff.models import StaffInvitation
from tests import factories as f
from tests.routes import Route


def _member(school: School) -> dict[str, Any]:
    return {"user_id": f.MembershipFactory(school=school, role=Role.CLASS_TEACHER).user.pk}


def _invitation(school: School) -> dict[str, Any]:
    return {"invitation_id": StaffInvitation.objects.create(
        school=school, email="new@example.org", first_name="New", last_name="Teacher", roles=["class_teacher"],
        expires_at=timezone.now() + dt.timedelta(days=7)).pk}


def _trust_member(trust: Trust) -> dict[str, Any]:
    return {"user_id": f.MembershipFactory(school=None, trust=trust, role=Role.GOVERNOR).user.pk}


def _trust_invitation(trust: Trust) -> dict[str, Any]:
    return {"invitation_id": StaffInvitation.objects.create(
        trust=trust, email="new@example.org", first_name="New", last_name="Governor", roles=["governor"],
        expires_at=timezone.now() + dt.timedelta(days=7)).pk}


ROUTES: list[Route] = [
    Route("staff_index"),
    Route("staff_invite", method="post"),
    Route("staff_codes"),
    Route("staff_member", make=_member),
    Route("staff_deactivate", method="post", make=_member),
    Route("staff_revoke", method="post", make=_invitation),
    Route("trust_staff_index", kind="trust"),
    Route("trust_staff_invite", kind="trust", method="post"),
    Route("trust_staff_member", kind="trust", make=_trust_member),  # type: ignore[arg-type]
    Route("trust_staff_deactivate", kind="trust", method="post", make=_trust_member),  # type: ignore[arg-type]
    Route("trust_staff_revoke", kind="trust", method="post", make=_trust_invitation),  # type: ignore[arg-type]
    Route("staff_accept", kind="public", extra={"token": "x"},
          reason="the token is the key; a wrong, used or expired one is a 404 page with no data"),
]
