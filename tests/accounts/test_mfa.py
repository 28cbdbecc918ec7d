"""Two-step sign-in: enrolment on first sign-in, a code on every sign-in, recovery codes, reset by the head."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import AccountEvent, RecoveryCode
from attendance_portal.roles import Role
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery"


def sign_in(username: str) -> tuple[Client, object]:
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    return client, response


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key):06d}"


@pytest.mark.parametrize("role", ["headteacher", "office_staff", "attendance_officer",
                                  "senior_attendance_champion", "trust_officer"])
def test_required_roles_cannot_reach_a_page_before_setting_up(world, role):
    user = world.users[role]
    client, _ = sign_in(user.username)
    home = reverse("school_home", args=[world.school.slug])
    response = client.get(home)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:mfa_setup"))
    api = client.get(reverse("api:pupil-list", args=[world.school.slug]))
    assert api.status_code == 403


def test_local_authority_officers_need_it_and_are_never_parent_accounts(world):
    from accounts.policy import is_staff_account
    from penalties.models import LAOfficer, LocalAuthority

    la = LocalAuthority.objects.create(code="essex", name="Essex", nti_weeks=6)
    officer = f.UserFactory(username="pn@essex")
    LAOfficer.objects.create(local_authority=la, user=officer, role=LAOfficer.Role.PENALTY)
    client, _ = sign_in(officer.username)
    response = client.get(reverse("la:inbox", args=[la.code]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:mfa_setup"))
    assert is_staff_account(officer)


def test_a_local_authority_officer_lands_on_the_workspace_and_can_switch_to_it(world, client_as):
    from penalties.models import LAOfficer, LocalAuthority

    la = LocalAuthority.objects.create(code="essex", name="Essex", nti_weeks=6)
    LAOfficer.objects.create(local_authority=la, user=world.users["headteacher"], role=LAOfficer.Role.PENALTY)
    officer = f.UserFactory(username="pn@essex")
    LAOfficer.objects.create(local_authority=la, user=officer, role=LAOfficer.Role.PENALTY)
    assert client_as(officer).get(reverse("home")).url == reverse("la:inbox", args=["essex"])
    head = client_as(world.users["headteacher"])  # a head who is also an LA officer has both places
    page = head.get(reverse("home")).content.decode()
    assert reverse("la:inbox", args=["essex"]) in page and "Local authority" in page
    assert head.get(reverse("switch"), {"to": "la:essex"}).url == reverse("la:inbox", args=["essex"])


def test_platform_staff_need_it_for_the_admin(world):
    f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client()
    client.post("/platform-admin/login/", {"username": "root", "password": PASSWORD})
    response = client.get("/platform-admin/")
    assert response.status_code == 302 and reverse("accounts:mfa_setup") in response["Location"]


def test_enrolment_on_first_sign_in_then_a_code_on_every_sign_in(world):
    with time_machine.travel(dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC), tick=False) as clock:
        _enrol_and_verify(world, clock)


def _enrol_and_verify(world, clock):
    head = world.users["headteacher"]
    client, _ = sign_in(head.username)
    home = reverse("school_home", args=[world.school.slug])
    page = client.get(f"{reverse('accounts:mfa_setup')}?next={home}")
    body = page.content.decode()
    assert "<svg" in body and "Set up two-step sign-in" in body
    device = TOTPDevice.objects.get(user=head, confirmed=False)
    wrong = client.post(reverse("accounts:mfa_setup"), {"code": "000000", "next": home})
    assert wrong.status_code == 400 and "not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # a wrong code makes the next one wait a second (django-otp's throttling)
    done = client.post(reverse("accounts:mfa_setup"), {"code": code_for(device), "next": home})
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.content.decode())
    assert len(codes) == 10
    assert not RecoveryCode.objects.filter(code_hash__in=[c.replace("-", "") for c in codes]).exists()  # hashed
    assert client.get(home).status_code == 200
    assert AccountEvent.objects.filter(kind="mfa_enrolled", subject=head).exists()
    # The next sign-in asks for a code; a second set-up is refused (a password alone cannot add a device).
    again, _ = sign_in(head.username)
    assert reverse("accounts:mfa_verify") in again.get(home)["Location"]
    assert reverse("accounts:mfa_verify") in again.get(reverse("accounts:mfa_setup"))["Location"]
    assert again.post(reverse("accounts:mfa_verify"), {"code": "123456", "next": home}).status_code == 400
    assert again.get(home).status_code == 302
    device.refresh_from_db()
    device.throttle_reset()
    clock.shift(dt.timedelta(seconds=31))  # a code is accepted once: the next sign-in uses the next one
    ok = again.post(reverse("accounts:mfa_verify"), {"code": code_for(device), "next": home})
    assert ok.status_code == 302 and ok["Location"] == home
    assert again.get(home).status_code == 200
    # A recovery code works once.
    third, _ = sign_in(head.username)
    assert third.post(reverse("accounts:mfa_verify"), {"code": codes[0], "next": home}).status_code == 302
    assert third.get(home).status_code == 200
    fourth, _ = sign_in(head.username)
    assert fourth.post(reverse("accounts:mfa_verify"), {"code": codes[0], "next": home}).status_code == 400
    assert AccountEvent.objects.filter(kind="recovery_code_used", subject=head).count() == 1


def test_next_cannot_leave_the_site(world):
    head = world.users["headteacher"]
    device = TOTPDevice.objects.create(user=head, name="phone", confirmed=True)
    client, _ = sign_in(head.username)
    response = client.post(reverse("accounts:mfa_verify"), {"code": code_for(device), "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_class_teachers_and_parents_may_go_on_without_it(world):
    teacher, _ = sign_in(world.users["class_teacher"].username)
    assert teacher.get(reverse("school_home", args=[world.school.slug])).status_code == 200
    f.UserFactory(username="parent@example.org")
    parent, _ = sign_in("parent@example.org")
    assert parent.get(reverse("parent:home")).status_code == 200


def test_a_teacher_who_turned_it_on_is_asked_for_it(world):
    teacher = world.users["class_teacher"]
    TOTPDevice.objects.create(user=teacher, name="phone", confirmed=True)
    client, _ = sign_in(teacher.username)
    assert reverse("accounts:mfa_verify") in client.get(reverse("school_home", args=[world.school.slug]))["Location"]


def test_headteacher_resets_a_colleague_and_it_is_audited(world, client_as):
    office = world.users["office_staff"]
    TOTPDevice.objects.create(user=office, name="phone", confirmed=True)
    office_client, _ = sign_in(office.username)  # signed in elsewhere: ended by the reset
    head = client_as(world.users["headteacher"])
    page = head.get(reverse("accounts_school:mfa_staff", args=[world.school.slug])).content.decode()
    assert office.display_name() in page
    response = head.post(reverse("accounts_school:mfa_reset", args=[world.school.slug, office.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=office).exists()
    event = AccountEvent.objects.get(kind="mfa_reset")
    assert (event.actor_id, event.subject_id, event.school_id) == (world.users["headteacher"].pk, office.pk,
                                                                  world.school.pk)
    assert office_client.get(reverse("home")).status_code == 302
    assert reverse("login") in office_client.get(reverse("home"))["Location"]


@pytest.mark.parametrize("role", [r for r in Role if r != Role.HEADTEACHER])
def test_only_the_headteacher_may_reset(world, client_as, role):
    office = world.users["office_staff"]
    TOTPDevice.objects.create(user=office, name="phone", confirmed=True)
    client = client_as(world.users[role.value])
    response = client.post(reverse("accounts_school:mfa_reset", args=[world.school.slug, office.pk]))
    assert response.status_code in (403, 404)
    assert TOTPDevice.objects.filter(user=office, name="phone").exists()


def test_reset_of_someone_outside_the_school_is_404(world, client_as):
    outsider = world.other_head
    TOTPDevice.objects.create(user=outsider, name="phone", confirmed=True)
    head = client_as(world.users["headteacher"])
    assert head.post(reverse("accounts_school:mfa_reset", args=[world.school.slug, outsider.pk])).status_code == 404
    assert head.post(reverse("accounts_school:mfa_reset", args=[world.school.slug, world.trust_officer.pk])) \
        .status_code == 404
    assert TOTPDevice.objects.filter(user=outsider, name="phone").exists()


def test_a_head_cannot_reset_their_own(world, client_as):
    head = world.users["headteacher"]
    client = client_as(head)
    client.post(reverse("accounts_school:mfa_reset", args=[world.school.slug, head.pk]))
    assert TOTPDevice.objects.filter(user=head, confirmed=True).exists()


def test_only_the_headteacher_sees_the_link(world, client_as):
    url = reverse("accounts_school:mfa_staff", args=[world.school.slug])
    home = reverse("school_home", args=[world.school.slug])
    assert url in client_as(world.users["headteacher"]).get(home).content.decode()
    assert url not in client_as(world.users["office_staff"]).get(home).content.decode()


def test_demo_staff_get_the_published_demo_authenticator(world):
    from accounts.demo import demo_code, demo_devices_ensure

    head, teacher = world.users["headteacher"], world.users["class_teacher"]
    assert demo_devices_ensure([head.username, teacher.username]) == 1  # only roles that need it
    assert demo_devices_ensure([head.username]) == 0  # once
    client, _ = sign_in(head.username)
    home = reverse("school_home", args=[world.school.slug])
    assert client.post(reverse("accounts:mfa_verify"), {"code": demo_code(), "next": home})["Location"] == home
