"""Who may do what: one table of role × action, evaluated over (user, school).

Every view and API view asks `can(user, action, school)` (or the equivalent
`user.has_perm("attendance.<action>", school)` through django-rules). Governors see aggregates
only, so no pupil-level action lists them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import rules
from django.db.models import Q

from .roles import Role

if TYPE_CHECKING:
    from .models import School, User

CT = Role.CLASS_TEACHER
OFFICE = Role.OFFICE_STAFF
AO = Role.ATTENDANCE_OFFICER
SAC = Role.SENIOR_ATTENDANCE_CHAMPION
HEAD = Role.HEADTEACHER
GOV = Role.GOVERNOR
TRUST = Role.TRUST_OFFICER

ANY_ROLE = frozenset(Role)
LEADS = frozenset({SAC, HEAD})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "view_school": ANY_ROLE,
    "view_dashboard": frozenset({GOV, HEAD, SAC, AO, TRUST}),
    "view_pupils": frozenset({CT, OFFICE, AO, SAC, HEAD, TRUST}),
    "view_sensitive": frozenset({AO, SAC, HEAD, TRUST}),
    "mark_register": frozenset({CT, OFFICE, AO, SAC, HEAD}),
    "amend_mark": frozenset({OFFICE, AO, SAC, HEAD}),
    "view_register_board": frozenset({OFFICE, AO, SAC, HEAD}),
    "manage_school": frozenset({OFFICE, SAC, HEAD}),
    "import_data": frozenset({OFFICE, SAC, HEAD}),
    "follow_up_absence": frozenset({OFFICE, AO, SAC, HEAD}),
    "work_cases": frozenset({AO, SAC, HEAD, TRUST}),
    "send_letters": frozenset({AO, SAC, HEAD}),
    "edit_ladder": frozenset({SAC, HEAD}),
    "edit_letter_templates": LEADS,
    "decide_leave": frozenset({HEAD}),
    "authorise_penalty": frozenset({HEAD}),
    "manage_staff": frozenset({HEAD}),
    "view_access_log": frozenset({HEAD}),
    "reset_mfa": frozenset({HEAD}),
}


def roles_for(user: User, school: School) -> frozenset[Role]:
    """Roles the user holds in this school, directly or through the school's trust."""
    if not user.is_authenticated or school is None:
        return frozenset()
    cache: dict[int, frozenset[Role]] = user.__dict__.setdefault("_school_roles", {})
    if school.pk not in cache:
        from .models import Membership

        where = Q(school_id=school.pk)
        if school.trust_id:
            where |= Q(trust_id=school.trust_id)
        found = Membership.objects.filter(where, user_id=user.pk).values_list("role", flat=True)
        cache[school.pk] = frozenset(Role(r) for r in found)
    return cache[school.pk]


def can(user: User, action: str, school: School) -> bool:
    allowed = PERMISSIONS[action]
    return bool(roles_for(user, school) & allowed)


def _make_predicate(action: str) -> rules.Predicate:
    @rules.predicate(name=f"can_{action}")
    def predicate(user: User, school: School | None) -> bool:
        return school is not None and can(user, action, school)

    return predicate


for _action in PERMISSIONS:
    rules.add_perm(f"attendance.{_action}", _make_predicate(_action))
