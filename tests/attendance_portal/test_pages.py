from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from attendance_portal.roles import Role
from tests import factories as f
from tests.conftest import mfa_pass


def test_login_page_and_sign_in(world, client):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b"Sign in" in page.content
    user = world.users[Role.OFFICE_STAFF.value]
    response = client.post(reverse("login"), {"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code == 302
    mfa_pass(client, user)  # office staff give a two-step code next (tests/accounts/test_mfa.py)
    # One school: home goes straight to it.
    assert client.get(reverse("home")).url == reverse("school_home", args=[world.school.slug])


def test_wrong_password_is_a_clear_message(world, client):
    response = client.post(reverse("login"), {"username": "office_staff@alder", "password": "nope"})
    assert response.status_code == 200
    assert b"didn&#x27;t match" in response.content or b"didn't match" in response.content


def test_logout_is_a_post(world, client_as):
    client = client_as(world.users[Role.OFFICE_STAFF.value])
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home")).status_code == 302  # back to the login page


def test_anonymous_school_page_redirects_to_login(world, client):
    response = client.get(reverse("school_home", args=[world.school.slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", [r for r in Role if r != Role.TRUST_OFFICER])
def test_school_home_renders_for_every_role(role, world, client_as):
    response = client_as(world.users[role.value]).get(reverse("school_home", args=[world.school.slug]))
    assert response.status_code == 200
    assert world.school.name.encode() in response.content
    assert role.label.encode() in response.content


def test_home_page_sections_follow_the_role(world, client_as):
    url = reverse("school_home", args=[world.school.slug])
    teacher = client_as(world.users[Role.CLASS_TEACHER.value]).get(url).content.decode()
    governor = client_as(world.users[Role.GOVERNOR.value]).get(url).content.decode()
    head = client_as(world.users[Role.HEADTEACHER.value]).get(url).content.decode()
    assert "Registers" in teacher and "Attendance cases" not in teacher
    assert "Dashboards" in governor and "Registers</h2>" not in governor
    assert "Attendance cases" in head and "leave" in head


def test_user_with_several_places_gets_a_chooser_and_a_switcher(world, client_as):
    user = world.users[Role.HEADTEACHER.value]
    f.MembershipFactory(user=user, school=world.sister, role=Role.GOVERNOR)
    client = client_as(user)
    chooser = client.get(reverse("home"))
    assert chooser.status_code == 200
    assert b"Alder Primary" in chooser.content and b"Birch Primary" in chooser.content
    page = client.get(reverse("school_home", args=[world.school.slug])).content.decode()
    assert 'id="switch-to"' in page and "school:birch" in page
    assert client.get(reverse("switch"), {"to": "school:birch"}).url == reverse("school_home", args=["birch"])


def test_trust_home_lists_only_its_schools(world, client_as):
    response = client_as(world.trust_officer).get(reverse("trust_home", args=[world.trust_a.slug]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alder Primary" in body and "Birch Primary" in body
    assert "Cedar Academy" not in body and "Damson" not in body


def test_admin_is_for_platform_staff_only(world, client_as):
    head = client_as(world.users[Role.HEADTEACHER.value])
    assert head.get("/platform-admin/").status_code == 302  # to the admin login, not in
    staff = f.UserFactory(is_staff=True, is_superuser=True)
    client = client_as(staff)
    assert client.get("/platform-admin/").status_code == 200
    # Listing school-owned rows works for platform staff (scopes explicitly disabled there).
    assert client.get("/platform-admin/attendance_portal/school/").status_code == 200


def test_password_validators_are_on(world):
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        validate_password("short")
    with pytest.raises(ValidationError):
        validate_password("password123")


def test_healthz(client, db):
    assert client.get(reverse("healthz")).json()["status"] == "ok"


def test_repeated_failures_lock_that_username_from_that_address_only(world, client):
    cache.clear()
    for _ in range(10):
        client.post(reverse("login"), {"username": "office_staff@alder", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "office_staff@alder", "password": "correct-horse-battery"})
    assert locked.status_code == 429
    assert b"Too many failed attempts" in locked.content
    # A colleague at the same school (same address) still signs in.
    other = client.post(reverse("login"), {"username": "headteacher@alder", "password": "correct-horse-battery"})
    assert other.status_code == 302
    cache.clear()


def test_signed_in_pages_are_not_stored(world, client_as):
    response = client_as(world.users[Role.OFFICE_STAFF.value]).get(reverse("school_home", args=[world.school.slug]))
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("role", list(Role))
def test_school_wide_headline_figures_only_for_dashboard_roles(role, world, client_as):
    from django_scopes import scopes_disabled

    from attendance_portal.permissions import PERMISSIONS
    from tests.conftest import add_calendar

    with scopes_disabled():
        add_calendar(world.school)
    with time_machine.travel(dt.datetime(2025, 10, 1, 10, tzinfo=dt.UTC), tick=False):
        response = client_as(world.users[role.value]).get(reverse("school_home", args=[world.school.slug]))
    assert response.status_code == 200
    shows_figures = b"Attendance, year to date" in response.content
    assert shows_figures is (role in PERMISSIONS["view_dashboard"]), role
    assert (response.context["headline"] is not None) is shows_figures
