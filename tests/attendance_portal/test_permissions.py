"""The role × action table, written out here independently of attendance_portal.permissions."""

from __future__ import annotations

import pytest

from attendance_portal.permissions import PERMISSIONS
from attendance_portal.roles import Role

Y, N = True, False
ROLES = ["class_teacher", "office_staff", "attendance_officer", "senior_attendance_champion",
         "headteacher", "governor", "trust_officer"]
#                              CT OFF AO SAC HEAD GOV TRUST
EXPECTED = {
    "view_school":            [Y, Y, Y, Y, Y, Y, Y],
    "view_dashboard":         [N, N, Y, Y, Y, Y, Y],
    "view_pupils":            [Y, Y, Y, Y, Y, N, Y],
    "view_sensitive":         [N, N, Y, Y, Y, N, Y],
    "mark_register":          [Y, Y, Y, Y, Y, N, N],
    "amend_mark":             [N, Y, Y, Y, Y, N, N],
    "view_register_board":    [N, Y, Y, Y, Y, N, N],
    "manage_school":          [N, Y, N, Y, Y, N, N],
    "import_data":            [N, Y, N, Y, Y, N, N],
    "follow_up_absence":      [N, Y, Y, Y, Y, N, N],
    "work_cases":             [N, N, Y, Y, Y, N, Y],
    "send_letters":           [N, N, Y, Y, Y, N, N],
    "edit_ladder":            [N, N, N, Y, Y, N, N],
    "edit_letter_templates":  [N, N, N, Y, Y, N, N],
    "decide_leave":           [N, N, N, N, Y, N, N],
    "authorise_penalty":      [N, N, N, N, Y, N, N],
    "manage_staff":           [N, N, N, N, Y, N, N],
    "view_access_log":        [N, N, N, N, Y, N, N],
    "reset_mfa":              [N, N, N, N, Y, N, N],
    "export_census":          [N, N, N, N, Y, N, N],
}


def test_table_covers_every_action():
    assert set(EXPECTED) == set(PERMISSIONS)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_role_by_action(action, world):
    for role, allowed in zip(ROLES, EXPECTED[action], strict=True):
        user = world.users[role]
        assert user.has_perm(f"attendance.{action}", world.school) is allowed, (role, action)
        # No role reaches a school of another trust, whatever the action.
        assert user.has_perm(f"attendance.{action}", world.other) is False, (role, action)


def test_trust_role_reaches_sister_school_but_school_roles_do_not(world):
    assert world.trust_officer.has_perm("attendance.work_cases", world.sister)
    assert not world.users[Role.HEADTEACHER.value].has_perm("attendance.view_school", world.sister)


def test_user_with_two_memberships_holds_both_roles(world):
    from tests.factories import MembershipFactory

    teacher = world.users[Role.CLASS_TEACHER.value]
    MembershipFactory(user=teacher, school=world.sister, role=Role.HEADTEACHER)
    assert teacher.has_perm("attendance.decide_leave", world.sister)
    assert not teacher.has_perm("attendance.decide_leave", world.school)


def test_the_account_is_read_once_a_request_whichever_wrapper_asks(world):
    """A request's user is two lazy objects deep (authentication's, then two-step sign-in's): the sign-in
    limits, tenancy, the permission checks and the place switcher must all find the one read."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils.functional import SimpleLazyObject

    from accounts.policy import is_staff_account
    from attendance_portal.models import User
    from attendance_portal.permissions import roles_for
    from attendance_portal.selectors import user_places

    fresh = User.objects.get(pk=world.users[Role.OFFICE_STAFF.value].pk)
    inner = SimpleLazyObject(lambda: fresh)
    outer = SimpleLazyObject(lambda: inner)
    with CaptureQueriesContext(connection) as ctx:
        assert is_staff_account(outer)
        assert roles_for(inner, world.school) == {Role.OFFICE_STAFF}
        assert roles_for(fresh, world.school) == {Role.OFFICE_STAFF}
        assert [p.slug for p in user_places(outer)] == [world.school.slug]
    assert len(ctx.captured_queries) == 1, [q["sql"][:80] for q in ctx.captured_queries]
