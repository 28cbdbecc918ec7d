"""Reads for staff management and for the rules that depend on who someone is in a school."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Q
from django.http import Http404
from django_scopes import scopes_disabled

from attendance_portal.models import Membership, School, Trust, User
from attendance_portal.permissions import PERMISSIONS, can, roles_for
from attendance_portal.roles import TRUST_ROLES, Role
from attendance_portal.tenancy import school_objects
from registers import codes
from registers.models import RegistrationGroup

from .models import GroupTeacher, RoleCodes, StaffChange, StaffDelegate, StaffInvitation

# Roles a school gives; trust roles are given by the trust.
SCHOOL_ROLES = tuple(r for r in Role if r != Role.TRUST_OFFICER)


def role_codes_default(role: Role) -> frozenset[str]:
    """Class teachers enter present, late and N; every other marking role enters any code."""
    return codes.TEACHER_DEFAULT if role == Role.CLASS_TEACHER else frozenset(codes.CODES)


def role_codes(*, school: School) -> dict[Role, frozenset[str]]:
    """The codes each role may enter at this school: its configuration, else the default. One query, read on
    every register page (so through `school_objects`, not built by the ORM each time)."""
    saved = {r.role: frozenset(r.codes) for r in school_objects(RoleCodes, school_id=school.pk, prepared="role_codes")}
    return {role: saved.get(role.value, role_codes_default(role)) for role in Role}


def codes_allowed(*, school: School, user: User) -> frozenset[str]:
    """Every code any of the person's roles here may enter (the union: a teacher who also works in the office)."""
    table = role_codes(school=school)
    out: frozenset[str] = frozenset()
    for role in roles_for(user, school):
        out |= table[role]
    return out


def is_staff_delegate(user: User, school: School) -> bool:
    """Someone the headteacher has asked to manage staff, whatever their role."""
    return StaffDelegate.objects.filter(school=school, user_id=user.pk).exists()


def may_manage_staff(*, user: User, school: School) -> bool:
    return can(user, "manage_staff", school) or is_staff_delegate(user, school)


def may_manage_trust_staff(*, user: User, trust: Trust) -> bool:
    return Membership.objects.filter(user_id=user.pk, trust=trust, role=Role.TRUST_OFFICER).exists()


@dataclass
class StaffMember:
    user: User
    roles: list[str] = field(default_factory=list)
    groups: list[RegistrationGroup] = field(default_factory=list)
    delegate: bool = False

    @property
    def role_labels(self) -> list[str]:
        return [Role(r).label for r in self.roles]


def staff_list(*, school: School) -> list[StaffMember]:
    """Everyone with a role in this school (not the trust's people), with roles and groups. Three queries."""
    members: dict[int, StaffMember] = {}
    for m in Membership.objects.filter(school=school).select_related("user").order_by("user__last_name",
                                                                                      "user__first_name", "role"):
        members.setdefault(m.user_id, StaffMember(m.user)).roles.append(m.role)
    for link in GroupTeacher.objects.filter(school=school, user_id__in=list(members)).select_related("group"):
        members[link.user_id].groups.append(link.group)
    for user_id in StaffDelegate.objects.filter(school=school, user_id__in=list(members)).values_list(
            "user_id", flat=True):
        members[user_id].delegate = True
    return list(members.values())


def staff_member(*, school: School, user_id: int) -> StaffMember | None:
    """One member of this school's staff; None for anyone without a role here (the view makes that a 404)."""
    return next((m for m in staff_list(school=school) if m.user.pk == user_id), None)


def trust_staff_list(*, trust: Trust) -> list[StaffMember]:
    members: dict[int, StaffMember] = {}
    for m in Membership.objects.filter(trust=trust, role__in=TRUST_ROLES).select_related("user").order_by(
            "user__last_name", "user__first_name", "role"):
        members.setdefault(m.user_id, StaffMember(m.user)).roles.append(m.role)
    return list(members.values())


def invitations_open(*, school: School | None = None, trust: Trust | None = None) -> list[StaffInvitation]:
    """Invitations not yet used or withdrawn (expired ones too, marked so). A trust's rows have no school,
    so the scope is lifted and the school or trust is named explicitly."""
    where = Q(school=school) if school is not None else Q(trust=trust)
    with scopes_disabled():
        return list(StaffInvitation.objects.filter(where, accepted_at__isnull=True, revoked_at__isnull=True)
                    .select_related("created_by"))


def invitation_get(*, invitation_id: int, school: School | None = None, trust: Trust | None = None) -> StaffInvitation:
    where = Q(school=school) if school is not None else Q(trust=trust)
    with scopes_disabled():
        found = StaffInvitation.objects.filter(where, pk=invitation_id).first()
    if found is None:
        raise Http404("No such invitation")
    return found


def staff_changes(*, school: School | None = None, trust: Trust | None = None, limit: int = 50) -> list[StaffChange]:
    where = Q(school=school) if school is not None else Q(trust=trust)
    with scopes_disabled():
        return list(StaffChange.objects.filter(where)[:limit])


def groups_taught(*, school: School, user: User) -> list[RegistrationGroup]:
    return [link.group for link in GroupTeacher.objects.filter(school=school, user_id=user.pk).select_related("group")]


def group_teachers(*, school: School) -> dict[int, list[User]]:
    """Each registration group's teachers (id → people, by surname); a group without any is absent. One query."""
    out: dict[int, list[User]] = {}
    for link in (GroupTeacher.objects.filter(school=school).select_related("user")
                 .order_by("user__last_name", "user__first_name", "user__username")):
        out.setdefault(link.group_id, []).append(link.user)
    return out


def register_takers(*, school: School) -> list[User]:
    """People with a role in this school that takes registers: who may be linked to a group. One query."""
    return list(User.objects.filter(memberships__school=school,
                                    memberships__role__in=sorted(PERMISSIONS["mark_register"]))
                .distinct().order_by("last_name", "first_name", "username"))
