"""Staff management by the school and the trust: invitations (hashed, single use, expiring), roles, groups,
delegation, leavers (sessions end at once), the codes each role enters, and the audit of every change."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from attendance_portal.models import Membership, User
from attendance_portal.roles import Role
from staff import services
from staff.models import GroupTeacher, RoleCodes, StaffChange, StaffDelegate, StaffInvitation
from staff.tasks import invitations_sweep
from tests import factories as f

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "kestrel-orchard-51"


def _invite_data(**overrides):
    data = {"email": "Robin.Teacher@Example.org", "first_name": "Robin", "last_name": "Ashdown",
            "position": "Year 5 teacher", "roles": ["class_teacher"]}
    data.update(overrides)
    return data


def _token(message) -> str:
    return re.search(r"/staff/accept/([^/\s]+)/", message.body).group(1)


@pytest.fixture
def group(world):
    return f.RegistrationGroupFactory(school=world.school, name="5R")


def _invite(world, client_as, django_capture_on_commit_callbacks, **overrides):
    head = client_as(world.users["headteacher"])
    with django_capture_on_commit_callbacks(execute=True):
        response = head.post(reverse("staff_invite", args=[world.school.slug]), _invite_data(**overrides))
    return response


def test_head_invites_and_the_token_is_stored_hashed(world, client_as, group, django_capture_on_commit_callbacks):
    response = _invite(world, client_as, django_capture_on_commit_callbacks, groups=[group.pk])
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["robin.teacher@example.org"]
    token = _token(mail.outbox[0])
    with scopes_disabled():
        invitation = StaffInvitation.objects.get()
        change = StaffChange.objects.get()
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()  # accounts.models.token_hash
    assert token not in invitation.token_hash and invitation.sent_at is not None
    assert invitation.roles == ["class_teacher"] and invitation.group_ids == [group.pk]
    assert abs(invitation.expires_at - invitation.created_at - services.invitation_valid_for()) < \
        dt.timedelta(minutes=1)
    assert (change.action, change.by, change.school) == ("invited", world.users["headteacher"], world.school)
    assert "Class teacher" in change.detail and "5R" in change.detail


def test_acceptance_sets_a_valid_password_gives_roles_and_groups_and_is_single_use(
        world, client, client_as, group, django_capture_on_commit_callbacks):
    _invite(world, client_as, django_capture_on_commit_callbacks, groups=[group.pk],
            roles=["class_teacher", "office_staff"])
    url = reverse("staff_accept", args=[_token(mail.outbox[0])])
    assert "Welcome, Robin" in client.get(url).content.decode()
    for bad, message in (({"password1": "short", "password2": "short"}, "too short"),
                         ({"password1": "password123", "password2": "password123"}, "too common"),
                         ({"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD + "x"}, "do not match"),
                         ({"password1": "", "password2": ""}, "Choose a password")):
        response = client.post(url, bad)
        assert response.status_code == 400 and message in response.content.decode()
    assert not User.objects.filter(email="robin.teacher@example.org").exists()
    response = client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email="robin.teacher@example.org")
    assert user.check_password(GOOD_PASSWORD) and user.position == "Year 5 teacher"
    assert set(Membership.objects.filter(user=user, school=world.school).values_list("role", flat=True)) == {
        "class_teacher", "office_staff"}
    with scopes_disabled():
        assert list(GroupTeacher.objects.filter(user=user).values_list("group_id", flat=True)) == [group.pk]
        assert StaffChange.objects.filter(action="accepted", subject=user).exists()
    # Signed in straight away (an office role is then asked to set up two-step sign-in); the link is now spent.
    home = client.get(reverse("school_home", args=[world.school.slug]))
    assert home.status_code == 302 and home.url.startswith(reverse("accounts:mfa_setup"))
    again = Client().post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert again.status_code == 404 and "already been used" in again.content.decode()


def test_an_existing_account_is_never_given_a_new_password(world, client, client_as,
                                                             django_capture_on_commit_callbacks):
    """As for parent invitations: an address with an account signs in and accepts; its password stays."""
    existing = world.users["class_teacher"]
    existing.email = "robin.teacher@example.org"
    existing.save()
    f.MembershipFactory(user=f.UserFactory(), school=world.sister, role=Role.HEADTEACHER)  # unrelated
    sister_head = client_as(Membership.objects.filter(school=world.sister, role="headteacher").first().user)
    with django_capture_on_commit_callbacks(execute=True):
        sister_head.post(reverse("staff_invite", args=[world.sister.slug]), _invite_data(roles=["office_staff"]))
    url = reverse("staff_accept", args=[_token(mail.outbox[0])])
    page = client.get(url).content.decode()
    assert "There is already an account" in page and 'name="password1"' not in page
    refused = client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert refused.status_code == 400 and "Sign in with it" in refused.content.decode()
    existing.refresh_from_db()
    assert existing.check_password("correct-horse-battery") and not existing.check_password(GOOD_PASSWORD)
    signed_in = client_as(existing)
    assert signed_in.post(url).status_code == 302
    assert Membership.objects.filter(user=existing, school=world.sister, role="office_staff").exists()
    existing.refresh_from_db()
    assert existing.check_password("correct-horse-battery")


def test_expired_and_withdrawn_invitations_cannot_be_used(world, client, client_as,
                                                          django_capture_on_commit_callbacks):
    _invite(world, client_as, django_capture_on_commit_callbacks)
    url = reverse("staff_accept", args=[_token(mail.outbox[0])])
    with time_machine.travel(timezone.now() + services.invitation_valid_for() + dt.timedelta(minutes=1)):
        expired = client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert expired.status_code == 404 and "has expired" in expired.content.decode()
    with scopes_disabled():
        invitation = StaffInvitation.objects.get()
    client_as(world.users["headteacher"]).post(reverse("staff_revoke", args=[world.school.slug, invitation.pk]))
    withdrawn = client.post(url, {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    assert withdrawn.status_code == 404 and "withdrawn" in withdrawn.content.decode()
    assert client.get(reverse("staff_accept", args=["not-a-token"])).status_code == 404
    assert not User.objects.filter(email="robin.teacher@example.org").exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"email": "not-an-address"}, "Give a valid e-mail address"),
    ({"email": ""}, "Give the person&#x27;s e-mail address."),
    ({"first_name": ""}, "Give the person&#x27;s first name."),
    ({"last_name": ""}, "Give the person&#x27;s last name."),
    ({"roles": []}, "Choose at least one role."),
    ({"roles": ["wizard"]}, "Choose roles from the list."),
    ({"roles": ["trust_officer"]}, "Choose roles from the list."),
    ({"groups": ["OTHER"]}, "Choose registration groups of this school."),
    ({"groups": ["abc"]}, "Choose registration groups of this school."),
    ({"email": "EXISTING"}, "already has a role here"),
])
def test_invitation_bad_input_is_refused_and_nothing_written(world, client_as, overrides, message,
                                                             django_capture_on_commit_callbacks):
    if overrides.get("groups") == ["OTHER"]:
        overrides = {"groups": [f.RegistrationGroupFactory(school=world.other).pk]}
    if overrides.get("email") == "EXISTING":
        overrides = {"email": world.users["office_staff"].email or "office@alder.example"}
        world.users["office_staff"].email = overrides["email"]
        world.users["office_staff"].save()
    response = _invite(world, client_as, django_capture_on_commit_callbacks, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    with scopes_disabled():
        assert not StaffInvitation.objects.exists() and not StaffChange.objects.exists()
    assert mail.outbox == []


def test_roles_and_groups_change_with_an_audit_entry(world, client_as, group):
    teacher = world.users["class_teacher"]
    head = client_as(world.users["headteacher"])
    url = reverse("staff_member", args=[world.school.slug, teacher.pk])
    assert "Class teacher" in head.get(url).content.decode()
    response = head.post(url, {"roles": ["class_teacher", "attendance_officer"], "groups": [group.pk]})
    assert response.status_code == 302
    assert set(Membership.objects.filter(user=teacher, school=world.school).values_list("role", flat=True)) == {
        "class_teacher", "attendance_officer"}
    with scopes_disabled():
        changes = {c.action: c for c in StaffChange.objects.filter(subject=teacher)}
        assert GroupTeacher.objects.filter(user=teacher, group=group).exists()
    assert "to Attendance officer, Class teacher" in changes["roles_changed"].detail
    assert "to 5R" in changes["groups_changed"].detail
    assert changes["roles_changed"].by == world.users["headteacher"]
    page = head.get(reverse("staff_index", args=[world.school.slug])).content.decode()
    assert "Roles changed" in page and "Registration groups changed" in page


def test_head_delegates_staff_management(world, client_as):
    office = world.users["office_staff"]
    index = reverse("staff_index", args=[world.school.slug])
    assert client_as(office).get(index).status_code == 403
    client_as(world.users["headteacher"]).post(reverse("staff_member", args=[world.school.slug, office.pk]),
                                               {"roles": ["office_staff"], "delegate": "on"})
    with scopes_disabled():
        assert StaffDelegate.objects.filter(user=office).exists()
    assert client_as(office).get(index).status_code == 200
    # A delegate manages staff but does not pass the delegation on.
    page = client_as(office).get(reverse("staff_member", args=[world.school.slug, office.pk])).content.decode()
    assert 'name="delegate"' not in page


@pytest.mark.parametrize("role", ["class_teacher", "office_staff", "attendance_officer",
                                  "senior_attendance_champion", "governor"])
def test_roles_without_staff_management_get_403(world, client_as, role):
    client = client_as(world.users[role])
    teacher = world.users["class_teacher"]
    assert client.get(reverse("staff_index", args=[world.school.slug])).status_code == 403
    assert client.post(reverse("staff_invite", args=[world.school.slug]), _invite_data()).status_code == 403
    assert client.post(reverse("staff_deactivate", args=[world.school.slug, teacher.pk])).status_code == 403
    assert client.get(reverse("staff_codes", args=[world.school.slug])).status_code == 403


def test_someone_without_a_role_here_is_a_404(world, client_as):
    stranger = f.MembershipFactory(school=world.other, role=Role.CLASS_TEACHER).user
    head = client_as(world.users["headteacher"])
    assert head.get(reverse("staff_member", args=[world.school.slug, stranger.pk])).status_code == 404
    assert head.post(reverse("staff_deactivate", args=[world.school.slug, stranger.pk])).status_code == 404
    assert Membership.objects.filter(user=stranger).exists()


def test_deactivating_a_leaver_ends_their_sessions_at_once(world, client_as):
    teacher = world.users["class_teacher"]
    signed_in = client_as(teacher)
    assert signed_in.get(reverse("school_home", args=[world.school.slug])).status_code == 200
    response = client_as(world.users["headteacher"]).post(
        reverse("staff_deactivate", args=[world.school.slug, teacher.pk]))
    assert response.status_code == 302
    teacher.refresh_from_db()
    assert not teacher.is_active
    assert not Membership.objects.filter(user=teacher).exists()
    assert all(str(s.get_decoded().get("_auth_user_id")) != str(teacher.pk) for s in Session.objects.all())
    after = signed_in.get(reverse("school_home", args=[world.school.slug]))
    assert after.status_code == 302 and reverse("login") in after["Location"]
    with scopes_disabled():
        change = StaffChange.objects.get(action="deactivated")
    assert "account closed" in change.detail and "1 signed-in session ended" in change.detail


def test_a_leaver_with_a_role_elsewhere_keeps_the_account(world, client_as):
    teacher = world.users["class_teacher"]
    f.MembershipFactory(user=teacher, school=world.sister, role=Role.CLASS_TEACHER)
    client_as(world.users["headteacher"]).post(reverse("staff_deactivate", args=[world.school.slug, teacher.pk]))
    teacher.refresh_from_db()
    assert teacher.is_active
    assert list(Membership.objects.filter(user=teacher).values_list("school__slug", flat=True)) == ["birch"]


def test_head_cannot_deactivate_themselves_or_drop_their_own_head_role(world, client_as):
    head_user = world.users["headteacher"]
    head = client_as(head_user)
    head.post(reverse("staff_deactivate", args=[world.school.slug, head_user.pk]))
    response = head.post(reverse("staff_member", args=[world.school.slug, head_user.pk]), {"roles": ["governor"]})
    assert response.status_code == 400 and "cannot remove your own headteacher role" in response.content.decode()
    assert Membership.objects.filter(user=head_user, role="headteacher").exists()


def test_trust_officer_manages_trust_roles(world, client_as, django_capture_on_commit_callbacks):
    officer = client_as(world.trust_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = officer.post(reverse("trust_staff_invite", args=[world.trust_a.slug]),
                                _invite_data(roles=["governor"], email="trustee@example.org"))
    assert response.status_code == 302
    with scopes_disabled():
        invitation = StaffInvitation.objects.get()
        assert invitation.trust == world.trust_a and invitation.school is None
    bad = officer.post(reverse("trust_staff_invite", args=[world.trust_a.slug]),
                       _invite_data(roles=["class_teacher"], email="x@example.org"))
    assert bad.status_code == 400 and "Choose roles from the list." in bad.content.decode()
    Client().post(reverse("staff_accept", args=[_token(mail.outbox[0])]),
                  {"password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD})
    trustee = User.objects.get(email="trustee@example.org")
    assert Membership.objects.filter(user=trustee, trust=world.trust_a, role="governor").exists()
    page = officer.get(reverse("trust_staff_index", args=[world.trust_a.slug])).content.decode()
    assert "Robin Ashdown" in page
    assert officer.post(reverse("trust_staff_deactivate", args=[world.trust_a.slug, trustee.pk])).status_code == 302
    assert not Membership.objects.filter(user=trustee).exists()
    # A school's headteacher is not a trust officer: the trust's pages are a 404 for them.
    head = client_as(world.users["headteacher"])
    assert head.get(reverse("trust_staff_index", args=[world.trust_a.slug])).status_code == 404


def test_trust_governor_cannot_manage_trust_staff(world, client_as):
    governor = f.MembershipFactory(school=None, trust=world.trust_a, role=Role.GOVERNOR).user
    assert client_as(governor).get(reverse("trust_staff_index", args=[world.trust_a.slug])).status_code == 403


def test_unsent_invitation_is_sent_by_the_sweeper_once(world):
    with scopes_disabled():
        invitation = StaffInvitation.objects.create(
            school=world.school, email="late@example.org", first_name="Lee", last_name="Late", roles=["office_staff"],
            expires_at=timezone.now() + dt.timedelta(days=7), created_by=world.users["headteacher"])
        StaffInvitation.objects.filter(pk=invitation.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    assert invitations_sweep() == 1
    assert invitations_sweep() == 0
    assert len(mail.outbox) == 1 and "late@example.org" in mail.outbox[0].to


def test_role_codes_are_school_configuration(world, client_as):
    head = client_as(world.users["headteacher"])
    url = reverse("staff_codes", args=[world.school.slug])
    assert "Class teacher" in head.get(url).content.decode()
    assert head.post(url, {"role": "class_teacher", "codes": ["/", "\\", "L", "N", "M"]}).status_code == 302
    with scopes_disabled():
        assert sorted(RoleCodes.objects.get(school=world.school, role="class_teacher").codes) == sorted(
            ["/", "\\", "L", "N", "M"])
        assert StaffChange.objects.filter(action="codes_changed").exists()
    for data, message in (({"role": "class_teacher", "codes": ["ZZ"]}, "Choose codes from the list."),
                          ({"role": "class_teacher"}, "Choose at least one code."),
                          ({"role": "wizard", "codes": ["/"]}, "Choose a role from the list."),
                          ({"role": "class_teacher", "codes": ["#"]}, "Choose codes from the list.")):
        response = head.post(url, data)
        assert response.status_code == 400 and message in response.content.decode()
    # Back to the default clears the setting.
    head.post(url, {"role": "class_teacher", "codes": ["/", "\\", "L", "N"]})
    with scopes_disabled():
        assert not RoleCodes.objects.filter(school=world.school).exists()
